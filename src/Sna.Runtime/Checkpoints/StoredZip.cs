using System.Buffers.Binary;
using System.Text;

namespace Sna.Runtime.Checkpoints;

/// <summary>One entry of a <see cref="StoredZip"/>: name and where its (uncompressed) bytes lie in the file.</summary>
internal sealed record StoredZipEntry(string Name, long DataOffset, long Length, uint Crc32);

/// <summary>
/// The central directory of a zip archive whose entries are all <em>stored</em> (method 0, no compression, no
/// encryption), as <c>torch.save</c> writes them, read from a memory-mapped file without copying any entry's data.
/// Zip64 end records and extra fields are understood (checkpoints over 4 GB). Everything is bounds-checked: the
/// central directory, every local header and every entry's data must lie inside the file, local headers must agree
/// with the central directory, and names must be unique. Violations throw <see cref="CheckpointException"/>.
/// </summary>
internal static unsafe class StoredZip
{
    private const uint LocalSig = 0x04034b50, CentralSig = 0x02014b50, EocdSig = 0x06054b50;
    private const uint Zip64EocdSig = 0x06064b50, Zip64LocatorSig = 0x07064b50;

    public static List<StoredZipEntry> ReadEntries(byte* file, long length, string path)
    {
        CheckpointException Bad(string problem) => new($"PyTorch checkpoint '{path}': {problem}", path);
        ReadOnlySpan<byte> At(long offset, long count)
        {
            if (offset < 0 || count < 0 || offset > length - count) throw Bad($"zip structure points outside the file ({count} bytes at offset {offset}; file is {length} bytes; truncated?)");
            return new ReadOnlySpan<byte>(file + offset, checked((int)count));
        }

        if (length < 22) throw Bad($"file is {length} bytes, too short to be a zip archive (truncated?)");
        // End of central directory: 22 bytes + a comment of at most 65535 bytes, searched backwards.
        long eocd = -1;
        for (long p = length - 22, stop = Math.Max(0, length - 22 - 65535); p >= stop; p--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(At(p, 4)) == EocdSig &&
                p + 22 + BinaryPrimitives.ReadUInt16LittleEndian(At(p + 20, 2)) == length)
            {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) throw Bad("no zip end-of-central-directory record (truncated, or not a zip-format torch.save file)");
        var e = At(eocd, 22);
        if (BinaryPrimitives.ReadUInt16LittleEndian(e[4..]) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) != 0)
            throw Bad("multi-disk zip archives are not supported");
        long count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            if (eocd < 20 || BinaryPrimitives.ReadUInt32LittleEndian(At(eocd - 20, 4)) != Zip64LocatorSig)
                throw Bad("zip64 end-of-central-directory locator missing");
            long z = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(At(eocd - 20 + 8, 8)));
            var z64 = At(z, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(z64) != Zip64EocdSig) throw Bad("zip64 end-of-central-directory record missing");
            count = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(z64[32..]));
            cdSize = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(z64[40..]));
            cdOffset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(z64[48..]));
        }
        if (cdOffset > length || cdSize > length - cdOffset) throw Bad($"central directory [{cdOffset}, +{cdSize}) lies outside the file ({length} bytes; truncated?)");
        if (count > cdSize / 46) throw Bad($"central directory claims {count} entries in {cdSize} bytes");

        var entries = new List<StoredZipEntry>((int)count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long pos = cdOffset, cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++)
        {
            if (pos > cdEnd - 46) throw Bad("central directory is shorter than its entry count");
            var c = At(pos, 46);
            if (BinaryPrimitives.ReadUInt32LittleEndian(c) != CentralSig) throw Bad($"bad central directory entry signature at offset {pos}");
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(c[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(c[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(c[16..]);
            long csize = BinaryPrimitives.ReadUInt32LittleEndian(c[20..]);
            long usize = BinaryPrimitives.ReadUInt32LittleEndian(c[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(c[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(c[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(c[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(c[42..]);
            if (pos + 46 + nameLen + extraLen + commentLen > cdEnd) throw Bad("central directory entry runs past the directory's end");
            string name;
            try { name = new UTF8Encoding(false, true).GetString(At(pos + 46, nameLen)); }
            catch (DecoderFallbackException) { throw Bad($"zip entry name at offset {pos} is not valid UTF-8"); }
            var extra = At(pos + 46 + nameLen, extraLen);
            // Zip64 extended information: the 64-bit values of the fields that are 0xFFFFFFFF, in this order.
            for (int x = 0; x + 4 <= extra.Length;)
            {
                ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra[x..]);
                int len = BinaryPrimitives.ReadUInt16LittleEndian(extra[(x + 2)..]);
                if (x + 4 + len > extra.Length) throw Bad($"zip entry '{name}': malformed extra field");
                if (id == 0x0001)
                {
                    var z = extra.Slice(x + 4, len);
                    int k = 0;
                    Span<long> fields = [usize, csize, local];
                    for (int f = 0; f < 3; f++)
                    {
                        if (fields[f] != 0xFFFFFFFF) continue;
                        if (k + 8 > z.Length) throw Bad($"zip entry '{name}': zip64 extra field too short");
                        fields[f] = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(z[k..]));
                        k += 8;
                    }
                    (usize, csize, local) = (fields[0], fields[1], fields[2]);
                }
                x += 4 + len;
            }
            if ((flags & 1) != 0) throw Bad($"zip entry '{name}' is encrypted");
            if (method != 0) throw Bad($"zip entry '{name}' is compressed (method {method}); torch.save stores entries uncompressed");
            if (csize != usize) throw Bad($"zip entry '{name}': stored size {csize} differs from size {usize}");
            if (!names.Add(name)) throw Bad($"zip entry '{name}' appears more than once");

            var lh = At(local, 30);
            if (BinaryPrimitives.ReadUInt32LittleEndian(lh) != LocalSig) throw Bad($"zip entry '{name}': bad local header signature at offset {local}");
            int lNameLen = BinaryPrimitives.ReadUInt16LittleEndian(lh[26..]);
            int lExtraLen = BinaryPrimitives.ReadUInt16LittleEndian(lh[28..]);
            if (!At(local + 30, lNameLen).SequenceEqual(At(pos + 46, nameLen)))
                throw Bad($"zip entry '{name}': local header names a different file");
            long data = local + 30 + lNameLen + lExtraLen;
            if (data > length || usize > length - data) throw Bad($"zip entry '{name}': its {usize} bytes at offset {data} extend beyond the end of the file ({length} bytes; truncated?)");
            if (data + usize > cdOffset && data < cdEnd) throw Bad($"zip entry '{name}' overlaps the central directory");
            entries.Add(new StoredZipEntry(name, data, usize, crc));
            pos += 46 + nameLen + extraLen + commentLen;
        }
        // Entries' data must not overlap one another.
        var sorted = entries.OrderBy(x => x.DataOffset).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i - 1].DataOffset + sorted[i - 1].Length > sorted[i].DataOffset)
                throw Bad($"zip entries '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
        return entries;
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>The zip CRC-32 (IEEE 802.3, reflected) of <paramref name="data"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}

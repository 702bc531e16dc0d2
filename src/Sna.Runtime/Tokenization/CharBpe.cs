using System.Text;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// BPE over Unicode characters (not bytes), as Hugging Face tokenizers' <c>BPE</c> model runs for SentencePiece-style
/// vocabularies (Llama 2, TinyLlama, Mistral): each character of a word is a symbol if the vocabulary has it, else its
/// UTF-8 bytes become <c>&lt;0xXX&gt;</c> tokens (<c>byte_fallback</c>), else the unknown token (consecutive unknowns
/// fused with <c>fuse_unk</c>; without an unknown token the character is dropped, as Hugging Face does). Merges then
/// apply lowest rank first, leftmost first among equal ranks (Hugging Face's <c>Word::merge_all</c>).
/// Microsoft.ML.Tokenizers' BPE has no byte fallback, hence this class.
/// </summary>
internal sealed class CharBpe
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(int Left, int Right), (int Rank, int NewId)> _merges;
    private readonly int[]? _byteIds;   // [256] ids of <0x00>..<0xFF> when byte_fallback and all are present
    private readonly int _unkId;        // -1: none
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;

    public CharBpe(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, bool byteFallback,
                   string? unkToken, bool fuseUnk, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _merges = new Dictionary<(int, int), (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (l, r) = merges[rank];
            int newId = vocab[l + r]; // validated by the caller
            _merges[(vocab[l], vocab[r])] = (rank, newId); // as HF (collected into a map): a repeated pair keeps its last rank
        }
        if (byteFallback)
        {
            var ids = new int[256];
            bool all = true;
            for (int b = 0; b < 256 && all; b++) all = vocab.TryGetValue($"<0x{b:X2}>", out ids[b]);
            // HF falls back per character only when every byte of it has a token; with the full 256 set that is
            // always; a partial set is not worth reproducing.
            if (!all) throw new InvalidDataException($"{source}: model.byte_fallback is true but the vocabulary lacks some of the 256 <0xXX> byte tokens.");
            _byteIds = ids;
        }
        _unkId = -1;
        if (unkToken is not null)
        {
            if (!vocab.TryGetValue(unkToken, out _unkId))
                throw new InvalidDataException($"{source}: model.unk_token \"{unkToken}\" is not in the vocabulary.");
        }
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
    }

    /// <summary>Appends the ids of one pre-token (a "word").</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }

        // Symbols: ids in a doubly linked list (prev/next indices); Removed marks a symbol merged into its left.
        var ids = new List<int>(word.Length);
        bool pendingUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        int i = 0;
        while (i < word.Length)
        {
            int width = char.IsSurrogatePair(word, i) ? 2 : 1;
            string ch = word.Substring(i, width);
            i += width;
            if (_vocab.TryGetValue(ch, out int id))
            {
                if (pendingUnk) { ids.Add(_unkId); pendingUnk = false; }
                ids.Add(id);
                continue;
            }
            if (_byteIds is not null)
            {
                int n = Encoding.UTF8.GetBytes(ch, utf8);
                for (int k = 0; k < n; k++) ids.Add(_byteIds[utf8[k]]);
                continue;
            }
            if (_unkId >= 0)
            {
                if (pendingUnk && !_fuseUnk) ids.Add(_unkId);
                pendingUnk = true;
            }
        }
        if (pendingUnk) ids.Add(_unkId);
        MergeAll(ids);
        output.AddRange(ids);
    }

    private void MergeAll(List<int> ids)
    {
        int n = ids.Count;
        if (n < 2) return;
        var id = ids.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var removed = new bool[n];
        for (int k = 0; k < n; k++) { prev[k] = k - 1; next[k] = k + 1 < n ? k + 1 : -1; }

        // Priority: lowest rank, then lowest position (HF's Merge ordering).
        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        for (int k = 0; k + 1 < n; k++)
            if (_merges.TryGetValue((id[k], id[k + 1]), out var m)) queue.Enqueue((k, m.NewId), (m.Rank, k));

        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (removed[pos] || next[pos] < 0) continue;
            int right = next[pos];
            // Skip stale entries: the pair at pos must still produce this merge.
            if (!_merges.TryGetValue((id[pos], id[right]), out var current) || current.NewId != top.NewId) continue;

            id[pos] = top.NewId;
            removed[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;

            if (prev[pos] >= 0 && _merges.TryGetValue((id[prev[pos]], id[pos]), out var left))
                queue.Enqueue((prev[pos], left.NewId), (left.Rank, prev[pos]));
            if (next[pos] >= 0 && _merges.TryGetValue((id[pos], id[next[pos]]), out var after))
                queue.Enqueue((pos, after.NewId), (after.Rank, pos));
        }

        ids.Clear();
        for (int k = 0; k >= 0; k = next[k]) ids.Add(id[k]);
    }
}

using System.Runtime.InteropServices;

namespace Sna.Runtime.Numerics;

/// <summary>
/// A 64-byte-aligned block of unmanaged memory that never moves (weights converted at load, random test models).
/// Owned by the model that allocated it; freed on dispose.
/// </summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    public void* Pointer { get; private set; }
    public long ByteLength { get; }

    public NativeBuffer(long byteLength)
    {
        if (byteLength <= 0) throw new ArgumentOutOfRangeException(nameof(byteLength));
        ByteLength = byteLength;
        Pointer = NativeMemory.AlignedAlloc((nuint)byteLength, 64);
        GC.AddMemoryPressure(byteLength);
    }

    public Span<T> AsSpan<T>() where T : unmanaged => new(Pointer, checked((int)(ByteLength / sizeof(T))));

    public void Dispose()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
            GC.RemoveMemoryPressure(ByteLength);
        }
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() { if (Pointer != null) NativeMemory.AlignedFree(Pointer); }
}

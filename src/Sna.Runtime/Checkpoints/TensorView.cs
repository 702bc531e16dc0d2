using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Sna.Runtime.Numerics;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// A tensor of an open checkpoint file (<see cref="SafetensorsFile"/> or <see cref="TorchCheckpointFile"/>): its entry plus a pointer into the file's memory mapping.
/// <para>
/// Zero-copy: <see cref="Data"/>, <see cref="AsBytes"/>, <see cref="AsSpan{T}"/> and <see cref="AsMatrix"/> point into
/// the mapping; nothing is copied until <see cref="CopyToFloat32"/> / <see cref="ToFloat32Array"/> is called. The view is
/// valid only while its file is open: after the file (or its <see cref="Checkpoint"/>) is disposed, members throw
/// <see cref="ObjectDisposedException"/> and pointers obtained earlier dangle.
/// </para>
/// </summary>
public readonly unsafe struct TensorView
{
    private readonly ITensorStorage _file;
    private readonly TensorEntry _entry;

    internal TensorView(ITensorStorage file, TensorEntry entry)
    {
        _file = file;
        _entry = entry;
    }

    private TensorEntry Entry => _entry ?? throw new InvalidOperationException("default(TensorView) does not refer to a tensor");

    public string Name => Entry.Name;

    public TensorDType DType => Entry.DType;

    /// <summary>The shape (a fresh copy on each call: the view itself is immutable).</summary>
    public int[] Shape => (int[])Entry.Shape.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => Entry.Shape.Length;

    /// <summary>Size of dimension <paramref name="axis"/>.</summary>
    public int Dim(int axis) => Entry.Shape[axis];

    /// <summary>Product of the shape (1 for a scalar, 0 if any dimension is 0).</summary>
    public long ElementCount => Entry.ElementCount;

    public long ByteLength => Entry.ByteLength;

    /// <summary>Absolute path of the checkpoint file the tensor lives in.</summary>
    public string SourceFile => _file?.Path ?? throw new InvalidOperationException("default(TensorView) does not refer to a tensor");

    /// <summary>Offset of the first byte relative to the start of the data section (safetensors, as in the header) or of the file (PyTorch zip).</summary>
    public long DataBegin => Entry.Begin;

    /// <summary>
    /// First byte of the tensor inside the memory mapping (not necessarily aligned to the element size if the file's
    /// writer did not align; x64/Arm64 loads tolerate that). Valid while the file is open.
    /// </summary>
    public void* Data
    {
        get
        {
            var e = Entry;
            return _file.DataBase + e.Begin;
        }
    }

    /// <summary>The raw little-endian bytes, zero-copy. Tensors of 2 GB or more must be read through <see cref="Data"/>.</summary>
    public ReadOnlySpan<byte> AsBytes()
    {
        var e = Entry;
        if (e.ByteLength > int.MaxValue)
            throw new CheckpointException($"tensor '{e.Name}' in '{_file.Path}' is {e.ByteLength} bytes, too large for a span; use Data", _file.Path, e.Name);
        return new ReadOnlySpan<byte>(Data, (int)e.ByteLength);
    }

    /// <summary>
    /// The elements reinterpreted as <typeparamref name="T"/>, zero-copy. T must match the dtype: float↔F32, Half↔F16,
    /// ushort↔BF16 (raw bits), double↔F64, long↔I64, int↔I32, short↔I16, sbyte↔I8, byte↔U8/BOOL.
    /// </summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        var e = Entry;
        bool ok = e.DType switch
        {
            TensorDType.F32 => typeof(T) == typeof(float),
            TensorDType.F16 => typeof(T) == typeof(Half),
            TensorDType.BF16 => typeof(T) == typeof(ushort),
            TensorDType.F64 => typeof(T) == typeof(double),
            TensorDType.I64 => typeof(T) == typeof(long),
            TensorDType.I32 => typeof(T) == typeof(int),
            TensorDType.I16 => typeof(T) == typeof(short),
            TensorDType.I8 => typeof(T) == typeof(sbyte),
            TensorDType.U8 or TensorDType.BOOL => typeof(T) == typeof(byte),
            _ => false,
        };
        if (!ok)
            throw new CheckpointException($"tensor '{e.Name}' in '{_file.Path}' is {e.DType.ToSafetensorsName()}, cannot be viewed as {typeof(T).Name}", _file.Path, e.Name);
        if (e.ElementCount > int.MaxValue)
            throw new CheckpointException($"tensor '{e.Name}' in '{_file.Path}' has {e.ElementCount} elements, too many for a span; use Data", _file.Path, e.Name);
        return new ReadOnlySpan<T>(Data, (int)e.ElementCount);
    }

    /// <summary>
    /// Widens (F16, BF16, integers, BOOL→0/1) or narrows (F64, round-to-nearest) every element into
    /// <paramref name="destination"/>, whose length must equal <see cref="ElementCount"/>. Vectorized for F32/F16/BF16/F64.
    /// </summary>
    public void CopyToFloat32(Span<float> destination)
    {
        var e = Entry;
        if (destination.Length != e.ElementCount)
            throw new ArgumentException(
                $"destination has {destination.Length} elements but tensor '{e.Name}' {SafetensorsFile.FormatShape(e.Shape)} has {e.ElementCount}",
                nameof(destination));
        int n = destination.Length;
        if (n == 0) return;
        void* src = Data;
        switch (e.DType)
        {
            case TensorDType.F32:
                new ReadOnlySpan<float>(src, n).CopyTo(destination);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), destination);
                break;
            case TensorDType.BF16:
                Bf16ToSingle(new ReadOnlySpan<ushort>(src, n), destination);
                break;
            case TensorDType.F64:
                TensorPrimitives.ConvertTruncating<double, float>(new ReadOnlySpan<double>(src, n), destination);
                break;
            case TensorDType.I64:
                TensorPrimitives.ConvertTruncating<long, float>(new ReadOnlySpan<long>(src, n), destination);
                break;
            case TensorDType.I32:
                TensorPrimitives.ConvertTruncating<int, float>(new ReadOnlySpan<int>(src, n), destination);
                break;
            case TensorDType.I16:
                TensorPrimitives.ConvertTruncating<short, float>(new ReadOnlySpan<short>(src, n), destination);
                break;
            case TensorDType.I8:
                TensorPrimitives.ConvertTruncating<sbyte, float>(new ReadOnlySpan<sbyte>(src, n), destination);
                break;
            case TensorDType.U8:
                TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(src, n), destination);
                break;
            case TensorDType.BOOL:
                var b = new ReadOnlySpan<byte>(src, n);
                for (int i = 0; i < n; i++) destination[i] = b[i] != 0 ? 1f : 0f;
                break;
            default:
                throw new InvalidOperationException($"unhandled dtype {e.DType}");
        }
    }

    /// <summary>A new float32 array holding the tensor (see <see cref="CopyToFloat32"/>).</summary>
    public float[] ToFloat32Array()
    {
        var e = Entry;
        if (e.ElementCount > Array.MaxLength)
            throw new CheckpointException($"tensor '{e.Name}' in '{_file.Path}' has {e.ElementCount} elements, too many for one array", _file.Path, e.Name);
        var result = GC.AllocateUninitializedArray<float>((int)e.ElementCount);
        CopyToFloat32(result);
        return result;
    }

    /// <summary>
    /// The tensor as the right-hand GEMM operand, zero-copy. Requires a 2-D F32/F16/BF16 tensor with positive dimensions.
    /// <paramref name="transposed"/> = false: stored [K, N] (GPT-2 Conv1D); true: stored [N, K] (nn.Linear, tied unembedding).
    /// The returned matrix points into the mapping: keep the file open while it is used.
    /// </summary>
    public WeightMatrix AsMatrix(bool transposed)
    {
        var e = Entry;
        if (!e.DType.TryToWeightDType(out var wdt))
            throw new CheckpointException(
                $"tensor '{e.Name}' in '{_file.Path}' is {e.DType.ToSafetensorsName()}; only F32, F16 and BF16 tensors can be used as weight matrices",
                _file.Path, e.Name);
        if (e.Shape.Length != 2)
            throw new CheckpointException(
                $"tensor '{e.Name}' in '{_file.Path}' has shape {SafetensorsFile.FormatShape(e.Shape)}; a weight matrix must be 2-D",
                _file.Path, e.Name);
        if (e.Shape[0] == 0 || e.Shape[1] == 0)
            throw new CheckpointException(
                $"tensor '{e.Name}' in '{_file.Path}' has shape {SafetensorsFile.FormatShape(e.Shape)}; a weight matrix needs positive dimensions",
                _file.Path, e.Name);
        int k = transposed ? e.Shape[1] : e.Shape[0];
        int n = transposed ? e.Shape[0] : e.Shape[1];
        return new WeightMatrix(Data, wdt, k, n, transposed);
    }

    /// <summary>
    /// Throws <see cref="CheckpointException"/> "tensor X in FILE has shape [a,b], expected [c,d]" unless the shape is
    /// exactly <paramref name="shape"/>. Returns the view for chaining.
    /// </summary>
    public TensorView ExpectShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var e = Entry;
        if (!e.Shape.AsSpan().SequenceEqual(shape))
            throw new CheckpointException(
                $"tensor {e.Name} in {_file.Path} has shape {SafetensorsFile.FormatShape(e.Shape)}, expected {SafetensorsFile.FormatShape(shape)}",
                _file.Path, e.Name);
        return this;
    }

    public override string ToString() =>
        _entry is null ? "(none)" : $"{_entry.Name}: {_entry.DType.ToSafetensorsName()}{SafetensorsFile.FormatShape(_entry.Shape)}";

    /// <summary>bfloat16 → float32: the 16 bits are the top half of the float's bits.</summary>
    internal static void Bf16ToSingle(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && src.Length >= Vector<ushort>.Count)
        {
            var srcV = MemoryMarshal.Cast<ushort, Vector<ushort>>(src);
            var dstU = MemoryMarshal.Cast<float, uint>(dst);
            int perVec = Vector<ushort>.Count;
            for (int v = 0; v < srcV.Length; v++)
            {
                Vector.Widen(srcV[v], out Vector<uint> lo, out Vector<uint> hi);
                Vector.ShiftLeft(lo, 16).CopyTo(dstU.Slice(v * perVec));
                Vector.ShiftLeft(hi, 16).CopyTo(dstU.Slice(v * perVec + Vector<uint>.Count));
            }
            i = srcV.Length * perVec;
        }
        for (; i < src.Length; i++)
            dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
    }
}

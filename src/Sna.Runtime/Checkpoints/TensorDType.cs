using Sna.Runtime.Numerics;

namespace Sna.Runtime.Checkpoints;

/// <summary>Element types of safetensors tensors this reader understands (names as in the safetensors header).</summary>
public enum TensorDType
{
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
}

public static class TensorDTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        TensorDType.I8 or TensorDType.U8 or TensorDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown tensor dtype"),
    };

    /// <summary>The dtype string used in safetensors headers ("F32", "BF16", ...).</summary>
    public static string ToSafetensorsName(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 => "F64",
        TensorDType.F32 => "F32",
        TensorDType.F16 => "F16",
        TensorDType.BF16 => "BF16",
        TensorDType.I64 => "I64",
        TensorDType.I32 => "I32",
        TensorDType.I16 => "I16",
        TensorDType.I8 => "I8",
        TensorDType.U8 => "U8",
        TensorDType.BOOL => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown tensor dtype"),
    };

    /// <summary>Parses a safetensors dtype string (exact, case-sensitive, as the reference implementation).</summary>
    public static bool TryParseSafetensorsName(string? name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F64": dtype = TensorDType.F64; return true;
            case "F32": dtype = TensorDType.F32; return true;
            case "F16": dtype = TensorDType.F16; return true;
            case "BF16": dtype = TensorDType.BF16; return true;
            case "I64": dtype = TensorDType.I64; return true;
            case "I32": dtype = TensorDType.I32; return true;
            case "I16": dtype = TensorDType.I16; return true;
            case "I8": dtype = TensorDType.I8; return true;
            case "U8": dtype = TensorDType.U8; return true;
            case "BOOL": dtype = TensorDType.BOOL; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>True for the dtypes the model consumes directly as weights (F32, F16, BF16).</summary>
    public static bool IsWeightType(this TensorDType dtype) =>
        dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;

    /// <summary>Maps F32/F16/BF16 to <see cref="WeightDType"/>; false for every other dtype.</summary>
    public static bool TryToWeightDType(this TensorDType dtype, out WeightDType weightDType)
    {
        switch (dtype)
        {
            case TensorDType.F32: weightDType = WeightDType.F32; return true;
            case TensorDType.F16: weightDType = WeightDType.F16; return true;
            case TensorDType.BF16: weightDType = WeightDType.BF16; return true;
            default: weightDType = default; return false;
        }
    }
}

using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Sna.Runtime.Checkpoints;

/// <summary>A global a pickle named (<c>module.name</c>); only the allow-listed ones are ever created.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>A storage reference from a persistent id: <c>('storage', torch.XStorage, key, location, numel)</c>.</summary>
internal sealed record PickleStorage(string TypeName, TensorDType DType, string Key, string Location, long Numel);

/// <summary>What <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)</c> describes.</summary>
internal sealed record PickleTensor(PickleStorage Storage, long Offset, long[] Size, long[] Stride);

/// <summary>A <c>collections.OrderedDict</c> or a plain dict, in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

internal sealed class PickleMark
{
    public static readonly PickleMark Instance = new();
}

/// <summary>
/// A pickle reader for PyTorch state dicts that <b>executes nothing</b>. It interprets the opcodes <c>torch.save</c>
/// emits (protocol 2, plus the protocol-4 framing/memo opcodes) into plain data, and accepts only these globals:
/// <c>collections.OrderedDict</c> (called with no arguments), <c>torch._utils._rebuild_tensor_v2</c> (turned into a
/// <see cref="PickleTensor"/> description, never called) and the <c>torch.*Storage</c> types (only inside a persistent
/// id). Any other global, any other use of an allowed one, and any other opcode is refused with a
/// <see cref="CheckpointException"/> that names it. Sizes are bounded by the input, so hostile input cannot make it
/// allocate without limit or loop.
/// </summary>
internal sealed class RestrictedUnpickler
{
    public const string RebuildTensor = "torch._utils._rebuild_tensor_v2";
    public const string OrderedDict = "collections.OrderedDict";

    /// <summary>torch storage class → element type. Only F32/F16/BF16 can be weights; the rest are buffers (masks, ids).</summary>
    public static readonly IReadOnlyDictionary<string, TensorDType> StorageTypes = new Dictionary<string, TensorDType>(StringComparer.Ordinal)
    {
        ["torch.FloatStorage"] = TensorDType.F32,
        ["torch.HalfStorage"] = TensorDType.F16,
        ["torch.BFloat16Storage"] = TensorDType.BF16,
        ["torch.DoubleStorage"] = TensorDType.F64,
        ["torch.LongStorage"] = TensorDType.I64,
        ["torch.IntStorage"] = TensorDType.I32,
        ["torch.ShortStorage"] = TensorDType.I16,
        ["torch.CharStorage"] = TensorDType.I8,
        ["torch.ByteStorage"] = TensorDType.U8,
        ["torch.BoolStorage"] = TensorDType.BOOL,
    };

    private readonly byte[] _data;
    private readonly string _path;
    private int _pos;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];

    private RestrictedUnpickler(byte[] data, string path)
    {
        _data = data;
        _path = path;
    }

    /// <summary>Interprets <paramref name="data"/> (the archive's <c>data.pkl</c>) and returns the top-level object.</summary>
    public static object? Load(byte[] data, string path) => new RestrictedUnpickler(data, path).Run();

    private CheckpointException Bad(string problem) => new($"PyTorch checkpoint '{_path}': data.pkl: {problem}", _path);

    private CheckpointException Refuse(string what) =>
        new($"PyTorch checkpoint '{_path}': refusing to load: data.pkl {what}. Only a state dict of tensors is accepted " +
            $"({OrderedDict}, {RebuildTensor}, torch.*Storage); nothing in the file is executed", _path);

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Bad("ends without a STOP opcode (truncated?)");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    { int v = U8(); if (v > 5) throw Bad($"unsupported pickle protocol {v}"); break; }
                case 0x95: Bytes(8); break; // FRAME: length is advisory
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'(': _marks.Add(_stack.Count); break; // MARK
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'K': Push((long)U8()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break; // BININT
                case 0x8a: // LONG1
                    {
                        int n = U8();
                        if (n > 8) throw Bad($"integer of {n} bytes at offset {at} is too large");
                        var b = Bytes(n);
                        Push(n == 0 ? 0L : (long)new BigInteger(b, isUnsigned: false, isBigEndian: false));
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                case (byte)'X': Push(Utf8(Bytes(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))), at)); break; // BINUNICODE
                case 0x8c: Push(Utf8(Bytes(U8()), at)); break; // SHORT_BINUNICODE
                case (byte)'c': // GLOBAL module\nname\n
                    {
                        string module = Line(at), name = Line(at);
                        Push(Global(module, name));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string ?? throw Bad($"STACK_GLOBAL at offset {at} without a string name");
                        var module = Pop() as string ?? throw Bad($"STACK_GLOBAL at offset {at} without a string module");
                        Push(Global(module, name));
                        break;
                    }
                case (byte)'q': _memo[U8()] = Top(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = Top(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Top(); break; // MEMOIZE
                case (byte)'h': Push(Memo(U8(), at)); break; // BINGET
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)); break; // LONG_BINGET
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'a': { var v = Pop(); AsList(Top(), at).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Top(), at).AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Top(), at).Items.Add(new(k, v)); break; } // SETITEM
                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark();
                        if (items.Count % 2 != 0) throw Bad($"SETITEMS at offset {at} with an odd number of items");
                        var d = AsDict(Top(), at);
                        for (int i = 0; i < items.Count; i += 2) d.Items.Add(new(items[i], items[i + 1]));
                        break;
                    }
                case (byte)'Q': Push(PersistentStorage(Pop(), at)); break; // BINPERSID
                case (byte)'R': { var args = Pop(); var fn = Pop(); Push(Reduce(fn, args, at)); break; } // REDUCE
                case (byte)'b': // BUILD: only OrderedDict's instance state ({'_metadata': ...}), which is ignored
                    {
                        var state = Pop();
                        if (Top() is not PickleDict || state is not (PickleDict or null))
                            throw Refuse($"sets the state of a {Describe(Top())} (BUILD at offset {at})");
                        break;
                    }
                case (byte)'.': // STOP
                    if (_pos != _data.Length) throw Bad($"{_data.Length - _pos} bytes after the STOP opcode");
                    if (_stack.Count != 1 || _marks.Count != 0) throw Bad("unbalanced stack at STOP");
                    return _stack[0];
                default:
                    throw Refuse($"uses pickle opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}') at offset {at}, which a state dict never needs");
            }
        }
    }

    private object Global(string module, string name)
    {
        string full = module + "." + name;
        if (full is RebuildTensor or OrderedDict || StorageTypes.ContainsKey(full)) return new PickleGlobal(module, name);
        throw Refuse($"references the global '{full}'");
    }

    private object? Reduce(object? fn, object? args, int at)
    {
        if (fn is not PickleGlobal g) throw Refuse($"calls a {Describe(fn)} (REDUCE at offset {at})");
        if (args is not object?[] a) throw Bad($"REDUCE at offset {at}: arguments are not a tuple");
        switch (g.FullName)
        {
            case OrderedDict:
                if (a.Length != 0) throw Refuse($"calls {OrderedDict} with arguments (offset {at})");
                return new PickleDict();
            case RebuildTensor:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is not (6 or 7)) throw Bad($"{RebuildTensor} at offset {at} has {a.Length} arguments, expected 6 or 7");
                if (a[0] is not PickleStorage storage) throw Bad($"{RebuildTensor} at offset {at}: first argument is a {Describe(a[0])}, not a storage");
                if (a[1] is not long offset) throw Bad($"{RebuildTensor} at offset {at}: storage offset is not an integer");
                var size = Ints(a[2], "size", at);
                var stride = Ints(a[3], "stride", at);
                if (a[4] is not bool) throw Bad($"{RebuildTensor} at offset {at}: requires_grad is not a boolean");
                if (a[5] is not PickleDict { Items.Count: 0 }) throw Refuse($"attaches backward hooks to a tensor (offset {at})");
                if (a.Length == 7 && a[6] is not (null or PickleDict)) throw Bad($"{RebuildTensor} at offset {at}: metadata is not a dict");
                return new PickleTensor(storage, offset, size, stride);
            default:
                throw Refuse($"calls '{g.FullName}' (REDUCE at offset {at})");
        }
    }

    private object PersistentStorage(object? pid, int at)
    {
        if (pid is not object?[] t || t.Length != 5 || t[0] is not "storage")
            throw Refuse($"has a persistent id at offset {at} that is not ('storage', type, key, location, numel)");
        if (t[1] is not PickleGlobal g || !StorageTypes.TryGetValue(g.FullName, out var dtype))
            throw Refuse($"has a storage of type {Describe(t[1])} at offset {at}");
        if (t[2] is not string key || key.Length == 0 || key.Length > 64 || !key.All(char.IsAsciiLetterOrDigit))
            throw Bad($"storage key at offset {at} is not a plain name under data/");
        if (t[3] is not string location) throw Bad($"storage location at offset {at} is not a string");
        if (t[4] is not long numel || numel < 0) throw Bad($"storage size at offset {at} is not a non-negative integer");
        return new PickleStorage(g.FullName, dtype, key, location, numel);
    }

    private long[] Ints(object? o, string what, int at)
    {
        if (o is not object?[] t) throw Bad($"{RebuildTensor} at offset {at}: {what} is not a tuple");
        var r = new long[t.Length];
        for (int i = 0; i < t.Length; i++)
            r[i] = t[i] is long v ? v : throw Bad($"{RebuildTensor} at offset {at}: {what}[{i}] is not an integer");
        return r;
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        PickleGlobal g => $"global '{g.FullName}'",
        PickleDict => "dict",
        PickleTensor => "tensor",
        PickleStorage => "storage",
        string => "string",
        object?[] => "tuple",
        _ => o.GetType().Name,
    };

    private int U8() => Bytes(1)[0];

    private ReadOnlySpan<byte> Bytes(int n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Bad($"truncated: needs {n} bytes at offset {_pos}, {_data.Length - _pos} left");
        var s = _data.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    private string Line(int at)
    {
        int nl = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(256, _data.Length - _pos));
        if (nl < 0) throw Bad($"GLOBAL at offset {at} has no newline-terminated name");
        string s = Utf8(_data.AsSpan(_pos, nl - _pos), at);
        _pos = nl + 1;
        return s;
    }

    private string Utf8(ReadOnlySpan<byte> b, int at)
    {
        try { return new UTF8Encoding(false, true).GetString(b); }
        catch (DecoderFallbackException) { throw Bad($"string at offset {at} is not valid UTF-8"); }
    }

    private void Push(object? o)
    {
        if (_stack.Count > 1_000_000) throw Bad("stack too deep");
        _stack.Add(o);
    }

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks[^1])) throw Bad($"stack underflow at offset {_pos - 1}");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    private object? Top()
    {
        if (_stack.Count == 0) throw Bad($"stack underflow at offset {_pos - 1}");
        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad($"no MARK before offset {_pos - 1}");
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private object? Memo(long key, int at) =>
        _memo.TryGetValue(key, out var v) ? v : throw Bad($"memo key {key} used before it is set (offset {at})");

    private List<object?> AsList(object? o, int at) => o as List<object?> ?? throw Bad($"APPEND to a {Describe(o)} at offset {at}");

    private PickleDict AsDict(object? o, int at) => o as PickleDict ?? throw Bad($"SETITEM on a {Describe(o)} at offset {at}");
}

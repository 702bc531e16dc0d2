using System.Text;
using System.Text.Unicode;

namespace Sna.Runtime.Tokenization;

/// <summary>How pieces of text are split before the BPE model (tokenizer.json <c>pre_tokenizer</c>).</summary>
internal enum PreTokenizerKind
{
    /// <summary>No pre-tokenizer: each piece of text is one word (Llama 2's Prepend/Replace layout).</summary>
    None,
    /// <summary><c>ByteLevel</c>: the GPT-2 regex split (unless <c>use_regex</c> is false), then bytes → byte alphabet.</summary>
    ByteLevel,
    /// <summary><c>Metaspace</c>: spaces → replacement, prepended per <see cref="PrependScheme"/>, optionally split.</summary>
    Metaspace,
    /// <summary><c>Sequence[Split(Llama 3 regex, Isolated), ByteLevel(use_regex false)]</c>.</summary>
    Llama3Split,
}

/// <summary>Metaspace's <c>prepend_scheme</c>.</summary>
internal enum PrependScheme { Always, First, Never }

/// <summary>One normalizer step of tokenizer.json (only those whose semantics are reproduced exactly).</summary>
internal abstract record NormalizerStep
{
    public abstract string Apply(string text);

    /// <summary><c>NFC</c> (managed UAX #15, see <see cref="Nfc"/>).</summary>
    public sealed record NfcStep : NormalizerStep
    {
        public override string Apply(string text) => Nfc.Normalize(text);
    }

    /// <summary><c>Prepend</c>: prefix a non-empty text.</summary>
    public sealed record PrependStep(string Prefix) : NormalizerStep
    {
        public override string Apply(string text) => text.Length == 0 ? text : Prefix + text;
    }

    /// <summary><c>Replace</c> with a literal <c>String</c> pattern: every occurrence, left to right.</summary>
    public sealed record ReplaceStep(string Pattern, string Content) : NormalizerStep
    {
        public override string Apply(string text) => text.Replace(Pattern, Content, StringComparison.Ordinal);
    }
}

/// <summary>One decoder step of tokenizer.json; steps run over the list of token strings, as Hugging Face's
/// <c>decode_chain</c> does.</summary>
internal abstract record DecoderStep
{
    /// <param name="tokens">The token strings, rewritten in place.</param>
    /// <param name="display">Decoding one token for display: steps that drop leading text (Strip, Metaspace's
    /// first-token rule) keep it, so " Paris" reads as such.</param>
    public abstract void Apply(List<string> tokens, bool display);

    /// <summary><c>Replace</c> with a literal pattern, in each token.</summary>
    public sealed record ReplaceStep(string Pattern, string Content) : DecoderStep
    {
        public override void Apply(List<string> tokens, bool display)
        {
            for (int i = 0; i < tokens.Count; i++) tokens[i] = tokens[i].Replace(Pattern, Content, StringComparison.Ordinal);
        }
    }

    /// <summary><c>ByteFallback</c>: runs of <c>&lt;0xXX&gt;</c> tokens become their UTF-8 text, or one U+FFFD per
    /// byte when the run is not valid UTF-8.</summary>
    public sealed record ByteFallbackStep : DecoderStep
    {
        public override void Apply(List<string> tokens, bool display)
        {
            var output = new List<string>(tokens.Count);
            var bytes = new List<byte>();
            foreach (string t in tokens)
            {
                if (TryByte(t, out byte b)) { bytes.Add(b); continue; }
                Flush(bytes, output);
                output.Add(t);
            }
            Flush(bytes, output);
            tokens.Clear();
            tokens.AddRange(output);
        }

        private static void Flush(List<byte> bytes, List<string> output)
        {
            if (bytes.Count == 0) return;
            byte[] run = [.. bytes];
            if (Utf8.IsValid(run)) output.Add(Encoding.UTF8.GetString(run));
            else for (int i = 0; i < run.Length; i++) output.Add("\uFFFD");
            bytes.Clear();
        }

        internal static bool TryByte(string t, out byte value)
        {
            value = 0;
            return t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
        }
    }

    /// <summary><c>Fuse</c>: all tokens into one.</summary>
    public sealed record FuseStep : DecoderStep
    {
        public override void Apply(List<string> tokens, bool display)
        {
            string joined = string.Concat(tokens);
            tokens.Clear();
            tokens.Add(joined);
        }
    }

    /// <summary><c>Strip</c>: up to <paramref name="Start"/> leading and <paramref name="Stop"/> trailing
    /// <paramref name="Content"/> chars of each token.</summary>
    public sealed record StripStep(char Content, int Start, int Stop) : DecoderStep
    {
        public override void Apply(List<string> tokens, bool display)
        {
            if (display) return;
            for (int i = 0; i < tokens.Count; i++)
            {
                string t = tokens[i];
                int a = 0, b = t.Length;
                while (a < Start && a < b && t[a] == Content) a++;
                while (t.Length - b < Stop && b > a && t[b - 1] == Content) b--;
                tokens[i] = t[a..b];
            }
        }
    }

    /// <summary><c>Metaspace</c>: the replacement becomes a space, except in the first token when a prefix was prepended.</summary>
    public sealed record MetaspaceStep(string Replacement, bool DropInFirst) : DecoderStep
    {
        public override void Apply(List<string> tokens, bool display)
        {
            for (int i = 0; i < tokens.Count; i++)
                tokens[i] = tokens[i].Replace(Replacement, i == 0 && DropInFirst && !display ? "" : " ", StringComparison.Ordinal);
        }
    }
}

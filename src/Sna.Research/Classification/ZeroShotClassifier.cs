using Sna.Runtime;
using System.Globalization;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Classification;

/// <summary>
/// How a two-label dataset is turned into a next-token decision: the prompt template (with <c>{sentence}</c> where the
/// text goes), the dataset's label values and, for each, the word whose first token the model should produce, and the
/// margin zones. Defaults are the SNA paper's SST-2 set-up.
/// </summary>
public sealed record ClassifierSpec
{
    public string Template { get; init; } = "Review: {sentence} Sentiment:";
    /// <summary>The dataset's label values, e.g. "0", "1" (class index = position in this list).</summary>
    public IReadOnlyList<string> LabelValues { get; init; } = ["0", "1"];
    /// <summary>The word scored for each label value (its first token), e.g. " negative", " positive".</summary>
    public IReadOnlyList<string> LabelWords { get; init; } = [" negative", " positive"];
    public MarginZones Zones { get; init; } = MarginZones.Paper;
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;

    public const string Placeholder = "{sentence}";

    public void Validate()
    {
        if (!Template.Contains(Placeholder, StringComparison.Ordinal))
            throw new SnaInputException($"the template must contain {Placeholder}, got '{Template}'");
        if (LabelValues.Count != 2 || LabelWords.Count != 2)
            throw new SnaInputException($"a two-label classifier needs exactly two label values and two label words, got {LabelValues.Count} and {LabelWords.Count}");
        if (LabelValues[0] == LabelValues[1]) throw new SnaInputException($"the two label values are the same ('{LabelValues[0]}')");
        if (!(Zones.Low > 0 && Zones.Low < Zones.High && Zones.High < 1))
            throw new SnaInputException($"margin zones must satisfy 0 < low < high < 1, got {Zones.Low}, {Zones.High}");
    }

    /// <summary>The prompt for one text (the text is trimmed: GLUE sentences end with a space).</summary>
    public string Prompt(string text) => Template.Replace(Placeholder, text.Trim(), StringComparison.Ordinal);

    /// <summary>Class index of a dataset label value, or an error naming the allowed values.</summary>
    public int ClassOf(string labelValue)
    {
        for (int i = 0; i < LabelValues.Count; i++) if (LabelValues[i] == labelValue) return i;
        throw new SnaInputException($"label '{labelValue}' is not one of the classifier's label values ({string.Join(", ", LabelValues)})");
    }

    /// <summary>Parses "0.30:0.60" or "0.30,0.60" (<see cref="InputParsing.Band"/>).</summary>
    public static MarginZones ParseZones(string s) => MarginZones.Parse(s);
}

/// <summary>
/// The decision for one input: the probability of each label's first token at the last position (softmax over the
/// whole vocabulary), the predicted class (the larger probability; a tie goes to class 0), the margin
/// |P1 − P0| / (P1 + P0) and its zone.
/// </summary>
public readonly record struct ClassPrediction(double P0, double P1, int Predicted, double Margin, int Zone)
{
    public double P(int cls) => cls == 0 ? P0 : P1;
}

/// <summary>
/// Zero-shot two-label classification by next-token probabilities (the SNA paper's SST-2 set-up): the prompt is the
/// template filled with the text, and the label whose first token is more probable at the last position wins.
/// </summary>
public sealed class ZeroShotClassifier
{
    public TransformerModel Model { get; }
    public ModelTokenizer Tokenizer { get; }
    public ClassifierSpec Spec { get; }
    /// <summary>The first token of each label word.</summary>
    public int[] LabelTokenIds { get; }

    public ZeroShotClassifier(TransformerModel model, ModelTokenizer tokenizer, ClassifierSpec? spec = null)
    {
        Model = model; Tokenizer = tokenizer; Spec = spec ?? new ClassifierSpec();
        Spec.Validate();
        LabelTokenIds = new int[2];
        for (int c = 0; c < 2; c++)
        {
            // The label word as it follows the prompt (the target rule: Llama 2 needs the context).
            if (Spec.LabelWords[c].Length == 0) throw new SnaInputException($"label word {c} is empty");
            var ids = tokenizer.EncodeTarget(Spec.Prompt(""), Spec.LabelWords[c]).Ids;
            if ((uint)ids[0] >= (uint)model.Config.VocabSize) throw new SnaInputException($"label word '{Spec.LabelWords[c]}' starts with token {ids[0]}, outside the model's vocabulary");
            LabelTokenIds[c] = ids[0];
        }
        if (LabelTokenIds[0] == LabelTokenIds[1])
            throw new SnaInputException($"the label words '{Spec.LabelWords[0]}' and '{Spec.LabelWords[1]}' start with the same token {LabelTokenIds[0]}: they cannot be told apart");
    }

    /// <summary>Token ids of the prompt for <paramref name="text"/> (BOS as the spec says), checked against the context length.</summary>
    public int[] Encode(string text)
    {
        var ids = Tokenizer.Encode(Spec.Prompt(text), Spec.Bos);
        if (ids.Length == 0) throw new SnaInputException("the prompt is empty");
        if (ids.Length > Model.Config.NCtx)
            throw new SnaInputException($"the prompt for '{Truncate(text)}' has {ids.Length} tokens; the model's context is {Model.Config.NCtx}");
        return ids;
    }

    /// <summary>The decision from last-position logits.</summary>
    public ClassPrediction Decide(ReadOnlySpan<float> logits) => Decide(logits, LabelTokenIds, Spec.Zones);

    public static ClassPrediction Decide(ReadOnlySpan<float> logits, int[] labelTokenIds, MarginZones zones)
    {
        double lse = Softmax.LogSumExp(logits);
        double p0 = Math.Exp(logits[labelTokenIds[0]] - lse), p1 = Math.Exp(logits[labelTokenIds[1]] - lse);
        return FromProbabilities(p0, p1, zones);
    }

    /// <summary>Prediction, margin and zone from the two label probabilities.</summary>
    public static ClassPrediction FromProbabilities(double p0, double p1, MarginZones zones)
    {
        double m = MarginZones.Margin(p1, p0);
        return new ClassPrediction(p0, p1, p1 > p0 ? 1 : 0, m, zones.Zone(m));
    }

    /// <summary>Classifies prompts already encoded, <paramref name="batchSize"/> sequences per forward pass.</summary>
    public ClassPrediction[] Classify(IReadOnlyList<int[]> encoded, HookSet? hooks = null, int batchSize = 16, Action<int>? progress = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize));
        var result = new ClassPrediction[encoded.Count];
        for (int start = 0; start < encoded.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, encoded.Count - start);
            var batch = new int[n][];
            for (int i = 0; i < n; i++) batch[i] = encoded[start + i];
            var r = Model.Forward(batch, hooks);
            for (int i = 0; i < n; i++) result[start + i] = Decide(r.Last(i));
            progress?.Invoke(start + n);
        }
        return result;
    }

    /// <summary>Classifies raw texts (templated and encoded here).</summary>
    public ClassPrediction[] Classify(IReadOnlyList<string> texts, HookSet? hooks = null, int batchSize = 16) =>
        Classify(texts.Select(Encode).ToArray(), hooks, batchSize);

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>Counts and accuracy of one group of examples (a zone, or all).</summary>
public sealed record ZoneAccuracy(int N, int Correct)
{
    /// <summary>Correct / N, or null when the group is empty.</summary>
    public double? Accuracy => N == 0 ? null : (double)Correct / N;

    /// <summary>Accuracy per zone (index 1..3; index 0 = all examples).</summary>
    public static ZoneAccuracy[] PerZone(IReadOnlyList<int> zones, IReadOnlyList<bool> correct)
    {
        if (zones.Count != correct.Count) throw new ArgumentException("zones and outcomes differ in length");
        var n = new int[4]; var c = new int[4];
        for (int i = 0; i < zones.Count; i++)
        {
            int z = zones[i];
            if (z is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(zones), $"zone {z} is not 1, 2 or 3");
            n[0]++; n[z]++;
            if (correct[i]) { c[0]++; c[z]++; }
        }
        return Enumerable.Range(0, 4).Select(i => new ZoneAccuracy(n[i], c[i])).ToArray();
    }
}

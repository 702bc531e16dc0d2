using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>
/// One task encoded once with its baseline scored once, then evaluated under any number of amplifications. Each evaluation
/// is exactly what <see cref="TaskAmplification.Evaluate"/> computes (same encoding, same batches, first-token scoring), without
/// re-running the baseline: the interference and control runners evaluate one target under many configurations.
/// </summary>
public sealed class TaskEvaluator
{
    private readonly TransformerModel _model;

    public TaskEvaluator(TransformerModel model, ModelTokenizer tokenizer, TaskSuite suite, BosPolicy bos)
    {
        _model = model;
        Suite = suite;
        Encoded = EncodedTask.Encode(suite, tokenizer, bos);
        Base = TaskScoring.FirstToken(model, Encoded.Prompts, Encoded.FirstTargetIds);
    }

    public TaskSuite Suite { get; }
    public EncodedTask Encoded { get; }
    /// <summary>First-token scores of every prompt without amplification.</summary>
    public IReadOnlyList<TargetScore> Base { get; }
    public double MeanPBase => Base.Average(s => s.Probability);

    /// <summary>The task's prompts scored with <paramref name="amp"/> against the cached baseline.</summary>
    public TaskOutcome Evaluate(Amplification amp)
    {
        amp.Validate(_model.Config);
        var post = TaskScoring.FirstToken(_model, Encoded.Prompts, Encoded.FirstTargetIds, amp.ToHooks(_model.Config));
        var list = new PromptOutcome[post.Length];
        for (int i = 0; i < list.Length; i++)
            list[i] = new PromptOutcome(i, Suite.Prompts[i].Text, Suite.Prompts[i].Target, Encoded.Targets[i][0], Base[i], post[i]);
        return new TaskOutcome(Suite.Name, amp, ScoreKind.FirstToken, list);
    }
}

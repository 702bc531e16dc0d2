namespace Sna.Web.Method;

/// <summary>One prompt of a task and the continuation whose first token is scored.</summary>
public sealed record TaskExample(string Prompt, string Target);

/// <summary>A built-in task: examples to measure and amplify, and the texts neurons are discovered on.</summary>
public sealed record TaskInfo(string Id, string Name, string Description, IReadOnlyList<TaskExample> Examples)
{
    /// <summary>Discovery texts: each prompt followed by its target.</summary>
    public IReadOnlyList<string> DiscoveryTexts => Examples.Select(e => e.Prompt + e.Target).ToArray();
}

/// <summary>The built-in tasks offered by the page. The library's <c>TaskLibrary</c> replaces <see cref="InlineTaskCatalog"/> at integration.</summary>
public interface ITaskCatalog
{
    IReadOnlyList<TaskInfo> Tasks { get; }
}

/// <summary>Three small tasks in the domains the bundled sna-demo-gpt2 was trained on.</summary>
public sealed class InlineTaskCatalog : ITaskCatalog
{
    public IReadOnlyList<TaskInfo> Tasks { get; } =
    [
        new("arithmetic", "Arithmetic", "Two-digit plus one-digit sums, in the training phrasing \"a + b = c\".",
        [
            new("23 + 5 =", " 28"), new("41 + 7 =", " 48"), new("62 + 3 =", " 65"),
            new("15 + 4 =", " 19"), new("34 + 2 =", " 36"), new("71 + 6 =", " 77"),
        ]),
        new("rhymes", "Rhymes", "Complete a couplet with a rhyming word.",
        [
            new("Roses are red, violets are", " blue"), new("The cat sat on the", " mat"),
            new("I saw a bee sitting in a", " tree"), new("The sun is bright, the stars at", " night"),
        ]),
        new("logic", "Syllogisms", "Modus ponens over template sentences.",
        [
            new("All men are mortal. Socrates is a man. Therefore, Socrates is", " mortal"),
            new("All birds have wings. A robin is a bird. Therefore, a robin has", " wings"),
            new("All cats are animals. Tom is a cat. Therefore, Tom is an", " animal"),
        ]),
    ];
}

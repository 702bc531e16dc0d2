using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Sna.Tests;

namespace Sna.Cli.Tests;

/// <summary>
/// The docs are tested (issue #16): every <c>sna …</c> command in a fenced shell block (<c>sh</c>, <c>bash</c>, <c>shell</c>,
/// <c>console</c>) of README.md and docs/*.md runs, as written, with the built CLI (<c>dotnet sna.dll</c>) in a fresh
/// temporary directory per document (commands run in document order, so a later one sees an earlier one's files), against
/// the bundled model. Heredocs (<c>cat &gt; FILE &lt;&lt;'EOF'</c>) are written as files and <c>&gt; FILE</c> redirects
/// stdout. A command fails the test on a non-zero exit or a deprecation note; only the exemptions listed below, each with its
/// reason, are skipped, and an exemption that no longer matches fails too. Synopsis blocks (no language) are not examples.
/// </summary>
[Collection("cli")]
public class DocsExamplesTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Commands not run, matched by document and command prefix, with the reason.</summary>
    public static readonly (string Doc, string Prefix, string Reason)[] Exemptions =
    [
        ("docs/web.md", "sna serve", "starts a server that runs until stopped; tests/Sna.Web.Tests drive it on loopback"),
        ("docs/models.md", "sna download", "needs the Hugging Face hub (no network in tests); HubCliTests run it against a loopback hub"),
        ("docs/models.md", "sna baseline --model openai-community/gpt2-medium", "needs GPT-2 Medium downloaded from the hub"),
        ("docs/models.md", "HF_HUB_OFFLINE=1 sna baseline --model EleutherAI/pythia-160m@step1000", "needs Pythia-160m in the hub cache"),
        ("docs/sweeps.md", "sna download", "needs the Hugging Face hub (no network in tests)"),
        ("docs/sweeps.md", "sna sweep --model \"$MODEL\"", "a step of the Slurm integration suite (its environment variables); tests/integration/slurm runs it on a local cluster"),
        ("docs/sweeps.md", "sna merge --out elsewhere/sweep.db", "a step of the Slurm integration suite (merges the shards sbatch wrote); tests/integration/slurm runs it"),
    ];

    /// <summary>Placeholders in examples and what they become in the test (paths only).</summary>
    public static readonly (string From, Func<string> To)[] Substitutions =
    [
        ("../shared/", () => TestPaths.SharedDir + "/"),
    ];

    public sealed record Step(string Doc, int Line, string Text, string[]? Args, string? WriteFile, string? Content, string? StdoutTo,
        IReadOnlyDictionary<string, string>? Env = null);

    private static readonly string[] ShellLanguages = ["sh", "bash", "shell", "console"];

    public static IEnumerable<string> Documents() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "docs"), "*.md").Order(StringComparer.Ordinal)
            .Select(p => "docs/" + Path.GetFileName(p)));

    public static TheoryData<string> DocumentsExceptTheMiniStudy() => new(Documents().Where(d => d != "docs/mini-study.md"));

    /// <summary>The steps of one document: sna commands and heredoc files, in order.</summary>
    public static List<Step> Extract(string doc)
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, doc));
        var steps = new List<Step>();
        string? lang = null;
        for (int i = 0; i < lines.Length; i++)
        {
            var fence = Regex.Match(lines[i], @"^\s*```\s*(\w*)");
            if (fence.Success) { lang = lang is null ? fence.Groups[1].Value : null; continue; }
            if (lang is null || !ShellLanguages.Contains(lang)) continue;
            int start = i;
            string line = lines[i];
            while (i + 1 < lines.Length)
            {
                if (line.EndsWith('\\')) line = line[..^1] + " " + lines[++i].Trim();
                else if (OpenQuote(line)) line = line + "\n" + lines[++i];   // a quoted string spanning lines
                else break;
            }
            var heredoc = Regex.Match(line, @"^\s*cat\s*>\s*(\S+)\s*<<-?\s*'?(\w+)'?\s*$");
            if (heredoc.Success)
            {
                var body = new StringBuilder();
                while (++i < lines.Length && lines[i].Trim() != heredoc.Groups[2].Value) body.Append(lines[i]).Append('\n');
                steps.Add(new Step(doc, start + 1, line.Trim(), null, heredoc.Groups[1].Value, body.ToString(), null));
                continue;
            }
            string text = Regex.Replace(line.Trim(), @"^\$\s+", "");
            foreach (var (words, stdoutTo) in Commands(text))
            {
                // Leading VAR=value words are the command's environment.
                var env = new Dictionary<string, string>();
                while (words.Count > 0 && Regex.Match(words[0], @"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$") is { Success: true } m) { env[m.Groups[1].Value] = m.Groups[2].Value; words.RemoveAt(0); }
                if (words.Count > 0 && words[0] == "sna")
                    steps.Add(new Step(doc, start + 1, text, words.ToArray(), null, null, stdoutTo, env));
            }
        }
        return steps;
    }

    /// <summary>The fenced <c>python</c> blocks of one document, in order, verbatim.</summary>
    public static List<string> PythonBlocks(string doc)
    {
        var blocks = new List<string>();
        StringBuilder? cur = null;
        bool open = false;
        foreach (var line in File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, doc)))
        {
            var fence = Regex.Match(line, @"^\s*```\s*(\w*)");
            if (!fence.Success) { cur?.Append(line).Append('\n'); continue; }
            if (open) { if (cur is not null) blocks.Add(cur.ToString()); cur = null; open = false; }
            else { open = true; if (fence.Groups[1].Value == "python") cur = new StringBuilder(); }
        }
        return blocks;
    }

    /// <summary>Whether a line ends inside a single- or double-quoted string (so the string continues on the next line).</summary>
    public static bool OpenQuote(string line)
    {
        char q = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (q == '\0')
            {
                if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1]))) return false;
                if (c == '\\') { i++; continue; }
                if (c is '\'' or '"') q = c;
            }
            else if (q == '"' && c == '\\') i++;
            else if (c == q) q = '\0';
        }
        return q != '\0';
    }

    /// <summary>Splits a shell line into simple commands (at unquoted <c>&amp;&amp;</c>, <c>;</c>, <c>|</c>; a <c>#</c> comment
    /// ends it) with POSIX quoting, and a <c>&gt; FILE</c> redirect of stdout.</summary>
    public static List<(List<string> Words, string? StdoutTo)> Commands(string line)
    {
        var result = new List<(List<string>, string?)>();
        var words = new List<string>();
        var cur = new StringBuilder();
        bool any = false, redirect = false;
        string? stdoutTo = null;
        void EndWord()
        {
            if (!any) return;
            if (redirect) { stdoutTo = cur.ToString(); redirect = false; } else words.Add(cur.ToString());
            cur.Clear(); any = false;
        }
        void EndCommand(bool keep)
        {
            EndWord();
            if (keep) result.Add((words, stdoutTo));
            words = new List<string>(); stdoutTo = null;
        }
        bool piped = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '\'') { int j = line.IndexOf('\'', i + 1); if (j < 0) j = line.Length; cur.Append(line, i + 1, j - i - 1); i = j; any = true; continue; }
            if (c == '"')
            {
                any = true;
                for (i++; i < line.Length && line[i] != '"'; i++)
                {
                    if (line[i] == '\\' && i + 1 < line.Length && "\"\\$`".Contains(line[i + 1])) i++;
                    cur.Append(line[i]);
                }
                continue;
            }
            if (c == '\\' && i + 1 < line.Length) { cur.Append(line[++i]); any = true; continue; }
            if (char.IsWhiteSpace(c)) { EndWord(); continue; }
            if (c == '#' && !any) break;
            if (c == '>') { EndWord(); redirect = true; continue; }
            if (c == ';' || (c == '&' && i + 1 < line.Length && line[i + 1] == '&')) { if (c == '&') i++; EndCommand(!piped); piped = false; continue; }
            if (c == '|') { EndCommand(!piped); piped = true; continue; } // the command after a pipe is not ours
            cur.Append(c); any = true;
        }
        EndCommand(!piped);
        return result;
    }

    private static (string Reason, string Prefix)? ExemptionFor(Step s)
    {
        string joined = string.Join(' ', s.Args!.Select(a => a.Contains(' ') || a.Contains('$') ? "\"" + a + "\"" : a));
        foreach (var e in Exemptions)
            if (e.Doc == s.Doc && (joined.StartsWith(e.Prefix, StringComparison.Ordinal) || s.Text.StartsWith(e.Prefix, StringComparison.Ordinal))) return (e.Reason, e.Prefix);
        return null;
    }

    /// <summary>Runs one document's steps in a fresh directory; returns the directory (the caller deletes it) and what ran.</summary>
    internal static (TempDir Dir, List<string> Ran, List<string> Skipped) RunDocument(string doc)
    {
        var dir = new TempDir();
        var ran = new List<string>(); var skipped = new List<string>();
        foreach (var s in Extract(doc))
        {
            if (s.WriteFile is { } f) { File.WriteAllText(Path.Combine(dir.Path, f), s.Content); continue; }
            if (ExemptionFor(s) is { } ex) { skipped.Add($"{doc}:{s.Line}: {s.Text} — {ex.Reason}"); continue; }
            var args = s.Args![1..].Select(a => Substitutions.Aggregate(a, (x, t) => x.Replace(t.From, t.To()))).ToArray();
            var (code, stdout, stderr) = Run(dir.Path, args, s.Env);
            Assert.True(code == 0, $"{doc}:{s.Line}: `{s.Text}` exited {code}\nstderr: {stderr}\nstdout (tail): {Tail(stdout)}");
            Assert.False(stderr.Contains("is deprecated"), $"{doc}:{s.Line}: `{s.Text}` uses a deprecated spelling: {stderr}");
            if (s.StdoutTo is { } to) File.WriteAllText(Path.Combine(dir.Path, to), stdout);
            ran.Add($"{doc}:{s.Line}: {s.Text}");
        }
        return (dir, ran, skipped);
    }

    private static string Tail(string s) => s.Length <= 2000 ? s : "…" + s[^2000..];

    /// <summary>Runs the built CLI (<c>dotnet sna.dll</c>, beside the tests) in <paramref name="cwd"/>.</summary>
    internal static (int Code, string Out, string Err) Run(string cwd, string[] args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = cwd };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sna.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["COLUMNS"] = "120";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(20))) { p.Kill(true); throw new TimeoutException($"sna {string.Join(' ', args)} did not finish in 20 minutes"); }
        return (p.ExitCode, o.Result, e.Result);
    }

    [Theory]
    [MemberData(nameof(DocumentsExceptTheMiniStudy))]
    public void Every_sna_example_in_the_document_runs(string doc)
    {
        var (dir, ran, skipped) = RunDocument(doc);
        using (dir)
        {
            // What ran and what was exempt (with the reason) is in the test output; a document without shell examples runs nothing.
            output.WriteLine($"{doc}: ran {ran.Count}, exempt {skipped.Count}");
            foreach (var s in ran) output.WriteLine("  ran: " + s);
            foreach (var s in skipped) output.WriteLine("  exempt: " + s);
        }
    }

    [Fact]
    public void Every_exemption_matches_an_example_and_the_extraction_is_sound()
    {
        var all = Documents().SelectMany(Extract).Where(s => s.Args is not null).ToList();
        foreach (var e in Exemptions)
            Assert.True(all.Any(s => s.Doc == e.Doc && ExemptionFor(s) is { } x && x.Prefix == e.Prefix), $"stale exemption: {e.Doc} {e.Prefix}");
        Assert.Contains(all, s => s.Doc == "README.md");
        Assert.Contains(all, s => s.Doc == "docs/mini-study.md" && s.Args!.Contains("--neurons-file"));
        // The shell-word splitter: quotes, comments, redirects, pipes.
        var c = Commands("sna amplify --prompt \"What is 3 + 4? Answer:\" --target ' 7' # comment");
        Assert.Equal(["sna", "amplify", "--prompt", "What is 3 + 4? Answer:", "--target", " 7"], c.Single().Words);
        var r = Commands("sna summary --db a.db --format tsv > out.tsv");
        Assert.Equal("out.tsv", r.Single().StdoutTo);
        Assert.Single(Commands("sna summary --db a.db | cat"));
        Assert.Equal(2, Commands("sna tasks && sna models").Count);
    }
}

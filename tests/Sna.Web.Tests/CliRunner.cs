using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sna.Web.Tests;

/// <summary>Runs the built CLI (sna.dll copied beside the tests) and parses its --json output.</summary>
public static class Cli
{
    public static JsonNode Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sna.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("sna did not finish in 2 minutes"); }
        Assert.True(p.ExitCode == 0, $"sna {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return JsonNode.Parse(stdout.Result)!;
    }

    /// <summary>Splits a command line the web tool produced (POSIX single quotes, --flag=value) back into arguments.</summary>
    public static string[] SplitShell(string command)
    {
        var args = new List<string>();
        var cur = new System.Text.StringBuilder();
        bool inQuote = false, any = false, escaped = false;
        foreach (char c in command)
        {
            if (escaped) { cur.Append(c); escaped = false; any = true; continue; }
            if (inQuote) { if (c == '\'') inQuote = false; else cur.Append(c); continue; }
            if (c == '\'') { inQuote = true; any = true; continue; }
            if (c == '\\') { escaped = true; continue; }
            if (c == ' ') { if (any || cur.Length > 0) args.Add(cur.ToString()); cur.Clear(); any = false; continue; }
            cur.Append(c);
        }
        if (any || cur.Length > 0) args.Add(cur.ToString());
        return args.ToArray();
    }
}

using System.Globalization;
using System.Text;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>The <c>sna</c> command line that reproduces a result, quoted for a POSIX shell.</summary>
public static class CliCommand
{
    public static string Baseline(ModelEntry model, string prompt, string target, bool bos, int top)
    {
        var sb = Start("baseline", model);
        Arg(sb, "--prompt", prompt); Arg(sb, "--target", target);
        if (!bos) sb.Append(" --no-bos");
        if (top != 10) Arg(sb, "--top", top.ToString(CultureInfo.InvariantCulture));
        return sb.Append(" --json").ToString();
    }

    public static string Amplify(ModelEntry model, string prompt, string target, bool bos, int layer, IEnumerable<int> neurons, double multiplier, string positions)
    {
        var sb = Start("amplify", model);
        Arg(sb, "--prompt", prompt); Arg(sb, "--target", target);
        Arg(sb, "--layer", layer.ToString(CultureInfo.InvariantCulture));
        Arg(sb, "--neurons", string.Join(',', neurons.Select(n => n.ToString(CultureInfo.InvariantCulture))));
        Arg(sb, "--multiplier", multiplier.ToString("R", CultureInfo.InvariantCulture));
        Arg(sb, "--positions", positions);
        if (!bos) sb.Append(" --no-bos");
        return sb.Append(" --json").ToString();
    }

    public static string ExactMatch(ModelEntry model, string task, bool bos, int layer, IEnumerable<int> neurons, double multiplier, string positions, int generate)
    {
        var sb = Start("amplify", model);
        Arg(sb, "--task", task);
        Arg(sb, "--layer", layer.ToString(CultureInfo.InvariantCulture));
        Arg(sb, "--neurons", string.Join(',', neurons.Select(n => n.ToString(CultureInfo.InvariantCulture))));
        Arg(sb, "--multiplier", multiplier.ToString("R", CultureInfo.InvariantCulture));
        Arg(sb, "--positions", positions);
        Arg(sb, "--generate", generate.ToString(CultureInfo.InvariantCulture));
        if (!bos) sb.Append(" --no-bos");
        return sb.Append(" --json").ToString();
    }

    private static StringBuilder Start(string verb, ModelEntry model)
    {
        var sb = new StringBuilder("sna ").Append(verb);
        if (model.Kind != ModelKind.Bundled && model.Directory is not null) Arg(sb, "--model", model.Directory);
        return sb;
    }

    /// <summary>"--flag value"; "--flag=value" when the value starts with '-', so it cannot be read as an option.</summary>
    private static void Arg(StringBuilder sb, string flag, string value) =>
        sb.Append(' ').Append(flag).Append(value.StartsWith('-') ? '=' : ' ').Append(Quote(value));

    /// <summary>POSIX shell quoting: bare when only safe characters, else single quotes with ' written as '\''.</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:,+@%=".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}

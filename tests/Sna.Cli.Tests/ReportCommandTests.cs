using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary><c>sna report --csv</c> on a synthetic sweep with a planted negative baseline–improvement relation.</summary>
[Collection("cli")]
public class ReportCommandTests
{
    [Fact]
    public void Report_from_csv_writes_html_markdown_summary_and_figures_and_recovers_the_relation()
    {
        string dir = Directory.CreateTempSubdirectory("sna-report-").FullName;
        try
        {
            string csv = Path.Combine(dir, "sweep.csv");
            var sb = new StringBuilder("task,prompt_index,layer,count,multiplier,positions,neuron_source,p_base,p_post,logprob_base,logprob_post,improvement_pct\n");
            string[] domains = ["math", "poetry", "code", "logic"], levels = ["easy", "medium", "hard"];
            int t = 0;
            foreach (var d in domains)
                foreach (var l in levels)
                {
                    double pBase = Math.Pow(10, -3.5 + 0.25 * t++); // 3e-4 .. 0.18
                    for (int p = 0; p < 4; p++)
                        for (int layer = 0; layer < 3; layer++)
                            foreach (double m in new[] { 1.5, 2.0 })
                            {
                                double gain = Math.Max(-5, -12 * Math.Log10(pBase) - 8 + layer + 3 * m + p); // lower baseline, larger gain
                                double pb = pBase * (1 + 0.01 * p), pp = pb * (1 + gain / 100);
                                sb.Append(CultureInfo.InvariantCulture, $"{d}-{l},{p},{layer},5,{m},all,differential,{pb:R},{pp:R},{Math.Log(pb):R},{Math.Log(pp):R},{gain:R}\n");
                            }
                }
            File.WriteAllText(csv, sb.ToString());
            string outDir = Path.Combine(dir, "out");
            var (code, _, err) = CliHarness.Run("report", "--csv", csv, "--out", outDir);
            Assert.True(code == 0, err);
            foreach (var f in new[] { "report.html", "report.md", "summary.json" })
                Assert.True(new FileInfo(Path.Combine(outDir, f)).Length > 0, f);
            Assert.NotEmpty(Directory.GetFiles(outDir, "*.png", SearchOption.AllDirectories));
            var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;
            Assert.Equal(12, summary.GetProperty("tasks").GetArrayLength());
            var stats = summary.GetProperty("stats");
            Assert.Equal(12, stats.GetProperty("n").GetInt32());
            Assert.True(stats.GetProperty("spearman_rho").GetDouble() < -0.9);
            Assert.True(stats.GetProperty("spearman_p").GetDouble() < 0.01);
            var ci = stats.GetProperty("spearman_ci95").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.True(ci[0] <= ci[1] && ci[1] < 0);
        }
        finally { Directory.Delete(dir, true); }
    }
}

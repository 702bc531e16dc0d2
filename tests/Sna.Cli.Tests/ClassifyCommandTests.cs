using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sna.Cli.Commands;
using Sna.Research.Classification;

namespace Sna.Cli.Tests;

/// <summary><c>sna classify</c> end to end on the bundled model and the bundled SST-2 dev set (issue 6).</summary>
[Collection("cli")]
public class ClassifyCommandTests
{
    /// <summary>The first rows of the seed-42 permutation of SST-2 dev (872 rows), as docs/classify.md pins them.</summary>
    private static readonly int[] PinnedSeed42 = [578, 358, 664, 592, 854, 779, 748, 318];

    private static readonly string[] Small = ["classify", "--n", "12", "--seed", "42", "--layers", "1,3", "--multipliers", "1,4", "--json"];

    /// <summary>One run with --db, shared by the tests that read it (the CLI collection runs serially).</summary>
    private static readonly Lazy<(JsonElement Json, string Db)> s_run = new(() =>
    {
        string db = Path.Combine(Path.GetTempPath(), $"sna-cli-classify-{Environment.ProcessId}-{Guid.NewGuid():N}.db");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { File.Delete(db); } catch (IOException) { } };
        return (CliHarness.Json([.. Small, "--db", db, "--naive-sample", "0"]), db);
    });

    [Fact]
    public void Json_has_the_contract_shape_and_the_seeded_rows()
    {
        var r = s_run.Value.Json;
        Assert.Equal(12, r.GetProperty("n").GetInt32());
        var rows = r.GetProperty("rows").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(12, rows.Length);
        Assert.Equal(PinnedSeed42, rows.Take(8));
        Assert.Equal(DatasetSampler.Split(872, 12, 100, 42).Eval, rows);
        Assert.Equal("prefix", r.GetProperty("engine").GetString());

        int total = 0;
        foreach (var z in new[] { "1", "2", "3" })
        {
            var zone = r.GetProperty("zones").GetProperty(z);
            int n = zone.GetProperty("n").GetInt32();
            total += n;
            var acc = zone.GetProperty("accuracy_before");
            if (n == 0) Assert.Equal(JsonValueKind.Null, acc.ValueKind);
            else Assert.InRange(acc.GetDouble(), 0, 1);
        }
        Assert.Equal(12, total);

        var grid = r.GetProperty("grid").EnumerateArray().ToArray();
        Assert.Equal(2 * 2, grid.Length);
        Assert.Equal(new[] { (1, 1.0), (1, 4.0), (3, 1.0), (3, 4.0) },
            grid.Select(c => (c.GetProperty("layer").GetInt32(), c.GetProperty("multiplier").GetDouble())));
        foreach (var cell in grid)
            foreach (var z in new[] { "1", "2", "3" })
            {
                var cz = cell.GetProperty("zones").GetProperty(z);
                bool empty = r.GetProperty("zones").GetProperty(z).GetProperty("n").GetInt32() == 0;
                var after = cz.GetProperty("accuracy_after");
                var delta = cz.GetProperty("delta_pp");
                if (empty) { Assert.Equal(JsonValueKind.Null, after.ValueKind); Assert.Equal(JsonValueKind.Null, delta.ValueKind); }
                else
                {
                    Assert.InRange(after.GetDouble(), 0, 1);
                    double before = r.GetProperty("zones").GetProperty(z).GetProperty("accuracy_before").GetDouble();
                    Assert.Equal((after.GetDouble() - before) * 100, delta.GetDouble(), 9);
                }
            }
    }

    [Fact]
    public void Multiplier_one_cells_have_zero_delta()
    {
        var r = s_run.Value.Json;
        var ones = r.GetProperty("grid").EnumerateArray().Where(c => c.GetProperty("multiplier").GetDouble() == 1.0).ToArray();
        Assert.Equal(2, ones.Length);
        foreach (var cell in ones)
        {
            Assert.Equal(0.0, cell.GetProperty("all").GetProperty("delta_pp").GetDouble());
            foreach (var z in new[] { "1", "2", "3" })
            {
                var cz = cell.GetProperty("zones").GetProperty(z);
                if (cz.GetProperty("n").GetInt32() == 0) continue;
                Assert.Equal(0.0, cz.GetProperty("delta_pp").GetDouble());
                Assert.Equal(0, cz.GetProperty("fixed").GetInt32() + cz.GetProperty("broken").GetInt32());
            }
        }
    }

    [Fact]
    public void Db_stores_the_run_examples_and_grid()
    {
        var (json, db) = s_run.Value;
        Assert.Equal(Path.GetFullPath(db), json.GetProperty("db").GetProperty("path").GetString());
        long runId = json.GetProperty("db").GetProperty("run_id").GetInt64();
        using var conn = new SqliteConnection($"Data Source={db};Pooling=False");
        conn.Open();
        long Count(string sql) { using var c = conn.CreateCommand(); c.CommandText = sql; return Convert.ToInt64(c.ExecuteScalar()); }
        Assert.Equal(1, Count($"SELECT COUNT(*) FROM classify_runs WHERE run_id = {runId}"));
        Assert.Equal(12, Count($"SELECT COUNT(*) FROM classify_examples WHERE run_id = {runId}"));
        Assert.Equal(4 * 4, Count($"SELECT COUNT(*) FROM classify_grid WHERE run_id = {runId}"));       // 4 cells × (3 zones + all)
        Assert.Equal(json.GetProperty("all").GetProperty("correct").GetInt32(), Count($"SELECT SUM(correct) FROM classify_examples WHERE run_id = {runId}"));
        Assert.Equal(0, Count($"SELECT COUNT(*) FROM classify_grid WHERE run_id = {runId} AND multiplier = 1 AND n > 0 AND delta_pp <> 0"));
        var rows = new List<long>();
        using (var c = conn.CreateCommand())
        {
            c.CommandText = $"SELECT row FROM classify_examples WHERE run_id = {runId}";
            using var rd = c.ExecuteReader();
            while (rd.Read()) rows.Add(rd.GetInt64(0));
        }
        Assert.Equal(json.GetProperty("rows").EnumerateArray().Select(x => x.GetInt64()).Order(), rows.Order());
    }

    [Fact]
    public void Batched_engine_gives_the_same_grid()
    {
        var prefix = s_run.Value.Json;
        var batched = CliHarness.Json([.. Small, "--engine", "batched", "--naive-sample", "0"]);
        Assert.Equal("batched", batched.GetProperty("engine").GetString());
        static string Cells(JsonElement r) => string.Join(";", r.GetProperty("grid").EnumerateArray().Select(c => c.GetProperty("all").GetRawText() + c.GetProperty("zones").GetRawText()));
        Assert.Equal(Cells(prefix), Cells(batched));
    }

    [Fact]
    public void Malformed_tsv_exits_2_naming_file_and_line()
    {
        string dir = Directory.CreateTempSubdirectory("sna-cli-classify-").FullName;
        try
        {
            string tsv = Path.Combine(dir, "bad.tsv");
            File.WriteAllText(tsv, "sentence\tlabel\na fine film\t1\na dull film\n");
            var (code, _, err) = CliHarness.Run("classify", "--data", tsv, "--n", "1", "--json");
            Assert.Equal(2, code);
            Assert.Contains("bad.tsv", err);
            Assert.Contains("line 3", err);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Unknown_engine_exits_2()
    {
        var (code, _, err) = CliHarness.Run("classify", "--engine", "fast", "--n", "2", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--engine", err);
    }

    [Fact]
    public void Bundled_data_is_found()
    {
        Assert.True(File.Exists(ClassifyCommand.BundledDataPath()));
    }

    [Fact]
    public void True_label_is_flagged_as_an_oracle_in_json_and_on_stderr()
    {
        var (code, output, err) = CliHarness.Run("classify", "--n", "4", "--train-n", "12", "--layers", "4", "--multipliers", "4", "--amplify", "true-label", "--naive-sample", "0", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.Equal("true-label", r.GetProperty("amplify").GetString());
        Assert.True(r.GetProperty("amplify_oracle").GetBoolean());
        Assert.Contains("ORACLE", r.GetProperty("amplify_note").GetString());
        Assert.Contains("ORACLE", err);
    }

    [Fact]
    public void True_label_table_output_says_oracle()
    {
        var (code, output, err) = CliHarness.Run("classify", "--n", "4", "--train-n", "12", "--layers", "4", "--multipliers", "4", "--amplify", "true-label", "--naive-sample", "0", "--format", "plain");
        Assert.True(code == 0, err);
        Assert.Contains("ORACLE", output + err);
        Assert.Contains("amplify=true-label", output + err);
    }

    [Fact]
    public void Fixed_label_accepts_a_value_or_a_word()
    {
        var byWord = CliHarness.Json("classify", "--n", "4", "--train-n", "12", "--layers", "4", "--multipliers", "4", "--amplify", "fixed:positive", "--naive-sample", "0", "--json");
        Assert.Equal("fixed:1", byWord.GetProperty("amplify").GetString());
        Assert.False(byWord.GetProperty("amplify_oracle").GetBoolean());
        var (code, _, err) = CliHarness.Run("classify", "--n", "4", "--amplify", "fixed:neutral", "--json");
        Assert.Equal(2, code);
        Assert.Contains("fixed:LABEL", err);
    }

    [Fact]
    public void Paper_grid_preset_has_no_identity_cell()
    {
        var r = CliHarness.Json("classify", "--n", "4", "--train-n", "12", "--grid", "paper", "--naive-sample", "0", "--json");
        Assert.Equal("paper", r.GetProperty("grid_preset").GetString());
        Assert.Equal(new[] { 0, 1, 3, 4, 5 }, r.GetProperty("layers").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(new[] { 2.0, 4.0, 8.0, 16.0 }, r.GetProperty("multipliers").EnumerateArray().Select(x => x.GetDouble()));
        Assert.Equal(20, r.GetProperty("grid").GetArrayLength());
        Assert.Equal(20, r.GetProperty("zone3_configurations").GetInt32());
        var (code, _, err) = CliHarness.Run("classify", "--n", "4", "--grid", "paper", "--layers", "1", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--grid paper", err);
    }

    [Fact]
    public void Default_grid_does_not_count_the_identity_multiplier_in_zone3()
    {
        // The default multipliers 1,2,4,8,12,16 over two layers: 12 cells, 10 of them interventions.
        var r = CliHarness.Json("classify", "--n", "4", "--train-n", "12", "--layers", "1,4", "--naive-sample", "0", "--json");
        Assert.Equal(12, r.GetProperty("grid").GetArrayLength());
        Assert.Equal(10, r.GetProperty("zone3_configurations").GetInt32());
    }
}

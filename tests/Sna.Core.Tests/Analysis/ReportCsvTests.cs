using Sna.Research.Analysis;
using Sna.Core.Tests.Reporting;

namespace Sna.Core.Tests.Analysis;

public sealed class ReportCsvTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private string Dir => _tmp.Path;

    public void Dispose() => _tmp.Dispose();

    private string Write(string name, string text) => _tmp.Write(name, text);

    [Fact]
    public void Reads_the_sweep_engine_export_by_header()
    {
        // Columns shuffled, an extra column, CRLF line ends, a quoted positions field with a comma, a trailing newline.
        string csv =
            "layer,task,prompt_index,count,multiplier,positions,neuron_source,p_base,p_post,logprob_base,logprob_post,improvement_pct,extra\r\n" +
            "12,math-easy,0,64,5,all,task,0.05,0.06,-2.995732,-2.813411,20,x\r\n" +
            "3,factual-recall-hard,1,8,2.5,\"-1,-2\",random:3,1e-3,0.0011,-6.907755,-6.812445,10.000000000000009,y\r\n" +
            "7,sentiment,2,16,10,last,task,0.5,0.4,-0.693147,-0.916291,-20,z\r\n";
        var set = SweepResultSet.FromCsv(Write("run-1.csv", csv));
        Assert.Equal("run-1", set.SweepName);
        Assert.Equal("unknown", set.ModelName);
        Assert.Null(set.ModelHash);
        Assert.Equal(3, set.Rows.Count);
        Assert.Equal(new SweepRow("math-easy", "math", "easy", 0, 12, 64, 5, "all", "task", 0.05, 0.06, -2.995732, -2.813411, 20), set.Rows[0]);
        var r1 = set.Rows[1];
        Assert.Equal(("factual-recall", "hard"), (r1.Domain, r1.Level));
        Assert.Equal("-1,-2", r1.Positions);
        Assert.Equal("random:3", r1.NeuronSource);
        Assert.Equal(1e-3, r1.PBase);
        Assert.Equal(2.5, r1.Multiplier);
        Assert.Equal(("sentiment", ""), (set.Rows[2].Domain, set.Rows[2].Level));
        Assert.Equal(["math-easy", "factual-recall-hard", "sentiment"], set.Tasks);
    }

    [Fact]
    public void Domain_and_level_columns_and_provenance_override_parsing()
    {
        string csv =
            "task,domain,level,prompt_index,layer,count,multiplier,positions,neuron_source,p_base,p_post,logprob_base,logprob_post,improvement_pct,model,model_hash,sweep\n" +
            "math-easy,arith,l2,0,1,2,3,all,task,0.1,0.2,-2.3,-1.6,100,gpt2-medium,abc123,grid-a\n" +
            "math-hard,,,0,1,2,3,all,task,0.1,0.2,-2.3,-1.6,100,,,\n";
        var set = SweepResultSet.FromCsv(Write("x.csv", csv));
        Assert.Equal(("arith", "l2"), (set.Rows[0].Domain, set.Rows[0].Level));
        Assert.Equal(("math", "hard"), (set.Rows[1].Domain, set.Rows[1].Level));   // empty cells fall back to the name
        Assert.Equal("gpt2-medium", set.ModelName);
        Assert.Equal("abc123", set.ModelHash);
        Assert.Equal("grid-a", set.SweepName);
        Assert.Equal("other", SweepResultSet.FromCsv(Write("y.csv", csv), modelName: "other").ModelName);
    }

    [Fact]
    public void Round_trips_through_ToCsv()
    {
        var original = SyntheticSweep.Create(randomControlSets: 2, controlTasks: 1);
        string p = Path.Combine(Dir, "round.csv");
        original.ToCsv(p);
        var back = SweepResultSet.FromCsv(p);
        Assert.Equal(original.Rows.Count, back.Rows.Count);
        Assert.Equal(original.Rows, back.Rows);                       // record equality, doubles bit-exact via "R"
        var odd = new SweepResultSet([new SweepRow("a \"b\", c", "d,1", "", 0, 1, 2, 3.5, " all ", "task", 0.1, 0.2, -1, -2, 100)]);
        string q = Path.Combine(Dir, "odd.csv");
        odd.ToCsv(q);
        var r = SweepResultSet.FromCsv(q).Rows.Single();
        Assert.Equal("a \"b\", c", r.Task);
        Assert.Equal("d,1", r.Domain);
    }

    [Fact]
    public void Errors_name_the_line_and_column()
    {
        const string header = "task,prompt_index,layer,count,multiplier,positions,neuron_source,p_base,p_post,logprob_base,logprob_post,improvement_pct\n";
        var e1 = Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepResultSet.FromCsv(Write("m.csv", "task,layer\nx,1\n")));
        Assert.Contains("missing required column", e1.Message);
        Assert.Contains("prompt_index", e1.Message);
        var e2 = Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepResultSet.FromCsv(Write("n.csv", header + "t,0,1,2,3,all,task,0.1,zero,-1,-1,5\n")));
        Assert.Contains("line 2", e2.Message);
        Assert.Contains("p_post", e2.Message);
        var e3 = Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepResultSet.FromCsv(Write("f.csv", header + "t,0,1\n")));
        Assert.Contains("3 fields", e3.Message);
        Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepResultSet.FromCsv(Write("e.csv", "")));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepResultSet.FromCsv(Write("q.csv", header + "\"t,0,1,2,3,all,task,0.1,0.2,-1,-1,5\n")));
        Assert.Throws<FileNotFoundException>(() => SweepResultSet.FromCsv(Path.Combine(Dir, "absent.csv")));
    }

    [Theory]
    [InlineData("math-easy", "math", "easy")]
    [InlineData("factual-recall-hard", "factual-recall", "hard")]
    [InlineData("code_medium", "code", "medium")]
    [InlineData("logic-l3", "logic", "l3")]
    [InlineData("factual-recall", "factual-recall", "")]
    [InlineData("sentiment", "sentiment", "")]
    [InlineData("-easy", "-easy", "")]
    public void Task_names_split_into_domain_and_level(string task, string domain, string level) =>
        Assert.Equal((domain, level), SweepResultSet.ParseTaskName(task));

    [Fact]
    public void Difficulty_ordinals()
    {
        Assert.Equal(1, DifficultyLevels.Ordinal("Easy"));
        Assert.Equal(2, DifficultyLevels.Ordinal("medium"));
        Assert.Equal(3, DifficultyLevels.Ordinal("hard"));
        Assert.Equal(4, DifficultyLevels.Ordinal("level4"));
        Assert.Equal(5, DifficultyLevels.Ordinal("L5"));
        Assert.Null(DifficultyLevels.Ordinal("recall"));
        Assert.Null(DifficultyLevels.Ordinal(""));
    }
}

using System.CommandLine;
using Sna.Cli;
using Sna.Cli.Commands;

return CliRunner.Invoke(Program.BuildRoot(), args);

public partial class Program
{
    /// <summary>The whole command tree (also used in-process by the CLI tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("sna: Selective Neuron Amplification for transformer language models (pure C#, TransformerLens hook names).");
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(TokenizeCommand.Build());
        root.Subcommands.Add(BaselineCommand.Build());
        root.Subcommands.Add(AmplifyCommand.Build());
        root.Subcommands.Add(TasksCommand.Build());
        root.Subcommands.Add(NeuronsCommand.Build());
        root.Subcommands.Add(AdviseCommand.Build());
        root.Subcommands.Add(ModelsCommand.Build());
        root.Subcommands.Add(InspectCommand.Build());
        root.Subcommands.Add(DownloadCommand.Build());
        root.Subcommands.Add(SweepCommand.Build());
        root.Subcommands.Add(MergeCommand.Build());
        root.Subcommands.Add(ExportCommand.Build());
        root.Subcommands.Add(SummaryCommand.Build());
        root.Subcommands.Add(ClassifyCommand.Build());
        root.Subcommands.Add(ReportCommand.Build());
        root.Subcommands.Add(InterferenceCommand.Build());
        root.Subcommands.Add(ControlsCommand.Build());
        root.Subcommands.Add(ServeCommand.Build());
        return root;
    }
}

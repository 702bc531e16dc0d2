using System.CommandLine;
using Sna.Cli;
using Sna.Cli.Commands;

var root = new RootCommand("sna: Selective Neuron Amplification for transformer language models (pure C#, TransformerLens hook names).");
root.Subcommands.Add(TokenizeCommand.Build());
root.Subcommands.Add(BaselineCommand.Build());
root.Subcommands.Add(AmplifyCommand.Build());
root.Subcommands.Add(TasksCommand.Build());
root.Subcommands.Add(NeuronsCommand.Build());
root.Subcommands.Add(AdviseCommand.Build());
return CliRunner.Invoke(root, args);

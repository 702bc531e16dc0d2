using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Sna.Runtime.Models;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna inspect [--model M] [--json]</c>: architecture, layers, heads (and KV heads), d_model, d_mlp, d_head, context,
/// vocabulary, dtype, parameter count, file sha256, tokenizer kind, BOS, and every hook point with its shape
/// (<see cref="ModelInspection"/>; measured by one forward pass with a hook on every point).
/// </summary>
public static class InspectCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var json = Options.Json();
        var dtype = Options.WeightsDType();
        var all = new Option<bool>("--all-hooks") { Description = "List the hook points of every layer in the table (default: layer 0 and the global points; JSON always lists all)." };
        var cmd = new Command("inspect", "Describe a model: architecture, sizes, dtype, parameter count, file sha256, tokenizer, BOS and its TransformerLens hook points with shapes.")
        { model, json, dtype, all };
        cmd.SetAction(r =>
        {
            var (m, tok, dir) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            using var _m = m;
            var info = ModelInspection.Of(m);
            var c = m.Config;
            string bosToken = tok.BosId >= 0 ? tok.TokenText(tok.BosId) : "";
            if (r.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["model"] = m.Provenance.Source,
                    ["bundled_default"] = string.IsNullOrEmpty(r.GetValue(model)),
                    ["architecture"] = c.SourceArchitecture,
                    ["family"] = c.Architecture.ToString().ToLowerInvariant(),
                    ["n_layers"] = c.NLayers,
                    ["n_heads"] = c.NHeads,
                    ["n_kv_heads"] = c.NKvHeads > 0 ? c.NKvHeads : c.NHeads,
                    ["d_model"] = c.DModel,
                    ["d_head"] = c.DHead,
                    ["d_mlp"] = c.DMlp,
                    ["n_ctx"] = c.NCtx,
                    ["d_vocab"] = c.VocabSize,
                    ["activation"] = c.Activation,
                    ["parallel_residual"] = c.ParallelResidual,
                    ["tied_embeddings"] = c.TiedEmbeddings,
                    ["stored_dtype"] = m.Provenance.StoredDType,
                    ["weights_dtype"] = m.Provenance.ComputeWeightsDType,
                    ["compute_dtype"] = "float32",
                    ["parameters"] = info.Parameters,
                    ["model_sha256"] = m.Provenance.ContentHash,
                    ["tokenizer"] = new JsonObject { ["kind"] = tok.Kind, ["pipeline"] = tok.Pipeline, ["sha256"] = tok.SourceHash },
                    ["bos"] = new JsonObject { ["id"] = tok.BosId >= 0 ? tok.BosId : null, ["token"] = tok.BosId >= 0 ? bosToken : null, ["default"] = Sna.Runtime.Tokenization.ModelTokenizer.BosText(tok.BosPolicyFor(null)) },
                    ["intervention"] = "blocks.{L}.mlp.hook_post",
                    ["hook_points"] = new JsonArray(info.HookPoints.Select(h => (JsonNode)new JsonObject
                    {
                        ["name"] = h.Name,
                        ["layer"] = h.Layer,
                        ["shape"] = new JsonArray(h.Shape.Select(d => d is int i ? (JsonNode)i : (JsonNode)(string)d).ToArray()),
                    }).ToArray()),
                    ["run"] = Common.RunRecord(m, tok, tok.BosPolicyFor(null)),   // the policy every command uses when not asked
                };
                Common.PrintJson(o);
                return 0;
            }
            var inv = CultureInfo.InvariantCulture;
            var t = new Table().AddColumn("property").AddColumn("value");
            void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("model", m.Provenance.Source + (string.IsNullOrEmpty(r.GetValue(model)) ? " (bundled default)" : ""));
            Row("architecture", $"{c.SourceArchitecture} ({c.Architecture.ToString().ToLowerInvariant()}, {c.Activation}{(c.ParallelResidual ? ", parallel residual" : "")})");
            Row("layers", c.NLayers.ToString(inv));
            Row("heads", c.NKvHeads > 0 && c.NKvHeads != c.NHeads ? $"{c.NHeads} query, {c.NKvHeads} key/value (d_head {c.DHead})" : $"{c.NHeads} (d_head {c.DHead})");
            Row("d_model", c.DModel.ToString(inv));
            Row("d_mlp", $"{c.DMlp} (neurons per layer; SNA scales blocks.{{L}}.mlp.hook_post)");
            Row("context", $"{c.NCtx} tokens");
            Row("vocabulary", c.VocabSize.ToString(inv) + (c.TiedEmbeddings ? " (tied embeddings)" : ""));
            Row("dtype", $"stored {m.Provenance.StoredDType}, held {m.Provenance.ComputeWeightsDType}, compute float32");
            Row("parameters", info.Parameters.ToString("N0", inv));
            Row("sha256", m.Provenance.ContentHash);
            Row("tokenizer", $"{tok.Kind} ({tok.Pipeline}), sha256 {tok.SourceHash[..Math.Min(12, tok.SourceHash.Length)]}…");
            Row("BOS", tok.BosId >= 0 ? $"{Common.Printable(bosToken)} (id {tok.BosId}), prepended by default (--no-bos to omit)" : "none (nothing is prepended)");
            AnsiConsole.Write(t);
            bool every = r.GetValue(all);
            var h = new Table().AddColumn("hook point").AddColumn("shape");
            foreach (var p in info.HookPoints.Where(p => every || p.Layer <= 0))
                h.AddRow(Markup.Escape(p.Name), Markup.Escape(p.ShapeText));
            AnsiConsole.Write(h);
            int perLayer = info.HookPoints.Count(p => p.Layer == 0);
            if (!every && c.NLayers > 1)
                AnsiConsole.MarkupLine($"[grey]{info.HookPoints.Count} hook points in all: the {perLayer} of blocks.0 repeat for blocks.1 … blocks.{c.NLayers - 1} (--all-hooks lists them; --json always does)[/]");
            return 0;
        });
        return cmd;
    }
}

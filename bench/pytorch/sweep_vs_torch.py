#!/usr/bin/env python3
"""Side-by-side check of `sna sweep` against PyTorch (Debian's python3-torch 1.13) on the same GPT-2-Medium-shaped checkpoint.

  python3 bench/pytorch/sweep_vs_torch.py make DIR      # random GPT-2-Medium-shaped checkpoint + tokenizer + task file in DIR
  python3 bench/pytorch/sweep_vs_torch.py torch DIR DB [--samples N] [--threads N]

`make` writes DIR/model (config.json, model.safetensors in the original `gpt2` layout, the bundled GPT-2 vocab/merges) and
DIR/task.json (8 prompts of about 16 tokens). `bench/pytorch/run.sh` then runs `sna sweep` on them, and `torch` reads the
sweep's database (prompts, neuron lists, stored log-probabilities) and times what a researcher would write in PyTorch:
  naive   one hooked forward per (configuration, prompt): the hook multiplies the chosen neurons of blocks.L.mlp.hook_post;
  batched the task's prompts as one batch per configuration (they have the same length here).
For a random sample of configurations it checks that PyTorch's log P(target) equals the stored one within 1e-4, so both
sides compute the same thing. The model is an independent implementation (nanoGPT's GPT-2 block with the tanh GELU).
"""
import json, math, os, random, sqlite3, struct, sys, time
import numpy as np

D, L, H, M, V, N_CTX = 1024, 24, 16, 4096, 50257, 1024
BOS = 50256
PROMPTS = [  # each 15 tokens with the GPT-2 tokenizer, 16 with BOS, so PyTorch can batch them without padding
    ("The capital of France, famous for the Eiffel Tower, is called", " Paris"),
    ("In the early morning the old farmer walked out to the field to feed the", " cows"),
    ("After many long years of careful study, the young scientist finally published her first", " paper"),
    ("The weather report said that tomorrow would bring heavy rain and strong wind across the", " coast"),
    ("When the orchestra finished the long symphony, the whole audience rose to its", " feet"),
    ("She opened the old wooden box and found a small bundle of letters from her", " grandmother"),
    ("The programmer fixed the bug, ran the tests and pushed the change to the", " repository"),
    ("On the shelf above the fireplace stood a small clock that had belonged to his", " father"),
]


def make(out):
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    rng = np.random.default_rng(1234)
    tensors = {}
    def t(name, shape, std=0.02, const=None):
        tensors[name] = (np.full(shape, const, np.float32) if const is not None
                         else (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32))
    t("wte.weight", (V, D)); t("wpe.weight", (N_CTX, D), 0.01)
    for l in range(L):
        p = f"h.{l}."
        t(p + "ln_1.weight", (D,), const=1.0); t(p + "ln_1.bias", (D,), const=0.0)
        t(p + "attn.c_attn.weight", (D, 3 * D)); t(p + "attn.c_attn.bias", (3 * D,), const=0.0)
        t(p + "attn.c_proj.weight", (D, D)); t(p + "attn.c_proj.bias", (D,), const=0.0)
        t(p + "ln_2.weight", (D,), const=1.0); t(p + "ln_2.bias", (D,), const=0.0)
        t(p + "mlp.c_fc.weight", (D, M)); t(p + "mlp.c_fc.bias", (M,), const=0.0)
        t(p + "mlp.c_proj.weight", (M, D)); t(p + "mlp.c_proj.bias", (D,), const=0.0)
    t("ln_f.weight", (D,), const=1.0); t("ln_f.bias", (D,), const=0.0)
    header, offset = {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(out, "model", "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for a in tensors.values():
            f.write(a.tobytes())
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": L, "n_head": H, "n_embd": D,
           "n_positions": N_CTX, "n_ctx": N_CTX, "vocab_size": V, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
           "bos_token_id": BOS, "eos_token_id": BOS, "tie_word_embeddings": True}
    json.dump(cfg, open(os.path.join(out, "model", "config.json"), "w"), indent=1)
    json.dump({"name": "bench-prompts", "description": "8 prompts of about 16 tokens for the PyTorch side-by-side benchmark",
               "prompts": [{"text": p, "target": tg} for p, tg in PROMPTS]}, open(os.path.join(out, "task.json"), "w"), indent=1)


def load(out):
    import torch
    path = os.path.join(out, "model", "model.safetensors")
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    w = {}
    for name, meta in header.items():
        s, e = meta["data_offsets"]
        w[name] = torch.from_numpy(np.frombuffer(raw, np.float32, (e - s) // 4, base + s).reshape(meta["shape"]).copy())
    return w


def forward(torch, w, ids, hook=None):
    """ids [B, T] -> log-softmax of the last position [B, V]. hook(layer, post) may change post [B, T, M] in place."""
    F = torch.nn.functional
    B, T = ids.shape
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        p = f"h.{l}."
        a = F.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(D, dim=2)
        q, k, v = (z.view(B, T, H, D // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // H)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        a = F.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
        post = F.gelu(a @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")  # blocks.l.mlp.hook_post
        if hook is not None:
            hook(l, post)
        x = x + post @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x[:, -1], (D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    return (x @ w["wte.weight"].T).log_softmax(-1)


def blas_kernel(torch):
    """The BLAS PyTorch's matmuls run on, and which kernel it chose (threadpoolctl when installed): a comparison against a
    BLAS forced onto an older kernel (OPENBLAS_CORETYPE) would flatter us, so the run says which one it measured."""
    try:
        from threadpoolctl import threadpool_info
        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} ({i.get('threading_layer', '')})"
                             for i in libs)
    except ImportError:
        pass
    info = [l.strip() for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l]
    return (info[0] if info else "unknown") + " (install python3-threadpoolctl to see the kernel)"


def run_torch(out, db, samples, threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    w = load(out)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sys.path.insert(0, os.path.dirname(__file__))
    prompts = con.execute("SELECT prompt_index, text, target_id, logprob_base, n_tokens FROM prompts ORDER BY prompt_index").fetchall()
    ids = json.load(open(os.path.join(out, "ids.json")))           # written by run.sh from `sna tokenize` (no BOS)
    batch = torch.tensor([[BOS] + ids[text] for _, text, *_ in prompts])
    assert all(len(ids[text]) + 1 == n for _, text, _, _, n in prompts), "prompt lengths differ from the sweep's"
    targets = torch.tensor([tid for _, _, tid, _, _ in prompts])
    base = forward(torch, w, batch)[torch.arange(len(prompts)), targets]
    worst_base = max(abs(float(base[i]) - prompts[i][3]) for i in range(len(prompts)))
    neurons = {(l, c): [int(x) for x in s.split(",")] for l, c, s in con.execute("SELECT layer, count, neurons FROM neurons")}
    modes = [r[0] for r in con.execute("SELECT DISTINCT positions FROM configs")]
    report = {"torch": torch.__version__, "threads": threads, "prompts": len(prompts), "tokens": int(batch.shape[1]),
              "blas": blas_kernel(torch), "max_abs_logprob_base_diff": worst_base, "modes": {}}
    for mode in modes:
        configs = con.execute("SELECT config_id, layer, count, multiplier FROM configs WHERE positions = ?", (mode,)).fetchall()
        stored = {(c, p): lp for c, p, lp in con.execute(
            "SELECT r.config_id, r.prompt_index, r.logprob_post FROM results r JOIN configs USING(config_id) WHERE configs.positions = ?", (mode,))}
        pick = random.Random(99).sample(configs, min(samples, len(configs)))

        def hook_for(layer, count, mult):
            idx = torch.tensor(neurons[(layer, count)])
            def hook(l, post):
                if l == layer:
                    if mode == "last":
                        post[:, -1, idx] *= mult
                    else:
                        post[:, :, idx] *= mult
            return hook

        worst = 0.0
        t0 = time.perf_counter()
        for cid, layer, count, mult in pick:                         # naive: one hooked forward per (configuration, prompt)
            for i in range(len(prompts)):
                lp = forward(torch, w, batch[i:i + 1], hook_for(layer, count, mult))[0, targets[i]]
                worst = max(worst, abs(float(lp) - stored[(cid, prompts[i][0])]))
        naive = len(pick) * len(prompts) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for cid, layer, count, mult in pick:                         # batched: the task's prompts in one forward
            lp = forward(torch, w, batch, hook_for(layer, count, mult))[torch.arange(len(prompts)), targets]
            worst = max(worst, max(abs(float(lp[i]) - stored[(cid, prompts[i][0])]) for i in range(len(prompts))))
        batched = len(pick) * len(prompts) / (time.perf_counter() - t0)
        report["modes"][mode] = {"configs": len(configs), "sampled": len(pick), "naive_scored_per_s": naive,
                                 "batched_scored_per_s": batched, "max_abs_logprob_post_diff": worst}
    print(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        a = sys.argv
        samples = int(a[a.index("--samples") + 1]) if "--samples" in a else 6
        threads = int(a[a.index("--threads") + 1]) if "--threads" in a else 1
        run_torch(a[2], a[3], samples, threads)

#!/usr/bin/env bash
# `sna sweep` against PyTorch, side by side in one run, on one random GPT-2-Medium-shaped checkpoint (see sweep_vs_torch.py).
#
#   bash bench/pytorch/run.sh [SAMPLES]        # needs Debian's python3-torch (apt-get install python3-torch); ~10 min quiet
#   LAYERS=0,23 bash bench/pytorch/run.sh 2  # a quick smoke run of the pipeline (not the benchmark)
#
# The sweep runs at its default settings (all layers, counts 3,5,8,10,15,20,25, default threads) with two multipliers over
# 8 prompts of about 16 tokens, once per positions mode; PyTorch (one thread, its fastest on this 2-core machine) runs
# SAMPLES random configurations of the same grid both ways and checks the stored log-probabilities. Ratios are scored
# configurations (configuration × prompt) per second. The load average is printed before and after.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); REPO=$(cd "$HERE/../.." && pwd)
SAMPLES=${1:-6}
WORK=$(mktemp -d /tmp/sna-torch-bench.XXXXXX); trap 'rm -rf "$WORK"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "python3-torch is not installed (apt-get install python3-torch)"; exit 2; }
dotnet build "$REPO/src/Sna.Cli" -c Release -nologo -clp:ErrorsOnly -v q >/dev/null
SNA=(dotnet "$(ls "$REPO"/src/Sna.Cli/bin/Release/net*/sna.dll | head -n 1)")
export SNA_CACHE_DIR="$WORK/cache" NO_COLOR=1
/usr/bin/python3 "$HERE/sweep_vs_torch.py" make "$WORK"
cp "$REPO/models/sna-demo-gpt2/vocab.json" "$REPO/models/sna-demo-gpt2/merges.txt" "$WORK/model/"
# Token ids as the sweep sees them (the sweep prepends BOS; tokenize never does), for the PyTorch side.
/usr/bin/python3 - "$WORK" "${SNA[@]}" <<'PY'
import json, subprocess, sys
work, sna = sys.argv[1], sys.argv[2:]
task = json.load(open(f"{work}/task.json"))
ids = {p["text"]: json.loads(subprocess.check_output(sna + ["tokenize", "--model", f"{work}/model", "--text", p["text"], "--json"]))["ids"]
       for p in task["prompts"]}
json.dump(ids, open(f"{work}/ids.json", "w"))
print("prompt lengths (tokens, without BOS):", sorted(len(v) for v in ids.values()))
PY
echo "load average before: $(load); $(nproc) cores"
declare -A SNA_RATE
for pos in all last; do
  t0=$(date +%s.%N)
  "${SNA[@]}" sweep --model "$WORK/model" --tasks "$WORK/task.json" --layers "${LAYERS:-all}" --multipliers 1.5,2.0 --positions $pos \
      --db "$WORK/$pos.db" >"$WORK/$pos.log" 2>&1 || { cat "$WORK/$pos.log"; exit 1; }
  wall=$(echo "$(date +%s.%N) - $t0" | bc)
  line=$(grep -o 'done: [0-9]* rows written, [0-9]* already stored, [0-9.]* s' "$WORK/$pos.log")
  rows=$(echo "$line" | awk '{print $2}'); secs=$(echo "$line" | awk '{print $(NF-1)}')
  SNA_RATE[$pos]=$(echo "$rows / $secs" | bc -l)
  printf 'sna sweep positions=%-4s %s  (%.1f scored configurations/s; %.1f s wall with load and discovery; load %s)\n' \
    "$pos" "$line" "${SNA_RATE[$pos]}" "$wall" "$(load)"
done
# One database with both modes for the PyTorch side (configs ids differ per mode: copy `last` rows under new ids).
/usr/bin/python3 - "$WORK" <<'PY'
import sqlite3, sys
w = sys.argv[1]
con = sqlite3.connect(f"{w}/both.db")
for pos in ("all", "last"):
    con.execute(f"ATTACH '{w}/{pos}.db' AS s")
    if pos == "all":
        for t in ("prompts", "neurons"):
            con.execute(f"CREATE TABLE {t} AS SELECT * FROM s.{t}")
        con.execute("CREATE TABLE configs AS SELECT * FROM s.configs WHERE 0")
        con.execute("CREATE TABLE results AS SELECT * FROM s.results WHERE 0")
    off = con.execute("SELECT COALESCE(MAX(config_id), 0) FROM configs").fetchone()[0]
    con.execute(f"INSERT INTO configs SELECT config_id + {off}, config_key, task, positions, layer, count, multiplier, neuron_source FROM s.configs")
    con.execute(f"INSERT INTO results (config_id, prompt_index, logprob_post) SELECT config_id + {off}, prompt_index, logprob_post FROM s.results")
    con.commit(); con.execute("DETACH s")
PY
# The machine may force OpenBLAS onto an older kernel (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE; set on some CPUs here because
# old builds crash on them). That slows PyTorch's matmuls and flatters us, so PyTorch runs without them (its native kernel,
# printed below) unless KEEP_OPENBLAS_ENV=1. Only this command is affected; tests and CI never change them.
TORCH_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
[ "${KEEP_OPENBLAS_ENV:-0}" = 1 ] && TORCH_ENV=(env)
echo "PyTorch: $SAMPLES sampled configurations per mode, one thread (load $(load)); OpenBLAS environment:" \
     "$([ "${KEEP_OPENBLAS_ENV:-0}" = 1 ] && echo "kept (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:--})" || echo "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset")"
json=$("${TORCH_ENV[@]}" /usr/bin/python3 "$HERE/sweep_vs_torch.py" torch "$WORK" "$WORK/both.db" --samples "$SAMPLES" --threads 1)
echo "$json"
/usr/bin/python3 - "$json" "${SNA_RATE[all]}" "${SNA_RATE[last]}" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); rate = {"all": float(sys.argv[2]), "last": float(sys.argv[3])}
print(f"\n| positions | sna sweep (scored/s) | PyTorch naive | ratio | PyTorch batched | ratio | max |Δ logprob| |")
print("|---|---|---|---|---|---|---|")
for m, v in r["modes"].items():
    print(f"| {m} | {rate[m]:.1f} | {v['naive_scored_per_s']:.2f} | **{rate[m] / v['naive_scored_per_s']:.1f}×** | "
          f"{v['batched_scored_per_s']:.2f} | **{rate[m] / v['batched_scored_per_s']:.1f}×** | {v['max_abs_logprob_post_diff']:.1e} |")
print(f"(PyTorch {r['torch']}, {r['threads']} thread, BLAS: {r['blas']}; base log-probabilities agree to {r['max_abs_logprob_base_diff']:.1e})")
PY
echo "load average after: $(load)"

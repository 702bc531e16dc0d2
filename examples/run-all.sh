#!/usr/bin/env bash
# Runs every example (examples/NN-*.cs, .NET 10 file-based programs) from the repository root against the bundled model (or
# $SNA_MODEL, passed as the first argument), in Release so the projects test.sh built are reused. Fails if any example fails. Closing line:
#   examples: N passed, N failed
# Outputs (03's PNG) go to a temporary folder that is removed afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0; failed=0
for f in examples/[0-9][0-9]-*.cs; do
  name=$(basename "$f" .cs)
  extra=("${SNA_MODEL:-models/sna-demo-gpt2}")
  [ "$name" = "03-run-with-cache" ] && extra+=("$out")
  echo "== $name"
  start=$(date +%s)
  # Build output in the temporary folder, not the SDK's per-path cache in the home directory (~/.local/share/dotnet/runfile):
  # a stale or half-written entry there (an earlier run from the same path) fails the example with an unreadable runtimeconfig.
  if dotnet run -c Release --artifacts-path "$out/build/$name" "$f" -- "${extra[@]}" > "$out/$name.log" 2>&1; then
    sed 's/^/   /' "$out/$name.log"
    echo "   ok ($(( $(date +%s) - start )) s)"
    passed=$((passed + 1))
  else
    code=$?
    sed 's/^/   /' "$out/$name.log"
    echo "   FAILED (exit $code)"
    failed=$((failed + 1))
  fi
done
# 01 again on what the runs above do not reach: a target of several tokens (its warning is printed) and the vendored
# Llama 3 checkpoint, whose tokenizer splits " 7" into " " and "7".
run_extra() {
  local label=$1; shift
  echo "== $label"
  if dotnet run -c Release --artifacts-path "$out/build/01-baseline" examples/01-baseline.cs -- "$@" > "$out/extra.log" 2>&1; then
    sed 's/^/   /' "$out/extra.log"; echo "   ok"; passed=$((passed + 1))
  else
    code=$?; sed 's/^/   /' "$out/extra.log"; echo "   FAILED (exit $code)"; failed=$((failed + 1))
  fi
}
run_extra "01-baseline, a target of several tokens" "${SNA_MODEL:-models/sna-demo-gpt2}" "What is 3 + 4? Answer:" " xylophone"
run_extra "01-baseline, Llama 3 (vendored fixture)" tests/fixtures/fixtures/Llama-3-tiny-bf16
if [ -f "$out/03-mlp-post.png" ]; then echo "(03 wrote a $(stat -c %s "$out/03-mlp-post.png")-byte PNG)"; fi
echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

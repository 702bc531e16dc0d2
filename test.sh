#!/usr/bin/env bash
# Builds everything in Release and runs every test project, the examples (examples/run-all.sh, one test each) and the package
# check (tools/pack-check.sh, one test), then lists the skipped tests with their reasons and prints one closing line
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
dotnet build Sna.sln -c Release -nologo -clp:ErrorsOnly || exit 1
log=$(mktemp)
trx=$(mktemp -d)
dotnet test Sna.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" \
  --logger "trx;LogFilePrefix=all" --results-directory "$trx" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Every SIMD path: the kernels and the golden forward pass again with AVX-512, AVX2 and all hardware intrinsics disabled.
# (The engine's equivalence on the bundled demo model is left to the main run: it is GPT-2 like gpt2-tiny, so it adds no
# kernel path, and without intrinsics it alone took ~3 of the rerun's 8 minutes.)
for flag in DOTNET_EnableAVX512 DOTNET_EnableAVX2 DOTNET_EnableHWIntrinsic; do
  echo "== $flag=0"
  env "$flag=0" dotnet test tests/Sna.Core.Tests -c Release --no-build -nologo --logger "console;verbosity=minimal" \
    --logger "trx;LogFilePrefix=${flag#DOTNET_Enable}" --results-directory "$trx" \
    --filter "(FullyQualifiedName~Numerics|FullyQualifiedName~GoldenForward|FullyQualifiedName~EngineEquivalence|FullyQualifiedName~ForwardPath)&DisplayName!~demo" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
# The examples (.NET 10 file-based programs on the library), each counted as one test; then the NuGet packages' XML docs.
echo "== examples"
examples/run-all.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "== pack"
tools/pack-check.sh --no-build 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
ex_passed=$(sed -nE 's/^examples: ([0-9]+) passed.*/\1/p' "$log" | tail -1)
ex_failed=$(sed -nE 's/^examples: [0-9]+ passed, ([0-9]+) failed.*/\1/p' "$log" | tail -1)
[ -n "$ex_failed" ] || ex_failed=1    # run-all.sh died before its closing line
passed=$((passed + ${ex_passed:-0} + $(grep -c '^pack: ok' "$log")))
failed=$((failed + ex_failed + $(grep -c '^pack: FAILED' "$log")))
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo
# What did not run, and why (from the TRX files: outcome NotExecuted, the skip reason in the result's message).
if [ "$skipped" -gt 0 ]; then
  echo "Skipped tests (reason):"
  if command -v python3 >/dev/null; then
    python3 - "$trx" <<'PY'
import glob, os, sys, collections
import xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
seen = collections.OrderedDict()
for f in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.trx"), recursive=True)):
    run = os.path.basename(f).split("_")[0]
    for r in ET.parse(f).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") != "NotExecuted":
            continue
        msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        reason = " ".join((msg.text or "").split()) if msg is not None else "(no reason given)"
        key = (r.get("testName"), reason)
        seen.setdefault(key, []).append(run)
for (name, reason), runs in seen.items():
    suffix = "" if runs == ["all"] else f"  [{', '.join(r if r != 'all' else 'main run' for r in runs)}]"
    print(f"  - {name}: {reason}{suffix}")
PY
  else
    grep -ho 'testName="[^"]*"[^>]*outcome="NotExecuted"' "$trx"/*.trx | sed -E 's/testName="([^"]*)".*/  - \1/' | sort -u
  fi
fi
rm -rf "$trx"
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && echo "note: a test run exited non-zero without a failed test (e.g. a fixture's 'Test Class Cleanup Failure' above)"
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

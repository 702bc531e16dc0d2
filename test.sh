#!/usr/bin/env bash
# Builds everything in Release and runs every test project, then prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
dotnet build Sna.sln -c Release -nologo -clp:ErrorsOnly || exit 1
log=$(mktemp)
dotnet test Sna.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Every SIMD path: the kernels and the golden forward pass again with AVX-512, AVX2 and all hardware intrinsics disabled.
for flag in DOTNET_EnableAVX512 DOTNET_EnableAVX2 DOTNET_EnableHWIntrinsic; do
  echo "== $flag=0"
  env "$flag=0" dotnet test tests/Sna.Core.Tests -c Release --no-build -nologo --logger "console;verbosity=minimal" \
    --filter "FullyQualifiedName~Numerics|FullyQualifiedName~GoldenForward|FullyQualifiedName~EngineEquivalence|FullyQualifiedName~ForwardPath" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

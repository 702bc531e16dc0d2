#!/usr/bin/env bash
# Packs Sna.Runtime and Sna.Research (Release) into a temporary folder and checks that each .nupkg holds its assembly and its
# XML documentation (lib/net10.0/<name>.dll and .xml), and that Sna.Research depends on Sna.Runtime.
# --no-build: reuse an existing Release build (test.sh builds first). Closing line: "pack: ok" or "pack: FAILED ...".
set -uo pipefail
cd "$(dirname "$0")/.."
build=()
[ "${1:-}" = "--no-build" ] && build=(--no-build)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for p in Sna.Runtime Sna.Research; do
  if ! dotnet pack "src/$p/$p.csproj" -c Release "${build[@]}" -nologo -o "$out" > "$out/$p.log" 2>&1; then
    cat "$out/$p.log"; echo "pack: FAILED (dotnet pack $p)"; exit 1
  fi
done
python3 - "$out" <<'PY'
import glob, os, sys, zipfile, re
out = sys.argv[1]
bad = []
for name in ("Sna.Runtime", "Sna.Research"):
    pkgs = [p for p in glob.glob(os.path.join(out, name + ".*.nupkg")) if re.fullmatch(re.escape(name) + r"\.\d[\w.\-]*\.nupkg", os.path.basename(p))]
    if len(pkgs) != 1:
        bad.append(f"{name}: expected one package, found {[os.path.basename(p) for p in pkgs]}"); continue
    with zipfile.ZipFile(pkgs[0]) as z:
        names = set(z.namelist())
        for f in (f"lib/net10.0/{name}.dll", f"lib/net10.0/{name}.xml"):
            if f not in names: bad.append(f"{os.path.basename(pkgs[0])}: {f} is missing")
        xml = z.read(f"lib/net10.0/{name}.xml").decode("utf-8") if f"lib/net10.0/{name}.xml" in names else ""
        members = xml.count("<member name=")
        if xml and members < 100: bad.append(f"{name}.xml documents only {members} members")
        nuspec = z.read(f"{name}.nuspec").decode("utf-8")
        if name == "Sna.Research" and 'id="Sna.Runtime"' not in nuspec: bad.append("Sna.Research does not depend on Sna.Runtime")
        print(f"{os.path.basename(pkgs[0])}: {len(names)} entries, {members} documented members")
if bad:
    print("pack: FAILED: " + "; ".join(bad)); sys.exit(1)
print("pack: ok")
PY

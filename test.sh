#!/usr/bin/env bash
# Builds everything in Release and runs every test project. Also checks the CLI's JSON contracts against ../shared.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Sna.sln -c Release -nologo -clp:ErrorsOnly
dotnet test Sna.sln -c Release --no-build -nologo --logger "console;verbosity=minimal"

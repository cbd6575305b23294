#!/usr/bin/env bash
# Runs the whole test suite (Release). Installs the system packages the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scripts/install-system-deps.sh
dotnet test WavFusion.Live.sln -c Release --logger "console;verbosity=normal" "$@"

#!/usr/bin/env bash
# Runs WavFusion.Live's main job on the bundled default. Installs the system packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scripts/install-system-deps.sh
dotnet build src/WavFusion.Cli -c Release --nologo -v q
exec dotnet src/WavFusion.Cli/bin/Release/net10.0/wavfusion.dll "${@:-demo}"

#!/usr/bin/env bash
# Runs the whole test suite (Release). Installs the system packages the tests need first.
# On a failure, the failed tests and their messages are printed again at the end, so that the tail of a long
# log names them.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scripts/install-system-deps.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
rc=0
dotnet test WavFusion.Live.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo
  echo "=== failed tests (repeated from above) ==="
  # A failed test's block runs from its "Failed <name>" line to the next test's line; 40 lines each at most.
  awk '/^  Failed [A-Za-z]/ { on = 1; n = 0 }
       /^  (Passed|Skipped) [A-Za-z]/ { on = 0 }
       on && n < 40 { print; n++ }' "$log"
  grep -E '^\s*(Total tests|Passed|Failed|Skipped):' "$log" | tail -n 4 || true
fi
exit "$rc"

#!/usr/bin/env bash
# Runs every test in Chat.Dapr.sln (restore, Release build, test) and writes one TRX file
# per test project under artifacts/test-results/. Extra arguments go to `dotnet test`,
# e.g. ./test.sh --filter "FullyQualifiedName~Snowflake".
#
# TRX naming: `LogFilePrefix` rather than `LogFileName`. With a fixed LogFileName every
# test project of a solution writes the same file and only the last one survives
# (microsoft/vstest#3026); the prefix gives each project its own results_*.trx.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

solution=Chat.Dapr.sln
results=artifacts/test-results

# Stale TRX files from an earlier run would be counted again by .ci/run.
rm -rf "$results"

# The Node.js bots app (services/chat-bots): locked packages, contracts generated from protos/, tsc.
services/chat-bots/build.sh
dotnet restore "$solution" --verbosity quiet
dotnet build "$solution" -c Release --no-restore --verbosity quiet -nologo
# One test assembly at a time (-m:1): the integration suites start whole systems of apps and
# sidecars, and several at once on a 2-core machine only measure the machine.
dotnet test "$solution" -c Release --no-build -m:1 \
  --logger "trx;LogFilePrefix=results" \
  --results-directory "$results" \
  "$@"

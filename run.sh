#!/usr/bin/env bash
# Runs the whole system on this machine: builds the solution, then starts every app of
# dapr.yaml with its sidecar through the dev sidecar's multi-app run (no Dapr CLI needed).
# Extra arguments go to the dev sidecar's `run` command.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

sidecar_project=tools/Dapr.DevSidecar/Dapr.DevSidecar.csproj
run_file=dapr.yaml

missing=()
[[ -f $sidecar_project ]] || missing+=("$sidecar_project: the dev sidecar that hosts one Dapr sidecar per app (issue 3)")
[[ -f $run_file ]] || missing+=("$run_file: the multi-app run file naming the apps, their ports and components/")
if ((${#missing[@]} > 0)); then
  {
    echo "Chat.Dapr cannot run yet: the dev sidecar (issue 3) and the services are being built."
    echo "Missing:"
    printf '  - %s\n' "${missing[@]}"
    echo "The tests run already: ./test.sh"
  } >&2
  exit 1
fi

# The embedded component set keeps its SQLite files here (components/embedded/*.yaml).
mkdir -p data

dotnet build Chat.Dapr.sln -c Release --verbosity quiet -nologo
services/chat-bots/build.sh
cat <<'INFO'

Starting Chat.Dapr on the embedded components (dev sidecar, SQLite in ./data, in-memory pub/sub).
When the log says "All ... apps are started":
  web client      http://127.0.0.1:5080/
  SignalR hub     http://127.0.0.1:5080/hubs/chat   (access_token from POST /api/auth/login)
  push sink       http://127.0.0.1:5080/dev/push-sink
Ctrl+C stops everything.

INFO
# Run the built sidecar from the repo root: component files use paths relative to it, as daprd does.
exec dotnet tools/Dapr.DevSidecar/bin/Release/net10.0/dapr-dev-sidecar.dll run -f "$run_file" "$@"

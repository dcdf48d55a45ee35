#!/usr/bin/env bash
# Runs the whole system on this machine: builds the solution, then starts every app of
# dapr.yaml with its sidecar through the dev sidecar's multi-app run (no Dapr CLI needed).
# Extra arguments go to the dev sidecar's `run` command.
# ./run.sh --scale runs dapr.scale.yaml instead: two instances of gateway, messaging, router and
# delivery on the redis component set, each app instance with its own dev-sidecar process (they
# share name resolution and actor placement as daprd processes would); it needs redis-server.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1
# The dev sidecar process gets the gen0 budget that dapr.yaml gives every app (see there).
export DOTNET_GCgen0size=${DOTNET_GCgen0size-0x2000000}
export DOTNET_CLI_TELEMETRY_OPTOUT=1

sidecar_project=tools/Dapr.DevSidecar/Dapr.DevSidecar.csproj
run_file=dapr.yaml
scale=0
if [[ ${1:-} == --scale ]]; then
  shift
  scale=1
  run_file=dapr.scale.yaml
fi

for required in "$sidecar_project" "$run_file"; do
  if [[ ! -f $required ]]; then
    echo "run.sh: $required is missing; run it from a complete checkout of Chat.Dapr." >&2
    exit 1
  fi
done

# The embedded component set keeps its SQLite files here (components/embedded/*.yaml).
mkdir -p data

dotnet build Chat.Dapr.sln -c Release --verbosity quiet -nologo
services/chat-bots/build.sh
if ((scale)); then
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    echo "./run.sh --scale uses the redis component set: start a server first, e.g." >&2
    echo "  redis-server --port 6379 --save \"\" --appendonly no &" >&2
    exit 1
  fi
  cat <<'INFO'

Starting Chat.Dapr scaled out (dapr.scale.yaml, redis components at 127.0.0.1:6379): two
instances of gateway, messaging, router and delivery, each app instance with its own dev
sidecar process. Clients: gateway 1 at http://127.0.0.1:5080/, gateway 2 at http://127.0.0.1:5081/.
Ctrl+C stops everything.

INFO
  exec dotnet tools/Dapr.DevSidecar/bin/Release/net10.0/dapr-dev-sidecar.dll run -f "$run_file" --sidecar-processes "$@"
fi
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

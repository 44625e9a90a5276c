#!/usr/bin/env bash
# The README demo: start the simulators, point a profile at them, and take a short scripted tour.
# Touches nothing outside this folder and a temporary config directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh sim
export PATH="$PWD/.venv/bin:$PATH"
work="$(mktemp -d)"
export CONFCTL_CONFIG_DIR="$work/config"
export CONFCTL_NO_INPUT=1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
run() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== starting the simulators (confctl sim serve --meeting: a live meeting on every vendor) =="
confctl sim serve --port 0 --meeting --env-file "$work/sim.env" >/dev/null 2>"$work/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sim.env" ] && break; sleep 0.1; done
[ -s "$work/sim.env" ] || { cat "$work/sim.log"; echo "simulator did not start" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/sim.env"
SIM_GATEWAY="$CONFCTL_GATEWAY_URL"

echo "== gateway: a profile pointed at the simulator (secret read from stdin, kept in a 0600 file) =="
printf '%s\n' "$CONFCTL_GATEWAY_API_KEY" | run confctl profile add sim-gateway --provider gateway \
  --url "$CONFCTL_GATEWAY_URL" --app-id "$CONFCTL_GATEWAY_APP_ID" --secret-stdin --secret-store file
unset CONFCTL_GATEWAY_URL CONFCTL_GATEWAY_APP_ID CONFCTL_GATEWAY_API_KEY
run confctl profile show sim-gateway

hook_port="$(free_port)"
confctl -p sim-gateway -o table --color never events follow --listen "127.0.0.1:$hook_port" --timeout 60 >"$work/events.log" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$hook_port/')" 2>/dev/null && break; sleep 0.1; done
run confctl sim gateway webhook "http://127.0.0.1:$hook_port/" --url "$SIM_GATEWAY"

run confctl gateway room create weekly-standup
room="$(confctl gateway room create weekly-standup --reuse -o id 2>/dev/null)"
run confctl gateway room play "$room" https://cdn.example.com/welcome.wav
mapfile -t calls < <(confctl sim gateway calls --count 3 --url "$SIM_GATEWAY")
run confctl gateway session join "${calls[@]}" --room "$room" -o jsonl
sleep 0.6
run confctl gateway room members "$room" -o table
run confctl gateway session unmute "${calls[0]}"
run confctl gateway room volume "$room" --level -6
run confctl -o yaml gateway room get "$room"
run confctl --dry-run gateway session mute "${calls[0]}"
sleep 0.6
printf '\n\033[1m== the webhooks that arrived meanwhile, as events (confctl events follow) ==\033[0m\n'
cat "$work/events.log"

for part in scripts/demo-pexip.sh scripts/demo-mind.sh scripts/demo-auvious.sh scripts/demo-fleet.sh; do
  if [ -f "$part" ]; then
    # shellcheck disable=SC1090
    source "$part"
  fi
done
printf '\ndemo finished.\n'

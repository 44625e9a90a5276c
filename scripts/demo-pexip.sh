# Pexip tour, sourced by scripts/demo.sh after the simulators started (CONFCTL_PEXIP_* are exported and `run`,
# `pids` and `$work` are defined there). Every command requests a token and releases it: no ghost participants.
printf '\n\033[1m== pexip: tokens, participants by name, breakouts, layouts, dial-out, live events ==\033[0m\n'
confctl pexip events -o table --color never --timeout 30 >"$work/pexip-events.log" 2>/dev/null &
pexip_follower=$!
pids+=("$pexip_follower")
run confctl pexip participants -o table --color never
run confctl sim pexip join Dana
run confctl sim pexip speak Dana
run confctl pexip participant mute dana              # names, any case, or a unique UUID prefix
run confctl pexip participant spotlight Alice
run confctl pexip conference set-layout --layout 2:21 --overlay-text
run confctl pexip conference message "Breakouts start in one minute"
printf '\n\033[1m$ room=$(confctl pexip breakout create "Room 2" --participant Bob --participant Dana -o id)\033[0m\n'
room="$(confctl pexip breakout create "Room 2" --participant Bob --participant Dana -o id)"
echo "$room"
run confctl pexip participant unmute Dana --breakout "$room"   # the same request under /breakouts/{uuid}/
run confctl pexip breakout move --from "$room" --to main     # no names: everyone goes back
run confctl pexip conference dial sip:recorder@example.com --protocol sip --streaming --wait \
  --query '{uuid: uuid, name: display_name, service_type: service_type}' -o table --color never
run confctl sim pexip join Alice
run confctl pexip participant mute Alice || true     # two people called Alice: exit 2 with the candidates
run confctl --dry-run pexip conference lock          # the token header is elided, no token is requested
run confctl pexip endpoints --query 'length(@)'
kill "$pexip_follower" 2>/dev/null || true           # SIGTERM: the follower releases its token and exits
wait "$pexip_follower" 2>/dev/null || true
printf '\n\033[1m== what `confctl pexip events` printed meanwhile (roster sync first, then each change) ==\033[0m\n'
grep -v -e conference_update "$work/pexip-events.log" | cut -c1-140 | tail -n 22
run confctl pexip participants -o table --color never   # nobody left behind by confctl

# One view across vendors, sourced by scripts/demo.sh after the vendor tours: the simulators run with --meeting
# (the gateway's town-hall room has callers in it), CONFCTL_PEXIP_*, CONFCTL_MIND_* and CONFCTL_AUVIOUS_* are
# exported, the sim-gateway profile exists, and `run` is defined there.
printf '\n\033[1m== one view across vendors: a profile per vendor, everyone in one table, verbs on any of them ==\033[0m\n'
# A profile per vendor; --secret-store env: the secrets stay in the exported CONFCTL_* variables.
run confctl profile add sim-pexip --provider pexip --url "$CONFCTL_PEXIP_URL" \
  --conference "$CONFCTL_PEXIP_CONFERENCE" --display-name "$CONFCTL_PEXIP_DISPLAY_NAME" --secret-store env
confctl profile add sim-mind --provider mind --url "$CONFCTL_MIND_URL" --app-id "$CONFCTL_MIND_APP_ID" \
  --conference "$CONFCTL_MIND_CONFERENCE" --secret-store env >/dev/null 2>&1
confctl profile add sim-auvious --provider auvious --url "$CONFCTL_AUVIOUS_URL" \
  --client-id "$CONFCTL_AUVIOUS_CLIENT_ID" --secret-store env >/dev/null 2>&1
fleet=(-p sim-gateway -p sim-pexip -p sim-mind -p sim-auvious)
run confctl conferences "${fleet[@]}" -o table --color never
run confctl participants "${fleet[@]}" -o table --color never     # Pexip's breakout rooms included
run confctl participants "${fleet[@]}" --where 'name~=^(Bob|Heidi)$' -o jsonl \
  --query '[].{vendor: vendor, conference: conference, name: name, room: room, raw_keys: length(keys(raw))}'
run confctl mute 'sim-pexip:meet.demo/Bob' 'sim-gateway:town-hall/tHall-2' -o table --color never
run confctl mute 'sim-pexip:meet.demo/Bob' 'sim-gateway:town-hall/tHall-2' -o table --color never  # already
run confctl mute-all sim-gateway:town-hall -o table --color never
# A verb the vendor lacks: exit 2 naming it, nothing sent (the error is shown here on stdout).
run confctl mute 'sim-mind:demo-conference/Bob' 2>&1 || true
run confctl capabilities -o table --color never
run confctl participants -p sim-gateway -p sim-pexip --where 'muted_audio==false' -o id

printf '\n\033[1m== waits for scripts, and a meeting recorded then replayed ==\033[0m\n'
# Record the Pexip stream while someone joins; `wait` returns as soon as they are in.
confctl -p sim-pexip events follow --record "$work/meeting.jsonl" --timeout 4 -o jsonl >"$work/live.jsonl" 2>/dev/null &
pids+=($!)
( sleep 1; confctl sim pexip join Zoe >/dev/null 2>&1 ) &
run confctl wait -p sim-pexip -p sim-gateway --for 'joined:Zoe' --for 'participants>=3' --timeout 20
wait "${pids[-1]}" 2>/dev/null || true
run confctl events replay "$work/meeting.jsonl" --speed max --type 'participant_create' -o table --color never
confctl events replay "$work/meeting.jsonl" --speed max -o jsonl >"$work/replayed.jsonl"
run cmp "$work/live.jsonl" "$work/replayed.jsonl"
echo "the replay is byte-identical to the live -o jsonl output"

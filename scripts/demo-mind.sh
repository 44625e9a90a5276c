# Mind API tour (sourced by the main demo after `confctl sim serve`, with CONFCTL_MIND_* exported and `run`
# defined). Conferences, participant tokens, recordings, SIP, streaming and live WebSocket events.
mind_tmp=$(mktemp -d)
mind_quiet() { printf '\n$ %s\n' "$*"; "$@" >/dev/null; }  # simulator controls: show the command, not its JSON

run confctl mind conference get --detailed --query '{name: name, participants: participants[].name}'
run confctl mind participant create --name "Demo moderator" --role moderator --token-file "$mind_tmp/mod.token"
# Act as that participant: the token comes from a file, never from the command line.
run confctl mind conference update --name "Renamed by a moderator" --as-participant "$mind_tmp/mod.token"

# Live WebSocket events in the background while a participant comes and goes.
printf '\n$ confctl mind events --timeout 4 &\n'
confctl mind events --timeout 4 &
mind_follower=$!
sleep 1.5
mind_quiet confctl sim mind join Carol
mind_quiet confctl sim mind leave Carol
wait "$mind_follower"

run confctl mind recording start
mind_quiet confctl sim mind speak Alice "Good morning, everyone"
run confctl mind recording stop
run confctl mind recording transcription --wait --interval 0.5
run confctl mind recording get -O "$mind_tmp/recording.mp4"

mind_phone=$(confctl mind participant create --name Phone -o id 2>/dev/null)
run confctl mind participant dial "$mind_phone" --from "Desk <sip:desk@example.com>" --to "sip:busy@example.com" \
  || echo "(exit $? — the callee was busy)"
run confctl mind streaming create rtmps://live.example.com/app/demo-key
run confctl mind streaming list

rm -rf "$mind_tmp"
unset -f mind_quiet

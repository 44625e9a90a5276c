# Auvious tour, sourced by scripts/demo.sh after the simulators started (CONFCTL_AUVIOUS_* are exported and
# `run` and `$work` are defined there).
printf '\n\033[1m== auvious: OAuth 2.0 client credentials, conferences, streams, long-poll events ==\033[0m\n'
run confctl auvious token -o table   # token metadata only; the token itself stays in a 0600 cache file
run confctl auvious conference active -o table
run confctl auvious conference get demo-room -o table
auvious_cursor="$work/auvious.cursor"
run confctl auvious events -c demo-room --cursor-file "$auvious_cursor" --timeout 2 -o table --color never
run confctl auvious conference metadata set demo-room agenda "Q3 review" -e ep-alice
run confctl auvious conference send-event demo-room CustomerVerifiedEvent -f phone=6912345678 --mask '$.phone'
printf 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n' \
  >"$work/offer.sdp"
run confctl auvious stream publish demo-room -e ep-bob -t CAM --sdp "$work/offer.sdp" --answer "$work/answer.sdp"
run confctl sim auvious activity demo-room --user erin --delay 0.2
sleep 1
# the same cursor file: only what happened since the last run, each event exactly once
run confctl auvious events -c demo-room --cursor-file "$auvious_cursor" --timeout 2 -o table --color never
run confctl sim auvious revoke-tokens
run confctl auvious conference simple-view demo-room -o table   # 401 -> a new token -> retried once

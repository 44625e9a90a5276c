#!/usr/bin/env python3
"""Bulk: `confctl gateway session mute --from-file ids.txt` vs a shell loop calling `confctl gateway session mute ID`
once per id, against the gateway simulator (DESIGN §10: far faster, never over the rate limits).

    python benchmarks/bench_bulk.py [--items 100] [--rounds 1] [--json]

Each round creates 2 x N joined call sessions in the simulator (they join muted; the setup unmutes them
untimed), then mutes one half with one bulk command and the other half with the loop. Afterwards it checks that
every session is muted and counts the requests the simulator received (429 retries would show up as extra).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, alternate, clean_env, confctl_cmd, emit, median, ms, run_timed

sys.path.insert(0, str(ROOT))


class Fixture:
    """Talks to the simulator's controls and API directly (untimed setup and verification)."""

    def __init__(self, sim):
        import httpx

        from confctl.core.sim.server import CREDENTIALS

        creds = CREDENTIALS["gateway"]
        self.http = httpx.Client(base_url=f"{sim.url}/gateway", timeout=10,
                                 headers={"X-App-ID": creds["app_id"], "X-API-Key": creds["api_key"]})
        self.room = self.http.post("/_sim/rooms", json={"count": 1, "prefix": "bench"}).json()["rooms"][0]

    def unmuted_sessions(self, n: int) -> list[str]:
        ids = self.http.post("/_sim/sessions", json={"count": n, "room_id": self.room}).json()["sessions"]
        for sid in ids:
            r = self.http.post(f"/api/v1/sessions/{sid}/commands/conference/unmute", json={})
            r.raise_for_status()
        return ids

    def muted(self) -> dict[str, bool]:
        page = self.http.get(f"/api/v1/conferences/{self.room}/members", params={"limit": 1000}).json()
        return {m["uuid"]: m["muted"] for m in page["members"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100, help="sessions muted per run (default 100)")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds of each (alternating)")
    parser.add_argument("--concurrency", type=int, default=8, help="confctl --concurrency for the bulk run")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)

    from confctl.core.sim.server import RunningSim, SimConfig

    # Cooldowns scaled down so the untimed unmute setup can be followed at once by the timed mute.
    config = SimConfig(cooldown_scale=0.01, deferred_delay=0.01)
    work = Path(tempfile.mkdtemp(prefix="confctl-bench-bulk-"))
    used: list[str] = []
    with RunningSim(config) as sim:
        fx = Fixture(sim)
        env = clean_env(sim.env())
        confctl = " ".join(shlex.quote(a) for a in confctl_cmd())
        counter = iter(range(10**6))

        def prepare() -> Path:
            ids = fx.unmuted_sessions(args.items)
            used.extend(ids)
            path = work / f"ids-{next(counter)}.txt"
            path.write_text("\n".join(ids) + "\n")
            time.sleep(0.05)  # let the scaled-down per-session mute cooldown pass
            return path

        def bulk() -> float:
            path = prepare()
            return run_timed(confctl_cmd() + ["-o", "jsonl", "gateway", "session", "mute", "--from-file", str(path),
                                              "--concurrency", str(args.concurrency)], env)

        def loop() -> float:
            path = prepare()
            script = (f'while read -r id; do {confctl} -o json gateway session mute "$id" >/dev/null || exit 1; '
                      f"done < {shlex.quote(str(path))}")
            return run_timed(["bash", "-c", script], env)

        before = len(sim.app.state.requests)
        times = alternate({"bulk": bulk, "loop": loop}, args.rounds, warmup=0)
        sent = [r for r in sim.app.state.requests[before:] if r[1].endswith("/commands/conference/mute")]
        state = fx.muted()
    not_muted = [sid for sid in used if not state.get(sid)]
    a, b = median(times["bulk"]), median(times["loop"])
    expected = 2 * args.items * args.rounds
    result = {
        "name": "bulk", "ratio": b / a, "target": ">> 1 (far faster)", "ok": b / a > 3 and not not_muted,
        "ratio_meaning": f"shell loop time / --from-file time for {args.items} mutes (speed-up)",
        "details": {
            "items per run": args.items,
            "rounds": args.rounds,
            "mute --from-file median": ms(a),
            "shell loop median": f"{ms(b)} ({ms(b / args.items)} per item)",
            "mute requests received": f"{len(sent)} for {expected} mutes"
                                      + (" (no retries, no 429)" if len(sent) == expected else " (retries!)"),
            "sessions left unmuted": len(not_muted),
        },
    }
    emit(result, args.json)
    return 0 if not not_muted else 1


if __name__ == "__main__":
    sys.exit(main())

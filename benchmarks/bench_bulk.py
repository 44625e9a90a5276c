#!/usr/bin/env python3
"""Bulk: `confctl gateway session mute --from-file ids.txt` (N ids) vs a shell loop calling
`confctl gateway session mute ID` once per id, against the gateway simulator (DESIGN §10: far faster, never over
the rate limits, memory flat).

    python benchmarks/bench_bulk.py [--items 1000] [--sample 20] [--rounds 1] [--json]

Each round creates N joined call sessions in the simulator for the bulk command and `--sample` more for the
loop (they join muted; the setup unmutes them untimed). The loop's time per item, measured on the sample, is
scaled to N (a loop of 1,000 fresh processes would take minutes and tell nothing more). Afterwards it checks
that every session is muted and counts what the simulator answered: every 429 (a cooldown overrun) and every
request beyond one per item (a retry). The bulk command's peak RSS is measured at N and at N/10 (memory flat:
no per-item growth beyond the result lines).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, clean_env, confctl_cmd, emit, median, ms

sys.path.insert(0, str(ROOT))

MUTE = "/commands/conference/mute"


class StatusLog:
    """ASGI wrapper recording (method, path, status) of every answer the simulator sends."""

    def __init__(self, app):
        self.app = app
        self.state = app.state
        self.answers: list[tuple[str, str, int]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def record(message):
            if message["type"] == "http.response.start":
                self.answers.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)


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
        out: dict[str, bool] = {}
        cursor = None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = self.http.get(f"/api/v1/conferences/{self.room}/members", params=params).json()
            out.update({m["uuid"]: m["muted"] for m in page["members"]})
            cursor = page.get("cursor")
            if not cursor:
                return out


def run_measured(cmd: list[str], env: dict) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS in KiB, stdout) of one run; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed (exit {proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="sessions muted by the bulk command (default 1000)")
    parser.add_argument("--sample", type=int, default=20, help="sessions muted by the timed shell loop (default 20)")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds of each")
    parser.add_argument("--concurrency", type=int, default=8, help="confctl --concurrency for the bulk run")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)

    from confctl.core.sim import server

    # Cooldowns scaled down so the untimed unmute setup can be followed at once by the timed mute.
    config = server.SimConfig(cooldown_scale=0.01, deferred_delay=0.01)
    work = Path(tempfile.mkdtemp(prefix="confctl-bench-bulk-"))
    used: list[str] = []
    plain_build = server.build_app
    logs: list[StatusLog] = []
    server.build_app = lambda cfg: logs.append(StatusLog(plain_build(cfg))) or logs[-1]
    try:
        sim = server.RunningSim(config).start()
    finally:
        server.build_app = plain_build
    log = logs[0]
    try:
        fx = Fixture(sim)
        env = clean_env(sim.env())
        confctl = " ".join(shlex.quote(a) for a in confctl_cmd())
        counter = iter(range(10**6))

        def prepare(n: int) -> Path:
            ids = fx.unmuted_sessions(n)
            used.extend(ids)
            path = work / f"ids-{next(counter)}.txt"
            path.write_text("\n".join(ids) + "\n")
            time.sleep(0.05)  # let the scaled-down per-session mute cooldown pass
            return path

        def bulk(n: int) -> tuple[float, int, int]:
            path = prepare(n)
            took, rss, out = run_measured(confctl_cmd() + ["-o", "jsonl", "gateway", "session", "mute", "--from-file",
                                                           str(path), "--concurrency", str(args.concurrency)], env)
            return took, rss, len(out.splitlines())

        def loop(n: int) -> float:
            path = prepare(n)
            script = (f'while read -r id; do {confctl} -o json gateway session mute "$id" >/dev/null || exit 1; '
                      f"done < {shlex.quote(str(path))}")
            start = time.perf_counter()
            subprocess.run(["bash", "-c", script], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            return time.perf_counter() - start

        small = max(2, args.items // 10)
        _, rss_small, _ = bulk(small)  # also the warm-up
        before = len(log.answers)
        bulk_times, loop_per_item, lines, rss_full = [], [], [], 0
        for i in range(args.rounds):
            for which in (("bulk", "loop") if i % 2 == 0 else ("loop", "bulk")):
                if which == "bulk":
                    took, rss, count = bulk(args.items)
                    bulk_times.append(took)
                    lines.append(count)
                    rss_full = max(rss_full, rss)
                else:
                    loop_per_item.append(loop(args.sample) / args.sample)
        answers = log.answers[before:]
        state = fx.muted()
    finally:
        sim.stop()
    mutes = [a for a in answers if a[0] == "POST" and a[1].endswith(MUTE)]
    too_many = sum(1 for a in answers if a[2] == 429)
    expected = (args.items + args.sample) * args.rounds
    not_muted = [sid for sid in used if not state.get(sid)]
    a = median(bulk_times)
    b = median(loop_per_item) * args.items
    ratio = b / a
    ok = ratio >= 50 and not too_many and len(mutes) == expected and not not_muted and \
        all(n == args.items for n in lines)
    result = {
        "name": "bulk", "ratio": ratio, "target": ">= 50, zero 429s", "ok": ok,
        "ratio_meaning": f"shell loop time (scaled from {args.sample}) / --from-file time for {args.items} mutes; "
                         f"{too_many} 429s, {len(mutes) - expected} retries",
        "measured": ms(a), "baseline": f"{ms(b)} (scaled)",
        "details": {
            "items per bulk run": args.items,
            "rounds": args.rounds,
            "mute --from-file median": f"{ms(a)} ({args.items / a:.0f} mutes/s, --concurrency {args.concurrency})",
            "shell loop": f"{ms(median(loop_per_item))} per item, {ms(b)} scaled to {args.items}",
            "429 answers": too_many,
            "mute requests received": f"{len(mutes)} for {expected} mutes"
                                      + (" (no retries)" if len(mutes) == expected else " (retries!)"),
            "result lines per bulk run": ", ".join(map(str, lines)),
            "sessions left unmuted": len(not_muted),
            "bulk peak RSS": f"{rss_full / 1024:.1f} MB for {args.items} items, {rss_small / 1024:.1f} MB for {small}",
        },
    }
    emit(result, args.json)
    return 0 if not not_muted else 1


if __name__ == "__main__":
    sys.exit(main())

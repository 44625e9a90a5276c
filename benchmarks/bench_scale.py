#!/usr/bin/env python3
"""Scale: `confctl events follow` over N = 10, 100, 500 Pexip conferences of one simulator, events flowing.

    python benchmarks/bench_scale.py [--sizes 10,100,500] [--rate 1000] [--seconds 10] [--connect-rate 100] [--json]

The simulator (`confctl sim serve`, its own process) hosts the conferences (POST /pexip/_sim/load) and sends
`--rate` participant_update events per second in all, round-robin over the conferences, each stamped with the
time it was queued (`sim_sent_at`). For each N one `events follow -o jsonl -c load.0001 ... -c load.N` runs;
this script reads its lines as they come and reports:

  connect   seconds from start until every conference's opening roster was printed (paced by --connect-rate)
  threads   the follower's thread count: the most seen while following
  peak RSS  the follower's VmHWM
  events/s  participant_update lines read per second while the flow ran
  p50/p99   delay from the simulator queueing an event to this script reading confctl's line for it
  released  tokens left on the simulator's load conferences after Ctrl-C (SIGINT): must be 0

Done when, at N=500: all connected, threads independent of N, peak RSS < 250 MB, p99 < 100 ms, 0 left.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import clean_env, confctl_cmd, emit

PIN = "1234"


def proc_status(pid: int) -> dict:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Threads", "VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Sim:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="confctl-bench-scale-")
        env_file = Path(self.dir) / "sim.env"
        env = clean_env()
        self.proc = subprocess.Popen(confctl_cmd() + ["sim", "serve", "--port", "0", "--env-file", str(env_file)],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not (env_file.exists() and "PEXIP_URL" in env_file.read_text()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the simulator did not start: {self.proc.stderr.read().decode()[-1000:]}")
            time.sleep(0.1)
        time.sleep(0.2)
        self.env = {}
        for line in env_file.read_text().splitlines():
            line = line.strip().removeprefix("export ")
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                self.env[key] = value.strip().strip("'\"")
        self.url = self.env["CONFCTL_PEXIP_URL"]
        import httpx

        self.http = httpx.Client(timeout=30)
        return self

    def load(self, **body) -> dict:
        response = self.http.post(self.url + "/_sim/load", json=body)
        response.raise_for_status()
        return response.json()

    def status(self) -> dict:
        return self.http.get(self.url + "/_sim/load", params={"prefix": "load"}).json()

    def __exit__(self, *exc):
        self.http.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_size(sim: Sim, n: int, args) -> dict:
    aliases = sim.load(conferences=n, rate=0)["conferences"][:n]
    aliases = sorted(aliases)[:n]
    env = clean_env({"CONFCTL_PEXIP_URL": sim.url, "CONFCTL_PEXIP_CONFERENCE": aliases[0], "CONFCTL_PEXIP_PIN": PIN,
                     "CONFCTL_PEXIP_DISPLAY_NAME": "bench"})
    cmd = confctl_cmd() + ["-o", "jsonl", "pexip", "events", "--connect-rate", str(args.connect_rate)]
    for alias in aliases:
        cmd += ["-c", alias]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stats = {"threads": 0, "connected_at": None, "delays": [], "updates": 0, "flow": None, "stop": False}
    synced: set = set()
    lock = threading.Lock()

    def sampler():
        while not stats["stop"] and proc.poll() is None:
            status = proc_status(proc.pid)
            with lock:
                stats["threads"] = max(stats["threads"], status.get("Threads", 0))
                stats["hwm"] = max(stats.get("hwm", 0), status.get("VmHWM", 0))
            time.sleep(0.1)

    def reader():
        for raw in proc.stdout:
            now = time.time()
            event = json.loads(raw)
            if event["type"] == "participant_sync_end" and not event.get("breakout"):
                synced.add(event["conference"])
                if len(synced) == n and stats["connected_at"] is None:
                    stats["connected_at"] = time.monotonic() - start
            elif event["type"] == "participant_update" and "sim_sent_at" in event["data"]:
                flow = stats["flow"]
                if flow is not None and flow[0] <= time.monotonic() <= flow[1]:
                    stats["updates"] += 1
                    stats["delays"].append(now - event["data"]["sim_sent_at"])
                    if os.environ.get("BENCH_SCALE_TRACE"):
                        print(f"{now:.3f} {1000 * (now - event['data']['sim_sent_at']):.1f}", file=sys.stderr)

    threads = [threading.Thread(target=sampler, daemon=True), threading.Thread(target=reader, daemon=True)]
    for t in threads:
        t.start()
    deadline = start + args.connect_timeout
    while stats["connected_at"] is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    connected = len(synced)
    sim.load(rate=args.rate)
    time.sleep(0.5)  # let the flow settle before measuring
    began = time.monotonic()
    stats["flow"] = (began, began + args.seconds)
    time.sleep(args.seconds)
    sim.load(rate=0)
    elapsed = time.monotonic() - began
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: every token must be released
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "killed"
    stats["stop"] = True
    stderr = proc.stderr.read().decode(errors="replace")
    left = sim.status()["tokens"]
    delays = stats["delays"]
    return {"n": n, "connected": connected, "connect_s": stats["connected_at"], "threads": stats["threads"],
            "peak_rss_mb": stats.get("hwm", 0) / 1024, "events_per_s": stats["updates"] / elapsed,
            "p50_ms": percentile(delays, 0.5) * 1000, "p99_ms": percentile(delays, 0.99) * 1000,
            "tokens_left": left, "exit": code, "stderr": stderr.strip().splitlines()[-3:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500", help="conference counts, comma-separated")
    parser.add_argument("--rate", type=float, default=1000, help="events per second in all, while measuring")
    parser.add_argument("--seconds", type=float, default=10, help="how long the flow is measured")
    parser.add_argument("--connect-rate", type=float, default=100, help="the follower's --connect-rate")
    parser.add_argument("--connect-timeout", type=float, default=120, help="give up connecting after this long")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with Sim() as sim:
        for n in sizes:
            print(f"following {n} conferences ...", file=sys.stderr, flush=True)
            rows.append(run_size(sim, n, args))
    top = rows[-1]
    big = max(rows, key=lambda r: r["n"])
    small = min(rows, key=lambda r: r["n"])
    # Threads: the follower, its fixed pool of token workers (filled lazily: a small N may not need them all),
    # short-lived release workers at exit — never one per conference.
    pool = 4
    ok = (big["connected"] == big["n"] and big["threads"] <= small["threads"] + pool and big["threads"] <= 16
          and big["peak_rss_mb"] < 250 and big["p99_ms"] < 100 and all(r["tokens_left"] == 0 for r in rows))
    header = f"{'N':>5} {'connected':>9} {'connect':>8} {'threads':>7} {'peak RSS':>9} {'events/s':>9} " \
             f"{'p50':>7} {'p99':>7} {'tokens left':>11} {'exit':>4}"
    lines = [header]
    for r in rows:
        connect = f"{r['connect_s']:.1f}s" if r["connect_s"] is not None else "-"
        lines.append(f"{r['n']:>5} {r['connected']:>9} {connect:>8} {r['threads']:>7} {r['peak_rss_mb']:>6.0f} MB "
                     f"{r['events_per_s']:>9.0f} {r['p50_ms']:>5.1f}ms {r['p99_ms']:>5.1f}ms {r['tokens_left']:>11} "
                     f"{r['exit']!s:>4}")
    table = "\n".join(lines)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    details = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine,
               "flow": f"{args.rate:g} events/s in all for {args.seconds:g} s; --connect-rate {args.connect_rate:g}",
               "table": "\n" + table}
    for r in rows:
        if r["stderr"] and r["exit"] not in (0, 130):
            details[f"N={r['n']} stderr"] = " | ".join(r["stderr"])
    result = {"name": "scale", "ratio": big["p99_ms"], "target": f"N={big['n']} p99<100ms", "ok": ok,
              "measured": f"p99 {big['p99_ms']:.0f} ms, {big['threads']} threads, {big['peak_rss_mb']:.0f} MB",
              "baseline": "-",
              "ratio_meaning": f"p99 ms at N={big['n']}; {big['connected']}/{big['n']} connected in "
                               f"{big['connect_s'] or float('nan'):.1f}s, {big['threads']} threads "
                               f"(N={small['n']}: {small['threads']}), {big['peak_rss_mb']:.0f} MB, "
                               f"{sum(r['tokens_left'] for r in rows)} tokens left",
              "rows": rows, "details": details}
    if not args.json:
        print(table)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

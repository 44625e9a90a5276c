#!/usr/bin/env python3
"""Run every benchmark (each in its own process, one after another) and print a table of the ratios.

    python benchmarks/run_all.py [--quick] [--only help,request,bulk,events]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, normal args, --quick args)
BENCHES = {
    "help": ("bench_help.py", [], ["--runs", "8"]),
    "request": ("bench_request.py", [], ["--runs", "8"]),
    "bulk": ("bench_bulk.py", [], ["--items", "30"]),
    "events": ("bench_events.py", [], ["--events", "10000", "--rounds", "1", "--long", "50000"]),
    "scale": ("bench_scale.py", [], ["--sizes", "10,100", "--seconds", "3"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and items (a smoke run, noisier)")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    args = parser.parse_args(argv)
    rows = []
    for name in args.only.split(","):
        script, normal, quick = BENCHES[name]
        cmd = [sys.executable, str(HERE / script), "--json", *(quick if args.quick else normal)]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        took = time.monotonic() - start
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            result = {"name": name, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
        result["seconds"] = took
        rows.append(result)
        for key, value in result.get("details", {}).items():
            print(f"  {key}: {value}", file=sys.stderr)
    print()
    print(f"{'benchmark':<10} {'ratio':>7}  {'target':<18} {'status':<8} {'took':>6}  meaning")
    for r in rows:
        if r.get("skipped") or r.get("error"):
            status = "SKIPPED" if r.get("skipped") else "ERROR"
            print(f"{r['name']:<10} {'-':>7}  {'-':<18} {status:<8} {r['seconds']:>5.0f}s  "
                  f"{r.get('skipped') or r.get('error')}")
            continue
        status = "ok" if r.get("ok") else "MISSED"
        print(f"{r['name']:<10} {r['ratio']:>7.2f}  {r['target']:<18} {status:<8} {r['seconds']:>5.0f}s  "
              f"{r['ratio_meaning']}")
    return 1 if any(r.get("error") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

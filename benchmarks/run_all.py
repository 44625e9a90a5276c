#!/usr/bin/env python3
"""Run every benchmark (each in its own process, one after another) and print one table: each row's ratio
against its baseline measured in the same run (the two side by side when the benchmark reports them).

    python benchmarks/run_all.py [--quick] [--only help,request,bulk,events,scale] [--markdown]
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
    "bulk": ("bench_bulk.py", [], ["--items", "200", "--sample", "5"]),
    "events": ("bench_events.py", [], ["--events", "10000", "--rounds", "1", "--long", "50000"]),
    "events-mind": ("bench_events.py", ["--vendor", "mind", "--long", "0"],
                    ["--vendor", "mind", "--events", "10000", "--rounds", "1", "--long", "0"]),
    "events-auvious": ("bench_events.py", ["--vendor", "auvious", "--long", "0"],
                       ["--vendor", "auvious", "--events", "10000", "--rounds", "1", "--long", "0"]),
    "scale": ("bench_scale.py", [], ["--sizes", "10,100", "--seconds", "3"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and items (a smoke run, noisier)")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the docs)")
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
    table(rows, args.markdown)
    return 1 if any(r.get("error") for r in rows) else 0


COLUMNS = ("benchmark", "confctl", "baseline", "ratio", "target", "status", "took", "meaning")


def table(rows: list[dict], markdown: bool = False) -> None:
    """One line per benchmark: confctl's figure and its baseline's (from the same run), their ratio, the
    target and whether it was met."""
    lines = []
    for r in rows:
        if r.get("skipped") or r.get("error"):
            status = "SKIPPED" if r.get("skipped") else "ERROR"
            lines.append((r["name"], "-", "-", "-", "-", status, f"{r['seconds']:.0f}s",
                          r.get("skipped") or r.get("error")))
            continue
        lines.append((r["name"], r.get("measured", "-"), r.get("baseline", "-"), f"{r['ratio']:.2f}", r["target"],
                      "ok" if r.get("ok") else "MISSED", f"{r['seconds']:.0f}s", r["ratio_meaning"]))
    if markdown:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for line in lines:
            print("| " + " | ".join(str(cell).replace("|", "\\|") for cell in line) + " |")
        return
    widths = [max(len(str(line[i])) for line in [COLUMNS, *lines]) for i in range(len(COLUMNS) - 1)]
    for line in [COLUMNS, *lines]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)) + "  " + str(line[-1]))


if __name__ == "__main__":
    sys.exit(main())

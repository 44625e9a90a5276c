#!/usr/bin/env python3
"""`confctl --help` vs `python -c "import typer"` (target: within 1.15x), plus which heavy modules the help
imports (DESIGN §7: none of httpx, keyring or a provider module).

The ratio is the usual run: the root help answered from its cache (confctl.cli.cached_root_help). The first
run after an install, an upgrade or any source change builds the command tree instead; that time is measured
too (each run in a fresh config folder, so the cache always misses) and printed beside it.

    python benchmarks/bench_help.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import PYTHON, alternate, clean_env, confctl_cmd, emit, median, ms, run_timed

HEAVY = ("httpx", "httpx_sse", "httpcore", "keyring", "websockets", "yaml", "jmespath", "rich")

PROBE = f"""
import contextlib, io, json, sys
from confctl.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["--help"])
# A vendor package's __init__ (its spec) is meant to load; anything deeper in a vendor (provider, endpoints) is not.
mods = sorted(m for m in sys.modules
              if m.split(".")[0] in {HEAVY!r} and "." not in m or m.count(".") >= 3 and m.startswith("confctl.vendors."))
print(json.dumps({{"code": code, "help_chars": len(out.getvalue()), "modules": mods}}))
"""


def imported_by_help(env: dict) -> dict:
    proc = subprocess.run([PYTHON, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each (alternating)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)
    env = clean_env()
    help_cmd = confctl_cmd() + ["--help"]
    typer_cmd = [PYTHON, "-c", "import typer"]
    times = alternate({"confctl --help": lambda: run_timed(help_cmd, env),
                       "import typer": lambda: run_timed(typer_cmd, env),
                       "uncached": lambda: run_timed(help_cmd, clean_env())}, args.runs)
    probe = imported_by_help(clean_env())  # a cache miss: the tree is built, the most --help ever imports
    heavy = [m for m in probe["modules"] if m.split(".")[0] != "rich"]
    a, b = median(times["confctl --help"]), median(times["import typer"])
    cold = median(times["uncached"])
    result = {
        "name": "help", "ratio": a / b, "target": "<= 1.15", "ok": a / b <= 1.15,
        "ratio_meaning": "confctl --help time / python -c 'import typer' time",
        "measured": ms(a), "baseline": ms(b),
        "details": {
            "runs": args.runs,
            "confctl --help median": ms(a),
            "python -c 'import typer' median": ms(b),
            "confctl --help median, cache missed (tree built)": f"{ms(cold)} ({cold / b:.2f}x)",
            "modules imported by --help (cache missed)": ", ".join(probe["modules"]) or "none of " + ", ".join(HEAVY),
            "httpx/keyring/provider imported": "YES: " + ", ".join(heavy) if heavy else "no",
        },
    }
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

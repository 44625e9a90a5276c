"""Shared helpers for the benchmarks: alternating timed runs, medians, environments, result lines.

Machines are noisy, so every benchmark runs confctl and its baseline alternately in one process and reports
the ratio of medians (DESIGN §10); absolute times are printed for context only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def confctl_cmd() -> list[str]:
    """The installed `confctl` entry point next to this interpreter (what users run), else `python -m`."""
    script = Path(PYTHON).parent / "confctl"
    return [str(script)] if script.exists() else [PYTHON, "-m", "confctl"]


# One bytecode cache for every process of a benchmark run, confctl's and the baseline's alike.
PYCACHE = tempfile.mkdtemp(prefix="confctl-bench-pycache-")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment without CONFCTL_* / NO_COLOR, with an empty config folder and a keyring that
    never blocks, plus `extra`. Bytecode is cached (in a folder of this run, for both sides) even where
    PYTHONDONTWRITEBYTECODE is set: an installed confctl runs from compiled bytecode, like the libraries the
    baselines import, and recompiling its sources on every run would be measured as confctl's own time."""
    compile_each_run = os.environ.get("BENCH_COMPILE_EACH_RUN") == "1"  # to see what an uncached checkout costs
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONFCTL_") and k != "NO_COLOR"
           and (compile_each_run or k != "PYTHONDONTWRITEBYTECODE")}
    if not compile_each_run:
        env["PYTHONPYCACHEPREFIX"] = PYCACHE
    env["CONFCTL_CONFIG_DIR"] = tempfile.mkdtemp(prefix="confctl-bench-")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["CONFCTL_NO_INPUT"] = "1"
    env.update(extra or {})
    return env


def run_timed(cmd: list[str], env: dict | None = None, *, check: bool = True, shell: bool = False) -> float:
    """Wall time of one run, output discarded. Raises if the command fails (a failing run is not a timing)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, shell=shell)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        shown = cmd if isinstance(cmd, str) else " ".join(cmd)
        raise SystemExit(f"benchmark command failed (exit {proc.returncode}): {shown}\n"
                         f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def alternate(cases: dict[str, callable], runs: int, warmup: int = 1) -> dict[str, list[float]]:
    """Call each case in turn, `runs` times (after `warmup` untimed rounds); return the timings per case."""
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(runs):
        order = list(cases.items())
        if i % 2:  # alternate who goes first, so neither always runs on a warmer machine
            order.reverse()
        for name, fn in order:
            times[name].append(fn())
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def emit(result: dict, as_json: bool) -> None:
    """Print the summary: one JSON line for run_all.py (--json), or readable lines."""
    if as_json:
        print(json.dumps(result), flush=True)
        return
    print(f"\n== {result['name']}")
    if result.get("skipped"):
        print(f"SKIPPED: {result['skipped']}")
        return
    for key, value in result.get("details", {}).items():
        print(f"  {key}: {value}")
    print(f"  ratio: {result['ratio']:.2f} ({result['ratio_meaning']}; target {result['target']})")

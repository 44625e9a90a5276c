#!/usr/bin/env python3
"""One command, one request: `confctl gateway room get ID` vs a bare `python -c "import httpx; httpx.get(...)"`
sending the same request to the same local simulator (target: within 1.15x).

    python benchmarks/bench_request.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import sys

from _common import PYTHON, ROOT, alternate, clean_env, confctl_cmd, emit, median, ms, run_timed

sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each (alternating)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)

    from confctl.vendors.gateway.sim.state import EXAMPLE_ROOM
    from confctl.core.sim.server import CREDENTIALS, RunningSim, SimConfig

    with RunningSim(SimConfig()) as sim:
        env = clean_env(sim.env())
        url = f"{sim.url}/gateway/api/v1/conferences/{EXAMPLE_ROOM}"
        creds = CREDENTIALS["gateway"]
        headers = {"X-App-ID": creds["app_id"], "X-API-Key": creds["api_key"]}
        bare = [PYTHON, "-c",
                f"import httpx; r = httpx.get({url!r}, headers={headers!r}); r.raise_for_status(); print(r.text)"]
        cmd = confctl_cmd() + ["-o", "json", "gateway", "room", "get", EXAMPLE_ROOM]
        before = len(sim.app.state.requests)
        times = alternate({"confctl": lambda: run_timed(cmd, env), "httpx": lambda: run_timed(bare, env)},
                          args.runs)
        sent = sim.app.state.requests[before:]
    path = url.split(sim.url, 1)[1]
    per_run = len(sent) / (2 * (args.runs + 1))  # one untimed warm-up round each
    a, b = median(times["confctl"]), median(times["httpx"])
    result = {
        "name": "request", "ratio": a / b, "target": "<= 1.15", "ok": a / b <= 1.15,
        "ratio_meaning": "confctl gateway room get / bare httpx.get, median wall time",
        "measured": ms(a), "baseline": ms(b),
        "details": {
            "runs": args.runs,
            "confctl gateway room get median": ms(a),
            "python -c 'import httpx; httpx.get(...)' median": ms(b),
            "requests per run (both)": f"{per_run:g} (all GET {path})" if all(
                r == ("GET", path) for r in sent) else f"{per_run:g}: {sorted(set(sent))}",
        },
    }
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

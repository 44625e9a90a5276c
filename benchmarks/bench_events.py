#!/usr/bin/env python3
"""Event throughput: `confctl events follow -o jsonl` vs a bare loop printing each event as a JSON line, both
reading the same local stream (target: at least 1.0x), plus confctl's memory over a long stream (peak RSS should
stay flat).

    python benchmarks/bench_events.py [--vendor pexip|mind|auvious] [--events 20000] [--rounds 3] [--long 200000]
                                      [--json]

The stream comes from a tiny Starlette app on 127.0.0.1 that mimics the vendor's API:
  pexip    request_token / refresh_token / release_token and the SSE /events stream (baseline: httpx + httpx-sse);
  mind     the conference read (?detailed=true) and the notifications WebSocket (baseline: websockets' client);
  auvious  the conference read and the long-poll /events?v=N, 500 events per answer (baseline: an httpx loop).
After the opening state it sends `--events` participant updates (about 1.3 kB each) as fast as it can, then
holds the stream open. Both clients stop after the last one. Skips (exit 0) when the provider cannot follow yet.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import uuid

from _common import PYTHON, ROOT, clean_env, confctl_cmd, emit, median

sys.path.insert(0, str(ROOT))

ALIAS = "meet.bench"
PIN = "1234"
PARTICIPANT = {
    "buzz_time": 0, "call_direction": "in", "call_tag": "def456", "disconnect_supported": "YES",
    "display_name": "Alice", "encryption": "On", "external_node_uuid": "", "fecc_supported": "NO",
    "has_media": False, "is_audio_only_call": "NO", "is_client_muted": False, "is_external": False,
    "is_idp_authenticated": False, "is_conjoined": False, "is_muted": "NO", "is_presenting": "NO",
    "is_streaming_conference": False, "is_video_call": "YES", "is_video_muted": False, "layout_group": "",
    "local_alias": ALIAS, "mute_supported": "YES", "needs_presentation_in_mix": True, "overlay_text": "Alice",
    "presentation_supported": "NO", "protocol": "api", "receive_from_audio_mix": "main", "role": "chair",
    "rx_presentation_policy": "ALLOW", "send_to_audio_mixes": [{"mix_name": "main", "prominent": False}],
    "service_type": "conference", "show_live_captions": False, "spotlight": 0, "start_time": 1441720992,
    "transfer_supported": "YES", "uri": "Infinity_Connect_10.44.21.35",
    "uuid": "50b956c8-9a63-4711-8630-3810f8666b04",
    "vendor": "Pexip Infinity Connect/2.0.0-25227.0.0 (Windows NT 6.1; WOW64) nwjs/0.12.2 Chrome/41.0.2272.76",
}

# The bare baseline: what a script author would write with httpx + httpx-sse.
BASELINE = r'''
import json, sys
from datetime import datetime, timezone
import httpx
from httpx_sse import connect_sse
base, alias, pin, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conf = f"/api/client/v2/conferences/{alias}"
with httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=60)) as client:
    token = client.post(conf + "/request_token", json={"display_name": "bench"},
                        headers={"pin": pin}).json()["result"]["token"]
    count = 0
    try:
        with connect_sse(client, "GET", conf + "/events", headers={"token": token}) as source:
            for sse in source.iter_sse():
                if sse.event != "participant_update":
                    continue
                now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                line = {"time": now, "provider": "pexip", "profile": "bench", "conference": alias,
                        "type": sse.event, "id": sse.id or None, "data": json.loads(sse.data) if sse.data else {}}
                print(json.dumps(line), flush=True)
                count += 1
                if count >= n:
                    break
    finally:
        client.post(conf + "/release_token", headers={"token": token})
'''


MIND_BASELINE = r"""
import json, sys
from datetime import datetime, timezone
from websockets.sync.client import connect
url, token, conf, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
count = 0
with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=4 * 2**20) as ws:
    for raw in ws:
        msg = json.loads(raw)
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = {"time": now, "provider": "mind", "profile": "bench", "conference": conf,
                "type": "participant." + msg["type"], "id": None, "data": msg.get("resource") or {},
                "location": msg["location"]}
        print(json.dumps(line), flush=True)
        count += 1
        if count >= n:
            break
"""

AUVIOUS_BASELINE = r"""
import json, sys
import httpx
base, token, conf, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
count = 0
with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
    version = client.get(f"/rtc-api/conferences/{conf}").json()["version"]
    while count < n:
        for event in client.get(f"/rtc-api/conferences/{conf}/events", params={"v": version + 1}).json():
            line = {"time": event["timestamp"], "provider": "auvious", "profile": "bench",
                    "conference": event["conferenceId"], "type": event["type"], "id": event["id"], "data": event}
            print(json.dumps(line), flush=True)
            version = max(version, event["conferenceVersion"])
            count += 1
            if count >= n:
                break
"""


def vendor_ready(vendor: str) -> str | None:
    """None when the vendor's provider can follow events; otherwise why not."""
    try:
        from confctl.core.provider import Provider
        from confctl.core.registry import PROVIDERS

        provider = PROVIDERS[vendor].load()
    except Exception as exc:  # noqa: BLE001 - being written concurrently; any failure means "not yet"
        return f"the {vendor} provider is not importable yet ({type(exc).__name__}: {exc})"
    if type(provider).follow is Provider.follow:
        return f"the {vendor} provider has no event stream (follow) yet"
    return None


class MindStream:
    """A loopback app mimicking Mind's conference read and notifications WebSocket."""

    app_id, token, conference = "bench-app", "bench-token-0123456789", "bench-conf"

    def __init__(self, events: int):
        self.events = events
        self.tokens: set[str] = set()  # nothing to release: Mind's application token is not a session
        self.calls: list[str] = []

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route, WebSocketRoute

        async def conference(request):
            self.calls.append("GET conference")
            return JSONResponse({"id": self.conference, "caption": "bench", "participants": [
                {**PARTICIPANT, "id": "p1", "name": "Alice"}], "streamings": []})

        async def notifications(ws):
            import asyncio

            self.calls.append("websocket")
            await ws.accept()
            payload = json.dumps({"type": "updated", "location": "/participants/p1",
                                  "resource": {**PARTICIPANT, "id": "p1", "name": "Alice"}})
            for i in range(self.events):
                await ws.send_text(payload)
                if i % 256 == 255:
                    await asyncio.sleep(0)
            try:
                while True:
                    await ws.receive_text()
            except Exception:  # noqa: BLE001 - the client went away
                pass

        path = f"/{self.app_id}/{self.conference}"
        return Starlette(routes=[Route(path, conference, methods=["GET"]), WebSocketRoute(path, notifications)])

    def env(self, url: str) -> dict:
        return {"CONFCTL_MIND_URL": url, "CONFCTL_MIND_APP_ID": self.app_id, "CONFCTL_MIND_TOKEN": self.token,
                "CONFCTL_MIND_CONFERENCE": self.conference}

    def confctl(self, n: int) -> list[str]:
        return confctl_cmd() + ["-o", "jsonl", "mind", "events", "--type", "participant.updated", "--count", str(n)]

    def baseline(self, url: str, n: int) -> list[str]:
        ws = "ws" + url[4:] + f"/{self.app_id}/{self.conference}"
        return [PYTHON, "-c", MIND_BASELINE, ws, self.token, self.conference, str(n)]


class AuviousStream:
    """A loopback app mimicking Auvious's conference read and long-poll events (500 per answer)."""

    token, conference, per_answer = "bench-access-token-0123456789", "bench-conf", 500

    def __init__(self, events: int):
        self.events = events
        self.tokens: set[str] = set()
        self.calls: list[str] = []

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        stamp = "2026-01-01T00:00:00.000Z"
        body = {k: v for k, v in PARTICIPANT.items()}

        def event(version: int) -> dict:
            return {"id": f"e{version}", "type": "ParticipantUpdatedEvent", "conferenceId": self.conference,
                    "organizationId": "org", "conferenceVersion": version, "timestamp": stamp,
                    "participant": body}

        async def conference(request):
            self.calls.append("GET conference")
            return JSONResponse({"id": self.conference, "version": 0})

        async def events(request):
            import asyncio

            self.calls.append("GET events")
            since = max(1, int(request.query_params.get("v") or 0))  # inclusive of v
            if since > self.events:
                await asyncio.sleep(0.5)  # nothing new: the long poll holds, then answers empty
                return JSONResponse([])
            last = min(self.events, since + self.per_answer - 1)
            return Response(json.dumps([event(v) for v in range(since, last + 1)]), media_type="application/json")

        base = f"/rtc-api/conferences/{self.conference}"
        return Starlette(routes=[Route(base, conference, methods=["GET"]), Route(base + "/events", events)])

    def env(self, url: str) -> dict:
        return {"CONFCTL_AUVIOUS_URL": url, "CONFCTL_AUVIOUS_CLIENT_ID": "bench", "CONFCTL_AUVIOUS_TOKEN": self.token,
                "CONFCTL_AUVIOUS_CONFERENCE": self.conference}

    def confctl(self, n: int) -> list[str]:
        return confctl_cmd() + ["-o", "jsonl", "auvious", "events", "-c", self.conference, "--type",
                                "ParticipantUpdatedEvent", "--count", str(n)]

    def baseline(self, url: str, n: int) -> list[str]:
        return [PYTHON, "-c", AUVIOUS_BASELINE, url, self.token, self.conference, str(n)]


class PexipStream:
    """A loopback Starlette app mimicking the Pexip token calls and the SSE events stream."""

    def __init__(self, events: int):
        self.events = events
        self.tokens: set[str] = set()
        self.calls: list[str] = []

    def app(self):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, StreamingResponse
        from starlette.routing import Route

        conf = "/api/client/v2/conferences/{alias}"

        def new_token() -> str:
            token = uuid.uuid4().hex
            self.tokens.add(token)
            return token

        def token_of(request: Request) -> str | None:
            token = request.headers.get("token") or request.query_params.get("token")
            return token if token in self.tokens else None

        async def request_token(request: Request):
            self.calls.append("request_token")
            if request.headers.get("pin") != PIN:
                return JSONResponse({"status": "success", "result": "Invalid PIN"}, status_code=403)
            return JSONResponse({"status": "success", "result": {
                "token": new_token(), "expires": "120", "participant_uuid": str(uuid.uuid4()),
                "display_name": "bench", "role": "HOST", "service_type": "conference",
                "current_service_type": "conference", "conference_name": ALIAS, "version": {"version_id": "35"}}})

        async def refresh_token(request: Request):
            self.calls.append("refresh_token")
            old = token_of(request)
            if old is None:
                return JSONResponse({"status": "success", "result": "Invalid token"}, status_code=403)
            self.tokens.discard(old)
            return JSONResponse({"status": "success", "result": {"token": new_token(), "expires": "120"}})

        async def release_token(request: Request):
            self.calls.append("release_token")
            self.tokens.discard(token_of(request) or "")
            return JSONResponse({"status": "success", "result": True})

        async def events(request: Request):
            self.calls.append("events")
            if token_of(request) is None:
                return JSONResponse({"status": "success", "result": "Invalid token"}, status_code=403)
            return StreamingResponse(self.stream(request), media_type="text/event-stream")

        async def other(request: Request):  # anything else a follower might ask (roster, status): empty success
            self.calls.append(f"{request.method} {request.url.path}")
            return JSONResponse({"status": "success", "result": [] if request.method == "GET" else True})

        return Starlette(routes=[
            Route(conf + "/request_token", request_token, methods=["POST"]),
            Route(conf + "/refresh_token", refresh_token, methods=["POST"]),
            Route(conf + "/release_token", release_token, methods=["POST"]),
            Route(conf + "/events", events, methods=["GET"]),
            Route(conf + "/{rest:path}", other, methods=["GET", "POST"]),
        ])

    async def stream(self, request):
        import asyncio

        payload = json.dumps(PARTICIPANT)
        yield (f"id: sync-0\nevent: participant_sync_begin\ndata: \n\n"
               f"id: sync-1\nevent: participant_create\ndata: {payload}\n\n"
               f"id: sync-2\nevent: participant_sync_end\ndata: \n\n").encode()
        batch = 256
        for start in range(0, self.events, batch):
            chunk = "".join(f"id: {i}\nevent: participant_update\ndata: {payload}\n\n"
                            for i in range(start, min(start + batch, self.events)))
            yield chunk.encode()
        while not await request.is_disconnected():  # hold the stream open, as a quiet conference does
            await asyncio.sleep(0.2)


class Server:
    def __init__(self, app):
        self.app = app

    def __enter__(self):
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=5)


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in kB, from /proc (Linux)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def consume(cmd: list[str], env: dict, expected: int, samples: int = 0) -> dict:
    """Run a follower, count its JSON lines as they arrive; time first-to-last line and the whole run.
    With `samples`, record the follower's RSS after 1% of the stream and at `samples` evenly spaced points."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = 0
    first = last = None
    marks = [max(1, expected // 100)] + [expected * (i + 1) // samples for i in range(samples)] if samples else []
    rss = []
    buf = b""
    while True:
        chunk = proc.stdout.read1(1 << 16)
        if not chunk:
            break
        now = time.perf_counter()
        if first is None:
            first = now
        last = now
        n = chunk.count(b"\n")
        if lines == 0 and n:
            head = (buf + chunk).split(b"\n", 1)[0]
            json.loads(head)  # the output really is JSON Lines
        buf = chunk[-2048:]
        lines += n
        while marks and lines >= marks[0]:
            marks.pop(0)
            rss.append(rss_kb(proc.pid))
    stderr = proc.stderr.read().decode(errors="replace")
    code = proc.wait()
    total = time.perf_counter() - start
    if code != 0 or lines < expected:
        raise SystemExit(f"follower failed (exit {code}, {lines}/{expected} lines): {' '.join(cmd)}\n{stderr[-2000:]}")
    return {"lines": lines, "total": total, "stream": (last - first) if first else total, "rss": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendor", choices=("pexip", "mind", "auvious"), default="pexip",
                        help="whose follower to measure (default: pexip)")
    parser.add_argument("--events", type=int, default=20000, help="events per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each (alternating)")
    parser.add_argument("--long", type=int, default=200000, help="events in the long run measuring memory (0: skip)")
    parser.add_argument("--baseline-only", action="store_true", help="check the harness: run only the baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args(argv)

    name = "events" if args.vendor == "pexip" else f"events-{args.vendor}"
    reason = None if args.baseline_only else vendor_ready(args.vendor)
    if reason:
        emit({"name": name, "skipped": reason}, args.json)
        return 0

    def run(n: int, which: str, samples: int = 0) -> dict:
        if args.vendor == "pexip":
            return run_pexip(n, which, samples)
        stream = (MindStream if args.vendor == "mind" else AuviousStream)(n)
        with Server(stream.app()) as server:
            env = clean_env(stream.env(server.url))
            cmd = stream.confctl(n) if which == "confctl" else stream.baseline(server.url, n)
            result = consume(cmd, env, n, samples)
        result["calls"] = sorted(set(stream.calls))
        result["released"] = True  # no session token to release (an application / access token)
        return result

    def run_pexip(n: int, which: str, samples: int = 0) -> dict:
        stream = PexipStream(n)
        with Server(stream.app()) as server:
            env = clean_env({"CONFCTL_PEXIP_URL": server.url, "CONFCTL_PEXIP_CONFERENCE": ALIAS,
                             "CONFCTL_PEXIP_PIN": PIN, "CONFCTL_PEXIP_DISPLAY_NAME": "bench"})
            if which == "confctl":
                cmd = confctl_cmd() + ["-o", "jsonl", "events", "follow", "--type", "participant_update",
                                       "--count", str(n)]
            else:
                cmd = [PYTHON, "-c", BASELINE, server.url, ALIAS, PIN, str(n)]
            result = consume(cmd, env, n, samples)
            time.sleep(0.3)  # let the release_token land before the server stops
        result["calls"] = sorted(set(stream.calls))
        result["released"] = "release_token" in stream.calls and not stream.tokens
        return result

    cases = ["baseline"] if args.baseline_only else ["confctl", "baseline"]
    results: dict[str, list[dict]] = {c: [] for c in cases}
    for i in range(args.rounds):
        for which in (cases if i % 2 == 0 else cases[::-1]):
            results[which].append(run(args.events, which, samples=1))

    def rate(which: str, key: str) -> float:
        return median([args.events / r[key] for r in results[which]])

    def peak_mb(result: dict) -> float:
        return max((hwm for _, hwm in result["rss"]), default=0) / 1024

    details = {"events per run": args.events, "rounds": args.rounds}
    for which in cases:
        details[f"{which} events/s (stream)"] = f"{rate(which, 'stream'):,.0f}"
        details[f"{which} events/s (incl. startup)"] = f"{rate(which, 'total'):,.0f}"
        details[f"{which} token released"] = all(r["released"] for r in results[which])
    if args.baseline_only:
        emit({"name": name, "ratio": 1.0, "target": "harness check", "ratio_meaning": "baseline only",
              "details": details}, args.json)
        return 0
    details["confctl requests"] = ", ".join(results["confctl"][0]["calls"])
    ratio = rate("confctl", "stream") / rate("baseline", "stream")
    ok = ratio >= 1.0
    if args.long:
        # Flat memory: the peak over a stream `long / events` times longer must stay about the same.
        for which in ("confctl", "baseline"):
            short_peak = median([peak_mb(r) for r in results[which]])
            long = run(args.long, which, samples=5)
            rss = " ".join(f"{r / 1024:.0f}" for r, _ in long["rss"])
            growth = peak_mb(long) - short_peak
            details[f"{which} peak RSS: {args.events} events -> {args.long} events"] = \
                f"{short_peak:.0f} MB -> {peak_mb(long):.0f} MB ({growth:+.0f} MB; RSS at 1%,20%..100%: {rss})"
            if which == "confctl":
                ok = ok and growth < 20
    bare = {"pexip": "httpx-sse", "mind": "websockets", "auvious": "httpx long-poll"}[args.vendor]
    result = {"name": name, "ratio": ratio, "target": ">= 1.0", "ok": ok,
              "measured": f"{rate('confctl', 'stream'):,.0f} ev/s", "baseline": f"{rate('baseline', 'stream'):,.0f} ev/s",
              "ratio_meaning": f"confctl events/s / bare {bare} events/s (median, first to last event)",
              "details": details}
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

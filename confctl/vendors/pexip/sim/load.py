"""The Pexip simulator under load: many conferences and a steady flow of events, for the scale benchmark and
tests (not part of the Pexip API, no auth).

    POST /_sim/load {"conferences": 500, "prefix": "load", "people": 2, "rate": 1000}
        creates conferences PREFIX.0001 ... (host PIN as meet.demo, `people` participants each; existing ones
        are kept) and sets the event flow: `rate` participant_update events per second in all, spread
        round-robin over the load conferences that have a stream open. Each carries `sim_sent_at` (the
        server's time.time() when it queued the event), so a client can measure its delay. rate 0 stops it.
    GET /_sim/load[?prefix=load]
        {"conferences": N, "tokens": tokens held on load conferences, "streams": open event streams on them,
         "sent": events sent since the flow started}
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from confctl.core.sim.kit import json_object

from .state import HOST_PIN, Conference, PexipState, bad_body, person, public

TICK = 0.01  # seconds between bursts of the flow


class Load:
    def __init__(self):
        self.prefix = "load"
        self.rate = 0.0
        self.sent = 0
        self.task: asyncio.Task | None = None
        self.credit = 0.0
        self.cursor = 0

    def aliases(self, sim: PexipState, prefix: str | None = None) -> list[str]:
        head = (prefix or self.prefix) + "."
        return [a for a in sim.conferences if a.startswith(head)]

    async def flow(self, sim: PexipState) -> None:
        last = time.monotonic()
        while self.rate > 0:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            self.credit = min(self.credit + (now - last) * self.rate, self.rate)  # at most 1 s of catching up
            last = now
            live = [c for a in self.aliases(sim) if (c := sim.conferences[a]).subscribers and c.main.participants]
            if not live:
                continue
            while self.credit >= 1.0:
                self.credit -= 1.0
                conf = live[self.cursor % len(live)]
                self.cursor += 1
                guests = [p for p in conf.main.participants.values() if p.get("protocol") != "api"]
                if not guests:
                    continue
                p = guests[self.cursor % len(guests)]
                sim.emit(conf, conf.main, "participant_update", {**public(p), "sim_sent_at": time.time()})
                self.sent += 1


def _load(sim: PexipState) -> Load:
    if not isinstance(getattr(sim, "load", None), Load):
        sim.load = Load()
    return sim.load


async def control(request: Request):
    sim: PexipState = request.app.state.sim
    load = _load(sim)
    if request.method == "GET":
        aliases = set(load.aliases(sim, request.query_params.get("prefix")))
        return JSONResponse({"conferences": len(aliases),
                             "tokens": sum(1 for t in sim.tokens.values() if t.alias in aliases),
                             "streams": sum(len(sim.conferences[a].subscribers) for a in aliases),
                             "sent": load.sent})
    body = await json_object(request, bad_body, empty={})
    try:
        count = int(body.get("conferences", 0))
        people = int(body.get("people", 2))
        rate = float(body.get("rate", load.rate))
    except (TypeError, ValueError):
        raise bad_body("malformed") from None
    if not 0 <= count <= 10000 or not 0 <= people <= 100 or not 0 <= rate <= 100000:
        raise bad_body("malformed")
    load.prefix = str(body.get("prefix") or load.prefix)
    for i in range(1, count + 1):
        alias = f"{load.prefix}.{i:04d}"
        if alias not in sim.conferences:
            conf = Conference(alias, f"Load VMR {i}", host_pin=HOST_PIN)
            for n in range(people):
                p = person(f"Guest {i}-{n + 1}", alias)
                conf.main.participants[p["uuid"]] = p
            sim.conferences[alias] = conf
    load.rate = rate
    if rate > 0 and (load.task is None or load.task.done()):
        load.sent = 0
        load.task = asyncio.get_running_loop().create_task(load.flow(sim))
    return JSONResponse({"conferences": load.aliases(sim), "rate": load.rate})


# Listed before the generic /_sim/{what} controls (app.py), which would otherwise take /_sim/load.
ROUTES = [Route("/_sim/load", control, methods=["GET", "POST"])]

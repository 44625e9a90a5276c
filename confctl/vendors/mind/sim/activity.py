"""`--activity S`: the demo meeting lives on its own. Every S seconds one participant-side change happens in the
demo conference — someone joins, turns the microphone off, stops sharing the screen, leaves, and back — each
notified on the WebSocket exactly as the control routes notify it (app_controls.apply).

The simulator runs without ASGI lifespan events, so the script starts with the first request or socket the
simulator serves (a client connecting is when a meeting needs to be live)."""

from __future__ import annotations

import asyncio

from confctl.core.sim.kit import SimError

from .app_controls import apply
from .state import DEMO_CONFERENCE, MindState

GUEST = "Grace"
STEPS = (
    ("join", {"name": GUEST, "role": "speaker"}),
    ("media", {"participant": "Bob", "audio": False}),
    ("media", {"participant": "Alice", "screen": False}),
    ("leave", {"participant": GUEST}),
    ("media", {"participant": "Bob", "audio": True}),
    ("media", {"participant": "Alice", "screen": True}),
)


async def run(world: MindState, every: float) -> None:
    step = 0
    while True:
        await asyncio.sleep(every)
        conf = world.conference(DEMO_CONFERENCE)
        if conf is None:
            continue  # ended or deleted: wait for a reset to bring it back
        action, data = STEPS[step % len(STEPS)]
        step += 1
        try:
            apply(world, conf, action, dict(data))
        except SimError:  # someone was expelled by hand: skip that step, keep the meeting going
            continue


def live(app, world: MindState, every: float):
    """The app, starting the activity script on the first connection it serves."""
    tasks: set = set()

    async def asgi(scope, receive, send):
        if not tasks and scope["type"] in ("http", "websocket"):
            task = asyncio.get_running_loop().create_task(run(world, every))
            tasks.add(task)  # held, so the loop does not drop it
        await app(scope, receive, send)

    asgi.state = app.state
    return asgi

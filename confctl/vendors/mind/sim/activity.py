"""`--activity S`: the demo meeting lives on its own. Every S seconds one participant-side change happens in the
demo conference — someone joins, turns the microphone off, stops sharing the screen, leaves, and back — each
notified on the WebSocket exactly as the control routes notify it (app_controls.apply)."""

from __future__ import annotations

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


class Activity:
    """One step per tick, round the cycle (kit.every calls it on the server's event loop)."""

    def __init__(self, world: MindState):
        self.world = world
        self.step = 0

    def __call__(self) -> None:
        conf = self.world.conference(DEMO_CONFERENCE)
        if conf is None:
            return  # ended or deleted: a reset brings it back
        action, data = STEPS[self.step % len(STEPS)]
        self.step += 1
        try:
            apply(self.world, conf, action, dict(data))
        except SimError:  # someone was expelled by hand: skip that step, the meeting goes on
            pass

"""`--activity S`: the demo meeting lives on its own. Every S seconds one change happens in demo-room — a
guest joins, publishes a microphone, shares a screen and stops, Bob unpublishes his microphone, the guest
leaves, Bob publishes again — each recorded as the events the API's own commands record (state.py)."""

from __future__ import annotations

from .state import AuviousState

ROOM = "demo-room"
GUEST, GUEST_ENDPOINT = "gina", "ep-gina"


class Activity:
    """One step per tick, round the cycle (kit.every calls it on the server's event loop)."""

    def __init__(self, world: AuviousState):
        self.world = world
        self.step = 0

    def __call__(self) -> None:
        conf = self.world.find(ROOM)
        if conf is None or conf.ended:
            return  # a reset brings it back
        steps = (self._join, self._mic, self._screen, self._unscreen, self._bob_off, self._leave, self._bob_on)
        step = steps[self.step % len(steps)]
        self.step += 1
        step(conf)

    def _guest(self, conf):
        return conf.endpoints.get(GUEST_ENDPOINT)

    def _publish(self, conf, ep, stype: str, stream_id: str) -> None:
        if ep is not None and stream_id not in ep.streams:
            self.world.publish(conf, ep, stype, stream_id, {}, None)

    def _unpublish(self, conf, ep, stream_id: str) -> None:
        if ep is not None and stream_id in ep.streams:
            self.world.unpublish(conf, ep, stream_id)

    def _join(self, conf):
        if self._guest(conf) is None:
            self.world.join(conf, GUEST_ENDPOINT, GUEST, {"displayName": "Gina"})

    def _mic(self, conf):
        self._publish(conf, self._guest(conf), "MIC", "stream-gina-mic")

    def _screen(self, conf):
        self._publish(conf, self._guest(conf), "SCREEN", "stream-gina-screen")

    def _unscreen(self, conf):
        self._unpublish(conf, self._guest(conf), "stream-gina-screen")

    def _bob_off(self, conf):
        self._unpublish(conf, conf.endpoints.get("ep-bob"), "stream-bob-mic")

    def _leave(self, conf):
        if self._guest(conf) is not None:
            self.world.leave(conf, self._guest(conf), "bye")

    def _bob_on(self, conf):
        self._publish(conf, conf.endpoints.get("ep-bob"), "MIC", "stream-bob-mic")

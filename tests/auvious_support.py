"""Shared fixtures and helpers for the Auvious tests.

`direct`: setup and checks straight against the simulator (fast; the CLI is kept for what is under test).
A test module imports it (`from auvious_support import direct  # noqa: F401`) and keeps its own `room`.
`fake_rtc` / `auvious_provider`: a fake RTC API (httpx.MockTransport) for unit tests of the long-poll follower,
with no simulator and no sockets."""

from __future__ import annotations

import uuid

import httpx
import pytest


class Direct:
    def __init__(self, sim):
        self.base = f"{sim.url}/auvious/rtc-api/conferences"
        token = httpx.post(f"{sim.url}/auvious/security/oauth/token", data={"grant_type": "client_credentials"},
                           auth=("demo-client", "demo-secret")).json()["access_token"]
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def post(self, path: str, body: dict):
        response = self.client.post(f"{self.base}/{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def get(self, conf: str) -> dict:
        return self.client.get(f"{self.base}/{conf}").json()

    def feed(self, conf: str) -> list:
        """Every event of the conference, oldest first."""
        return self.client.get(f"{self.base}/{conf}/events", params={"v": 0}).json()

    def feed_ids(self, conf: str) -> list[str]:
        return [e["id"] for e in self.feed(conf)]

    def change(self, conf: str, n: int = 1) -> None:
        """n metadata changes by ep-a: n new versions, one event each."""
        for i in range(n):
            self.post("updateMetadata", {"conferenceId": conf, "userEndpointId": "ep-a", "operation": "SET",
                                         "key": f"k{i}", "value": uuid.uuid4().hex})


@pytest.fixture
def direct(sim):
    d = Direct(sim)
    yield d
    d.client.close()


# -- a fake RTC API for unit tests of the long-poll follower ------------------------------------------------------

def rtc_event(eid: str, version, etype: str = "ConferenceMetadataUpdatedEvent", conf: str = "c1") -> dict:
    return {"id": eid, "type": etype, "conferenceId": conf, "conferenceVersion": version,
            "timestamp": "2026-01-01T00:00:00.000Z"}


class FakeRTC:
    """Answers GET /rtc-api/conferences/{id} with `version` and each GET .../events?v=N from `polls`: a list is
    the answer's body, an int a status code, an exception is raised (a dropped connection). When the polls run
    out, `halt` is set (the test is over) and the answer is []. Records the `v` of every poll."""

    def __init__(self, polls, version: int = 0):
        self.polls, self.version = list(polls), version
        self.asked: list[int] = []
        self.halt = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer user-token-0123456789"
        if not request.url.path.endswith("/events"):
            return httpx.Response(200, json={"id": "c1", "version": self.version})
        self.asked.append(int(request.url.params["v"]))
        if not self.polls:
            if self.halt is not None:
                self.halt()
            return httpx.Response(200, json=[])
        item = self.polls.pop(0)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, int):
            return httpx.Response(item, json={"error": "unavailable"})
        return httpx.Response(200, json=item)


class FakeProvider:
    """The Auvious provider with its sessions' HTTP going to a FakeRTC (and a user access token from
    CONFCTL_AUVIOUS_TOKEN: no token endpoint involved)."""

    def __init__(self, rtc: FakeRTC):
        self.rtc = rtc

    def session(self, profile, **kw):
        from confctl.vendors.auvious.provider import AuviousSession

        session = AuviousSession(profile, **kw)
        session._client = httpx.Client(transport=httpx.MockTransport(self.rtc), timeout=5.0)
        return session


def auvious_profile(monkeypatch):
    from confctl.core import config

    monkeypatch.setenv("CONFCTL_AUVIOUS_URL", "https://auvious.example.com")
    monkeypatch.setenv("CONFCTL_AUVIOUS_CLIENT_ID", "client")
    monkeypatch.setenv("CONFCTL_AUVIOUS_TOKEN", "user-token-0123456789")
    return config.resolve("auvious", None)

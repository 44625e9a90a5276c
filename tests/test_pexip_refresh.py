"""Pexip token refresh under refusal, with an injected clock and a fake transport (no sockets, no sleeping):
a refused refresh is retried while the token is valid, then fails the lease with exit 3; a `refresh_token`
event refreshes at once; release is one bounded attempt."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from confctl.core.errors import AuthError, exit_code_for


class FakeResponse:
    def __init__(self, status: int, body):
        self.status_code = status
        self.content = json.dumps(body).encode()
        self._body = body
        self.reason_phrase = {200: "OK", 403: "Forbidden"}.get(status, "")
        self.headers = {"content-type": "application/json"}

    def json(self):
        return self._body


class FakeProfile:
    name = "fake"

    def get(self, name, default=None):
        return {"display_name": "confctl"}.get(name, default)

    def secret(self, name):
        return "1234" if name == "pin" else None


class FakeSession:
    """What a Lease needs from PexipSession: scripted answers per request, and the deadlines it asked for."""

    base_url = "https://node.example.com"

    def __init__(self, refresh_answers):
        self.profile = FakeProfile()
        self.refresh_answers = list(refresh_answers)
        self.sent: list[str] = []
        self.deadlines: list[tuple] = []
        self._deadline = None
        self.tokens = 0

    def request(self, method, path, **kw):
        what = path.rsplit("/", 1)[-1]
        self.sent.append((what, self._deadline))
        if what == "request_token":
            self.tokens += 1
            return FakeResponse(200, {"status": "success", "result": {
                "token": f"t{self.tokens}", "expires": "30", "participant_uuid": "p1", "role": "HOST"}})
        if what == "refresh_token":
            status = self.refresh_answers.pop(0) if self.refresh_answers else 200
            if status != 200:
                return FakeResponse(status, {"status": "success", "result": "Token refresh refused"})
            return FakeResponse(200, {"status": "success", "result": {"token": "fresh", "expires": "30"}})
        return FakeResponse(200, {"status": "success", "result": True})

    def json(self, response):
        return response.json()

    def error_message(self, response):
        return response.json()["result"], None

    def scrub(self, text):
        return text.replace("1234", "<redacted>")

    @contextmanager
    def deadline(self, seconds, *, retries=True):
        self.deadlines.append((seconds, retries))
        self._deadline = (seconds, retries)
        try:
            yield
        finally:
            self._deadline = None


@pytest.fixture
def lease_for(home):
    from confctl.vendors.pexip.token import Lease

    def make(refresh_answers):
        session = FakeSession(refresh_answers)
        lease = Lease(session, "meet.demo")
        now = [1000.0]
        lease.clock = lambda: now[0]
        lease._start_keepalive = lambda: None  # the test drives keepalive_step() itself
        lease.acquire()
        return session, lease, now

    return make


def refreshes(session) -> int:
    return sum(what == "refresh_token" for what, _ in session.sent)


def test_a_refused_refresh_is_retried_while_valid_then_fails_with_exit_3(lease_for):
    session, lease, now = lease_for([403] * 100)
    now[0] += 10  # expires/3: due
    assert lease.keepalive_step() == pytest.approx(1.0)  # refused: try again in a second
    assert lease.failure is None and refreshes(session) == 1
    assert lease.token() == "t1"  # still valid: still used
    for _ in range(18):
        now[0] += 1.0
        assert lease.keepalive_step() is not None
    assert refreshes(session) >= 19 and lease.failure is None
    now[0] = 1000.0 + 29.6  # less than LAPSE_MARGIN left
    assert lease.keepalive_step() is None
    assert isinstance(lease.failure, AuthError) and "token refresh failed" in lease.failure.message
    with pytest.raises(AuthError) as caught:
        lease.token()
    assert exit_code_for(caught.value) == 3
    assert session.tokens == 1  # no silent new participant


def test_a_refresh_that_succeeds_on_retry_clears_the_refusal(lease_for):
    session, lease, now = lease_for([403, 200])
    now[0] += 10
    lease.keepalive_step()
    assert lease.refused
    now[0] += 1
    lease.keepalive_step()
    assert lease.refused is None and lease.failure is None and lease.entry["token"] == "fresh"


def test_a_refresh_token_event_refreshes_at_once(lease_for):
    session, lease, now = lease_for([])
    now[0] += 1  # far from due
    lease.keepalive_step()
    assert refreshes(session) == 0
    lease.request_refresh()
    lease.keepalive_step()
    assert refreshes(session) == 1 and lease.entry["token"] == "fresh"


def test_keepalive_refresh_and_release_are_bounded(lease_for):
    from confctl.vendors.pexip.token import REFRESH_DEADLINE, RELEASE_DEADLINE

    session, lease, now = lease_for([])
    now[0] += 10
    lease.keepalive_step()
    lease.release()
    by_request = dict(session.sent)
    assert by_request["refresh_token"] == (REFRESH_DEADLINE, True)
    assert by_request["release_token"] == (RELEASE_DEADLINE, False)  # one attempt, no retry loop


def test_pexip_session_deadline_bounds_timeout_and_retries(home, monkeypatch):
    from confctl.core import config
    from confctl.vendors.pexip.provider import PexipSession

    monkeypatch.setenv("CONFCTL_PEXIP_URL", "https://node.example.com")
    monkeypatch.setenv("CONFCTL_PEXIP_CONFERENCE", "meet.demo")
    session = PexipSession(config.resolve("pexip", None))
    normal = (session.timeout, session.max_wait)
    with session.deadline(2.0, retries=False):
        assert (session.timeout, session.max_wait) == (2.0, 0.0)
        request = session.build("GET", "/api/client/v2/status", auth="none")
        assert request.extensions["timeout"]["read"] == 2.0
    assert (session.timeout, session.max_wait) == normal
    session.close()


def test_a_user_token_from_the_environment_is_used_never_managed(home, monkeypatch):
    from confctl.vendors.pexip.token import Lease

    monkeypatch.setenv("CONFCTL_PEXIP_TOKEN", "user-token")
    session = FakeSession([])
    lease = Lease(session, "meet.demo")
    assert lease.token() == "user-token"
    assert lease.release() is None and session.sent == []

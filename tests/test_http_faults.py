"""The HTTP layer under faults, with a fake transport and a fake clock: no network, no real retry sleeping.

Budgets shared by a whole command, Retry-After edge cases, connection refused reported fast, total deadlines,
redirects and non-JSON bodies reported as errors, bad header values refused before anything is sent, and the
CA bundle checked up front.
"""

from __future__ import annotations

import time

import httpx
import pytest

from confctl.core import http, redact
from confctl.core.errors import ConfigError, RateLimitedError, ServerError, UsageError, exit_code_for
from confctl.core.state import reset, state


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MockTransport handler that answers from a function and records every request it was sent."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request):
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture(autouse=True)
def fresh_state():
    reset()
    yield
    reset()


def session(answer, *, max_wait=60.0, timeout=5.0, cls=http.Session, **kw):
    recorder = Recorder(answer)
    s = cls("https://api.example.test", max_wait=max_wait, timeout=timeout, **kw)
    fake = FakeClock()
    s.clock, s.sleep = fake.clock, fake.sleep
    s._client = httpx.Client(transport=httpx.MockTransport(recorder), follow_redirects=False, timeout=timeout)
    s._client_timeout = timeout
    return s, recorder, fake


# -- Retry-After -------------------------------------------------------------------------------------------
def test_unparsable_retry_after_counts_as_absent():
    answers = iter([httpx.Response(429, headers={"Retry-After": "soon"}), httpx.Response(200, json={"ok": 1})])
    s, rec, fake = session(lambda r: next(answers))
    assert s.request("GET", "/x").json() == {"ok": 1}
    assert len(rec.requests) == 2 and len(fake.sleeps) == 1
    assert 0 < fake.sleeps[0] <= http.BACKOFF_BASE  # the first backoff step, not a crash


@pytest.mark.parametrize("value", ["0", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_zero_negative_or_past_retry_after_keeps_a_floor(value):
    s, rec, fake = session(lambda r: httpx.Response(429, headers={"Retry-After": value}), max_wait=2.0)
    with pytest.raises(RateLimitedError):
        s.request("GET", "/x")
    assert fake.sleeps and min(fake.sleeps) >= http.RETRY_FLOOR
    assert sum(fake.sleeps) <= 2.0
    assert len(rec.requests) <= 2.0 / http.RETRY_FLOOR + 1  # not a dozen requests in a blink


def test_retry_after_is_honoured():
    answers = iter([httpx.Response(503, headers={"Retry-After": "2"}), httpx.Response(200)])
    s, rec, fake = session(lambda r: next(answers))
    s.request("GET", "/x")
    assert 2.0 <= fake.sleeps[0] <= 2.0 + http.RETRY_JITTER


# -- one budget for the whole command ------------------------------------------------------------------------
def test_budget_is_shared_by_every_request_of_a_session():
    """A 429 storm: --max-wait 3 caps the waiting of all 24 items together, not of each item."""
    s, rec, fake = session(lambda r: httpx.Response(429, headers={"Retry-After": "1"}), max_wait=3.0)
    failures = 0
    for _ in range(24):
        with pytest.raises(RateLimitedError) as exc:
            s.request("POST", "/mute")
        failures += exit_code_for(exc.value) == 6
    assert failures == 24
    assert sum(fake.sleeps) <= 3.0 + 3 * http.RETRY_JITTER
    assert len(rec.requests) <= 24 + 3  # after the budget is spent each item is tried once


def test_overlapping_waits_count_once():
    budget = http.RetryBudget(3.0, clock=lambda: 10.0)
    assert all(budget.reserve(1.0) for _ in range(8))  # eight threads waiting the same second
    assert budget.spent() == pytest.approx(1.0)
    assert budget.reserve(2.0) and not budget.reserve(3.5)


def test_waiting_long_ago_is_forgotten_by_a_long_running_command():
    now = [0.0]
    budget = http.RetryBudget(3.0, clock=lambda: now[0])
    assert budget.reserve(3.0)
    now[0] = 3.0
    assert not budget.reserve(0.5)
    now[0] = 3.0 + http.RetryBudget.FORGET / 2
    assert not budget.reserve(0.5)  # a pause shorter than FORGET: still the same command's budget
    now[0] = 3.0 + http.RetryBudget.FORGET + 1
    assert budget.reserve(3.0)


def test_budget_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    s, rec, fake = session(lambda r: httpx.Response(429, headers={"Retry-After": "1"}), max_wait=2.0)
    s.sleep = lambda seconds: None  # real clock, no real sleeping: waits overlap as in a bulk command
    s.clock = time.monotonic

    def one(_):
        try:
            s.request("POST", "/mute")
        except RateLimitedError:
            return "limited"

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(24))) == {"limited"}
    assert s.budget.spent() <= 2.0 + 1e-6


def test_per_call_cap_still_applies():
    """Callers may lower max_wait for one request (e.g. a stream's reconnect must not retry)."""
    s, rec, fake = session(lambda r: httpx.Response(503), max_wait=60.0)
    s.max_wait = 0.0
    with pytest.raises(ServerError):
        s.request("GET", "/x")
    assert len(rec.requests) == 1


# -- connection refused ----------------------------------------------------------------------------------------
def test_connection_refused_is_reported_after_a_few_quick_tries():
    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    s, rec, fake = session(refuse)
    with pytest.raises(ServerError) as exc:
        s.request("GET", "/x")
    assert exit_code_for(exc.value) == 7 and "cannot reach" in exc.value.message
    assert len(rec.requests) == http.REFUSED_ATTEMPTS
    assert sum(fake.sleeps) < 1.0


def test_other_connect_errors_keep_retrying_within_the_budget():
    def fail(request):
        raise httpx.ConnectError("temporary failure in name resolution", request=request)

    s, rec, fake = session(fail, max_wait=5.0)
    with pytest.raises(ServerError):
        s.request("GET", "/x")
    assert len(rec.requests) > http.REFUSED_ATTEMPTS and sum(fake.sleeps) <= 5.0


# -- a total deadline per request ------------------------------------------------------------------------------
class Drip(httpx.SyncByteStream):
    """A body that arrives a few bytes at a time, forever."""

    def __iter__(self):
        while True:
            time.sleep(0.02)
            yield b"[1, "


def test_timeout_is_a_total_deadline_not_a_read_timeout():
    s, rec, fake = session(lambda r: httpx.Response(200, headers={"content-type": "application/json"},
                                                    stream=Drip()), timeout=0.3)
    with pytest.raises(ServerError) as exc:
        s.request("GET", "/rooms")
    assert "within --timeout 0.3s" in exc.value.message and exit_code_for(exc.value) == 7
    assert len(rec.requests) == 1  # an overrun is not repeated: --timeout bounds the request


def test_slow_headers_hit_the_deadline_too():
    def hang(request):
        time.sleep(1.0)
        return httpx.Response(200)

    s, rec, fake = session(hang, timeout=0.2)
    with pytest.raises(ServerError, match="within --timeout"):
        s.request("GET", "/rooms")


def test_a_complete_body_is_returned_decoded():
    import gzip

    body = gzip.compress(b'{"a": 1}')
    s, rec, fake = session(lambda r: httpx.Response(200, headers={"content-encoding": "gzip",
                                                                  "content-type": "application/json"},
                                                    content=body))
    response = s.request("GET", "/x")
    assert response.json() == {"a": 1} and response.reason_phrase == "OK"


# -- redirects and bodies that are not JSON --------------------------------------------------------------------
def test_redirect_is_an_error_naming_where_it_points_without_its_query():
    s, rec, fake = session(lambda r: httpx.Response(302, headers={"Location": "https://portal.example/login?k=v"}))
    with pytest.raises(ServerError) as exc:
        s.request("GET", "/x", raise_for_status=False)
    message = exc.value.message
    assert "redirected to portal.example/login" in message and "not followed" in message
    assert "k=v" not in message and exit_code_for(exc.value) == 7
    assert len(rec.requests) == 1


def test_html_instead_of_json_names_what_came_back():
    page = "<html><head><title>Hotel Wi-Fi</title></head><body>Please log in</body></html>" * 3
    s, rec, fake = session(lambda r: httpx.Response(200, headers={"content-type": "text/html; charset=utf-8"},
                                                    text=page))
    with pytest.raises(ServerError) as exc:
        s.json(s.request("GET", "/x"))
    assert exc.value.message.startswith("expected JSON from api.example.test, got text/html: <html><head>")
    assert len(exc.value.message) < 200 and exit_code_for(exc.value) == 7


def test_broken_json_is_an_error_and_json_is_returned():
    s, rec, fake = session(lambda r: httpx.Response(200, headers={"content-type": "application/json"},
                                                    content=b'{"rooms": ['))
    with pytest.raises(ServerError, match="malformed application/json"):
        s.json(s.request("GET", "/x"))
    s2, _, _ = session(lambda r: httpx.Response(200, json={"rooms": []}))
    assert s2.json(s2.request("GET", "/x")) == {"rooms": []}
    s3, _, _ = session(lambda r: httpx.Response(204))
    assert s3.json(s3.request("GET", "/x")) is None


def test_non_json_preview_is_scrubbed():
    s, rec, fake = session(lambda r: httpx.Response(200, headers={"content-type": "text/html"},
                                                    text="<p>key sekret-key-42 rejected</p>"),
                           secrets=["sekret-key-42"])
    with pytest.raises(ServerError) as exc:
        s.json(s.request("GET", "/x"))
    assert "sekret-key-42" not in exc.value.message and redact.MASK in exc.value.message


# -- header values ---------------------------------------------------------------------------------------------
class KeySession(http.Session):
    secret_env = {"x-api-key": "CONFCTL_GATEWAY_API_KEY"}
    key = "abc\r"

    def auth_headers(self, kind="default", *, dry_run=False):
        return {"X-API-Key": self.key}


@pytest.mark.parametrize("key", ["k3y-value\r", "k3y\nInjected: 1", "k3y\x00"])
def test_control_characters_in_a_secret_header_are_a_usage_error_and_nothing_is_sent(key):
    s, rec, fake = session(lambda r: httpx.Response(200), cls=KeySession)
    s.key = key
    with pytest.raises(UsageError) as exc:
        s.request("GET", "/x")
    assert "CONFCTL_GATEWAY_API_KEY" in exc.value.message and "k3y" not in exc.value.message
    assert exit_code_for(exc.value) == 2 and rec.requests == []


def test_control_characters_in_a_given_header_name_the_option():
    s, rec, fake = session(lambda r: httpx.Response(200))
    with pytest.raises(UsageError) as exc:
        s.request("GET", "/x", headers={"X-Trace": "abc\r\nX-Evil: 1"})
    assert "X-Trace" in exc.value.message and "-H/--header" in exc.value.message
    assert "X-Evil" not in exc.value.message and rec.requests == []


def test_clean_secret_strips_one_line_ending_with_a_warning():
    warnings = []
    assert redact.clean_secret("CONFCTL_GATEWAY_API_KEY", "key\r\n", warn=warnings.append) == "key"
    assert redact.clean_secret("x", "key\n", warn=warnings.append) == "key"
    assert redact.clean_secret("x", "key", warn=warnings.append) == "key"
    assert len(warnings) == 2 and "CONFCTL_GATEWAY_API_KEY" in warnings[0] and "key" not in warnings[0][24:]
    with pytest.raises(UsageError) as exc:
        redact.clean_secret("the api_key secret of profile 'prod'", "ke\ry", warn=warnings.append)
    assert "api_key" in exc.value.message and "ke\ry" not in exc.value.message


# -- CA bundle -------------------------------------------------------------------------------------------------
def test_ca_bundle_missing_directory_or_not_pem_is_a_usage_error(tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for path, words in ((tmp_path / "nope.pem", "no such file"), (tmp_path, "directory"),
                        (junk, "no PEM certificate")):
        with pytest.raises(ConfigError) as exc:
            http.Session("https://api.example.test", verify=str(path))
        assert str(path) in exc.value.message and words in exc.value.message
        assert exit_code_for(exc.value) == 2


def test_ca_bundle_with_a_certificate_is_used(tmp_path):
    import certifi

    pem = tmp_path / "ca.pem"
    text = open(certifi.where()).read()
    pem.write_text(text[text.index("-----BEGIN CERTIFICATE-----"):text.index("-----END CERTIFICATE-----") + 25])
    import ssl

    assert isinstance(http.Session("https://api.example.test", verify=str(pem))._verify, ssl.SSLContext)


# -- dry runs and look-ups -------------------------------------------------------------------------------------
class TokenSession(http.Session):
    secret_env = {"authorization": "CONFCTL_AUVIOUS_TOKEN"}

    def auth_headers(self, kind="default", *, dry_run=False):
        return {"Authorization": "Bearer " + ("<token>" if dry_run else "live-token-1")}

    def dry_run_setup(self):
        return ["CONFCTL_AUVIOUS_TOKEN=$(curl ...)"]


def test_dry_run_returns_a_result_with_setup_once_and_lookups_are_sent():
    s, rec, fake = session(lambda r: httpx.Response(200, json=[{"id": "u-1"}]), cls=TokenSession)
    state.dry_run = True
    assert s.request("GET", "/participants", lookup=True).json() == [{"id": "u-1"}]
    assert len(rec.requests) == 1
    first = http.dry_run_or(lambda: s.request("POST", "/mute"))
    second = http.dry_run_or(lambda: s.request("POST", "/unmute"))
    assert isinstance(first, http.DryRunResult) and isinstance(second, http.DryRunResult)
    assert len(rec.requests) == 1
    assert first.setup == ["CONFCTL_AUVIOUS_TOKEN=$(curl ...)"] and second.setup == []
    assert first.text.splitlines()[0].startswith("CONFCTL_AUVIOUS_TOKEN=")
    assert '-H "Authorization: Bearer $CONFCTL_AUVIOUS_TOKEN"' in second.curl
    assert second.text == second.curl


def test_a_lowered_timeout_bounds_the_request_and_a_raised_client_timeout_extends_it():
    """A provider may lower `timeout` for one request (a token release on Ctrl-C); a workflow may raise the
    client's timeout for a call that is answered when it is settled (Mind dial)."""
    def slow(request):
        time.sleep(0.5)
        return httpx.Response(200)

    s, rec, fake = session(slow, timeout=5.0)
    s.timeout = 0.1
    with pytest.raises(ServerError, match="within --timeout 0.1s"):
        s.request("GET", "/x")
    s, rec, fake = session(slow, timeout=0.1)
    s._client_timeout = 0.1
    s.client.timeout = httpx.Timeout(2.0)
    assert s.request("GET", "/x").status_code == 200

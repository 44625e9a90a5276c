"""Secret scrubbing: every secret a session sent or received, in every encoding, out of everything printed —
error messages and details, --debug lines, dry-run curl lines — and dry-run lines that really run."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
from urllib.parse import quote, quote_plus

import httpx
import pytest

from confctl.core import http, redact
from confctl.core.state import reset, state

KEY = "gw-K3y/with+odd=chars"
CLIENT_ID = "svc-client"
CLIENT_SECRET = "s3cret:pa ss/word"
TURN_USER = "1700000000:turnuser42"
TURN_PASS = "tUrNpAsSwOrD=="


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    reset()
    monkeypatch.setattr(redact, "_known", set())  # each test proves its own session knows its secrets
    yield
    reset()


def session(answer, cls=http.Session, **kw):
    s = cls("https://api.example.test", max_wait=0.0, timeout=5.0, **kw)
    s._client = httpx.Client(transport=httpx.MockTransport(answer), timeout=5.0)
    return s


class GatewayLike(http.Session):
    secret_env = {"x-api-key": "CONFCTL_GATEWAY_API_KEY"}

    def auth_headers(self, kind="default", *, dry_run=False):
        return {"X-App-ID": "app-1", "X-API-Key": KEY}


class BasicLike(http.Session):
    def auth_headers(self, kind="default", *, dry_run=False):
        raw = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def echo_everything(request):
    """A hostile server: echoes every credential it received, in several encodings, in a 401 body."""
    headers = dict(request.headers)
    received = [v.split(" ", 1)[-1] for k, v in headers.items() if k in ("x-api-key", "authorization")]
    if headers.get("authorization", "").startswith("Basic "):
        decoded = base64.b64decode(received[-1]).decode()
        received += [decoded, decoded.split(":", 1)[1]]
    return httpx.Response(401, json={
        "error": f"bad credentials {json.dumps(headers)}",
        "detail": {"got": headers, "url_encoded": [quote(v, safe="") for v in received],
                   "plus": [quote_plus(v) for v in received],
                   "b64": [base64.b64encode(v.encode()).decode() for v in received],
                   "nested": [{"note": f"key={v}"} for v in received]},
    })


def leaked(text: str) -> list[str]:
    forms = set()
    for secret in (KEY, CLIENT_SECRET, TURN_USER, TURN_PASS):
        forms |= {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode()}
    basic = base64.b64encode(f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()).decode()
    forms.add(basic)
    return [f for f in forms if f in text]


@pytest.mark.parametrize("cls", [GatewayLike, BasicLike])
def test_an_echoing_server_gets_no_secret_printed(cls):
    s = session(echo_everything, cls=cls)
    with pytest.raises(Exception) as exc:
        s.request("GET", "/conferences")
    printed = exc.value.message + json.dumps(exc.value.detail)
    assert leaked(printed) == [], printed
    assert redact.MASK in printed


def test_plain_text_echo_and_debug_lines_are_scrubbed(capsys):
    state.debug = True
    s = session(lambda r: httpx.Response(403, text=f"key {r.headers['x-api-key']} not allowed"), cls=GatewayLike)
    with pytest.raises(Exception) as exc:
        s.request("GET", "/x")
    err = capsys.readouterr().err
    assert leaked(exc.value.message + err) == []
    assert "> X-API-Key: <redacted>" in err.replace("x-api-key", "X-API-Key")


def test_turn_credentials_are_elided_from_debug_and_scrubbed_afterwards(capsys):
    """Pexip's request_token hands out TURN servers with a username and credential."""
    token_body = {"status": "success", "result": {
        "token": "pexip-token-abcdef", "expires": "120",
        "turn": [{"urls": ["turn:turn.example:3478?transport=udp"], "username": TURN_USER, "credential": TURN_PASS}],
        "stun": [{"url": "stun:stun.example:3478"}]}}
    answers = iter([httpx.Response(200, json=token_body),
                    httpx.Response(500, text=f"oops {TURN_USER} {TURN_PASS} pexip-token-abcdef")])
    state.debug = True
    s = session(lambda r: next(answers))
    body = s.json(s.request("POST", "/request_token"))
    assert body["result"]["turn"][0]["credential"] == TURN_PASS  # the caller still gets the data
    with pytest.raises(Exception) as exc:
        s.request("POST", "/later")
    err = capsys.readouterr().err
    assert leaked(err + exc.value.message) == [] and "pexip-token-abcdef" not in err + exc.value.message
    assert "stun:stun.example:3478" in err  # what is not a credential stays readable


def test_add_secret_scrubs_a_received_credential_everywhere():
    s = session(lambda r: httpx.Response(400, json={"message": f"participant token {quote('tok en/1')} invalid"}))
    s.add_secret("tok en/1")
    with pytest.raises(Exception) as exc:
        s.request("GET", "/x")
    assert "tok" not in exc.value.message.replace("token", "")


def test_a_secret_with_a_stray_cr_is_never_echoed():
    """A key file saved with Windows line endings: refused before httpx can complain with the value."""
    class CR(GatewayLike):
        def auth_headers(self, kind="default", *, dry_run=False):
            return {"X-API-Key": KEY + "\r"}

    s = session(echo_everything, cls=CR)
    with pytest.raises(Exception) as exc:
        s.request("GET", "/x")
    assert leaked(exc.value.message) == [] and "CONFCTL_GATEWAY_API_KEY" in exc.value.message


def test_variants_cover_the_encodings():
    forms = redact.variants("a b/c+d")
    assert {"a b/c+d", "a%20b%2Fc%2Bd", "a+b%2Fc%2Bd", "a%20b%2fc%2bd", base64.b64encode(b"a b/c+d").decode()} <= forms
    assert redact.scrub("x a+b%2Fc%2Bd y", ["a b/c+d"]) == f"x {redact.MASK} y"
    assert redact.header_secret("Basic " + base64.b64encode(b"id:pw%2B1").decode())[-2:] == ["pw%2B1", "pw+1"]


def test_short_values_are_not_scrubbed_from_ordinary_text():
    assert redact.scrub("room 12 has 12 members", ["12"]) == "room 12 has 12 members"


# -- dry-run curl lines: secrets by reference, runnable ----------------------------------------------------------
def build(method, url, **kw):
    return httpx.Client().build_request(method, url, **kw)


def run_as_argv(line: str, env: dict[str, str]) -> list[str]:
    """What bash would pass to curl: the words of the line after expansion (printf instead of curl)."""
    script = "printf '%s\\n' " + line.split(" ", 1)[1]
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ["PATH"], **env}).stdout
    return out.splitlines()


def test_curl_line_references_every_secret_and_keeps_the_scheme():
    request = build("POST", "https://h.example/api?access_token=TOKVALUE&a=1",
                    headers={"Authorization": "Bearer live-tok", "X-API-Key": KEY, "pin": "9876", "X-App-ID": "app"},
                    json={"name": "it's $HOME", "pin": "9876"})
    env = {"authorization": "CONFCTL_AUVIOUS_TOKEN", "x-api-key": "CONFCTL_GATEWAY_API_KEY",
           "pin": "CONFCTL_PEXIP_PIN", "body:pin": "CONFCTL_PEXIP_PIN", "query:access_token": "TOKVAR"}
    line = http.curl_line(request, env, ["live-tok", KEY, "9876", "TOKVALUE"])
    assert '-H "Authorization: Bearer $CONFCTL_AUVIOUS_TOKEN"' in line
    assert '-H "X-API-Key: $CONFCTL_GATEWAY_API_KEY"' in line and '-H "pin: $CONFCTL_PEXIP_PIN"' in line
    assert "live-tok" not in line and KEY not in line and "9876" not in line and "TOKVALUE" not in line
    argv = run_as_argv(line, {"CONFCTL_AUVIOUS_TOKEN": "T1", "CONFCTL_GATEWAY_API_KEY": "K1",
                              "CONFCTL_PEXIP_PIN": "P1", "TOKVAR": "Q1", "HOME": "/should/not/expand"})
    assert "Authorization: Bearer T1" in argv and "X-API-Key: K1" in argv and "pin: P1" in argv
    assert "https://h.example/api?access_token=Q1&a=1" in argv
    assert json.loads(argv[argv.index("--data-raw") + 1]) == {"name": "it's $HOME", "pin": "P1"}


def test_curl_line_form_secrets_basic_auth_and_unmapped_headers():
    raw = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    request = build("POST", "https://h.example/token", headers={"Authorization": "Basic " + raw, "token": "zzz"},
                    data={"grant_type": "client_credentials", "client_secret": CLIENT_SECRET})
    line = http.curl_line(request, {"authorization:basic": "CONFCTL_AUVIOUS_CLIENT_ID:CONFCTL_AUVIOUS_CLIENT_SECRET",
                                    "body:client_secret": "CONFCTL_AUVIOUS_CLIENT_SECRET"})
    assert raw not in line and CLIENT_SECRET not in line and "zzz" not in line
    assert "'token: <redacted>'" in line
    argv = run_as_argv(line, {"CONFCTL_AUVIOUS_CLIENT_ID": CLIENT_ID, "CONFCTL_AUVIOUS_CLIENT_SECRET": CLIENT_SECRET})
    assert argv[argv.index("-u") + 1] == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert f"client_secret={CLIENT_SECRET}" in argv and "grant_type=client_credentials" in argv


def test_curl_line_with_no_mapping_masks_and_stays_parseable():
    request = build("PUT", "https://h.example/x", headers={"Authorization": "Bearer abc123"}, content=b"raw 'body'")
    line = http.curl_line(request)
    assert "'Authorization: Bearer <redacted>'" in line and "abc123" not in line
    assert shlex.split(line)[-1] == "raw 'body'"


def test_error_printing_scrubs_every_secret_the_process_learnt(capsys):
    """An error built outside the HTTP layer (a provider's own message) still prints no known secret."""
    from confctl.core import output
    from confctl.core.errors import AuthError

    session(lambda r: httpx.Response(200)).add_secret("pin-5678")
    output.error(AuthError("PIN pin-5678 refused", hint="retry pin-5678", detail={"echo": ["pin-5678"]}), 3)
    err = capsys.readouterr().err
    assert "pin-5678" not in err and err.count(redact.MASK) == 3


def test_status_words_in_secret_fields_are_not_learnt_as_secrets():
    """Pexip answers `"pin": "required"`; a simulator's TURN username may be "sim": neither may be scrubbed
    out of ordinary text later (a path like /simpleView must stay runnable)."""
    s = session(lambda r: httpx.Response(200, json={"result": {"pin": "required", "guest_pin": "none", "turn": [
        {"urls": ["turn:t:3478"], "username": "sim", "credential": "long-turn-credential"}]}}))
    s.json(s.request("POST", "/request_token"))
    assert redact.scrub("GET /conferences/x/simpleView: pin required", s._secrets) == \
        "GET /conferences/x/simpleView: pin required"
    assert redact.scrub("cred long-turn-credential", s._secrets) == f"cred {redact.MASK}"

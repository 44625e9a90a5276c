"""Auvious validation rules and token bookkeeping, in-process (no simulator needed)."""

from __future__ import annotations

import base64
import json

import pytest

from confctl.core.errors import ValidationError
from confctl.vendors.auvious import oauth, rules


@pytest.mark.parametrize("path", ["$", "$.a", "$.a.b", "$..a", "$.*", "$['a b']", "$[\"x\"].y", "$.a[0]",
                                  "$.a[-1]", "$.a[0,1]", "$.a[1:3]", "$.a[:2]", "$.a[*].b",
                                  "$.a[?(@.t == 'x')].v", "$..book[?(@.price < 10)]", "$.a.length()"])
def test_jsonpath_accepts(path):
    assert rules.jsonpath_error(path) is None


@pytest.mark.parametrize("path,fragment", [("a.b", "must start with '$'"), ("$.", "position 3"),
                                           ("$.a[", "unclosed '['"), ("$.a[foo]", "invalid selector"),
                                           ("$a", "unexpected 'a' at position 2"), ("$..", "after '..'")])
def test_jsonpath_rejects_with_position(path, fragment):
    assert fragment in rules.jsonpath_error(path)


@pytest.mark.parametrize("value,normalised", [
    ("2011-12-03T10:15:30Z", "2011-12-03T10:15:30.000Z"),
    ("2011-12-03T10:15:30.5Z", "2011-12-03T10:15:30.500Z"),
    ("2011-12-03T12:15:30.123456+02:00", "2011-12-03T10:15:30.123Z"),
    ("2011-12-03t10:15:30z", "2011-12-03T10:15:30.000Z"),
])
def test_instant_normalises_to_utc(value, normalised):
    assert rules.instant("--timestamp", value) == normalised


@pytest.mark.parametrize("value", ["2011-12-03", "2011-12-03T10:15:30", "2011-12-03 10:15:30Z",
                                   "2011-13-03T10:15:30Z", "yesterday"])
def test_instant_rejects(value):
    with pytest.raises(ValidationError):
        rules.instant("--timestamp", value)


@pytest.mark.parametrize("value,ok", [("HandRaisedEvent", True), ("RecordingStartedEvent", True),
                                      ("Cobrowse2StartedEvent", True), ("handRaisedEvent", False),
                                      ("HandRaised", False), ("HandEvent", False), ("Hand_RaisedEvent", False),
                                      ("HANDRaisedEvent", False)])
def test_event_type(value, ok):
    if ok:
        assert rules.event_type("TYPE", value) == value
    else:
        with pytest.raises(ValidationError):
            rules.event_type("TYPE", value)


def test_pairs_strings_typed_and_urls():
    assert rules.pairs("--meta", ["a=1", "b:=1", "c:={\"x\": [1]}", "url=http://h/x?y=1:=2"]) == {
        "a": "1", "b": 1, "c": {"x": [1]}, "url": "http://h/x?y=1:=2"}
    with pytest.raises(ValidationError, match="line 1 column"):
        rules.pairs("--meta", ["b:={"])


def test_candidates_formats(tmp_path):
    lines = tmp_path / "c.txt"
    lines.write_text("# gathered\na=candidate:1 1 udp 1 192.0.2.1 1 typ host\n"
                     '{"candidate": "candidate:2 1 udp 1 192.0.2.1 2 typ host", "sdpMLineIndex": 1}\n')
    assert rules.candidates_file("--candidates", str(lines)) == [
        {"candidate": "candidate:1 1 udp 1 192.0.2.1 1 typ host"},
        {"candidate": "candidate:2 1 udp 1 192.0.2.1 2 typ host", "sdpMLineIndex": 1}]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"candidate": "candidate:1", "sdpMLineIndex": -1}]')
    with pytest.raises(ValidationError, match="non-negative"):
        rules.candidates_file("--candidates", str(bad))


def test_token_record_expiry_sources():
    rec = oauth.record_from_response({"access_token": "t", "expires_in": 100}, now=1000.0)
    assert rec["expires_at"] == 1100.0 and oauth.usable(rec, now=1080.0) and not oauth.usable(rec, now=1095.0)
    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1600}).encode()).decode().rstrip("=")
    jwt = f"e30.{payload}.sig"
    assert oauth.record_from_response({"access_token": jwt}, now=1000.0)["expires_at"] == 1600.0
    assert oauth.record_from_response({"access_token": "opaque"}, now=0.0)["expires_at"] == oauth.DEFAULT_TTL
    assert oauth.basic_auth("id:x", "s p") == "Basic " + base64.b64encode(b"id%3Ax:s+p").decode()

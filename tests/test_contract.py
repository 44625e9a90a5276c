"""The explicit core <-> vendor contract: typed Call fields, per-endpoint check hooks."""

import ast
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from confctl.core.provider import Call
from confctl.core.spec import Endpoint

ROOT = Path(__file__).resolve().parent.parent
CONFCTL = [sys.executable, "-m", "confctl"]
EX_PARTICIPANT = "65b4af2f-657a-4081-98a8-b17667628ce3"


def test_every_attribute_set_on_a_call_is_a_declared_field():
    """No attribute is added to a Call on the fly: each `call.X = ...` in confctl/ names a Call field."""
    fields = {f.name for f in dataclasses.fields(Call)}
    assert {"path_values", "locations"} <= fields
    stray = []
    for path in (ROOT / "confctl").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "call" \
                        and t.attr not in fields:
                    stray.append(f"{path.relative_to(ROOT)}:{node.lineno} call.{t.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("setattr", "getattr") \
                    and node.args and getattr(node.args[0], "id", None) == "call":
                stray.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}(call, ...)")
    assert stray == []


def test_a_call_starts_with_its_own_empty_maps():
    one = Call(None, None, None, {}, "GET", "/")
    two = Call(None, None, None, {}, "GET", "/")
    one.locations["x"] = "main"
    assert two.locations == {} and one.path_values == {} and one.path_values is not two.path_values


def test_endpoint_check_is_a_declared_hook():
    assert "check" in {f.name for f in dataclasses.fields(Endpoint)}


def test_pexip_checks_are_per_endpoint_not_an_id_switch():
    from confctl.vendors.pexip import endpoints, workflows

    by_id = {ep.id: ep for ep in endpoints.ENDPOINTS}
    assert by_id["pexip.conference.message"].check is workflows.check_message
    assert by_id["pexip.participant.message"].check is workflows.check_message
    assert by_id["pexip.conference.transform_layout"].check is workflows.check_layout
    assert by_id["pexip.participant.fecc"].check is workflows.check_fecc
    assert by_id["pexip.call.fecc"].check is workflows.check_fecc
    assert by_id["pexip.conference.dial"].check is workflows.check_dial
    source = (ROOT / "confctl/vendors/pexip/workflows.py").read_text()
    assert "precheck" not in source and 'id.rsplit(".", 1)' not in source


def test_build_call_runs_the_check_before_anything_else(monkeypatch):
    """The core calls the hook once the call is built: a ValidationError leaves before any session exists."""
    from confctl.core import builder
    from confctl.core.errors import ValidationError

    seen = []

    def check(call):
        seen.append((call.path_values, call.session))
        raise ValidationError("--x", "refused by the check")

    class Provider:
        name = "fake"
        global_params = ()

    ep = Endpoint("fake.thing.do", "POST", "/things/{thing}", "do it", check=check)

    class Profile:
        name = "p"

        def get(self, key):
            return None

    monkeypatch.setattr(builder, "_cmd_params", lambda provider, endpoint: ())
    with pytest.raises(ValidationError, match="refused by the check"):
        builder.build_call(Provider(), ep, {}, Profile(), {"data": None})
    assert seen == [({}, None)]


@pytest.mark.parametrize("argv, message", [
    (["conference", "message"], "TEXT: give either the message text or --json PAYLOAD"),
    (["participant", "message", EX_PARTICIPANT, "hi", "--json", "{}"], "give either the message text"),
    (["participant", "fecc", EX_PARTICIPANT, "--action", "start"], "'start' needs at least one movement"),
    (["conference", "dial", "sip:a@example.com", "--presentation-url", "rtmp://x/y"],
     "--presentation-url: only applies to RTMP calls"),
    (["conference", "transform-layout"], "--layout: give at least one layout option"),
])
def test_pexip_cross_option_checks_exit_2_with_nothing_sent(tmp_path, argv, message):
    """Against a port nobody listens on: a request would be exit 7, the check is exit 2 first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update(CONFCTL_CONFIG_DIR=str(tmp_path), CONFCTL_PEXIP_URL="http://127.0.0.1:9",
               CONFCTL_PEXIP_CONFERENCE="meet.x")
    result = subprocess.run([*CONFCTL, "pexip", *argv], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "cannot reach" not in result.stderr


def test_a_dry_run_is_a_result_of_the_http_layer():
    """--dry-run: the session builds the request, sends nothing and `dry_run_or` returns a DryRunResult
    (setup lines once, then the curl line); auth_headers gets `dry_run` as its own argument, the kind as is."""
    import httpx

    from confctl.core import http
    from confctl.core.state import state

    kinds = []

    class Session(http.Session):
        secret_env = {"authorization": "CONFCTL_X_TOKEN"}

        def auth_headers(self, kind="default", *, dry_run=False):
            kinds.append((kind, dry_run))
            return {"Authorization": "Bearer $CONFCTL_X_TOKEN" if dry_run else "Bearer live-secret"}

        def dry_run_setup(self):
            return ["CONFCTL_X_TOKEN=$(curl ...)"]

    sent = []
    s = Session("http://127.0.0.1:9", max_wait=0, timeout=5)
    s._client = httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)))
    old = state.dry_run
    state.dry_run = True
    try:
        first = http.dry_run_or(lambda: s.request("POST", "/things", auth="client"))
        second = http.dry_run_or(lambda: s.request("POST", "/other"))
    finally:
        state.dry_run = old
        s.close()
    assert sent == []
    assert isinstance(first, http.DryRunResult) and first.setup == ["CONFCTL_X_TOKEN=$(curl ...)"]
    assert first.curl.startswith("curl ") and "/things" in first.curl and "live-secret" not in first.curl
    assert second.setup == [] and second.text == second.curl
    assert kinds == [("client", True), ("default", True)]
    assert http.dry_run_or(lambda: 42) == 42


def test_no_caller_catches_a_dry_run_exception_and_no_auth_kind_carries_a_prefix():
    for path in (ROOT / "confctl").rglob("*.py"):
        text = path.read_text()
        assert "except DryRun" not in text and "except http.DryRun" not in text, path
        assert '"dry-run:"' not in text and 'startswith("dry-run' not in text, path


def _pexip_command(*path):
    import typer

    from confctl import cli

    cmd = typer.main.get_command(cli.build_app(cli.selected_group(["pexip"])))
    for name in ("pexip", *path):
        cmd = cmd.commands[name]
    return cmd


def test_choices_are_real_types_that_typer_validates_and_completes():
    import click

    fecc = _pexip_command("participant", "fecc")
    action = next(p for p in fecc.params if p.name == "action")
    assert tuple(action.type.choices) == ("start", "stop", "continue")  # a choice type, not help text
    assert [c.value for c in action.shell_complete(click.Context(fecc), "c")] == ["continue"]
    kinds = next(p for p in _pexip_command("conference", "transform-layout").params if p.name == "layout")
    assert "one_main_twelve_around" in kinds.type.choices  # a choice rule's values are a choice type too


def test_the_command_gets_plain_strings_back(monkeypatch):
    from confctl.core import builder

    seen = {}
    monkeypatch.setattr(builder, "run_endpoint", lambda provider, ep, values, opts: seen.update(values))
    fecc = _pexip_command("participant", "fecc")
    fecc.main(["65b4af2f-657a-4081-98a8-b17667628ce3", "--action", "start", "--pan", "left"],
              standalone_mode=False)
    assert seen["action"] == "start" and type(seen["action"]) is str and seen["pan"] == "left"


def test_a_bad_choice_is_exit_2_before_anything_is_sent(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update(CONFCTL_CONFIG_DIR=str(tmp_path), CONFCTL_PEXIP_URL="http://127.0.0.1:9",
               CONFCTL_PEXIP_CONFERENCE="meet.x")
    result = subprocess.run([*CONFCTL, "pexip", "participant", "fecc", EX_PARTICIPANT, "--action", "jump"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "--action: must be one of start, stop, continue (got 'jump')" in result.stderr  # the rule's words
    helptext = subprocess.run([*CONFCTL, "pexip", "participant", "fecc", "--help"], capture_output=True,
                              text=True, env={**env, "COLUMNS": "200"}, timeout=60).stdout
    assert "<start|stop|continue>" in helptext

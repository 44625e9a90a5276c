"""The Python library (confctl.connect / aconnect, docs/library.md) against the simulators in this process over
real loopback: methods generated from every endpoint, validation before anything is sent, `already` results,
the CLI's exception classes, event streams that release their Pexip tokens, the asyncio twin, the stubs and
the import cost. One simulator for the module, reset before each test."""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import itertools
import json
import os
import subprocess
import sys

import httpx
import pytest

from conftest import ROOT, InProcessCLI, reset_process_state

GW_ROOM = "town-hall"
GW_SESSION = "tHall-2b8d4f63-0c1e-4a7b-9d2f-3e4a5b6c7d8e"  # joined unmuted


@pytest.fixture(scope="module")
def lsim():
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(cooldown_scale=0.0, deferred_delay=0.05, pexip_token_ttl=30, poll_wait=1.0,
                              meeting=True)) as running:
        yield running


@pytest.fixture
def lib(home, lsim):
    """Profiles lib-pexip and lib-gateway (secrets in the 0600 file) in an isolated config folder; the library
    in this process reads it through CONFCTL_CONFIG_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    cli = InProcessCLI(env)
    sim = lsim.env()
    cli("profile", "add", "lib-pexip", "--provider", "pexip", "--url", f"{lsim.url}/pexip", "--conference",
        "meet.demo", "--display-name", "confctl", "--secret-stdin", "--secret-store", "file",
        input=sim["CONFCTL_PEXIP_PIN"] + "\n", check=0)
    cli("profile", "add", "lib-gateway", "--provider", "gateway", "--url", f"{lsim.url}/gateway", "--app-id",
        sim["CONFCTL_GATEWAY_APP_ID"], "--secret-stdin", "--secret-store", "file",
        input=sim["CONFCTL_GATEWAY_API_KEY"] + "\n", check=0)
    for vendor in ("gateway", "pexip"):
        httpx.post(f"{lsim.url}/{vendor}/_sim/reset").raise_for_status()
    lsim.app.state.requests.clear()
    reset_process_state()
    yield cli
    reset_process_state()


def sent(lsim) -> list:
    return [r for r in lsim.app.state.requests if "/_sim/" not in r[1]]


def tokens(lsim) -> list:
    """Pexip tokens confctl holds on the simulated node (its api participants that are not control tokens)."""
    state = httpx.get(f"{lsim.url}/pexip/_sim/state", params={"conference": "meet.demo"}).json()
    controls = set(state["controls"])
    return [p["uuid"] for r in state["rooms"].values() for p in r["participants"]
            if p["protocol"] == "api" and p["uuid"] not in controls]


def bob_muted(lsim) -> str:
    state = httpx.get(f"{lsim.url}/pexip/_sim/state", params={"conference": "meet.demo"}).json()
    return next(p["is_muted"] for r in state["rooms"].values() for p in r["participants"]
                if p["display_name"] == "Bob")


# -- generated methods ---------------------------------------------------------------------------------------
def _offline(vendor: str):
    """A client of an environment-only profile: nothing is sent until a method runs."""
    import confctl

    return confctl.connect(provider=vendor)


def test_every_endpoint_is_a_method_named_by_its_command_path(home):
    from confctl.client import _methods
    from confctl.core.registry import PROVIDERS

    for vendor, spec in PROVIDERS.items():
        provider = spec.load()
        client = _offline(vendor)
        assert type(client).__name__ == vendor.capitalize() + "Client"
        listed = {row["id"]: row["method_name"] for row in client.endpoints}
        assert set(listed) == {ep.id for ep in provider.endpoints}
        for ep in provider.endpoints:
            node = client
            for word in ep.command_path:
                node = getattr(node, word.replace("-", "_"))
            assert listed[ep.id] == ".".join(w.replace("-", "_") for w in ep.command_path)
            assert node.__doc__.startswith(ep.help) and f"[{ep.id}]" in node.__doc__
            sig = inspect.signature(node)
            params = list(_methods.method_spec(provider, ep).args)
            assert [a.name for a in params] == list(sig.parameters)
            # every endpoint parameter (and the vendor's extra ones) is there; positional where the CLI has an
            # argument, keyword-only where it has an option
            from confctl.core.builder import _cmd_params

            assert {a.param.name for a in params if a.param is not None} == {p.name for p in _cmd_params(provider, ep)}
            for a in params:
                kind = sig.parameters[a.name].kind
                if a.param is not None:
                    assert (kind is inspect.Parameter.POSITIONAL_OR_KEYWORD) == a.param.is_positional, (ep.id, a.name)
            for alias in ep.aliases:  # the CLI's friendly verbs are methods too, their preset values fixed
                node = client
                for word in alias.command:
                    node = getattr(node, word.replace("-", "_"))
                assert not set(alias.preset) & set(inspect.signature(node).parameters)
        client.close()


def test_arguments_as_the_cli_takes_them(home):
    pexip, gateway = _offline("pexip"), _offline("gateway")
    assert str(inspect.signature(pexip.participant.mute)) == (
        "(participant: 'str', *, conference: 'str | None' = None, breakout: 'str | None' = None)")
    assert list(inspect.signature(gateway.room.play).parameters) == ["room_id", "urls"]
    assert "level" in inspect.signature(gateway.room.volume).parameters  # --level, a required option
    assert inspect.signature(gateway.room.volume).parameters["level"].default is inspect.Parameter.empty
    assert "all_pages" in inspect.signature(gateway.room.list).parameters
    with pytest.raises(TypeError, match="participant"):
        pexip.participant.mute()
    with pytest.raises(AttributeError, match="has no command 'mutee'"):
        pexip.participant.mutee


# -- validation, already, errors ---------------------------------------------------------------------------
def test_validation_raises_before_anything_is_sent(lib, lsim):
    import confctl

    with confctl.connect("lib-gateway") as gateway, confctl.connect("lib-pexip") as pexip:
        cases = [
            lambda: gateway.room.volume("not-a-room", level=50),  # the room id rule
            lambda: gateway.room.volume(f"acW68-room-{'0' * 8}-0000-0000-0000-{'0' * 12}", level="50"),  # type
            lambda: gateway.session.mute([GW_SESSION, "bad id!"]),  # bulk: every id checked first
            lambda: pexip.participant.mute("Bob", conference="../other"),  # a path segment
            lambda: pexip.request("GET", "https://elsewhere.example/api"),  # credentials stay on the host
        ]
        for case in cases:
            with pytest.raises(confctl.errors.ValidationError) as caught:
                case()
            assert confctl.errors.exit_code_for(caught.value) == 2
    assert sent(lsim) == []
    assert tokens(lsim) == []


def test_already_is_a_result_not_an_error(lib, lsim, capfd):
    import confctl

    with confctl.connect("lib-gateway") as gateway:
        first = gateway.session.mute(GW_SESSION)
        assert not first.get("already")
        again = gateway.session.mute(GW_SESSION)
        assert again["already"] is True and again["status"] == "already_muted"
        assert capfd.readouterr().err == ""  # the results say it: a library prints no progress notes
        both = gateway.session.mute([GW_SESSION])  # a list: one result per id
        assert [r["already"] for r in both] == [True]
        # the cross-vendor verb on an address: known state says it holds, nothing is sent
        before = len(sent(lsim))
        assert gateway.mute(f"{GW_ROOM}/{GW_SESSION}") == {"ok": True, "already": True, "note": "already muted"}
        assert all(method == "GET" for method, _ in sent(lsim)[before:])


def test_errors_are_the_cli_classes_with_its_exit_codes(lib, lsim):
    import confctl

    with confctl.connect("lib-pexip") as pexip:
        with pytest.raises(confctl.errors.NotFoundError) as missing:
            pexip.participant.mute("Nobody")
    cli_code = lib("pexip", "--profile", "lib-pexip", "participant", "mute", "Nobody").returncode
    assert confctl.errors.exit_code_for(missing.value) == cli_code == 4
    with confctl.connect("lib-pexip", pin="9999") as wrong:  # a given field wins, the secret too
        assert wrong.profile.source("pin") == "argument"
        with pytest.raises(confctl.errors.AuthError) as denied:
            wrong.participant.mute("Bob")
    assert confctl.errors.exit_code_for(denied.value) == 3
    assert issubclass(confctl.errors.ValidationError, confctl.errors.UsageError)


def test_connect_resolves_profiles_as_the_cli(lib, lsim, monkeypatch):
    import confctl

    with pytest.raises(confctl.errors.ConfigError, match="no profile named 'nope'"):
        confctl.connect("nope")
    with pytest.raises(confctl.errors.UsageError, match="has no profile field 'colour'"):
        confctl.connect("lib-pexip", colour="red")
    with pytest.raises(confctl.errors.ConfigError, match="gateway profile"):
        confctl.connect("lib-gateway", provider="pexip")
    with confctl.connect(provider="pexip") as default:  # the provider's default profile
        assert default.profile.name == "lib-pexip"
    with pytest.raises(confctl.errors.UsageError, match="several providers"):
        confctl.connect()  # pexip and gateway both have a default profile: which one is meant?
    monkeypatch.setenv("CONFCTL_PROFILE", "lib-gateway")
    with confctl.connect() as chosen:
        assert (chosen.vendor, chosen.profile.name, chosen.profile.chosen_by) == ("gateway", "lib-gateway",
                                                                                  "CONFCTL_PROFILE")
    with confctl.connect(provider="pexip") as other:  # CONFCTL_PROFILE names another provider's profile
        assert other.profile.name == "lib-pexip"
    monkeypatch.delenv("CONFCTL_PROFILE")
    monkeypatch.setenv("CONFCTL_PEXIP_CONFERENCE", "other.demo")  # environment over profile
    with confctl.connect("lib-pexip") as env_wins:
        assert env_wins.profile.get("conference") == "other.demo"
    with confctl.connect("lib-pexip", conference="meet.demo") as flag_wins:  # an argument over environment
        assert flag_wins.profile.get("conference") == "meet.demo"
        assert flag_wins.conference.status()["locked"] is False
    assert sent(lsim)  # that one was sent


def test_a_protected_profile_refuses_changes_without_yes(lib, lsim):
    import confctl

    lib("profile", "edit", "lib-pexip", "--protected", check=0)
    lsim.app.state.requests.clear()
    with confctl.connect("lib-pexip") as pexip:
        with pytest.raises(confctl.errors.UsageError, match="protected"):
            pexip.participant.mute("Bob")
    assert sent(lsim) == []
    with confctl.connect("lib-pexip", yes=True) as pexip:
        pexip.participant.mute("Bob")
    assert bob_muted(lsim) == "YES"


# -- model, request, events --------------------------------------------------------------------------------
def test_common_model_and_verbs(lib, lsim):
    import confctl
    from confctl.core.fleet.model import Conference, Participant

    with confctl.connect("lib-pexip") as pexip:
        confs = pexip.conferences()
        assert confs and all(isinstance(c, Conference) for c in confs)
        people = pexip.participants("meet.demo")
        bob = next(p for p in people if p.name == "Bob")
        assert isinstance(bob, Participant) and bob.profile == "lib-pexip"
        state = bob_muted(lsim)
        result = pexip.mute(bob)
        assert result["ok"] is True and result.get("already", False) == (state == "YES")
        assert bob_muted(lsim) == "YES"
        assert pexip.mute("Bob")["already"] is True
        assert pexip.unmute("meet.demo/Bob") == {"ok": True, "note": "unmuted"}
    assert tokens(lsim) == []


def test_request_is_the_api_escape_hatch(lib, lsim):
    import confctl

    with confctl.connect("lib-gateway") as gateway:
        listing = gateway.request("GET", "/api/v1/conferences", params={"limit": 5})
        assert isinstance(listing, dict) and "conferences" in listing
        with pytest.raises(confctl.errors.NotFoundError):
            gateway.request("GET", "/api/v1/conferences/acW68-room-00000000-0000-0000-0000-000000000000")


def test_events_close_and_release_the_pexip_token(lib, lsim):
    import confctl

    client = confctl.connect("lib-pexip")
    stream = client.events(types=["participant_*"])
    first = next(stream)
    assert first["type"].startswith("participant_") and set(first) >= {"time", "provider", "profile",
                                                                       "conference", "type", "id", "data"}
    assert "_more" not in first
    assert len(tokens(lsim)) == 1  # the stream's own token
    stream.close()
    assert tokens(lsim) == []
    with pytest.raises(StopIteration):
        next(stream)

    got = [e["type"] for e in itertools.islice(client.events(), 10)]
    assert len(got) == 10
    gc.collect()
    assert tokens(lsim) == []  # islice let go of the stream: closed, token released

    open_one = client.events()
    next(open_one)
    client.participant.mute("Bob")  # the client's session (it may share the stream's cached token)
    assert tokens(lsim)
    client.close()  # closes the streams still open, then the session
    assert tokens(lsim) == []
    with pytest.raises(confctl.errors.UsageError, match="no follow option"):
        client.events(colour="red")

    dropped = confctl.connect("lib-pexip")  # never closed: released when it is garbage-collected
    dropped.participant.mute("Bob")
    assert tokens(lsim)
    del dropped
    gc.collect()
    assert tokens(lsim) == []


def test_aconnect_under_asyncio(lib, lsim):
    import confctl

    async def main():
        async with await confctl.aconnect("lib-pexip") as client:
            assert type(client).__name__ == "AsyncPexipClient"
            await client.participant.mute("Bob")
            people = await client.participants("meet.demo")
            seen = []
            async with client.events(types=["participant_*"]) as stream:
                async for event in stream:
                    seen.append(event)
                    if len(seen) == 3:
                        break
            assert tokens(lsim) == [] or len(tokens(lsim)) == 1  # at most the client's session token
            with pytest.raises(confctl.errors.ValidationError):
                await client.participant.mute("Bob", conference="../x")
            # calls in flight together share the one session (and its one token)
            await asyncio.gather(client.participant.unmute("Bob"), client.participant.mute("Carol"),
                                 client.conference.status())
            assert len(tokens(lsim)) == 1
            with pytest.raises(confctl.errors.UsageError, match="block the running asyncio event loop"):
                next(client.sync.events())
            return people, seen

    people, seen = asyncio.run(main())
    assert any(p.name == "Bob" for p in people) and len(seen) == 3
    assert bob_muted(lsim) == "NO"
    assert tokens(lsim) == []


# -- typing and import cost ----------------------------------------------------------------------------------
def test_the_stubs_are_current_and_parse():
    from confctl.client._stubs import render

    path = ROOT / "confctl" / "client" / "vendors.pyi"
    text = path.read_text(encoding="utf-8")
    assert text == render(), "stale: run python scripts/gen_stubs.py"
    tree = ast.parse(text)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {"PexipClient", "AsyncPexipClient", "GatewayClient", "PexipParticipant"} <= set(classes)
    mute = next(n for n in classes["PexipParticipant"].body if isinstance(n, ast.FunctionDef) and n.name == "mute")
    assert [a.arg for a in mute.args.args] == ["self", "participant"]
    assert [a.arg for a in mute.args.kwonlyargs] == ["conference", "breakout"]
    client_attrs = {n.target.id: ast.unparse(n.annotation) for n in classes["PexipClient"].body
                    if isinstance(n, ast.AnnAssign)}
    assert client_attrs["participant"] == "PexipParticipant"
    assert (ROOT / "confctl" / "py.typed").exists()


def test_import_confctl_is_cheap():
    code = ("import sys, confctl\n"
            "heavy = ('httpx', 'keyring', 'typer', 'confctl.client')\n"
            "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
            "confctl.errors.ValidationError, confctl.connect, confctl.aconnect\n"
            "print(json.dumps([m for m in heavy[:3] if m in sys.modules]))\n")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [[], []]


def test_a_library_user_keeps_its_own_sigterm_handling():
    """The command line turns SIGTERM into a clean exit (tokens released); a program that imports confctl keeps
    the signal handling it had."""
    code = ("import signal, confctl.vendors.pexip.provider; "
            "print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert proc.stdout.strip() == "True", proc.stderr

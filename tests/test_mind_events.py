"""`confctl events follow` on Mind: WebSocket notifications as envelopes, a drop survived with a re-sync and a
`reconnected` record, 4001 (another client) -> exit 9, 4000 (conference limit) -> final event, exit 0."""

from __future__ import annotations

import json

from test_mind_helpers import Lines, control, listeners, new_conference, new_participant, wait_for


def follow(cli, sim, conf, *extra):
    proc = cli.popen("mind", "events", "-o", "jsonl", "-c", conf, *extra)
    wait_for(lambda: listeners(sim, conf) == 1 or proc.poll() is not None, what="the follower's socket")
    assert proc.poll() is None, proc.stderr.read()
    return proc, Lines(proc)


def finish(proc, timeout=20):
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, proc.stderr.read()


def test_joins_leaves_and_a_dropped_socket(cli, sim, tmp_path):
    conf = new_conference(sim)
    _, mod_token = new_participant(sim, conf, "Mo", "moderator")
    proc, lines = follow(cli, sim, conf)
    try:
        bob = control(sim, conf, "join", name="Bob")
        joined = lines.until("participant.created")
        assert joined["data"] == bob and joined["conference"] == conf and joined["provider"] == "mind"
        assert joined["location"] == f"/participants/{bob['id']}"
        control(sim, conf, "leave", participant="Bob")
        assert lines.until("participant.updated")["data"]["online"] is False
        control(sim, conf, "message", participant="Bob", text="hi")
        assert lines.until("message.created")["data"]["text"] == "hi"

        # the application's own change is not echoed; a moderator's is
        cli("mind", "conference", "update", "-c", conf, "--name", "by the app", check=0)
        cli("mind", "conference", "update", "-c", conf, "--name", "by the moderator",
            "--as-participant", "env:MOD_TOKEN", env={"MOD_TOKEN": mod_token}, check=0)
        assert lines.until("conference.updated")["data"]["name"] == "by the moderator"

        # the socket drops and Carol joins before it is back: found by re-reading the conference
        control(sim, conf, "drop", then=[{"action": "join", "name": "Carol"}])
        back = lines.until("reconnected")
        resynced = [e for e in lines.seen if e.get("resynced")]
        assert [(e["type"], e["data"]["name"]) for e in resynced] == [("participant.created", "Carol")]
        assert back["data"]["resynced"] == 1 and "1012" in back["data"]["reason"]
        wait_for(lambda: listeners(sim, conf) == 1, what="the new socket")
        control(sim, conf, "join", name="Dave")
        assert lines.until("participant.created")["data"]["name"] == "Dave"
        control(sim, conf, "end")
        ended = lines.until("conference.ended")
        assert ended["data"]["code"] == 4000
        code, stderr = finish(proc)
        assert code == 0, stderr
        assert "reconnecting" in stderr
        assert not any(e["type"] == "conference.updated" and e["data"]["name"] == "by the app" for e in lines.seen)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_second_socket_ends_the_first_with_4001(cli, sim):
    conf = new_conference(sim)
    first, _ = follow(cli, sim, conf)
    second = cli.popen("mind", "events", "-o", "jsonl", "-c", conf)
    try:
        code, stderr = finish(first)
        assert code == 9, stderr
        assert "another client opened a WebSocket" in stderr and "not reconnecting" in stderr
        wait_for(lambda: listeners(sim, conf) == 1, what="the second follower")
        assert second.poll() is None  # the newer follower keeps going
    finally:
        second.kill()
        second.wait()
        if first.poll() is None:
            first.kill()


def test_events_follow_stops_at_the_conference_limit(cli):
    """A separate simulator whose conferences last 6 s: the socket closes with 4000 by itself."""
    import httpx

    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(mind_conference_limit=6.0)) as short:
        env = {**short.env(), "CONFCTL_GATEWAY_URL": "", "CONFCTL_PEXIP_URL": "", "CONFCTL_AUVIOUS_URL": ""}
        conf = httpx.post(f"{env['CONFCTL_MIND_URL']}/demo-app", json={"name": "short"},
                          headers={"Authorization": "Bearer demo-app-token"}).json()["id"]
        env["CONFCTL_MIND_CONFERENCE"] = conf
        proc = cli.popen("events", "follow", "-o", "jsonl", env=env)  # every provider with a URL: only mind
        code, stderr = finish(proc, timeout=30)
        events = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert code == 0, stderr
        assert events[-1]["type"] == "conference.ended" and events[-1]["data"]["code"] == 4000
        cli("mind", "conference", "get", env=env, check=4)  # the conference is gone afterwards


def test_following_needs_a_conference_and_a_valid_token(cli):
    cli("mind", "events", env={"CONFCTL_MIND_CONFERENCE": ""}, check=2)
    proc = cli("mind", "events", "-c", "no-such-conference", check=4)
    assert "not found" in proc.stderr
    cli("mind", "events", env={"CONFCTL_MIND_TOKEN": "wrong"}, check=3)


def test_a_deleted_conference_ends_the_stream(cli, sim):
    import httpx

    conf = new_conference(sim)
    proc, lines = follow(cli, sim, conf)
    try:
        httpx.delete(f"{sim.url}/mind/demo-app/{conf}", headers={"Authorization": "Bearer demo-app-token"})
        assert lines.until("conference.deleted")["data"] == {"id": conf}
        code, stderr = finish(proc)
        assert code == 0, stderr
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_server_that_does_not_come_back_exits_9(cli):
    from confctl.core.sim.server import RunningSim, SimConfig

    short = RunningSim(SimConfig()).start()
    env = short.env()
    conf = env["CONFCTL_MIND_CONFERENCE"]
    proc = cli.popen("mind", "events", "--max-wait", "1", env=env)
    try:
        wait_for(lambda: listeners(short, conf) == 1 or proc.poll() is not None, what="the follower's socket")
        short.stop()
        code, stderr = finish(proc)
        assert code == 9, stderr
        assert "could not reconnect" in stderr and "reconnecting" in stderr
    finally:
        short.stop()
        if proc.poll() is None:
            proc.kill()

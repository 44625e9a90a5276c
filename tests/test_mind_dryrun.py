"""`--dry-run` on Mind prints requests that run as printed: the application token as $CONFCTL_MIND_TOKEN, a
participant's token as the variable it comes from (with the line that reads it from a token file first).
Each printed script is run by bash against the simulator and must succeed (no 401/403)."""

from __future__ import annotations

import json
import subprocess

from test_mind_helpers import new_conference, new_participant


def run_printed(text: str, env: dict) -> str:
    proc = subprocess.run(["bash", "-c", text.replace("curl ", "curl -sS -f ", )], capture_output=True,
                          text=True, env=env, timeout=30)
    assert proc.returncode == 0, (text, proc.stderr)
    return proc.stdout


def test_the_application_token_is_a_variable_reference(cli, sim):
    conf = new_conference(sim, "dry")
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "mind", "conference", "get", "-c", conf, check=0)
    assert sim.app.state.requests == []  # nothing sent
    assert '-H "Authorization: Bearer $CONFCTL_MIND_TOKEN"' in proc.stdout
    assert "demo-app-token" not in proc.stdout and "<redacted>" not in proc.stdout
    assert json.loads(run_printed(proc.stdout, cli.env))["id"] == conf


def test_a_participant_token_from_a_file(cli, sim, tmp_path):
    conf = new_conference(sim, "dry")
    pid, token = new_participant(sim, conf, "Mo", "moderator")
    token_file = tmp_path / "mo.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "mind", "participant", "update", pid, "-c", conf, "--name", "Mo 2",
               "--as-participant", str(token_file), check=0)
    assert sim.app.state.requests == []
    assert token not in proc.stdout
    first, curl = proc.stdout.strip().splitlines()
    assert first.startswith("CONFCTL_MIND_PARTICIPANT_TOKEN=$(head -n 1 ")
    assert '"Authorization: Bearer $CONFCTL_MIND_PARTICIPANT_TOKEN"' in curl
    env = {k: v for k, v in cli.env.items() if k != "CONFCTL_MIND_PARTICIPANT_TOKEN"}
    assert json.loads(run_printed(proc.stdout, env))["name"] == "Mo 2"


def test_a_participant_token_from_a_variable_or_stdin(cli, sim):
    conf = new_conference(sim, "dry")
    pid, token = new_participant(sim, conf, "Mo", "moderator")
    proc = cli("--dry-run", "mind", "participant", "update", pid, "-c", conf, "--name", "Mo 3",
               "--as-participant", "env:MO_TOKEN", env={"MO_TOKEN": token}, check=0)
    assert '"Authorization: Bearer $MO_TOKEN"' in proc.stdout and token not in proc.stdout
    assert json.loads(run_printed(proc.stdout, {**cli.env, "MO_TOKEN": token}))["name"] == "Mo 3"

    # from stdin: the token is not read; the output says which variable to set
    proc = cli("--dry-run", "mind", "participant", "update", pid, "-c", conf, "--name", "Mo 4",
               "--as-participant", "-", input="", check=0)
    comment, curl = proc.stdout.strip().splitlines()
    assert comment.startswith("# set CONFCTL_MIND_PARTICIPANT_TOKEN")
    env = {**cli.env, "CONFCTL_MIND_PARTICIPANT_TOKEN": token}
    assert json.loads(run_printed(proc.stdout, env))["name"] == "Mo 4"

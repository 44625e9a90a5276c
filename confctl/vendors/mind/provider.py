"""The Mind API provider: application token from the profile, participant tokens on request, WebSocket
notifications as events."""

from __future__ import annotations

from confctl.core.http import Session
from confctl.core.provider import Provider

from . import SPEC, tokens

# What a 403 means for each kind of operation (Endpoint.auth in endpoints.py).
NEEDS = {
    "application": "the application token (the profile's token); a participant token cannot do this",
    "moderator": "the application token or the participant token of a moderator of this conference",
    "member": "the application token or the token of a participant of this conference",
    "self": f"the participant's own token: pass {tokens.FLAG} (-, FILE or env:VAR) or set {tokens.ENV_VAR}",
}


class MindSession(Session):
    """Bearer auth: the application token (CONFCTL_MIND_TOKEN), or a participant's token when acting as one.
    A dry run prints the header as a reference to the variable holding the token in use."""

    provider = "mind"
    secret_env = {"authorization": "CONFCTL_MIND_TOKEN"}

    def __init__(self, profile):
        self.profile = profile
        self.app_id = profile.require("app_id")
        self.app_token = profile.secret("token")
        self.participant_token: str | None = None
        self._participant_setup: list[str] = []
        self._auth = "default"
        super().__init__(profile.require("url"), profile=profile, secrets=[self.app_token or ""])

    def act_as_participant(self, token: str) -> None:
        self.participant_token = token
        self.add_secret(token)  # scrubbed from errors, debug and dry runs like the application token

    def dry_run_as_participant(self, var: str, setup: list[str]) -> None:
        """A dry run acting as a participant: the printed line reads the token from $var, which `setup`
        (shell lines printed first) fills in where confctl knows how; nothing is read or sent."""
        self.participant_token = "$" + var
        self.secret_env = {"authorization": var}
        self._participant_setup = setup

    def dry_run_setup(self) -> list[str]:
        return list(self._participant_setup)

    def auth_headers(self, kind: str = "default", *, dry_run: bool = False) -> dict[str, str]:
        if self.participant_token:
            return {"Authorization": f"Bearer {self.participant_token}"}
        if not self.app_token:
            if dry_run:
                return {"Authorization": "Bearer $CONFCTL_MIND_TOKEN"}
            self.profile.require("token")  # raises the "credentials missing" error (exit 3)
        return {"Authorization": f"Bearer {self.app_token}"}

    def request(self, method, path, **kwargs):
        self._auth = kwargs.get("auth", "default")
        return super().request(method, path, **kwargs)

    def error(self, response):
        """401/403 say which kind of token the operation needs and which kind was sent."""
        exc = super().error(response)
        status = response.status_code
        sent = "a participant token" if self.participant_token else "the application token"
        if status == 403 and self._auth in NEEDS:
            exc.message += f" (sent {sent}; this needs {NEEDS[self._auth]})"
            exc.hint = None  # the message now says what would work
        elif status == 401 and self.participant_token:
            exc.hint = ("the participant token was rejected: it dies when the participant is expelled or the "
                        "conference ends")
        elif status == 401:
            exc.hint = "the application token was rejected; check the profile's app_id and token"
        exc.args = (exc.message,)
        return exc


class Mind(Provider):
    info = SPEC
    session_class = MindSession
    group_help = {
        "conference": "Conferences: create, show (with participants), update, delete.",
        "recording": "Recordings: start, stop, download the video or preview, read the transcription.",
        "transcription": "Live transcription: show it, switch it on or off.",
        "message": "Send chat messages to a participant, the conference or the application.",
        "participant": "Participants: list, create (with a token), update, expel; SIP dial, forward, hang up.",
        "streaming": "RTMP(S) streamings of a conference: list, start, show, stop.",
    }

    def extra_params(self, endpoint):
        return (tokens.AS_PARTICIPANT,) if endpoint.auth in ("moderator", "member", "self") else ()

    def prepare(self, call):
        from confctl.core.state import state

        source = call.values.get("as_participant")
        if state.dry_run and (source or call.endpoint.auth == "self"):
            var, setup = tokens.dry_run_reference(source)
            call.session.dry_run_as_participant(var, setup)
        else:
            token = tokens.read(source) if source else None
            if token is None and call.endpoint.auth == "self":
                token = tokens.from_environment()
            if token:
                call.session.act_as_participant(token)
        if call.body is not None and call.body.get("sendTo") in ("conference", "application"):
            call.body["sendTo"] = (call.path_values["conferenceId"] if call.body["sendTo"] == "conference"
                                   else call.session.app_id)

    def result(self, call, response):
        """Many Mind operations answer 200 with no body: say so on stderr, so a person sees it worked. Any
        body is JSON: an HTML page or broken JSON (a captive portal, a proxy's error page) is exit 7."""
        if not response.content and response.status_code < 300:
            from confctl.core import output

            output.note(f"{' '.join(call.endpoint.command_path)}: done")
            return None
        return super().result(call, response)

    def check(self, session, profile):
        """One cheap authenticated call: the profile's conference, or (without one) a conference that cannot
        exist — a 404 there still proves the token was accepted."""
        from confctl.core.errors import NotFoundError

        from .endpoints import path

        conference = profile.get("conference")
        if conference:
            body = session.json(session.request("GET", path("mind.conference.get", applicationId=session.app_id,
                                                            conferenceId=conference))) or {}
            return {"ok": True, "conference": body.get("id"), "name": body.get("name")}
        try:
            session.request("GET", path("mind.conference.get", applicationId=session.app_id,
                                        conferenceId="00000000-0000-0000-0000-000000000000"))
        except NotFoundError:
            pass
        return {"ok": True, "token": "accepted"}

    def follow(self, profile, options):
        from .events import follow

        return follow(profile, options)


PROVIDER = Mind()


def plan_follow(profile, options, seen: dict):
    """`events follow` planning: a bad CONFCTL_MIND_RESUME_TIMEOUT is exit 2 before anything starts, and two
    sockets for one Mind conference knock each other off (close 4001), so each is followed once (`seen` is
    shared by the followed mind profiles)."""
    import dataclasses

    from confctl.core import output
    from confctl.core.state import state

    from .events import resume_window

    resume_window(profile, state.max_wait)
    if not options.conference:
        return options  # the core says there is nothing to follow
    keep = []
    for conference in options.conference:
        key = (profile.get("url"), profile.get("app_id"), conference)
        if key in seen:
            output.warn(f"mind conference {conference} is already followed through profile {seen[key]!r}; "
                        "following it once")
            continue
        seen[key] = profile.name
        keep.append(conference)
    return dataclasses.replace(options, conference=tuple(keep)) if keep else None

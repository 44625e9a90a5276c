"""The base of each vendor's mapping onto the common model: `confctl/vendors/<name>/model.py` subclasses it and
its VendorSpec names the instance (`model="confctl.vendors.<name>.model:MODEL"`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from confctl.core.fleet.model import Conference, Participant

if TYPE_CHECKING:  # pragma: no cover
    from confctl.core.fleet.connection import Connection
    from confctl.core.fleet.live import Live
    from confctl.core.vendor import Verb


class VendorModel:
    # Does the vendor's event stream (Provider.follow) keep the live model current? When False (e.g. the
    # gateway, whose events arrive only as webhooks), the live model polls `snapshot()` every `poll_interval`
    # seconds, backing off on errors, within the vendor's rate limits.
    streams: bool = True
    poll_interval: float = 2.0
    # Does the stream open with the current state (Pexip's opening roster)? If not, a snapshot is taken first.
    stream_opens_with_state: bool = False
    # Does the stream report the changes this client makes (a verb's effect)? Mind does not notify the
    # application of its own changes: after a verb, `top` re-reads the target's conference instead.
    own_changes_streamed: bool = True
    # Common field -> how this vendor fills it, one short phrase (rendered into docs/model.md's mapping table;
    # "null: ..." says why a field is always None for this vendor). Keys: "field" for both a conference's and
    # a participant's field of that name, or "conference.field" / "participant.field" for one of them.
    mapping: dict[str, str] = {}

    def conferences(self, conn: "Connection") -> list[Conference]:
        """The conferences this profile can see (with participant counts where cheap)."""
        raise NotImplementedError

    def participants(self, conn: "Connection", conference: str) -> list[Participant]:
        """Everyone in one conference, every room (breakouts) included."""
        raise NotImplementedError

    def snapshot(self, conn: "Connection", conferences: tuple[str, ...] = ()) -> tuple[list[Conference], list[Participant]]:
        """The conferences (only those named, when given) and everyone in them."""
        confs = self.conferences(conn)
        if conferences:
            wanted = set(conferences)
            confs = [c for c in confs if c.id in wanted or c.name in wanted]
        people: list[Participant] = []
        for conf in confs:
            people += self.participants(conn, conf.id)
        return confs, people

    def apply(self, live: "Live", event: dict) -> None:
        """Fold one of this vendor's event envelopes into the live model (upsert/remove participants and
        conferences). Unknown event types are ignored."""

    def act(self, conn: "Connection", verb: "Verb", target: Conference | Participant) -> Any:
        """Carry out a verb on one target: by default the verb's endpoint with its params taken from the
        target. Returns the endpoint's result."""
        if verb.endpoint is None:
            raise NotImplementedError(f"{conn.vendor}: verb {verb.name} declares no endpoint and no act()")
        return conn.call(verb.endpoint, verb_values(verb, target))


def verb_values(verb: "Verb", target: Conference | Participant) -> dict:
    values = {}
    for param, source in verb.params.items():
        values[param] = source[1:] if source.startswith("=") else getattr(target, source)
    return values

"""The Mind simulator's world (no HTTP; `app.py` routes requests to it): conferences, participants with their
tokens, recordings, streamings and the WebSocket listeners that notifications go to. Everything runs on the
server's event loop, so no locks. A refusal is raised as `fail(status, message)`, a SimError."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field

from confctl.vendors.mind import endpoints as ex
from confctl.core.sim.kit import SimError
from confctl.core.sim.server import CREDENTIALS

APP_ID = CREDENTIALS["mind"]["app_id"]
APP_TOKEN = CREDENTIALS["mind"]["token"]
DEMO_CONFERENCE = CREDENTIALS["mind"]["conference"]
DAY = 24 * 3600


def fail(status: int, message: str) -> SimError:
    """A refusal with the Mind body, {"error": message}."""
    return SimError(status, {"error": message})


@dataclass
class Participant:
    id: str
    name: str = ""
    priority: float = 0
    role: str = "speaker"
    layout: str = "mosaic"
    online: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    call: str | None = None  # SIP call status
    # What the participant's client sends while online: microphone and camera on its primary media, a screen
    # (video only) on its secondary media.
    audio: bool = True
    video: bool = True
    screen: bool = False

    def resource(self) -> dict:
        media = {"audio": self.online and self.audio, "video": self.online and self.video}
        secondary = {"audio": False, "video": self.online and self.screen}
        return {"id": self.id, "online": self.online, "name": self.name, "priority": self.priority,
                "role": self.role, "layout": self.layout, "media": media, "secondaryMedia": secondary}


@dataclass
class Streaming:
    id: str
    url: str

    @property
    def alive(self) -> bool:  # the simulator's RTMP servers are up unless their host says otherwise
        return "offline" not in self.url and "unreachable" not in self.url

    def resource(self) -> dict:
        return {"id": self.id, "url": self.url, "alive": self.alive}


DEMO_PARTICIPANT_TOKEN = "demo-participant-token"  # `sim serve` prints it as CONFCTL_MIND_PARTICIPANT_TOKEN


class Listener:
    """One open WebSocket: notifications and close requests go through its queue."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()

    def notify(self, message: dict) -> None:
        self.queue.put_nowait(("send", message))

    def close(self, code: int, reason: str) -> None:
        self.queue.put_nowait(("close", code, reason))


@dataclass
class Conference:
    id: str
    name: str = ""
    layout: str = "mosaic"
    created: float = field(default_factory=time.time)
    limit: float = DAY
    recording: bool = False
    recorded: bool = False               # a recording exists (started at least once)
    stopped_at: float | None = None      # when recording last stopped (the transcription lags behind)
    transcribing: bool = False
    utterances: list = field(default_factory=list)
    participants: dict = field(default_factory=dict)
    streamings: dict = field(default_factory=dict)
    listeners: list = field(default_factory=list)
    reset_handshakes: int = 0            # the next N WebSocket opening handshakes are reset (a network fault)

    @property
    def ending_at(self) -> float:
        return self.created + self.limit

    def resource(self, detailed: bool = False, by_app: bool = True) -> dict:
        out = {"id": self.id, "name": self.name, "layout": self.layout, "recording": {"started": self.recording},
               "endingAt": int(self.ending_at)}
        if detailed:
            out["transcription"] = {"started": self.transcribing}
            out["participants"] = [p.resource() for p in self.participants.values()]
            if by_app:
                out["streamings"] = [s.resource() for s in self.streamings.values()]
        return out

    def notify(self, kind: str, location: str, resource: dict | None = None) -> None:
        message = {"type": kind, "location": location}
        if resource is not None:
            message["resource"] = resource
        for listener in self.listeners:
            listener.notify(message)

    def close_listeners(self, code: int, reason: str) -> None:
        for listener in self.listeners:
            listener.close(code, reason)
        self.listeners = []


class MindState:
    def __init__(self, config):
        self.config = config
        self.limit = config.mind_conference_limit or DAY
        self.lag = float(config.extra.get("mind_transcription_lag", 1.5))
        self.conferences: dict[str, Conference] = {}
        self.seed()

    # -- lookups ----------------------------------------------------------------------------------------
    def conference(self, conf_id: str) -> Conference | None:
        conf = self.conferences.get(conf_id)
        if conf is not None and time.time() >= conf.ending_at:
            self.end(conf)
            return None
        return conf

    def by_token(self, token: str) -> tuple[Conference, Participant] | None:
        for conf in list(self.conferences.values()):
            for p in conf.participants.values():
                if secrets.compare_digest(p.token, token):
                    return (conf, p) if self.conference(conf.id) else None
        return None

    def find_participant(self, conf: Conference, key: str) -> Participant | None:
        return conf.participants.get(key) or next(
            (p for p in conf.participants.values() if p.name.lower() == key.lower()), None)

    # -- changes ----------------------------------------------------------------------------------------
    def create_conference(self, name: str = "", layout: str = "mosaic", conf_id: str | None = None) -> Conference:
        conf = Conference(conf_id or str(uuid.uuid4()), name, layout, limit=self.limit)
        self.conferences[conf.id] = conf
        return conf

    def end(self, conf: Conference, code: int = 4000, reason: str = "the conference reached its duration limit"):
        conf.close_listeners(code, reason)
        self.conferences.pop(conf.id, None)

    def add_participant(self, conf: Conference, pid: str | None = None, **fields) -> Participant:
        p = Participant(pid or str(uuid.uuid4()), **{k: v for k, v in fields.items() if v is not None})
        if "layout" not in fields or fields["layout"] is None:
            p.layout = conf.layout
        conf.participants[p.id] = p
        return p

    def message(self, conf: Conference, sender: str, send_to: str, text: str) -> dict:
        if send_to not in (conf.id, APP_ID) and send_to not in conf.participants:
            raise fail(400, "sendTo must be the conference id, the application id or a participant of it")
        return {"id": str(uuid.uuid4()), "sentTo": send_to, "sentBy": sender, "sentAt": int(time.time() * 1000),
                "text": text}

    def utterance(self, conf: Conference, participant_id: str, text: str) -> None:
        start = conf.created
        conf.utterances.append({"timestamp": int((time.time() - start) * 1000), "participantId": participant_id,
                                "text": text})

    def transcription_complete(self, conf: Conference) -> bool:
        return not conf.recording and (conf.stopped_at is None or time.time() - conf.stopped_at >= self.lag)

    # -- seed data: the credentials' demo conference and the doc's example ids (see endpoints.py) --------------
    def seed(self) -> None:
        # The demo meeting: three people in (one presenting, one an attendee), one invited who has not joined.
        demo = self.create_conference("Demo conference", conf_id=DEMO_CONFERENCE)
        self.add_participant(demo, name="Alice", role="moderator", priority=2, online=True, screen=True)
        self.add_participant(demo, name="Bob", role="speaker", priority=1, online=True, video=False)
        self.add_participant(demo, name="Erin", role="attendee", online=True, audio=False)
        self.add_participant(demo, name="Frank", role="speaker")

        conf = self.create_conference("Meeting name", conf_id=ex.EX_CONF)
        john = self.add_participant(conf, ex.EX_PART, name="John Doe", role="speaker", priority=1, online=True,
                                    call="answered", token=DEMO_PARTICIPANT_TOKEN)  # so participant-only examples run
        self.add_participant(conf, ex.EX_PART_DELETE, name="Jane Roe", role="attendee")
        conf.streamings[ex.EX_STREAM] = Streaming(ex.EX_STREAM,
                                                  "rtmps://a.rtmps.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst")
        conf.streamings[ex.EX_STREAM_DELETE] = Streaming(ex.EX_STREAM_DELETE, "rtmp://offline.example.com/live/key")
        conf.recorded = True
        self.utterance(conf, john.id, "Hi, all! I am here to show you how to use Mind API.")

        self.create_conference("Expired meeting", conf_id=ex.EX_CONF_DELETE)
        clear = self.create_conference("Clean-up meeting", conf_id=ex.EX_CONF_CLEAR)
        self.add_participant(clear, name="Leftover", role="speaker")
        clear.streamings["7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908"] = Streaming(
            "7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908", "rtmp://live.example.com/app/leftover")

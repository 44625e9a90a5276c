"""The Pexip simulator's world (no HTTP; `app.py` routes requests to it): conferences with host and guest PINs,
a lock and waiting room, breakout rooms, participants, tokens that expire (an expired or released token removes
its participant, as on a real node), and the event queues of the SSE subscribers.

A refusal is raised as `fail(status, result)`, a SimError with the Pexip body {"status": ..., "result": ...}.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from confctl.core.sim.kit import SimError
from confctl.core.sim.server import CREDENTIALS, SimConfig

HOST_PIN = CREDENTIALS["pexip"]["pin"]
# Seeded ids, used by the endpoint examples (confctl/vendors/pexip/endpoints.py).
ALICE, BOB, CAROL, ERIN = ("7f8bdd7f-2d39-4c3f-9236-3e95b21f21a8", "65b4af2f-657a-4081-98a8-b17667628ce3",
                           "a0196175-b462-48a1-b95c-f322c3af57c1", "eca55900-274d-498c-beba-2169aad9ce1f")
HEIDI, IVAN = "1c5e2b7a-3f4d-4e8a-9b1c-2d3e4f5a6b7c", "2d6f3c8b-4a5e-4f9b-8c2d-3e4f5a6b7c8d"
FRANK, GRACE, JUDY = ("3e7a4d9c-5b6f-4a0c-9d3e-4f5a6b7c8d9e", "4f8b5e0d-6c7a-4b1d-8e4f-5a6b7c8d9e0f",
                      "5a9c6f1e-7d8b-4c2e-9f5a-6b7c8d9e0f1a")
MALLORY, NIAJ = "6b0d7a2f-8e9c-4d3f-8a6b-7c8d9e0f1a2b", "7c1e8b3a-9f0d-4e4a-9b7c-8d9e0f1a2b3c"
BOB_CALL, BOB_CALL_2 = "50ed679d-c622-4c0e-b251-e217f2aa030b", "c34f35f1-1060-438c-9e87-6c2dffb9c998"
BREAKOUT_1, BREAKOUT_2, BREAKOUT_3 = ("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002",
                                      "00000000-0000-0000-0000-000000000003")
IDPS = [{"name": "Microsoft Entra ID", "img": "x", "uuid": "4fe19459-67b4-4e84-abb4-a3765a0a7e09"},
        {"name": "ADFS", "img": "", "uuid": "7e43610f-1c82-4726-899a-af801748846c"}]
JWT_KEY, JWT_KID = b"confctl-simulator-attestation", "sim-attestation-1"
# A valid 1x1 JPEG, for avatars, presentation frames and theme images.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////"
    "////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")
LAYOUTS = ["1:0", "1:7", "1:21", "2:21", "1:33", "2x2", "3x3", "4x4", "5x5", "4:0", "9:0", "16:0", "25:0", "1:1",
           "one_main_nine_around", "one_main_twelve_around", "two_mains_eight_around", "ac", "teams", "5:7",
           "ac_presentation_in_mix", "ac_presentation_in_mix_group"]
PINNING = {"basic_backfill": {"name": "basic_backfill", "slots": [{"layout_groups": ["a"]}, {"layout_groups": ["b"]}],
                              "backfill": True, "remove_self": False},
           "complex": {"name": "complex", "slots": [{"layout_groups": ["a", "b"]}], "backfill": False,
                       "remove_self": True}}
CLASSIFICATION = {"0": "Unclassified", "1": "Official", "2": "Official Sensitive", "3": "RESTRICTED",
                  "4": "Confidential", "5": "Secret", "6": "Top Secret"}
HOST_ONLY = {"dial", "lock", "unlock", "start_conference", "muteguests", "unmuteguests", "set_guests_can_unmute",
             "set_guests_can_present", "set_guests_can_see_guests", "disconnect", "transform_layout", "clearallbuzz",
             "clearspotlights", "silent_video_detection", "set_classification_level", "set_message_text",
             "set_pinning_config", "breakouts", "video_mixes"}


def fail(status: int, result, state: str = "failed") -> SimError:
    """The Pexip error body; `state` is "success" where the doc answers 403 with status success."""
    return SimError(status, {"status": state, "result": result})


def bad_body(problem: str) -> SimError:
    """A request body that is not a JSON object."""
    return fail(400, "the body must be a JSON object" if problem == "not-object" else "malformed JSON body")


def public(p: dict) -> dict:
    return {k: v for k, v in p.items() if not k.startswith("_")}


def person(name: str, alias: str, role: str = "guest", *, uid: str | None = None, protocol: str = "webrtc",
           audio_only: bool = False, service: str = "conference", call_tag: str = "", api: bool = False,
           direction: str = "in") -> dict:
    return {
        "buzz_time": 0, "call_direction": direction, "call_tag": call_tag, "disconnect_supported": "YES",
        "display_name": name, "encryption": "On", "external_node_uuid": "", "fecc_supported": "NO" if api else "YES",
        "has_media": not api, "is_audio_only_call": "YES" if audio_only else "NO", "is_client_muted": False,
        "is_conjoined": False, "is_external": False, "is_idp_authenticated": False,
        "is_main_video_dropped_out": False, "is_muted": "NO", "is_presenting": "NO", "is_streaming_conference": False,
        "is_video_call": "NO" if (audio_only or api) else "YES", "is_video_muted": False, "is_video_silent": False,
        "last_spoken_time": 0, "layout_group": "", "local_alias": alias, "mute_supported": "YES",
        "needs_presentation_in_mix": False, "overlay_text": name, "presentation_supported": "NO" if api else "YES",
        "protocol": protocol, "receive_from_audio_mix": "main", "role": role, "rx_presentation_policy": "ALLOW",
        "send_to_audio_mixes": [{"mix_name": "main", "prominent": False}], "service_type": service,
        "show_live_captions": False, "spotlight": 0, "start_time": int(time.time()), "transfer_supported": "YES",
        "uri": "" if role == "guest" else f"{name.lower().replace(' ', '.')}@example.com",
        "uuid": uid or str(uuidlib.uuid4()), "vendor": "" if api else "confctl-sim/1.0",
    }


@dataclass
class Room:
    uuid: str  # "main" for the VMR itself
    name: str = ""
    end_action: str = "transfer"
    guests_allowed_to_leave: bool = False
    end_time: int | None = None
    participants: dict = field(default_factory=dict)
    locked: bool = False
    guests_muted: bool = False
    guests_can_unmute: bool = True
    guests_can_present: bool = True
    guests_can_see_guests: str = "no_hosts"
    started: bool = True
    layout: dict = field(default_factory=lambda: {"layout": "1:7"})
    silent_video: dict = field(default_factory=dict)
    classification: int | None = None
    message_text: str | None = None
    message_time: str | None = None
    pinning_config: str | None = "basic_backfill"
    breakoutbuzz: dict | None = None
    video_mixes: dict = field(default_factory=lambda: {"main": {"layout": "1:7"}})
    calls: dict = field(default_factory=dict)  # participant uuid -> {call uuid: info}
    controls: dict = field(default_factory=dict)  # host API participant uuid -> its control participant here
    spot: int = 0

    def status(self, conf: "Conference") -> dict:
        body = {"locked": self.locked, "guests_muted": self.guests_muted,
                "all_muted": bool(self.participants) and all(p["is_muted"] == "YES" for p in self.participants.values()),
                "presentation_allowed": True, "guests_can_present": self.guests_can_present,
                "guests_can_unmute": self.guests_can_unmute, "started": self.started,
                "live_captions_available": True, "direct_media": False,
                "classification": {"levels": CLASSIFICATION, "current": self.classification},
                "message_text": self.message_text, "pinning_config": self.pinning_config,
                "breakout_rooms": bool(conf.breakouts) or self.uuid != "main"}
        if self.breakoutbuzz is not None:
            body["breakoutbuzz"] = self.breakoutbuzz
        if self.uuid != "main":
            body.update({"breakout_name": self.name, "breakout_description": "", "end_action": self.end_action,
                         "end_time": self.end_time, "breakout_guests_allowed_to_leave": self.guests_allowed_to_leave})
        return body


@dataclass
class Subscriber:
    participant: str
    role: str
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    dropped: bool = False


@dataclass
class Token:
    value: str
    participant: str
    alias: str
    expires_at: float


@dataclass
class Conference:
    alias: str
    name: str
    host_pin: str = ""
    guest_pin: str = ""
    kind: str = "vmr"  # vmr | auditorium | reception | sso
    main: Room = field(default_factory=lambda: Room("main"))
    breakouts: dict = field(default_factory=dict)
    subscribers: list = field(default_factory=list)
    presenter: str | None = None
    prev_room: dict = field(default_factory=dict)  # participant -> room uuid before the last move

    def rooms(self):
        return [self.main, *self.breakouts.values()]

    def find(self, uid: str) -> Room | None:
        for room in self.rooms():
            if uid in room.participants:
                return room
        return None

    def room(self, key: str) -> Room | None:
        return self.main if key == "main" else self.breakouts.get(key)


class PexipState:
    def __init__(self, config: SimConfig):
        self.config = config
        self.reset()

    # -- state --------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.beat, self.visitors = 0, []  # the live meeting's activity: its count, and who it brought in
        self.ttl = int(self.config.pexip_token_ttl)
        self.maintenance = False
        self.refuse_refresh = 0  # refresh_token answers 403 this many times (-1: always)
        self.events_down_until = 0.0
        self.tokens: dict[str, Token] = {}
        self.seq = 0
        self.conferences: dict[str, Conference] = {}
        for conf in self._seed():
            self.conferences[conf.alias] = conf

    def _seed(self):
        demo = Conference("meet.demo", "Demo VMR", host_pin=HOST_PIN)
        add = lambda conf, room, p: room.participants.__setitem__(p["uuid"], p)  # noqa: E731
        add(demo, demo.main, person("Alice", demo.alias, "chair", uid=ALICE))
        bob = person("Bob", demo.alias, uid=BOB, protocol="sip")
        add(demo, demo.main, bob)
        demo.main.calls[BOB] = {BOB_CALL: {"state": "active"}, BOB_CALL_2: {"state": "active"}}
        demo.main.video_mixes[f"main.!{BOB}"] = {"layout": "1:7"}  # a personal layout, for the examples
        add(demo, demo.main, person("Carol", demo.alias, uid=CAROL, protocol="sip", audio_only=True))
        room1 = Room(BREAKOUT_1, "Room 1")
        add(demo, room1, person("Heidi", demo.alias, uid=HEIDI))
        add(demo, room1, person("Ivan", demo.alias, uid=IVAN))
        demo.breakouts[BREAKOUT_1] = room1
        scratch = Conference("meet.scratch", "Scratch VMR", host_pin=HOST_PIN)
        for name, uid in (("Frank", FRANK), ("Grace", GRACE), ("Judy", JUDY)):
            add(scratch, scratch.main, person(name, scratch.alias, uid=uid))
        add(scratch, scratch.main, person("Erin", scratch.alias, uid=ERIN, service="waiting_room"))
        for uid, name, who, pid in ((BREAKOUT_2, "Room A", "Mallory", MALLORY), (BREAKOUT_3, "Room B", "Niaj", NIAJ)):
            room = Room(uid, name)
            add(scratch, room, person(who, scratch.alias, uid=pid))
            scratch.breakouts[uid] = room
        return [demo, scratch,
                Conference("meet.guests", "Guest PIN VMR", host_pin="1111", guest_pin="2222"),
                Conference("meet.open", "Open VMR"),
                Conference("auditorium.demo", "Demo Auditorium", host_pin=HOST_PIN, kind="auditorium"),
                Conference("reception.demo", "Virtual Reception", kind="reception"),
                Conference("meet.sso", "SSO VMR", kind="sso")]

    def event_id(self) -> str:
        self.seq += 1
        return base64.b64encode(f"10.0.0.1_{self.seq}".encode()).decode()

    def emit(self, conf: Conference, room: Room, etype: str, data=None, *, only: str | None = None) -> None:
        """Queue an event for the conference's streams (breakout rooms' events reach hosts wrapped)."""
        if room.uuid != "main":
            data, etype = {"breakout_uuid": room.uuid, "event": etype, "data": data}, "breakout_event"
        eid = self.event_id()
        for sub in list(conf.subscribers):
            if only and sub.participant != only:
                continue
            if (etype == "breakout_event" and sub.role != "chair") or (sub.dropped and etype != "disconnect"):
                continue  # a dropped stream receives nothing more (except the reason it is being closed)
            sub.queue.put_nowait((eid, etype, data))

    def update(self, conf: Conference, room: Room, p: dict) -> None:
        self.emit(conf, room, "participant_update", public(p))

    def conf_update(self, conf: Conference, room: Room) -> None:
        self.emit(conf, room, "conference_update", room.status(conf))

    def layout_event(self, conf: Conference, room: Room) -> None:
        view = room.layout.get("layout") or room.layout.get("host_layout") or "1:7"
        self.emit(conf, room, "layout", {"view": view, "participants": [], "requested_layout": {
            "primary_screen": {"chair_layout": view, "guest_layout": room.layout.get("guest_layout", view)}},
            "overlay_text_enabled": bool(room.layout.get("enable_overlay_text")),
            "guests_can_see_guests": room.guests_can_see_guests})

    def add(self, conf: Conference, room: Room, p: dict) -> None:
        room.participants[p["uuid"]] = p
        self.emit(conf, room, "participant_create", public(p))

    def remove(self, conf: Conference, uid: str, reason: str = "") -> dict | None:
        room = conf.find(uid)
        if room is None:
            return None
        p = room.participants.pop(uid)
        room.calls.pop(uid, None)
        for value in [t for t, tok in self.tokens.items() if tok.participant == uid]:
            del self.tokens[value]
        for sub in list(conf.subscribers):
            if sub.participant == uid:
                if reason:
                    sub.queue.put_nowait((self.event_id(), "disconnect", {"reason": reason}))
                sub.dropped = True
        if conf.presenter == uid:
            conf.presenter = None
            self.emit(conf, conf.main, "presentation_stop")
        self.emit(conf, room, "participant_delete", {"uuid": uid})
        for other in conf.breakouts.values():  # a host leaving takes its control participants along
            control = other.controls.pop(uid, None)
            if control and other.participants.pop(control, None) is not None:
                self.emit(conf, other, "participant_delete", {"uuid": control})
        return p

    def control_for(self, conf: Conference, room: Room, host: dict) -> str:
        """The doc: a Host is "allocated [a participant] inside the breakout as a control participant"."""
        if host["uuid"] not in room.controls:
            control = person(host["display_name"], conf.alias, "chair", protocol="api", api=True,
                             call_tag=host.get("call_tag", ""))
            room.controls[host["uuid"]] = control["uuid"]
            self.add(conf, room, control)
        return room.controls[host["uuid"]]

    def hosts(self, conf: Conference) -> list[dict]:
        """The API participants with Host rights (they hold tokens): they get control participants."""
        holders = {t.participant for t in self.tokens.values() if t.alias == conf.alias}
        return [p for room in conf.rooms() for u, p in room.participants.items()
                if u in holders and p["role"] == "chair"]

    def begin(self, conf: Conference, room: Room) -> None:
        """breakout_begin to each Host, with its own control participant in the new room."""
        for host in self.hosts(conf):
            control = self.control_for(conf, room, host)
            self.emit(conf, conf.main, "breakout_begin", {"breakout_uuid": room.uuid, "participant_uuid": control},
                      only=host["uuid"])

    @staticmethod
    def people(room: Room) -> list[str]:
        """Everyone in a room but the Hosts' control participants (they stay when a room is emptied)."""
        controls = set(room.controls.values())
        return [u for u in room.participants if u not in controls]

    def move(self, conf: Conference, uid: str, target: Room) -> bool:
        source = conf.find(uid)
        if source is None or source is target:
            return False
        p = source.participants.pop(uid)
        calls = source.calls.pop(uid, None)
        self.emit(conf, source, "participant_delete", {"uuid": uid})
        conf.prev_room[uid] = source.uuid
        target.participants[uid] = p
        if calls:
            target.calls[uid] = calls
        self.emit(conf, target, "participant_create", public(p))
        return True

    def reap(self) -> None:
        """Expired tokens end their participant (unless a newer token of it is still valid)."""
        now = time.time()
        expired = [t for t in self.tokens.values() if t.expires_at <= now]
        for tok in expired:
            self.tokens.pop(tok.value, None)
        for tok in expired:
            if not any(t.participant == tok.participant for t in self.tokens.values()):
                conf = self.conferences.get(tok.alias)
                if conf is not None:
                    self.remove(conf, tok.participant, reason="Token expired")

    def close_breakout(self, conf: Conference, room: Room) -> None:
        for uid in self.people(room):
            if room.end_action == "disconnect":
                self.remove(conf, uid, reason="Breakout room closed")
            else:
                self.move(conf, uid, conf.main)
        conf.breakouts.pop(room.uuid, None)
        for host, control in room.controls.items():
            room.participants.pop(control, None)
            self.emit(conf, conf.main, "breakout_end", {"breakout_uuid": room.uuid, "participant_uuid": control},
                      only=host)

    def speak(self, conf: Conference, room: Room, p: dict | None, vad: int = 100) -> list:
        """A `stage` event in the room: `p` is the current speaker (vad), everyone else silent (p None: all)."""
        first = [p["uuid"]] if p is not None else []
        others = [q["uuid"] for q in room.participants.values() if q["uuid"] not in first and q["has_media"]]
        stage = [{"stage_index": 0, "participant_uuid": first[0], "vad": vad}] if first else []
        stage += [{"stage_index": i + len(first), "participant_uuid": u, "vad": 0} for i, u in enumerate(others)]
        self.emit(conf, room, "stage", stage)
        return stage

    def hand(self, conf: Conference, room: Room, p: dict, raised: bool) -> None:
        p["buzz_time"] = int(time.time()) if raised else 0
        self.update(conf, room, p)

    def activity(self) -> None:
        """One beat of the live meeting in meet.demo (`--activity SECONDS`): someone starts or stops speaking,
        raises or lowers a hand, or a visitor joins or leaves, each emitted as the node's own events. Only
        visitors the activity brought leave (the seeded people, whose UUIDs the examples use, stay)."""
        conf = self.conferences.get("meet.demo")
        if conf is None:
            return
        self.beat += 1
        beat = self.beat
        self.visitors = visitors = [u for u in self.visitors if conf.find(u) is not None]
        people = [(room, p) for room in conf.rooms() for p in room.participants.values()
                  if p["has_media"] and p["service_type"] == "conference"]
        if not people:
            return
        room, p = people[(beat * 7) % len(people)]
        kind = beat % 6
        if kind in (1, 3):  # someone speaks; the next beat ends it
            self.speak(conf, room, p)
        elif kind in (2, 4):
            for r in conf.rooms():
                self.speak(conf, r, None)
        elif kind == 5:
            raised = [(r, q) for r, q in people if q["buzz_time"]]
            if raised:
                self.hand(conf, *raised[0], False)
            else:
                self.hand(conf, room, p, True)
        elif len(visitors) < 2:
            guest = person(f"Visitor {beat}", conf.alias)
            self.add(conf, conf.main, guest)
            self.visitors.append(guest["uuid"])
        elif visitors:
            self.remove(conf, self.visitors.pop(0))

    def later(self, delay: float, fn, *args) -> None:
        async def run():
            await asyncio.sleep(delay)
            fn(*args)

        asyncio.get_running_loop().create_task(run())

    # -- auth -------------------------------------------------------------------------------------------
    def token_of(self, value: str | None, alias: str):
        """(conference, token, participant) for a token used on `alias`; 403 Invalid token otherwise."""
        tok = self.tokens.get(value or "")
        if tok is None or tok.expires_at <= time.time():
            raise fail(403, "Invalid token", "success")
        conf = self.conferences.get(tok.alias)
        if conf is None or (alias != tok.alias and self.conferences.get(alias, conf).kind != "reception"):
            raise fail(403, "Invalid token", "success")
        room = conf.find(tok.participant)
        if room is None:
            raise fail(403, "Invalid token", "success")
        return conf, tok, room.participants[tok.participant]



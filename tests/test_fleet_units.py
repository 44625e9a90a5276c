"""Units of the cross-vendor commands: --where parsing, target addresses and their resolution, perform() and
run_many() with fake connections (no sockets)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from confctl.core.errors import ApiError, ConfctlError, PartialFailure, UsageError, ValidationError, exit_code_for
from confctl.core.fleet import targets, where
from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS, Conference, Participant
from confctl.core.fleet.verbs import Connections, perform, raise_for_failures, run_many
from confctl.core.vendor import Verb


def person(name, id_, **kw):
    return Participant("pexip", "lab", "meet", id_, name=name, **kw)


# -- --where ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr,hit,miss", [
    ("role==guest", {"role": "guest"}, {"role": "chair"}),
    ("role!=guest", {"role": "chair"}, {"role": "guest"}),
    ("muted_audio==false", {"muted_audio": False}, {"muted_audio": None}),
    ("muted_audio==true", {"muted_audio": True}, {"muted_audio": False}),
    ("room==null", {"room": None}, {"room": "Room 1"}),
    ("name~=^Bo", {"name": "Bob"}, {"name": "Rob"}),
    ("name~=^Bo", {"name": "Bob"}, {"name": None}),
    ("name=='Bob Smith'", {"name": "Bob Smith"}, {"name": "Bob"}),
    ("id==1234", {"id": "1234"}, {"id": "12345"}),
])
def test_where_conditions(expr, hit, miss):
    cond = where.parse(expr, PARTICIPANT_FIELDS)
    assert cond(hit) and not cond(miss)


def test_where_numbers_and_all_must_hold():
    keep = where.compile_all(["participants>=3", "locked==false"], CONFERENCE_FIELDS)
    assert keep(Conference("x", "p", "c", participants=3, locked=False))
    assert not keep(Conference("x", "p", "c", participants=2, locked=False))
    assert not keep(Conference("x", "p", "c", participants=None, locked=False))  # unknown is not >= 3
    assert not keep(Conference("x", "p", "c", participants=9, locked=None))
    assert where.compile_all(None, CONFERENCE_FIELDS)(Conference("x", "p", "c"))


@pytest.mark.parametrize("expr,words", [
    ("colour==red", ["unknown field 'colour'", "muted_audio"]),
    ("role guest", ["FIELD OP VALUE"]),
    ("joined_at>=soon", ["compares numbers"]),
    ("name~=(", ["regular expression"]),
])
def test_where_errors_are_usage_errors(expr, words):
    with pytest.raises(ValidationError) as info:
        where.parse(expr, PARTICIPANT_FIELDS)
    text = info.value.message + " " + (info.value.hint or "")
    assert exit_code_for(info.value) == 2 and all(w in text for w in words)


# -- addresses ---------------------------------------------------------------------------------------------
def test_addresses():
    a = targets.parse("lab:meet.demo/Bob")
    assert (a.profile, a.conference, a.participant) == ("lab", "meet.demo", "Bob")
    b = targets.parse("lab:meet.demo")
    assert b.participant is None
    assert targets.parse("meet.demo/Bob", default_profile="lab").profile == "lab"
    assert targets.parse("gw:room/a/b").participant == "a/b"  # only the first slash separates
    for bad in ("meet.demo/Bob", "lab:", ":x", "lab:conf/"):
        with pytest.raises(UsageError):
            targets.parse(bad)


def test_pick_tiers_and_ambiguity():
    people = [person("Bob", "65b4af2f-1"), person("bob", "a0196175-2"), person("Alice", "65b4cccc-3")]
    assert targets.one("Bob", people, "participant", "x").id == "65b4af2f-1"  # exact name before any case
    assert targets.one("a0196175-2", people, "participant", "x").name == "bob"
    assert targets.one("a019", people, "participant", "x").name == "bob"  # unique prefix
    assert targets.one("ALICE", people, "participant", "x").id == "65b4cccc-3"
    with pytest.raises(UsageError) as info:
        targets.one("65b4", people, "participant", "lab:meet")
    assert "ambiguous" in info.value.message and "Alice" in info.value.message
    with pytest.raises(UsageError) as missing:
        targets.one("Zed", people, "participant", "lab:meet")
    assert "present:" in missing.value.hint and "Bob" in missing.value.hint
    assert targets.pick("65b", people, id_of=lambda p: p.id, name_of=lambda p: p.name) == []  # prefixes need 4+


# -- perform / run_many with a fake vendor --------------------------------------------------------------------
class FakeModel:
    def __init__(self, fail=()):
        self.sent = []
        self.fail = set(fail)

    def act(self, conn, verb, target):
        if target.id in self.fail:
            raise ApiError("the node said no", status=400)
        self.sent.append((verb.name, target.id))
        return {"status": "ok"}

    def participants(self, conn, conference):
        return [person("Host", "h1", role="chair", muted_audio=False), person("G1", "g1", role="guest", muted_audio=False),
                person("G2", "g2", role="guest", muted_audio=True)]


def fake_conn(model, verbs):
    spec = SimpleNamespace(name="fakevendor", verbs=verbs, load_model=lambda: model)
    spec.verb = lambda n: next((v for v in verbs if v.name == n), None)
    return SimpleNamespace(profile=SimpleNamespace(provider=spec, name="lab"), name="lab", vendor="fakevendor")


MUTE = Verb("mute", "m", "x.mute", params={"participant": "id"}, holds=("muted_audio", True))


def test_perform_refuses_already_and_acts():
    model = FakeModel()
    conn = fake_conn(model, (MUTE,))
    assert perform(conn, "mute", person("Bob", "b", muted_audio=True)) == {"ok": True, "already": True,
                                                                           "note": "already muted"}
    assert perform(conn, "mute", person("Bob", "b", muted_audio=False))["note"] == "muted"
    with pytest.raises(UsageError) as info:
        perform(conn, "kick", person("Bob", "b"))
    assert "fakevendor does not support `kick`" in info.value.message and "capabilities" in info.value.hint
    with pytest.raises(UsageError):
        perform(conn, "mute", Conference("fakevendor", "lab", "meet"))  # a participant verb on a conference
    assert model.sent == [("mute", "b")]


def test_fanout_acts_on_each_guest_not_yet_there():
    model = FakeModel()
    conn = fake_conn(model, (MUTE, Verb("mute-all", "each", target="conference", fanout="mute")))
    outcome = perform(conn, "mute-all", Conference("fakevendor", "lab", "meet"))
    assert model.sent == [("mute", "g1")] and outcome["note"] == "muted 1 of 2"
    model2 = FakeModel()
    model2.participants = lambda c, f: [person("G2", "g2", role="guest", muted_audio=True)]
    again = perform(fake_conn(model2, conn.profile.provider.verbs), "mute-all", Conference("fakevendor", "lab", "m"))
    assert again["already"] and model2.sent == []


class FakeConns(Connections):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def get(self, profile):
        return self.conn


def test_run_many_reports_each_item_and_the_batch_outcome():
    model = FakeModel(fail={"b2"})
    conns = FakeConns(fake_conn(model, (MUTE,)))
    people = [person("A", "a1", muted_audio=False), person("B", "b2", muted_audio=False),
              person("C", "c3", muted_audio=True)]
    seen = []
    items = run_many(conns, "mute", people, concurrency=2, on_item=seen.append)
    assert seen == items
    assert [(i["target"], i["ok"], i["note"]) for i in items] == [
        ("lab:meet/a1", True, "muted"), ("lab:meet/b2", False, None), ("lab:meet/c3", True, "already muted")]
    assert items[1]["error"] == "the node said no" and items[1]["exit_code"] == 1
    with pytest.raises(PartialFailure):
        raise_for_failures([i for i in items if not i["ok"]], len(items), hint="h")
    with pytest.raises(ConfctlError) as info:  # every item failed: that failure's code
        raise_for_failures([items[1]], 1, hint="h")
    assert exit_code_for(info.value) == 1
    raise_for_failures([], 3, hint="h")


def test_run_many_keeps_to_its_concurrency():
    import threading
    import time

    class Counting(FakeModel):
        def __init__(self):
            super().__init__()
            self.now = self.most = 0
            self.lock = threading.Lock()

        def act(self, conn, verb, target):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.01)  # long enough for the pool to start every worker it may
            with self.lock:
                self.now -= 1
            return {}

    model = Counting()
    conns = FakeConns(fake_conn(model, (MUTE,)))
    people = [person(f"P{i}", f"id-{i}", muted_audio=False) for i in range(12)]
    items = run_many(conns, "mute", people, concurrency=3)
    assert [i["target"] for i in items] == [f"lab:meet/id-{i}" for i in range(12)]  # in target order
    assert 1 <= model.most <= 3


def test_reading_under_dry_run_is_per_thread():
    """A worker's look-ups are sent under --dry-run while another worker, about to change something, still sees
    the dry run (the override once flipped the global flag, which let a concurrent mute through)."""
    import threading

    from confctl.core.fleet.verbs import reading
    from confctl.core.state import reset, state

    reset()
    state.dry_run = True
    inside, release, seen = threading.Event(), threading.Event(), {}

    def reader():
        def look():
            seen["reader"] = state.dry_run
            inside.set()
            release.wait(5)
        reading(look)

    worker = threading.Thread(target=reader)
    worker.start()
    assert inside.wait(5)
    seen["other"] = state.dry_run  # another thread while the reader is inside
    release.set()
    worker.join(5)
    assert seen == {"reader": False, "other": True} and state.dry_run is True
    reset()

"""The synchronous client: `connect()` opens a profile the way the CLI resolves it, `Client` offers the vendor's
endpoints as methods (confctl/client/_methods.py), `request()` (like `confctl <vendor> api`), the common model
(`participants()`, `conferences()`, the cross-vendor verbs) and `events()`."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import Any, Iterable, Iterator

import confctl.client._methods as _methods


# -- opening a profile --------------------------------------------------------------------------------------
def _given_profile_class():
    """A config Profile whose values given to `connect()` win over everything (as a command-line flag does:
    flag > environment > profile > default). Built on first use: config is not imported by `import confctl`."""
    global _Given
    if _Given is None:
        from confctl.core.config import Profile

        @dataclasses.dataclass
        class GivenProfile(Profile):
            given: dict = dataclasses.field(default_factory=dict, repr=False)

            def get(self, name, default=None):
                if self.given.get(name) not in (None, ""):
                    return self.given[name]
                return super().get(name, default)

            def secret(self, name):
                if self.given.get(name) not in (None, ""):
                    return self.given[name]
                return super().secret(name)

            def source(self, name):
                if self.given.get(name) not in (None, ""):
                    return "argument"
                return super().source(name)

        _Given = GivenProfile
    return _Given


_Given = None


def resolve_profile(profile: str | None = None, provider: str | None = None, fields: dict | None = None):
    """The config Profile `connect()` uses: `profile` by name; else `provider`'s profile as its commands pick it
    (CONFCTL_PROFILE when it names one of that provider's, its default profile, else the environment-only
    profile); with neither, CONFCTL_PROFILE or the one provider that has a default profile or a
    CONFCTL_<PROVIDER>_URL. `fields` (profile fields, the secret included) override the result."""
    from confctl.core import config, redact
    from confctl.core.errors import UsageError
    from confctl.core.registry import PROVIDERS

    if provider is not None and provider not in PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}", hint="providers: " + ", ".join(PROVIDERS))
    if profile is not None:
        entry = config.load()["profiles"].get(profile)
        if entry is None:
            raise config.no_profile(profile)
        resolved = config.resolve(provider or entry["provider"], profile)
    elif provider is not None:
        resolved = config.resolve(provider, None)
    else:
        import os

        from confctl.core.events.command import _targets

        data = config.load()
        wanted = os.environ.get("CONFCTL_PROFILE") or None
        if wanted is not None and wanted in data["profiles"]:
            resolved = config.resolve(data["profiles"][wanted]["provider"], None)
        else:
            if fields:
                raise UsageError("connect(): say which provider the given fields are for (provider=...)")
            candidates = _targets(None, [], data)
            if len(candidates) > 1:
                raise UsageError("connect(): several providers have a default profile or CONFCTL_<PROVIDER>_URL: "
                                 + ", ".join(p for p, _ in candidates),
                                 hint="pass a profile name, or provider=...")
            resolved = config.resolve(candidates[0][0], None)
    if not fields:
        return resolved
    spec = resolved.provider
    known = [f.name for f in spec.fields] + list(spec.profile_extras)
    for name, value in fields.items():
        if name not in known:
            raise UsageError(f"connect(): {spec.name} has no profile field {name!r}", hint="fields: " + ", ".join(known))
        if value is not None and not isinstance(value, str):
            raise UsageError(f"connect(): {name} must be a string")
        if any(f.name == name and f.secret for f in spec.fields):
            redact.remember(value)  # never printed, as a secret from a profile's store is not
    own = {f.name: getattr(resolved, f.name) for f in dataclasses.fields(resolved)}
    given = {k: v for k, v in fields.items() if v is not None}
    return _given_profile_class()(**own, given=given)


def connect(profile: str | None = None, *, provider: str | None = None, yes: bool = False,
            **fields: str | None) -> "Client":
    """Open a client for one profile (see `resolve_profile` for which). Nothing is sent until a method runs;
    `close()` (or leaving a `with` block) releases the tokens a session holds (Pexip, Auvious).

    `yes=True` is the CLI's --yes: without it, a destructive endpoint, or a change on a protected profile, is
    refused (UsageError, nothing sent) — the library never prompts."""
    from confctl.core.fleet.connection import Connection

    resolved = resolve_profile(profile, provider, fields)
    conn = Connection.open(resolved)
    return client_class(conn.vendor)(conn, yes=yes)


_CLASSES: dict[str, type] = {}


def class_name(vendor: str) -> str:
    return "".join(part.capitalize() for part in vendor.replace("-", "_").split("_")) + "Client"


def client_class(vendor: str) -> type:
    """The vendor's Client subclass (PexipClient), made once; its typed face is in vendors.pyi."""
    name = class_name(vendor)
    if name not in _CLASSES:
        _CLASSES[name] = type(name, (Client,), {"__doc__": f"A {vendor} profile's client.",
                                                 "__module__": "confctl.client.vendors"})
    return _CLASSES[name]


# -- the method tree on an instance -------------------------------------------------------------------------
class Namespace:
    """A command group of one client (`client.participant`): its methods and sub-groups, made on first use."""

    def __init__(self, client: "Client", group: _methods.Group):
        self._client = client
        self._group = group
        self.__doc__ = group.help

    def __getattr__(self, name: str):
        group = self.__dict__.get("_group")
        if group is None:
            raise AttributeError(name)
        if name in group.methods:
            value: Any = _bind(self._client, group.methods[name])
        elif name in group.groups:
            value = type(self)(self._client, group.groups[name])
        else:
            where = " ".join(group.path) or self._client.vendor
            raise AttributeError(f"{where} has no command {name!r}; it has: "
                                 + ", ".join(sorted([*group.methods, *group.groups])))
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted([*super().__dir__(), *self._group.methods, *self._group.groups])

    def __repr__(self) -> str:
        return f"<{self._client.vendor} {' '.join(self._group.path) or 'commands'}>"


def _bind(client: "Client", spec: _methods.MethodSpec):
    signature = spec.signature

    def method(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{spec.name}(): {exc}") from None
        return client._invoke(spec, bound.arguments)

    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__name__ = spec.name
    method.__qualname__ = ".".join(_methods.snake(w) for w in spec.path)
    method.__doc__ = spec.doc
    return method


# -- the client ---------------------------------------------------------------------------------------------
class Client:
    """One profile's client. Use as a context manager, or call `close()`."""

    def __init__(self, connection, *, yes: bool = False):
        self.connection = connection  # confctl.core.fleet.connection.Connection
        self._yes = yes
        self._tree = _methods.tree(connection.provider)
        self._streams: "weakref.WeakSet[EventStream]" = weakref.WeakSet()
        self._lock = threading.Lock()
        # A client dropped without close() (or still open at exit) still releases its tokens: a Pexip token
        # left behind is a ghost participant in someone's meeting until it expires.
        self._finalizer = weakref.finalize(self, _close, self._streams, connection)

    # identity
    @property
    def vendor(self) -> str:
        return self.connection.vendor

    @property
    def profile(self):
        """The resolved profile (confctl.core.config.Profile): `client.profile.name`, `.get("url")`."""
        return self.connection.profile

    def __repr__(self) -> str:
        return f"<{type(self).__name__} profile={self.profile.name!r}>"

    def __getattr__(self, name: str):
        tree = self.__dict__.get("_tree")
        if tree is None:
            raise AttributeError(name)
        return Namespace.__getattr__(self._root, name)

    @property
    def _root(self) -> Namespace:
        root = self.__dict__.get("_root_ns")
        if root is None:
            root = self.__dict__["_root_ns"] = Namespace(self, self._tree)
        return root

    def __dir__(self):
        return sorted([*super().__dir__(), *self._tree.methods, *self._tree.groups])

    @property
    def endpoints(self) -> list[dict]:
        """Every endpoint as `confctl <vendor> endpoints -o json` lists it, plus the Python method that calls it."""
        from confctl.core.builder import endpoint_rows

        methods = {spec.endpoint.id: ".".join(_methods.snake(w) for w in spec.path)
                   for spec in _methods.walk(self._tree) if not spec.alias}
        return [{**row, "method_name": methods[row["id"]]} for row in endpoint_rows(self.connection.provider)]

    # one endpoint
    def _guard(self, ep, what: str) -> None:
        """The CLI's confirmation rule, without a prompt: destructive endpoints, and changes on a protected
        profile, need yes=True (UsageError, nothing sent)."""
        from confctl.core.errors import UsageError

        protected = self.profile.protected and ep.mutating
        if ep.asks_first(self.profile) and not self._yes:
            why = f" on protected profile {self.profile.name!r}" if protected else ""
            raise UsageError(f"refusing to run `{what}`{why} without confirmation; nothing was sent",
                             hint="pass yes=True to confctl.connect() (the CLI's --yes)")

    def _invoke(self, spec: _methods.MethodSpec, arguments: dict) -> Any:
        import json

        from confctl.core.builder import build_call

        ep = spec.endpoint
        values: dict = {}
        opts: dict = {}
        all_pages = False
        for arg in spec.args:
            value = arguments.get(arg.name)
            if arg.extra == _methods.DATA:
                if value is not None:
                    opts["data"] = value if isinstance(value, str) else json.dumps(value)
            elif arg.extra == _methods.ALL_PAGES:
                all_pages = bool(value)
            elif value is not None:
                values[arg.param.name] = _methods.coerce(arg.param, value)
        values.update(spec.preset)
        provider, profile = self.connection.provider, self.profile
        items = None
        if ep.bulk:
            items = values.get(ep.bulk) or []
            # every id is validated before anything is sent, as the bulk commands do
            calls = [build_call(provider, ep, {**values, ep.bulk: item}, profile, opts) for item in items]
            if not calls:
                from confctl.core.errors import ValidationError

                raise ValidationError(ep.bulk.upper(), "give at least one id")
        else:
            calls = [build_call(provider, ep, values, profile, opts)]
        target = " ".join(str(v) for v in calls[0].path_values.values())
        self._guard(ep, f"{' '.join(spec.path)} {target}".strip())
        if all_pages and ep.paginate:
            return self._all_pages(calls[0])
        results = [self._send(call) for call in calls]
        if ep.bulk and (len(items) > 1 or not isinstance(arguments.get(_methods.snake(ep.bulk)), str)):
            return results
        return results[0]

    def _session(self):
        """The profile's one session, opened under a lock: calls from several threads (the async client's
        workers) share it, so no second token is taken and left behind."""
        with self._lock:
            return self.connection.ensure_session()

    def _send(self, call) -> Any:
        from confctl.core import output
        from confctl.core.builder import send_call

        call.session = self._session()
        with output.notes_muted():  # a library prints no progress notes: the result says it (warnings still go)
            return send_call(call)

    def _all_pages(self, call) -> list:
        pg = call.endpoint.paginate
        items: list = []
        while True:
            page = self._send(call)
            items += page.get(pg.items) or []
            cursor = page.get(pg.cursor_key)
            if not cursor:
                return items
            call.query[pg.cursor_param] = cursor

    def call_endpoint(self, endpoint_id: str, /, **values: Any) -> Any:
        """Run an endpoint by id ("pexip.participant.mute") with its parameters by name."""
        for spec in _methods.walk(self._tree):
            if spec.endpoint.id == endpoint_id and not spec.alias:
                return self._invoke(spec, {a.name: values.get(a.param.name if a.param is not None else a.name,
                                                              values.get(a.name))
                                           for a in spec.args})
        from confctl.core.errors import UsageError

        raise UsageError(f"{self.vendor} has no endpoint {endpoint_id!r}", hint="client.endpoints lists them")

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                headers: dict | None = None) -> Any:
        """A raw request relative to the profile's base URL, sharing auth, retries and error mapping (like
        `confctl <vendor> api`). Returns the parsed JSON, the text, or the bytes."""
        from confctl.core.builder import check_raw_request
        from confctl.core.errors import ValidationError

        method = check_raw_request(method, path)
        if self.profile.protected and method not in ("GET", "HEAD", "OPTIONS") and not self._yes:
            raise ValidationError("METHOD", f"refusing {method} {path} on protected profile {self.profile.name!r} "
                                            "without confirmation; nothing was sent",
                                  hint="pass yes=True to confctl.connect()")
        session = self._session()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        response = session.request(method, path, params=query, json_body=json, headers=dict(headers or {}))
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            return session.json(response)
        if ctype.startswith("text/") or not response.content:
            return response.text
        return response.content

    # the common model
    def _model(self):
        from confctl.core.errors import UsageError

        model = self.profile.provider.load_model()
        if model is None:
            raise UsageError(f"{self.vendor} has no common model")
        self._session()  # opened here under the lock; the model's calls reuse it
        return model

    def conferences(self) -> list:
        """The conferences this profile can see, as confctl.core.fleet.model.Conference."""
        return self._model().conferences(self.connection)

    def participants(self, conference: str | None = None) -> list:
        """Everyone in one conference (default: every conference the profile sees, or its own), as
        confctl.core.fleet.model.Participant."""
        model = self._model()
        if conference is not None:
            return model.participants(self.connection, self._conference(conference).id)
        return model.snapshot(self.connection, ())[1]

    def _lookup(self):
        from confctl.core.fleet.targets import Lookup

        conn = self.connection

        class One:  # the Connections interface Lookup needs, for this client's one profile
            def get(self, profile):
                return conn

        return Lookup(One())

    def _conference(self, value: str):
        return self._lookup().conference(self.profile.name, value)

    def _target(self, verb: str, target: Any):
        from confctl.core.errors import UsageError, ValidationError
        from confctl.core.fleet import verbs
        from confctl.core.fleet.model import Conference, Participant
        from confctl.core.fleet.targets import Address

        if isinstance(target, (Conference, Participant)):
            if target.profile != self.profile.name:
                raise UsageError(f"{target!r} belongs to profile {target.profile!r}, not {self.profile.name!r}")
            return target
        if not isinstance(target, str) or not target:
            raise ValidationError("TARGET", "must be a Participant, a Conference, or an address string")
        text = target
        prefix = self.profile.name + ":"
        if text.startswith(prefix):
            text = text[len(prefix):]
        kind = verbs.VERBS[verbs.verb_name(verb)][0]
        conference, slash, participant = text.partition("/")
        if kind == "participant" and not slash:  # just the participant: in the profile's own conference
            conference, participant = self.profile.get("conference") or "", text
            if not conference:
                raise ValidationError("TARGET", f"{target!r} names no conference (CONFERENCE/PARTICIPANT), and "
                                                f"profile {self.profile.name!r} has none")
        elif kind == "conference" and not text:
            conference = self.profile.get("conference") or ""
        address = Address(self.profile.name, conference, participant or None, target)
        return self._lookup().resolve(address)

    def perform(self, verb: str, target: Any) -> dict:
        """A cross-vendor verb ("mute", "lock", ...; docs/model.md) on a model object or an address
        ("CONFERENCE/PARTICIPANT", "PARTICIPANT" in the profile's conference, "CONFERENCE"). Returns
        {"ok": True, "note": ...}, with "already": True when the goal already held (nothing sent)."""
        from confctl.core.fleet import verbs

        self._session()
        return verbs.perform(self.connection, verb, self._target(verb, target))

    def mute(self, target: Any) -> dict:
        return self.perform("mute", target)

    def unmute(self, target: Any) -> dict:
        return self.perform("unmute", target)

    def kick(self, target: Any) -> dict:
        return self.perform("kick", target)

    disconnect = kick

    def spotlight(self, target: Any) -> dict:
        return self.perform("spotlight", target)

    def unspotlight(self, target: Any) -> dict:
        return self.perform("unspotlight", target)

    def mute_all(self, target: Any = "") -> dict:
        return self.perform("mute-all", target)

    def unmute_all(self, target: Any = "") -> dict:
        return self.perform("unmute-all", target)

    def lock(self, target: Any = "") -> dict:
        return self.perform("lock", target)

    def unlock(self, target: Any = "") -> dict:
        return self.perform("unlock", target)

    # events
    def events(self, conference: str | Iterable[str] | None = None, *, types: Iterable[str] | None = None,
               **options: Any) -> "EventStream":
        """The profile's live events (envelopes: time, provider, profile, conference, type, id, data), as
        `confctl events follow` gets them. `types`: glob patterns ("participant_*"); `options`: the vendor's
        follow options by name (e.g. Pexip's connect_rate). Everything is checked now, before anything starts;
        the stream starts on the first `next()`. Closing it (break + garbage collection, `close()`, `with`, or
        the client's close) stops the source and releases its tokens."""
        from confctl.core.errors import UsageError
        from confctl.core.events.command import plan

        confs = [conference] if isinstance(conference, str) else list(conference or [])
        known = {o.name for o in self.profile.provider.follow_options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"events(): {self.vendor} has no follow option {unknown[0]!r}",
                             hint="options: " + (", ".join(sorted(known)) or "none"))
        planned = plan(None, [], confs, dict(options), resolved=[self.profile])
        stream = EventStream(planned, list(types) if types else None)
        with self._lock:
            self._streams.add(stream)
        return stream

    # lifetime
    def close(self) -> None:
        """Stop every open event stream and release the session's tokens."""
        with self._lock:
            self._finalizer.detach()
            _close(self._streams, self.connection)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close(streams, connection) -> None:
    for stream in list(streams):
        try:
            stream.close()
        except Exception:  # one stream's cleanup failing must not keep the session's token
            pass
    connection.close()


class EventStream:
    """An iterator of event envelopes over the provider's follow(); `close()` stops it and releases its tokens
    (also when it is garbage-collected, so `for e in islice(client.events(), 10)` cleans up)."""

    def __init__(self, planned: list, types: list[str] | None):
        self._planned = planned
        self._types = types or []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running = False
        self._started = False
        self._gen: Iterator[dict] | None = self._run()

    @staticmethod
    def _refuse_in_a_running_loop() -> None:
        """Waiting for events here would block an asyncio loop (and Pexip's follower runs a loop of its own):
        say what to use instead."""
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        from confctl.core.errors import UsageError

        raise UsageError("Client.events() would block the running asyncio event loop",
                         hint="inside a coroutine use `await confctl.aconnect(...)` and `async for` over its events()")

    def _run(self) -> Iterator[dict]:
        if self._stop.is_set():
            return
        inner = None
        try:
            # one profile: one planned source (Pexip's follower merges every conference of it)
            for _label, provider, profile, options in self._planned:
                inner = provider.follow(profile, dataclasses.replace(options, stop=self._stop))
                for event in inner:
                    event.pop("_more", None)  # a printing hint of the runner, not part of the envelope
                    if self._wanted(event):
                        yield event
                    if self._stop.is_set():
                        return
        finally:
            self._stop.set()
            close = getattr(inner, "close", None)
            if close is not None:
                close()  # runs the follower's cleanup: tokens released

    def _wanted(self, event: dict) -> bool:
        """`events follow --type`'s rule: glob patterns; the records saying events may be missing always pass."""
        import fnmatch

        if not self._types or event.get("type") in ("reconnected", "gap"):
            return True
        return any(fnmatch.fnmatchcase(event.get("type") or "", g) for g in self._types)

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> dict:
        if not self._started:
            self._refuse_in_a_running_loop()
            self._started = True
        with self._lock:
            gen = self._gen
            if gen is None:
                raise StopIteration
            self._running = True
        try:
            return next(gen)
        except BaseException:
            with self._lock:
                self._gen = None
            raise
        finally:
            with self._lock:
                self._running = False

    def close(self) -> None:
        """Stop the source and release its tokens. From another thread while `next()` runs, the iterating
        thread ends the stream within about half a second."""
        self._stop.set()
        with self._lock:
            gen, running = self._gen, self._running
            if not running:
                self._gen = None
        if gen is not None and not running:
            gen.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

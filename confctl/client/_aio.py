"""The asyncio twin: `await aconnect(...)`, `await client.participant.mute("Bob")`, `async for event in
client.events()`. It runs the synchronous client in worker threads (asyncio.to_thread): the requests, retries
and token handling are the same code as the CLI's, and the event loop is never blocked. An event stream runs
in a thread of its own and hands envelopes to the loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Iterable

from confctl.client._core import Client, EventStream, Namespace, class_name, connect


async def aconnect(profile: str | None = None, *, provider: str | None = None, yes: bool = False,
                   **fields: str | None) -> "AsyncClient":
    """`connect()` for asyncio (profile resolution reads the config file and maybe the keyring: in a thread)."""
    sync = await asyncio.to_thread(functools.partial(connect, profile, provider=provider, yes=yes, **fields))
    return async_client_class(sync.vendor)(sync)


_CLASSES: dict[str, type] = {}


def async_client_class(vendor: str) -> type:
    """The vendor's AsyncClient subclass (AsyncPexipClient), made once; typed in vendors.pyi."""
    name = "Async" + class_name(vendor)
    if name not in _CLASSES:
        _CLASSES[name] = type(name, (AsyncClient,), {"__doc__": f"A {vendor} profile's asyncio client.",
                                                      "__module__": "confctl.client.vendors"})
    return _CLASSES[name]


def _async(fn, name: str | None = None):
    @functools.wraps(fn)
    async def method(*args, **kwargs):
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    if name:
        method.__name__ = name
    return method


class AsyncNamespace:
    """A command group of an async client: the same methods, awaitable."""

    def __init__(self, sync: Namespace):
        self._sync = sync
        self.__doc__ = sync.__doc__

    def __getattr__(self, name: str):
        sync = self.__dict__.get("_sync")
        if sync is None:
            raise AttributeError(name)
        value = getattr(sync, name)
        value = AsyncNamespace(value) if isinstance(value, Namespace) else _async(value)
        setattr(self, name, value)
        return value

    def __dir__(self):
        return dir(self._sync)

    def __repr__(self) -> str:
        return repr(self._sync).replace("<", "<async ", 1)


class AsyncClient:
    """The async face of one `Client` (`.sync`). Use `async with`, or `await client.aclose()`."""

    def __init__(self, sync: Client):
        self.sync = sync

    def __getattr__(self, name: str):
        sync = self.__dict__.get("sync")
        if sync is None:
            raise AttributeError(name)
        value = getattr(sync, name)
        if isinstance(value, Namespace):
            value = AsyncNamespace(value)
        elif callable(value):
            value = _async(value)
        else:
            return value
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(set(dir(self.sync)) | set(super().__dir__()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} profile={self.sync.profile.name!r}>"

    @property
    def vendor(self) -> str:
        return self.sync.vendor

    @property
    def profile(self):
        return self.sync.profile

    @property
    def endpoints(self) -> list[dict]:
        return self.sync.endpoints

    def events(self, conference: str | Iterable[str] | None = None, *, types: Iterable[str] | None = None,
               **options: Any) -> "AsyncEventStream":
        """`Client.events` as an async iterator (checked now; started on the first `__anext__`). Close it
        with `await stream.aclose()` or `async with client.events() as stream:` — or close the client."""
        return AsyncEventStream(self.sync.events(conference, types=types, **options))

    async def aclose(self) -> None:
        await asyncio.to_thread(self.sync.close)

    close = aclose

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


_END = object()


class AsyncEventStream:
    """Envelopes from a sync EventStream iterated in its own thread, handed to the loop one by one (the
    thread waits for each to be taken, so a slow consumer holds the source back as the CLI's printer does)."""

    def __init__(self, stream: EventStream):
        self._stream = stream
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue | None = None
        self._taken = threading.Semaphore(0)
        self._done = False

    def _pump(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        def put(item):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
                return True
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return False

        try:
            for event in self._stream:
                if not put(event):
                    return
                while not self._taken.acquire(timeout=0.5):
                    if self._stream._stop.is_set():
                        return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            self._stream.close()

    def __aiter__(self) -> "AsyncEventStream":
        return self

    async def __anext__(self) -> dict:
        if self._done:
            raise StopAsyncIteration
        if self._thread is None:
            self._queue = asyncio.Queue()
            self._thread = threading.Thread(target=self._pump, args=(asyncio.get_running_loop(), self._queue),
                                            daemon=True, name="confctl-events")
            self._thread.start()
        item = await self._queue.get()
        if item is _END:
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        self._taken.release()
        return item

    async def aclose(self) -> None:
        """Stop the source and wait until its tokens are released."""
        self._done = True
        # Only the stop flag here: the follower's cleanup runs its own event loop, so it must run in the pump
        # thread (or a worker), never in this loop's thread.
        self._stream._stop.set()
        self._taken.release()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        else:
            await asyncio.to_thread(self._stream.close)

    async def __aenter__(self) -> "AsyncEventStream":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

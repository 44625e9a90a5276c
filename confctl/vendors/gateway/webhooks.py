"""The gateway reports through webhooks: a local receiver turns each POST into an event envelope.

It binds 127.0.0.1 unless told otherwise, answers 204 at once (the gateway should never wait on us), and can
forward every delivery unchanged to another URL: one worker forwards them in the order received (a bounded
queue; a full one drops the delivery with a warning rather than stall the receiver), and the exit waits, bounded,
for what is queued.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Annotated, Optional

import typer

from confctl.core.errors import UsageError
from confctl.core.events import envelope
from confctl.core.events.command import CountOpt, ForwardOpt, TimeoutOpt, TypeOpt, UntilOpt

WEBHOOK_TYPES = (
    "conference.created", "conference.destroyed", "conference.play.started", "conference.play.finished",
    "conference.play.paused", "conference.play.stopped", "conference.play.volume_changed",
    "conference.member.joined", "conference.member.left", "conference.member.muted", "conference.member.unmuted",
)


FORWARD_QUEUE = 1000  # deliveries waiting to be forwarded at most
FORWARD_DRAIN = 10.0  # seconds the exit waits for queued forwards, in total


def _post(url: str, raw: bytes, headers: dict) -> None:
    import httpx

    httpx.post(url, content=raw, headers=headers, timeout=10)


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise UsageError(f"--listen: must be HOST:PORT (got {value!r})") from None


def to_event(profile: str, body) -> dict:
    """Map one webhook delivery to the envelope; the payload stays unchanged in `data`."""
    if not isinstance(body, dict):
        return envelope.make("gateway", profile, "webhook.unknown", body)
    etype = body.get("event") or body.get("type") or "webhook.unknown"
    payload = body.get("data") if isinstance(body.get("data"), dict) else body
    room = payload.get("room_id") or body.get("room_id")
    return envelope.make("gateway", profile, etype, payload, conference=room,
                         id=body.get("id") or body.get("event_id"), time=body.get("timestamp"))


class Receiver:
    """A small threaded HTTP server collecting deliveries into a queue."""

    def __init__(self, host: str, port: int, forward_to: str | None = None, *, post=None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # only when receiving

        self.events: queue.Queue = queue.Queue()
        self.forward_to = forward_to
        self.post = post or _post  # the seam unit tests replace (a fake target)
        self.outbox: queue.Queue = queue.Queue(maxsize=FORWARD_QUEUE)
        self.order = threading.Lock()  # deliveries are queued for printing and forwarding in one order
        self.forwarder = threading.Thread(target=self._forward_all, daemon=True, name="gateway-forward")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = {"event": "webhook.malformed", "raw": raw.decode("utf-8", "replace")[:1000]}
                # One lock for both queues: deliveries arriving together are forwarded in the order they
                # are printed. Queued (never blocking) before the 204, so a sender that waits for each answer
                # sees its deliveries printed and forwarded in the order it sent them.
                with receiver.order:
                    receiver.events.put(body)
                    if receiver.forward_to:
                        receiver.enqueue(raw, dict(self.headers))
                self.send_response(204)
                self.end_headers()

            def do_GET(self):  # noqa: N802 - health check
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"confctl webhook receiver\n")

            def log_message(self, *args):  # keep stderr for confctl's own messages
                pass

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self.server.daemon_threads = True
        self.address = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def enqueue(self, raw: bytes, headers: dict) -> None:
        try:
            self.outbox.put_nowait((raw, headers))
        except queue.Full:  # the target is far behind: drop this one rather than hold the gateway's request
            from confctl.core import output

            output.warn(f"forwarding to {self.forward_to} is {FORWARD_QUEUE} deliveries behind; one was dropped")

    def _forward_all(self) -> None:
        """The one forwarding worker: deliveries leave in the order they arrived."""
        while True:
            item = self.outbox.get()
            try:
                if item is None:
                    return
                self.forward(*item)
            except Exception as exc:  # noqa: BLE001 - one bad delivery must not end forwarding for the rest
                from confctl.core import output

                output.warn(f"forwarding to {self.forward_to} failed: {type(exc).__name__}: {exc}")
            finally:
                self.outbox.task_done()

    def forward(self, raw: bytes, headers: dict) -> None:
        import httpx

        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "user-agent")}
        try:
            self.post(self.forward_to, raw, keep)
        except httpx.HTTPError as exc:
            from confctl.core import output

            output.warn(f"forwarding to {self.forward_to} failed: {exc}")

    def __enter__(self):
        self.forwarder.start()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.drain(FORWARD_DRAIN)

    def drain(self, limit: float) -> bool:
        """Let deliveries already received reach the forward target, for at most `limit` seconds in total;
        True when all of them did."""
        import time

        deadline = time.monotonic() + limit
        try:  # the end mark goes after everything queued (the server is shut down: nothing more arrives)
            self.outbox.put(None, timeout=limit)
        except queue.Full:
            pass  # still full after the whole limit: the worker is stuck; give up on what is left
        self.forwarder.join(timeout=max(0.0, deadline - time.monotonic()))
        return not self.forwarder.is_alive()


def follow(profile, options):
    """Event source for `events follow` (options: a confctl.core.vendor.FollowOptions): run the receiver until
    options.stop is set."""
    host, port = parse_listen(options.get("listen") or "127.0.0.1:8099")
    from confctl.core import output

    with Receiver(host, port, options.get("forward_to")) as receiver:
        output.note(f"listening for gateway webhooks on {receiver.address}/ (point the gateway there)")
        stop = options.stop
        while not stop.is_set():
            try:
                body = receiver.events.get(timeout=0.25)
            except queue.Empty:
                continue
            yield to_event(profile.name, body)


def register(group: typer.Typer) -> None:
    @group.command("listen")
    def listen(
        host: Annotated[str, typer.Option(help="address to bind (loopback unless you need otherwise)")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port to bind (0 picks a free one)")] = 8099,
        forward_to: ForwardOpt = None,
        types: TypeOpt = None, count: CountOpt = None, timeout: TimeoutOpt = None, until: UntilOpt = None,
    ):
        """Receive the gateway's webhooks on a local HTTP endpoint and print each as an event."""
        from confctl.core import config, output
        from confctl.core.events import runner
        from confctl.core.events.printer import Printer
        from confctl.core.state import state

        profile = config.resolve("gateway", state.profile)
        fmt = output.fmt()
        printer = Printer("jsonl" if fmt in ("json", "jsonl") else "table", types)
        from confctl.core.vendor import FollowOptions

        values = {"listen": f"{host}:{port}", "forward_to": forward_to}
        runner.run([("gateway", lambda stop: follow(profile, FollowOptions(stop=stop, values=values)))],
                   printer, count=count, timeout=timeout, until=until)

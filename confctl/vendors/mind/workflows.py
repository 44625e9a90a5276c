"""Mind behaviour beyond a plain request: downloads streamed to disk, partial transcriptions, participant
tokens kept out of sight, SIP call outcomes, streaming health."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from confctl.core import output
from confctl.core.errors import ApiError, UsageError
from confctl.core.state import state

ACCEPT = {"mp4": "video/mp4", "jpeg": "image/jpeg"}
CHUNK = 64 * 1024


# -- recordings ---------------------------------------------------------------------------------------------
def download(call):
    """GET a recording, thumbnail or preview and stream it to -O FILE (via FILE.part, renamed when complete)
    or to stdout when that is not a terminal. A progress bar is drawn only when stderr is a terminal."""
    call.headers["Accept"] = call.endpoint.accept or ACCEPT[call.values.get("format") or "mp4"]
    target = call.values.get("output_file")
    to_stdout = not target or target == "-"
    if to_stdout and sys.stdout.isatty() and not state.dry_run:
        raise UsageError("refusing to write binary data to a terminal", hint="use -O FILE or redirect stdout")
    response = call.send(stream=True)
    try:
        total = int(response.headers.get("content-length") or 0) or None
        ctype = response.headers.get("content-type", "")
        if to_stdout:
            written = _copy(response, sys.stdout.buffer, total, "stdout")
            sys.stdout.flush()
            return None
        path = Path(target)
        part = path.with_name(path.name + ".part")
        try:
            with open(part, "wb") as fh:
                written = _copy(response, fh, total, path.name)
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    finally:
        response.close()
    output.note(f"wrote {written} bytes ({ctype or 'unknown type'}) to {path}")
    return {"file": str(path), "bytes": written, "content_type": ctype}


def _copy(response, sink, total: int | None, label: str) -> int:
    written = 0
    if not sys.stderr.isatty():
        for chunk in response.iter_bytes(CHUNK):
            sink.write(chunk)
            written += len(chunk)
        return written
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=output.console(sys.stderr), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for chunk in response.iter_bytes(CHUNK):
            sink.write(chunk)
            written += len(chunk)
            bar.update(task, advance=len(chunk))
    return written


def transcription(call):
    """206 = partial (recording in progress or just stopped), 200 = complete. Always printed as
    {"complete": bool, "utterances": [...]}, so scripts can tell; --wait polls until complete."""
    wait = call.values.get("wait")
    interval = call.values.get("interval") or 2.0
    deadline = time.monotonic() + (call.values.get("wait_timeout") or 600.0)
    while True:
        response = call.send()
        utterances = (call.session.json(response) if response.content else None) or []
        complete = response.status_code != 206
        if complete or not wait:
            break
        if time.monotonic() + interval > deadline:
            raise ApiError(f"the transcription is still partial ({len(utterances)} utterances) after "
                           f"{call.values.get('wait_timeout'):g} s", hint="raise --wait-timeout", status=206)
        output.note(f"partial transcription ({len(utterances)} utterances so far); polling again in {interval:g} s")
        time.sleep(interval)
    if not complete:
        output.note("partial transcription (206): the recording is in progress or was stopped recently; "
                    "pass --wait to poll until it is complete")
    return {"complete": complete, "status": response.status_code, "utterances": utterances}


# -- participants -------------------------------------------------------------------------------------------
def create_participant(call):
    """The participant token is a secret handed to one client: hidden unless asked for, and it cannot be
    fetched again, so say so when it is dropped."""
    from confctl.core.config import write_private

    body = call.provider.result(call, call.send())
    if not isinstance(body, dict):
        return body
    token = body.pop("token", None)
    show, token_file = call.values.get("show_token"), call.values.get("token_file")
    if token and token_file:
        write_private(Path(token_file), (token + "\n").encode())
        output.note(f"participant token written to {token_file} (mode 0600); use it with "
                    f"--as-participant {token_file}")
    if token and show:
        body["token"] = token
    elif token and not token_file:
        output.warn("the participant token is not shown and cannot be fetched again; pass --show-token or "
                    "--token-file FILE to keep it")
    return body


def dial(call):
    """The answer comes back when the call is settled (up to `timeout` s): give the request that long, print
    the status, and fail (exit 1) for anything but `answered`."""
    import httpx

    wait = call.values.get("dial_timeout") or 30
    client = call.session.client
    client.timeout = httpx.Timeout(max(state.timeout, wait + 10.0))
    body = call.provider.result(call, call.send()) or {}
    status = body.get("status") if isinstance(body, dict) else None
    if status != "answered":
        output.emit(body)
        callee = call.values.get("callee")
        raise ApiError(f"SIP call to {callee} was not answered: {status or 'no status'}",
                       hint={"busy": "the callee is busy; try again later",
                             "timeout": "no answer within --timeout seconds",
                             "declined": "the callee declined the call",
                             "unavailable": "the callee is unreachable (check the URI and --proxy)"}.get(status))
    return body


# -- streamings ---------------------------------------------------------------------------------------------
def list_streamings(call):
    items = call.provider.result(call, call.send()) or []
    if isinstance(items, list) and items:
        alive = sum(1 for s in items if isinstance(s, dict) and s.get("alive"))
        dead = [s.get("id") for s in items if isinstance(s, dict) and not s.get("alive")]
        output.note(f"{alive} of {len(items)} streamings alive" + (f"; not alive: {', '.join(dead)}" if dead else ""))
    return items

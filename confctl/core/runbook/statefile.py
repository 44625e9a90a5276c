"""The state of a runbook's apply, for --resume: which steps are done and their results (so references still
resolve), written atomically (0600) after every step, keyed by the runbook's path and guarded by a lock so two
applies of one runbook never run at once. The content hash says whether the file changed since."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from confctl.core.errors import UsageError


def default_path(runbook_path: Path) -> Path:
    from confctl.core.cachefile import config_dir

    where = str(runbook_path.resolve())
    key = hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]
    return config_dir() / "runbooks" / f"{runbook_path.stem}-{key}.json"


class StateFile:
    def __init__(self, path: Path, runbook_path: Path, sha256: str):
        self.path = Path(path)
        self.data = {"runbook": str(runbook_path.resolve()), "sha256": sha256, "started": _now(),
                     "updated": None, "finished": False, "steps": {}}
        self._lock = None

    def lock(self) -> None:
        from confctl.core.cachefile import FileLock, lock_path

        lock = FileLock(lock_path(self.path))
        if not lock.acquire(0):
            raise UsageError(f"another `confctl run` of {self.data['runbook']} is running (its state "
                             f"{self.path} is locked)", hint="wait for it to finish")
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{self.path}: unreadable runbook state: {exc}",
                             hint="remove it to start over (without --resume)") from None

    def resume_from(self, force: bool) -> dict:
        """The done steps of the earlier run ({id: {status, result}}); refuses a runbook changed since."""
        old = self.read()
        if old is None:
            return {}
        if old.get("sha256") != self.data["sha256"] and not force:
            raise UsageError(f"{self.data['runbook']} changed since the run --resume would continue "
                             f"(state {self.path})", hint="run it without --resume to start over, or pass "
                             "--force to resume anyway (steps are matched by id)")
        self.data["started"] = old.get("started") or self.data["started"]
        done = {k: v for k, v in (old.get("steps") or {}).items() if v.get("status") in ("done", "already")}
        self.data["steps"] = dict(done)
        return done

    def record(self, step_id: str, status: str, result) -> None:
        self.data["steps"][step_id] = {"status": status, "result": result, "at": _now()}
        self.save()

    def finish(self) -> None:
        self.data["finished"] = True
        self.save()

    def save(self) -> None:
        from confctl.core.cachefile import write_private

        self.data["updated"] = _now()
        write_private(self.path, json.dumps(self.data, indent=1, default=str).encode("utf-8"))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

"""An exclusive lock on an output folder, so that two runs never write into it at the same time: an
operating-system lock (``filelock``: ``flock``), which the kernel drops when its process ends, however
it ends. The holder file and what a second run says: docs/outputs.md ("One run per folder").
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

import filelock

from clsum.errors import OutputError

log = logging.getLogger(__name__)

LOCK_FILE = ".clsum.lock"
HOLDER_FILE = ".clsum.holder"


class FolderLock:
    """``with FolderLock(folder):`` holds ``folder`` for this process or raises ``OutputError`` at once.
    ``FolderLock(folder, file)`` holds only ``folder/file`` (``clsum bench --json``), not its folder."""

    def __init__(self, folder: Path, file: str | None = None) -> None:
        self.what = f"output folder {folder}" if file is None else str(folder / file)
        self.other = "folder" if file is None else "file"
        prefix = "" if file is None else f".{file}"
        self._holder_path = folder / f"{prefix}{HOLDER_FILE}"
        self._lock = filelock.FileLock(folder / f"{prefix}{LOCK_FILE}", timeout=0)

    def __enter__(self) -> FolderLock:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise OutputError(
                f"{self.what} is in use by another clsum run ({self._holding()}); "
                f"wait for it to finish or write to another {self.other}"
            ) from None
        except OSError as exc:
            raise OutputError(f"cannot write to {self.what}: {exc.strerror or exc}") from exc
        try:
            if (stale := self._holder()) is not None:
                log.info("%s: a run ended without releasing it (%s); taking it over", self.what, _said(stale))
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            me = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now}
            self._holder_path.write_text(json.dumps(me) + "\n", encoding="utf-8")
        except BaseException as exc:
            self._lock.release()
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write to {self.what}: {exc.strerror or exc}") from exc
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._holder_path.unlink(missing_ok=True)
        except OSError as error:  # the folder went away or became read-only: the lock still goes
            log.debug("cannot remove %s: %s", self._holder_path, error)
        finally:
            self._lock.release()

    def _holder(self) -> dict[str, object] | None:
        """What the holder file says (any value may be missing or odd); None: none yet, or half-written."""
        try:
            holder = json.loads(self._holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def _holding(self) -> str:
        """Who holds the lock, for the message of the run that did not get it."""
        if (holder := self._holder()) is None:
            return "holder not recorded yet"
        pid = holder.get("pid")
        if holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _running(pid):
            # The lock outlives its process only in a child that inherited it (a fork).
            return f"{_said(holder)}; pid {pid} has ended, but a process it started still holds the lock"
        return _said(holder)


def _said(holder: dict[str, object]) -> str:
    return f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('started_at')}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True

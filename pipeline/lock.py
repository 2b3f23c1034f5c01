"""An exclusive lock on an output folder, so that two runs never write into it at the same time.

An operating-system file lock (``filelock``: ``flock`` on Unix), because the kernel drops it when its
process ends, however it ends: no run can leave it held behind. The holder file and what a second
run says: docs/outputs.md ("One run per folder").
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, fields
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

    ``FolderLock(folder, file)`` holds only ``folder/file`` (``clsum bench --json``): a run writing one
    file must not keep other runs out of the folder it sits in, only out of that file.
    """

    def __init__(self, folder: Path, file: str | None = None) -> None:
        self.folder = folder
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
                f"{self.what} is in use by another clsum run ({_holding(self._holder())}); "
                f"wait for it to finish or write to another {self.other}"
            ) from None
        except OSError as exc:
            raise OutputError(f"cannot write to {self.what}: {exc.strerror or exc}") from exc
        try:
            self._take_over()
        except BaseException:
            self._lock.release()
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

    def _take_over(self) -> None:
        if (stale := self._holder()) is not None:
            log.info("%s: an earlier run ended without releasing it (%s); taking it over", self.what, stale)
        me = Holder(
            os.getpid(), socket.gethostname(), datetime.now(timezone.utc).isoformat(timespec="seconds")
        )
        try:
            self._holder_path.write_text(json.dumps(asdict(me)) + "\n", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write to {self.what}: {exc.strerror or exc}") from exc

    def _holder(self) -> Holder | None:
        try:
            holder = json.loads(self._holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet (the holder is just starting), or half-written
            return None
        return Holder(*(holder.get(f.name) for f in fields(Holder))) if isinstance(holder, dict) else None


@dataclass(frozen=True)
class Holder:
    """What ``.clsum.holder`` says (read back from the file, any value may be missing or odd)."""

    pid: object
    host: object
    started_at: object

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.started_at}"


def _holding(holder: Holder | None) -> str:
    """Who holds the lock another process has, for the message of the run that did not get it."""
    if holder is None:
        return "holder not recorded yet"
    pid = holder.pid
    if holder.host == socket.gethostname() and isinstance(pid, int) and not _running(pid):
        # The lock outlives its process only in a child that inherited it (a fork).
        return f"{holder}; pid {pid} has ended, but a process it started still holds the lock"
    return str(holder)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True

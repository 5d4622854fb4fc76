"""Index layer: one writer at a time: an advisory lock file in the index folder, which also records the
files the writer is about to create or remove.

That record is what makes clean-up safe: a writer killed at any point leaves behind only files its lock
names, and the next writer removes those and nothing else (see :mod:`fashrec.index.folder`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from fashrec.errors import FashrecIndexError, IndexLockedError

LOCK_NAME = ".lock"
LOCK_TAG = "index writer"   # marks a lock file as fashrec's (a folder holding one is an index folder)


@dataclass
class WriterLock:
    """The held lock; ``leftovers`` are the names a previous writer recorded and may not have finished."""

    folder: Path
    fd: int
    leftovers: list[str] = field(default_factory=list)

    def record(self, names: Iterable[str]) -> None:
        """Say which files this run will create or remove, before touching any of them (durably)."""
        payload = json.dumps({"fashrec": LOCK_TAG, "pid": os.getpid(), "writes": sorted(set(names))}).encode()
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, payload, 0)
            os.fsync(self.fd)
        except OSError as exc:
            raise FashrecIndexError(f"could not write the index lock in {self.folder} ({exc.strerror or exc}): "
                                    "nothing was changed", hint="free some disk space, then run the command "
                                    "again") from None


def read_record(path: Path) -> list[str] | None:
    """The file names a fashrec lock file records (None when ``path`` is not a fashrec lock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            data = json.loads(fh.read(1 << 20) or b"null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fashrec") != LOCK_TAG:
        return None
    names = data.get("writes")
    if not isinstance(names, list):
        return []
    # Only plain names: a damaged or forged record must not send a writer outside the folder.
    return [n for n in names if isinstance(n, str) and n not in ("", ".", "..") and Path(n).name == n]


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FashrecIndexError(f"{path} is a symbolic link: fashrec never writes through links in an "
                                    "index folder", hint=f"remove the link ({path}), then run the command again"
                                    ) from None
        if exc.errno == errno.EISDIR:
            raise FashrecIndexError(f"{path} is a directory, where fashrec keeps its lock file",
                                    hint="move it out of the index folder, or index into another folder") from None
        raise FashrecIndexError(f"cannot open the index lock {path}: {exc.strerror or exc}",
                                hint="check the folder's permissions and free space") from None


@contextmanager
def writer_lock(folder: Path) -> Iterator[WriterLock]:
    """Hold the index's write lock, or fail at once if another process holds it.

    flock locks vanish with the process that held them, so a killed writer never leaves a stale lock;
    it may leave files, which the record it wrote names.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = _open_lock(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"another fashrec process is writing the index at {folder}",
                hint="wait for it to finish, then run the command again",
            ) from None
        lock = WriterLock(folder, fd, read_record(path) or [])
        lock.record(lock.leftovers)   # until they are cleaned up, they stay on the record
        yield lock
    finally:
        os.close(fd)

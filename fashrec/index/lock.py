"""Index layer: one writer at a time: an advisory lock file in the index folder."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fashrec.errors import IndexLockedError

LOCK_NAME = ".lock"


@contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the index's write lock, or fail at once if another process holds it.

    flock locks vanish with the process that held them, so a killed writer never leaves a stale lock.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"another fashrec process is writing the index at {folder}",
                hint="wait for it to finish, then run the command again",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)

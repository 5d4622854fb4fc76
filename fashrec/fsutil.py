"""Foundation: writing files so that a reader sees the old content or the new, never half of either, and
telling whether a file can have changed since it was last checked."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

# A file changed within its timestamps' granularity (a jiffy here, 2 s on FAT) can keep the stamp it had:
# a check is remembered only for a file left alone this long (as git treats "racily clean" entries).
SETTLE_NS = 2_000_000_000


@dataclass(frozen=True)
class FileStamp:
    """What moves whenever a file's bytes can have changed: device and inode (a replaced file), size,
    mtime_ns and ctime_ns. mtime alone can be set back (``os.utime``, ``cp -p``, ``rsync -t``); ctime
    cannot from user space, and every write, truncate, rename or link moves it. Two equal stamps of one
    path therefore mean "the same bytes" once the file had settled (:meth:`settled`) when first stamped."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, file: Path | str | int) -> "FileStamp":
        """The stamp of a path, or of an open file descriptor (raises OSError like ``os.stat``)."""
        st = os.stat(file)
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def settled(self, settle_ns: int | None = None) -> bool:
        """Whether the file had been left alone for ``settle_ns`` (default :data:`SETTLE_NS`) when
        stamped: only then may a check of its bytes be remembered against this stamp."""
        return time.time_ns() - self.ctime_ns > (SETTLE_NS if settle_ns is None else settle_ns)

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "FileStamp | None":
        """The stamp :meth:`to_json` wrote, else None (a stamp of an older fashrec, which lacks ctime or
        the inode, or a damaged one): the caller checks the file again, it never trusts nor fails on it."""
        names = [f.name for f in fields(cls)]
        if not isinstance(data, dict) or sorted(data) != sorted(names):
            return None
        if not all(isinstance(data[n], int) and not isinstance(data[n], bool) for n in names):
            return None
        return cls(**{n: data[n] for n in names})


def atomic_write_bytes(path: Path, data: bytes, *, temp_name: str | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never half.

    ``temp_name`` fixes the name of the temporary file (created exclusively, never through a link), for
    callers that must record beforehand which files they create; otherwise it is a fresh unique name.
    The file gets the permissions a plain ``open()`` would give it (an existing file keeps its own),
    not the owner-only ones of a temporary file.
    """
    if temp_name is None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    else:
        tmp = str(path.parent / temp_name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _mode_for(path))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The mode ``path`` has now, else what a new file gets under the process umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some file systems refuse to fsync folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

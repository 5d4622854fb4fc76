"""Index layer: graph files whose checksum was verified, remembered so that an open need not read one again.

``ann.load_hnsw`` checks a graph's CRC-32 against the manifest before hnswlib reads the file (a damaged
link list of the right size loads fine and then crashes the process on its first search). That read
costs ~40 ms of every cold query on the 35k index (a 44 MiB graph), ~1 s at 1M items. A graph that
verified is remembered by its :class:`fashrec.fsutil.FileStamp` (device and inode, size, mtime_ns and
ctime_ns: what changes whenever its bytes can have changed). The next open skips the read only when the
stamp, and the checksum the manifest expects, are what was recorded; any difference verifies the file
again, exactly as before. An entry written by an older fashrec (no device and inode fields) reads as no
entry: that graph is verified once more and recorded anew.

The record lives in the fashrec home folder (``graph-checks.json``), not in the index folder: the index
folder's files are the writer's (a writer removes only what its manifest or lock names, and readers
write nothing there; a folder may be read-only or shared by several users). Recording is best-effort:
an unwritable home only means verifying each time. Processes opening at once each rewrite the whole
record (a temporary file, then a rename), so a reader always finds a complete document and the last
writer wins; an entry another process dropped that way only means verifying that graph again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from fashrec import fsutil, settings
from fashrec.fsutil import FileStamp, atomic_write_bytes

RECORD_NAME = "graph-checks.json"
KEEP = 64   # graph files remembered (the most recently verified); each entry is ~150 bytes
SETTLE_NS = fsutil.SETTLE_NS   # only a graph left alone this long is remembered (tests shorten it)


def _key(stamp: FileStamp) -> str:
    """One entry per file: a graph verified again replaces its own entry."""
    return f"{stamp.device}:{stamp.inode}"


def record_path() -> Path:
    return settings.home_dir() / RECORD_NAME


def _read() -> dict:
    try:
        data = json.loads(record_path().read_bytes())
    except (OSError, ValueError):
        return {}   # missing, unreadable, half a document, not text: it only means verifying again
    return {key: entry for key, entry in data.items() if isinstance(entry, dict)} if isinstance(data, dict) else {}


def matches(path: Path, crc32: int, checksum: Callable[[Path], int]) -> bool:
    """Whether the file at ``path`` has the CRC-32 ``crc32``: known from the record when the file is the
    one verified before, else computed with ``checksum`` (and remembered when it matches)."""
    before = FileStamp.of(path)
    records = _read()
    entry = records.get(_key(before), {})
    if entry.get("crc32") == crc32 and FileStamp.from_json({k: v for k, v in entry.items() if k != "crc32"}) == before:
        return True
    if checksum(path) != crc32:
        return False
    if FileStamp.of(path) == before and before.settled(SETTLE_NS):
        _remember(records, _key(before), {**before.to_json(), "crc32": crc32})
    return True


def _remember(records: dict, key: str, entry: dict) -> None:
    records.pop(key, None)
    records[key] = entry          # newest last: the oldest entries go first
    kept = dict(list(records.items())[-KEEP:])
    try:
        record_path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(record_path(), json.dumps(kept).encode())
    except OSError:
        pass   # a read-only or missing home: the next open verifies again

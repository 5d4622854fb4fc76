"""Index layer: one writer per Lance dataset, and pruning the versions no reader needs any more.

Several index folders (on several machines) may name one dataset (``--store lance:URI``); the index
folder's own lock (:mod:`fashrec.index.lock`) keeps out a second writer of that folder only. A dataset
on a local or mounted path (a folder, ``file://``) therefore gets its own flock-held lock file, which
records who holds it: a second writer fails at once with the dataset and the holder in its message, and
a crashed writer's lock goes with its process (the record it leaves says so to the next writer).
Object stores (``s3://``, ``gs://``...) give fashrec no lock: those runs say so in their notes.

Every ``fashrec index`` adds Lance versions (deletes, a merge, index upkeep). After a publish the
version the manifest names and the previous generation's (what a reader that opened just before may
still be on) are tagged, under a tag name private to the index folder so that another folder's
generations are never untagged here; then untagged versions older than ``$FASHREC_LANCE_KEEP_S``
(an hour by default) are pruned, with the files only they used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

from fashrec.errors import FashrecIndexError, IndexLockedError
from fashrec.index.stores import StoreSpec, dataset_uri
from fashrec.settings import lance_keep_seconds, quiet_lance

LOCK_NAME = ".fashrec-writer.lock"
LOCK_TAG = "lance writer"
TAG_PREFIX = "fashrec-"


def local_path(uri: str) -> Path | None:
    """The folder of a dataset on a local or mounted file system (a path or ``file://``), else None."""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return None if "://" in uri else Path(uri)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 1 << 16, 0) or b"null")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("fashrec") == LOCK_TAG else {}


def _who(holder: dict[str, Any]) -> str:
    if not holder:
        return "holder unknown"
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, writing for the index at {holder.get('index')}, "
            f"since {holder.get('since')}")


def _write_holder(fd: int, holder: dict[str, Any], uri: str) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        os.fsync(fd)
    except OSError as exc:
        raise FashrecIndexError(f"could not write the writer lock of the Lance dataset {uri} "
                                f"({exc.strerror or exc}): nothing was changed",
                                hint="check the dataset folder's permissions and free space") from None


@contextmanager
def dataset_lock(spec: StoreSpec, folder: Path, notes: list[str]) -> Iterator[None]:
    """Hold the writer lock of the Lance dataset ``spec`` names (nothing for the local store), or fail
    at once naming the dataset and who holds it."""
    if spec.kind != "lance":
        yield
        return
    uri = dataset_uri(spec.uri, folder)
    path = local_path(uri)
    if path is None:
        notes.append(f"no writer lock on {uri}: object stores give fashrec no lock, so run one `fashrec index` "
                     "at a time on this dataset")
        yield
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise FashrecIndexError(f"cannot open the writer lock of the Lance dataset {uri} ({exc.strerror or exc})",
                                hint="check the dataset folder's permissions") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(f"the Lance dataset {uri} is being written by another fashrec process "
                                   f"({_who(_read_holder(fd))})",
                                   hint="one writer per dataset: wait for it to finish, then run the command "
                                        "again") from None
        before = _read_holder(fd)
        if before and not before.get("finished"):
            notes.append(f"the last writer of the Lance dataset {uri} ({_who(before)}) ended without finishing; "
                         "its lock went with its process, and this run starts again from the published version")
        holder = {"fashrec": LOCK_TAG, "pid": os.getpid(), "host": socket.gethostname(),
                  "index": str(Path(folder).resolve()),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "finished": False}
        _write_holder(fd, holder, uri)
        try:
            yield
        finally:   # a run that failed cleanly finished too; only a killed one leaves "finished": false
            _write_holder(fd, {**holder, "finished": True}, uri)
    finally:
        os.close(fd)


def tag_prefix(record: dict[str, Any], folder: Path) -> str:
    """The tag names of one index's generations, ``fashrec-<owner>-<version>``: the owner token its
    manifest's store record carries (the same when the folder is moved or copied), else a hash of the
    folder's path."""
    owner = str(record.get("owner") or "") or hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:12]
    return f"{TAG_PREFIX}{owner}-"


def prune_versions(record: dict[str, Any], previous: dict[str, Any] | None, folder: Path, notes: list[str]) -> None:
    """After a publish: tag the published and the previous generation's versions, untag this folder's
    older ones, and prune untagged versions past the grace period. A failure here is a note (the new
    generation is published already; the next run tries again)."""
    uri = dataset_uri(str(record["uri"]), folder)
    keep = lance_keep_seconds()
    try:
        quiet_lance()
        import lancedb

        dataset = lancedb.connect(uri).open_table(str(record["table"])).to_lance()
        wanted, prefixes = {int(record["version"])}, {tag_prefix(record, folder)}
        if previous and previous.get("uri") == record.get("uri") and previous.get("version") is not None:
            wanted.add(int(previous["version"]))
            prefixes.add(tag_prefix(previous, folder))   # a --rebuild starts a new owner: untag the old one's
        _retag(dataset, tag_prefix(record, folder), prefixes, wanted)
        if keep is None:
            return
        stats = dataset.cleanup_old_versions(older_than=timedelta(seconds=keep), error_if_tagged_old_versions=False,
                                             # only files of a run that died: we hold the dataset's lock
                                             delete_unverified=local_path(uri) is not None)
    except ImportError as exc:   # no retry helps: said plainly, with what installs it
        package = "pylance" if exc.name in (None, "lance") else exc.name
        notes.append(f"Lance dataset {uri}: old versions not pruned: pruning did not run at all, {package} is not "
                     f"installed ({exc}); install it with: pip install 'fashrec[scale]'")
        return
    except Exception as exc:
        notes.append(f"Lance dataset {uri}: old versions not pruned ({type(exc).__name__}: {exc}); the next run "
                     "tries again")
        return
    if stats.old_versions:
        notes.append(f"Lance dataset: {stats.old_versions} old version(s) pruned, {stats.bytes_removed / 1e6:.1f} MB "
                     f"freed (kept: versions {', '.join(str(v) for v in sorted(wanted))} and any younger than "
                     f"{keep:g} s)")


def _retag(dataset: Any, prefix: str, prefixes: set[str], wanted: set[int]) -> None:
    """Tag the ``wanted`` versions under ``prefix`` (the published record's), and remove this index's
    other tags (any of ``prefixes``): on other versions, or under an owner it no longer has."""
    tags = dataset.tags.list()
    for version in wanted:
        name = f"{prefix}{version}"
        if name not in tags:
            try:
                dataset.tags.create(name, version)
            except Exception:   # the previous version already gone (pruned by hand): nothing to keep
                if version == max(wanted):
                    raise
    for name, tag in tags.items():
        ours = any(name.startswith(p) for p in prefixes)
        if ours and (int(tag["version"]) not in wanted or not name.startswith(prefix)):
            dataset.tags.delete(name)

"""Encoder layer: where verified ONNX exports live, and how a reader trusts one (no torch, no onnxruntime).

An export is a folder named after the encoder identifier::

    <root>/<folder_name(identifier)>/
        image.onnx   text.onnx      the two towers, fp32, dynamic batch
        merges.txt                  the tokenizer's BPE merges (so the export needs no open_clip)
        export.json                 what was exported, with which versions, and how it verified
        stamp.json                  (optional) file stats seen when the checksums last matched
        text.optimised-ort<V>.onnx  (optional) the text tower as onnxruntime V optimised it, with a
        text.optimised-ort<V>.json  sidecar: its checksum, stats, and the checksum of its source

``export.json`` is written last, inside a temporary folder that is renamed into place, so a folder
with an ``export.json`` is always complete. A reader checks the identifier, the format, the file sizes
and the sha256 of every file; the stamp lets it skip re-hashing ~73 MB (60 ms here) on every cold
start while each file's :class:`fashrec.fsutil.FileStamp` (device, inode, size, mtime and ctime: a
same-size rewrite that puts the mtime back still moves ctime) is what it was when the file last hashed
right. A stamp or sidecar written by an older fashrec (size, mtime and inode only) does not vouch for
anything: the files are hashed once more and stamped anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fashrec import fsutil, settings
from fashrec.fsutil import FileStamp, atomic_write_bytes

FORMAT = 1
EXPORT_FILE = "export.json"
STAMP_FILE = "stamp.json"
FILES = ("image", "text", "merges")
STAMP_FORMAT = 2   # 1 (unmarked): [size, mtime_ns, inode, sha256] per file, no ctime
SETTLE_NS = fsutil.SETTLE_NS   # a reader remembers a hash only for files left alone this long (tests shorten it)


class ExportInvalid(Exception):
    """An export folder that must not be used (missing, partial, corrupt, for another encoder)."""


def default_root() -> Path:
    """``$FASHREC_EXPORTS``, else ``$FASHREC_HOME/onnx``: exports made on this machine (the model folder
    may be read-only, and one export serves every index built with the same encoder)."""
    return settings.exports_dir()


def folder_name(identifier: str) -> str:
    """A file-system-safe, collision-free folder name for an encoder identifier.

    Identifiers may hold ':' and '/' (``ViT-B-32:laion2b_s34b_b79k``, ``hf-hub:org/name``); the short
    hash keeps two identifiers that sanitise alike apart.
    """
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", identifier).strip("._") or "encoder"
    return f"{safe[:80]}-{hashlib.sha256(identifier.encode()).hexdigest()[:8]}"


def candidate_folders(identifier: str, roots: Iterable[Path] | None = None) -> list[Path]:
    roots = list(roots) if roots is not None else [default_root()]
    return [Path(r) / folder_name(identifier) for r in roots]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ExportRecord:
    """A checked export folder and what its ``export.json`` says."""

    folder: Path
    meta: dict[str, Any]

    @property
    def identifier(self) -> str:
        return str(self.meta["identifier"])

    @property
    def dimension(self) -> int:
        return int(self.meta["dimension"])

    def path(self, part: str) -> Path:
        """The file of one part: "image", "text" (ONNX towers) or "merges" (BPE merges)."""
        return self.folder / self.meta["files"][part]["name"]


def read_export(folder: Path, identifier: str, *, verify_checksums: bool = True) -> ExportRecord:
    """Open an export folder for ``identifier`` or raise :class:`ExportInvalid` saying why."""
    folder = Path(folder)
    meta_path = folder / EXPORT_FILE
    if not meta_path.is_file():
        raise ExportInvalid(f"no ONNX export at {folder}")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise ExportInvalid(f"unreadable {meta_path} ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ExportInvalid(f"{meta_path} has format {meta.get('format') if isinstance(meta, dict) else '?'}, "
                            f"this fashrec reads format {FORMAT}")
    if meta.get("identifier") != identifier:
        raise ExportInvalid(f"{meta_path} is for encoder {meta.get('identifier')!r}, not {identifier!r}")
    verification = meta.get("verification") or {}
    if not verification.get("passed"):
        raise ExportInvalid(f"{meta_path} does not record a passed verification")
    try:
        files = {t: meta["files"][t] for t in FILES}
        int(meta["dimension"])
        meta["preprocess"], meta["tokenizer"]
        {t: (meta["io"][t]["input"], meta["io"][t]["output"]) for t in ("image", "text")}
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportInvalid(f"{meta_path} is missing {exc}") from exc
    record = ExportRecord(folder, meta)
    for tower, info in files.items():
        path = record.path(tower)
        if not path.is_file():
            raise ExportInvalid(f"ONNX file missing: {path}")
        size = path.stat().st_size
        if size != info.get("bytes"):
            raise ExportInvalid(f"{path} has {size} bytes, the export recorded {info.get('bytes')} "
                                "(truncated or replaced)")
    if verify_checksums and not _stamp_matches(record):
        before = _stamps(record)
        for tower, info in files.items():
            digest = sha256_file(record.path(tower))
            if digest != info.get("sha256"):
                raise ExportInvalid(f"{record.path(tower)} fails its checksum (sha256 {digest[:12]}, "
                                    f"recorded {str(info.get('sha256'))[:12]})")
        # Remembered only for files unchanged while hashed and settled before (see fsutil.SETTLE_NS):
        # a fresh copy is hashed again on its next open, until it has been left alone that long.
        if _stamps(record) == before and all(stamp.settled(SETTLE_NS) for stamp in before.values()):
            write_stamp(record, before)
    return record


def find_export(identifier: str, roots: Iterable[Path] | None = None) -> tuple[ExportRecord | None, str]:
    """The first valid export for ``identifier`` under ``roots``, else (None, why not)."""
    reasons = []
    for folder in candidate_folders(identifier, roots):
        try:
            return read_export(folder, identifier), ""
        except ExportInvalid as exc:
            reasons.append(str(exc))
    return None, "; ".join(reasons) or f"no ONNX export for {identifier}"


# -- refusals: a model that cannot be exported is not retried on every index update -------------------
REFUSAL_SUFFIX = ".refused.json"


def refusal_path(identifier: str, root: Path | None = None) -> Path:
    return Path(root or default_root()) / f"{folder_name(identifier)}{REFUSAL_SUFFIX}"


def read_refusal(identifier: str, versions: dict[str, str], root: Path | None = None) -> str | None:
    """Why ``identifier`` could not be exported, if that was recorded with these very versions (an
    upgrade of torch, onnx, onnxruntime or fashrec deserves a new try)."""
    try:
        data = json.loads(refusal_path(identifier, root).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("identifier") != identifier or data.get("versions") != versions:
        return None
    return str(data.get("reason") or "refused")


def write_refusal(identifier: str, reason: str, versions: dict[str, str], root: Path | None = None) -> None:
    """Best effort, like the stamp: a read-only export folder only means the next update tries again."""
    path = refusal_path(identifier, root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"identifier": identifier, "reason": reason, "versions": versions}))
    except OSError:
        pass


# -- the stamp: checksums already verified for these exact files -------------------------------------
def _stamps(record: ExportRecord) -> dict[str, FileStamp]:
    return {t: FileStamp.of(record.path(t)) for t in FILES}


def _stamp_matches(record: ExportRecord) -> bool:
    try:
        stamp = json.loads((record.folder / STAMP_FILE).read_text())
        if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
            return False   # none, damaged, or an older fashrec's (no ctime): hash again
        return all(stamp["files"][t]["sha256"] == record.meta["files"][t]["sha256"]
                   and FileStamp.from_json(stamp["files"][t]["stamp"]) == FileStamp.of(record.path(t))
                   for t in FILES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def write_stamp(record: ExportRecord, stamps: dict[str, FileStamp] | None = None) -> None:
    """Remember that the files as ``stamps`` describe them (default: as they are now, for the export
    that just wrote and hashed them itself) hash as the record says. Best effort: a read-only folder
    (a shipped export) just gets hashed on every open."""
    try:
        stamps = stamps or _stamps(record)
        files = {t: {"stamp": stamps[t].to_json(), "sha256": record.meta["files"][t]["sha256"]} for t in FILES}
        atomic_write_text(record.folder / STAMP_FILE, json.dumps({"format": STAMP_FORMAT, "files": files}))
    except OSError:
        pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# -- a tower as onnxruntime optimised it: made on first use, trusted by its sidecar -----------------------
def optimised_path(record: ExportRecord, tower: str, version: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9.]+", "_", version)
    return record.folder / f"{tower}.optimised-ort{safe}.onnx"


def trusted_optimised(record: ExportRecord, tower: str, version: str) -> Path | None:
    """The optimised copy of ``tower`` that onnxruntime ``version`` saved from this very export file,
    when its sidecar vouches for its bytes (the file's stamp it was written with, else its sha256); None
    when there is none, or it is for another source, another onnxruntime, or damaged. A sidecar of an
    older fashrec (its "stat" a list without ctime) vouches through the sha256 alone, and is re-stamped."""
    path = optimised_path(record, tower, version)
    try:
        info = json.loads(path.with_suffix(".json").read_text())
        if info.get("source_sha256") != record.meta["files"][tower]["sha256"] or info.get("onnxruntime") != version:
            return None
        before = FileStamp.of(path)
        if FileStamp.from_json(info.get("stat")) == before:
            return path
        if sha256_file(path) == info.get("sha256"):   # the same bytes, moved or copied: re-stamped once settled
            if FileStamp.of(path) == before and before.settled(SETTLE_NS):
                atomic_write_text(path.with_suffix(".json"), json.dumps({**info, "stat": before.to_json()}))
            return path
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def publish_optimised(record: ExportRecord, tower: str, version: str, written: Path) -> None:
    """Make ``written`` (onnxruntime's optimised copy, beside the export) the trusted one. Best effort,
    like the stamp: a failure leaves the export as it was. The stamp is that of ``written`` itself,
    taken through a descriptor opened before the rename (the rename moves its ctime, but not its inode),
    so a copy another process published over it afterwards is not vouched for by this sidecar: it is
    hashed, and used only if it is the same bytes. It is this process's own file, hashed just now under
    a name no other process writes: no settling to wait for."""
    path = optimised_path(record, tower, version)
    try:
        fd = os.open(written, os.O_RDONLY | os.O_CLOEXEC)
        try:
            info = {"source_sha256": record.meta["files"][tower]["sha256"], "onnxruntime": version,
                    "sha256": sha256_file(written)}
            written.replace(path)
            info["stat"] = FileStamp.of(fd).to_json()
        finally:
            os.close(fd)
        atomic_write_text(path.with_suffix(".json"), json.dumps(info))
    except OSError:
        pass
    finally:
        written.unlink(missing_ok=True)

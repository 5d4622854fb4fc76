"""Index layer: what in an index folder is fashrec's, and the only files a writer may remove.

The folder belongs to the user: it may hold their own files, even ones named like ours
(``items-2024.csv``, ``movie.mkv.partial``). So a writer refuses a non-empty folder that is not an index,
chooses names for new files that are free, records them in its lock before creating them, and removes
only what a manifest or a lock record names -- never following a symbolic link, never a directory.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Iterable

from fashrec.errors import FashrecIndexError
from fashrec.index.lock import LOCK_NAME, read_record
from fashrec.index.manifest import MANIFEST_NAME

# Names fashrec's generations use; a file so named that no record mentions is reported, not removed.
GENERATION_NAME = re.compile(
    r"^(items-\d+\.sqlite|vectors-\d+\.hnsw|mapped-\d+\.bin|\.manifest-\d+\.json\.tmp)(\.partial)?$")


def generation_names(generation: int) -> dict[str, str]:
    """The files one generation is written as (partial first, then renamed), and its manifest's temp file."""
    items, vectors, mapped = f"items-{generation}.sqlite", f"vectors-{generation}.hnsw", f"mapped-{generation}.bin"
    return {"items": items, "vectors": vectors, "mapped": mapped, "items_partial": f"{items}.partial",
            "vectors_partial": f"{vectors}.partial", "mapped_partial": f"{mapped}.partial",
            "manifest_temp": f".manifest-{generation}.json.tmp"}


def free_generation(folder: Path, first: int) -> int:
    """The first generation from ``first`` on none of whose file names exists (not even as a dangling
    link): new files are then always created, never written over or through something already there."""
    generation = first
    while any(os.path.lexists(folder / name) for name in generation_names(generation).values()):
        generation += 1
    return generation


def check_writable(folder: Path) -> None:
    """Refuse, before creating anything, a folder a writer must not write into."""
    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise FashrecIndexError(f"{folder} is a file, not an index folder",
                                hint="give --index a folder (a new one is created)")
    for name, role in ((MANIFEST_NAME, "the index manifest"), (LOCK_NAME, "its lock file")):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            raise FashrecIndexError(f"{path} is a directory, where fashrec keeps {role}",
                                    hint="move it out of the index folder, or index into another folder")
    try:
        entries = os.listdir(folder)
    except OSError as exc:
        raise FashrecIndexError(f"cannot read the index folder {folder}: {exc.strerror or exc}") from None
    if entries and not is_index_folder(folder):
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise FashrecIndexError(
            f"{folder} is not empty and is not a fashrec index (it holds {shown})",
            hint="index into a new or empty folder with --index DIR; fashrec never writes among other files")


def is_index_folder(folder: Path) -> bool:
    return os.path.lexists(folder / MANIFEST_NAME) or read_record(folder / LOCK_NAME) is not None


def remove_recorded(folder: Path, names: Iterable[str], keep: Iterable[str]) -> None:
    """Remove the recorded ``names`` that exist, except ``keep`` (what a manifest still uses).

    ``unlink`` removes a link, never what it points to; a directory under a recorded name is not ours.
    """
    keep = set(keep)
    for name in names:
        if name in keep:
            continue
        path = folder / name
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                path.unlink()
        except FileNotFoundError:
            pass


def unrecorded(folder: Path, known: Iterable[str]) -> list[str]:
    """Files named like a generation's that neither a manifest nor a lock record mentions (left alone)."""
    known = set(known)
    return sorted(n for n in os.listdir(folder) if GENERATION_NAME.match(n) and n not in known)

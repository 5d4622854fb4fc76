"""Index layer: one file of named arrays that a reader memory-maps instead of loading.

Opening an index used to mean reading every row of the item store, parsing 35k JSON documents and
building as many Product objects, and holding float32 copies of every vector (3.1 GiB at 1M items).
A generation now also carries ``mapped-<gen>.bin``: the vectors and everything a query reads about
the whole catalog (filter postings, price and stock columns, the vocabulary, id and image lookups, the
attribute prompts' embeddings), laid out so that a reader maps it and touches only the pages it uses.

Layout: ``MAGIC``, the header length (8 bytes, little endian), a JSON header (the ``facts`` and, per
array, dtype, shape, offset, size and CRC-32), then the arrays, each at a 64-byte-aligned offset. A
reader checks the magic, the format, that every array lies inside the file, and each small array's
checksum the first time it is read. The vector matrices' checksums, and those of their product-quantisation
codes (columns.LARGE says why), are not verified at open (hashing 72 MB per cold query would cost more
than the query), only their sizes; every ``fashrec index`` run
and ``fashrec index --check`` verify them and compare them with the item store, the source of truth
from which this file is rewritten.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fashrec.errors import FashrecIndexError

MAGIC = b"FASHRECMAP\x00\n"
FORMAT = 1
ALIGN = 64
REBUILD = "rebuild it with: fashrec index CATALOG.jsonl"


def _aligned(offset: int) -> int:
    return (offset + ALIGN - 1) // ALIGN * ALIGN


def _crc(array: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def write_mapped(path: Path, arrays: Mapping[str, np.ndarray], facts: Mapping[str, Any]) -> None:
    """Write ``arrays`` and ``facts`` to ``path`` (the caller renames it into place), fsynced, every array
    with its CRC-32."""
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    described: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, a in arrays.items():
        described[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "bytes": a.nbytes,
                           "crc32": _crc(a)}
        offset = _aligned(offset + a.nbytes)
    header = json.dumps({"format": FORMAT, "facts": facts, "arrays": described}, ensure_ascii=False).encode()
    start = _aligned(len(MAGIC) + 8 + len(header))
    with open(path, "wb") as fh:
        fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
        for name, a in arrays.items():
            fh.write(b"\0" * (start + described[name]["offset"] - fh.tell()))
            fh.write(memoryview(a).cast("B"))
        fh.flush()
        os.fsync(fh.fileno())


class Mapped:
    """A mapped file: ``facts`` (the JSON header's) and ``array(name)`` views into the mapping."""

    def __init__(self, path: Path, *, trusted: frozenset[str] = frozenset()) -> None:
        """``trusted``: arrays whose checksum a read does not verify (large ones a query reads only in
        part; :meth:`verify` checks them all)."""
        self.path = Path(path)
        self.trusted = trusted
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(len(MAGIC) + 8)
                if len(head) < len(MAGIC) + 8 or head[:len(MAGIC)] != MAGIC:
                    raise self._corrupt("not a fashrec mapped file")
                size = int.from_bytes(head[len(MAGIC):], "little")
                header = json.loads(fh.read(size).decode())
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(fh.fileno()).st_size \
                    else None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise self._corrupt(str(exc)) from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self._corrupt(f"format {header.get('format') if isinstance(header, dict) else '?'}, "
                                f"this fashrec reads {FORMAT}")
        self.facts: dict[str, Any] = header.get("facts") or {}
        self._arrays: dict[str, dict[str, Any]] = header.get("arrays") or {}
        self._start = _aligned(len(MAGIC) + 8 + size)
        length = len(self._map) if self._map is not None else 0
        for name, a in self._arrays.items():
            if self._start + int(a["offset"]) + int(a["bytes"]) > length:
                raise self._corrupt(f"array {name!r} runs past the end of the file (truncated)")
        self._checked: set[str] = set()

    def _corrupt(self, why: str) -> FashrecIndexError:
        return FashrecIndexError(f"index file is corrupt: {self.path} ({why})", hint=REBUILD)

    def has(self, name: str) -> bool:
        return name in self._arrays

    def array(self, name: str) -> np.ndarray:
        """A read-only view of one array (its checksum verified on first use, when it has one)."""
        if name not in self._arrays:
            raise self._corrupt(f"no array {name!r}")
        a = self._arrays[name]
        dtype = np.dtype(a["dtype"])
        shape = tuple(int(s) for s in a["shape"])
        count = int(np.prod(shape)) if shape else 1
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        view = np.frombuffer(self._map, dtype=dtype, count=count, offset=self._start + int(a["offset"]))
        view = view.reshape(shape)
        if name not in self._checked:
            if name not in self.trusted and a.get("crc32") is not None and _crc(view) != a["crc32"]:
                raise self._corrupt(f"array {name!r} fails its checksum")
            self._checked.add(name)
        return view

    def release(self, name: str, start: int, stop: int) -> None:
        """Unmap the pages of rows ``start`` to ``stop`` of the 2-D array ``name`` from this process
        (MADV_DONTNEED: clean file pages, which stay in the page cache; the next read maps them again).

        A full scan through the mapping is as fast as a scan can be (no copy), but leaves every page it
        read mapped (977 MiB for a 1M-item matrix); a scan releases each block after scoring it, a gather
        of selected rows each span it copied from (``Columns._copy_spans``). Reading the blocks instead
        (os.preadv into one buffer) was 2.8-3.3x slower: the copy.
        """
        advise = getattr(self._map, "madvise", None) if self._map is not None else None
        if advise is None or not hasattr(mmap, "MADV_DONTNEED") or stop <= start:
            return
        a = self._arrays[name]
        row_bytes = np.dtype(a["dtype"]).itemsize * int(np.prod(a["shape"][1:], dtype=np.int64))
        first = (self._start + int(a["offset"]) + start * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        advise(mmap.MADV_DONTNEED, first, self._start + int(a["offset"]) + stop * row_bytes - first)

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of the 2-D array ``name``, read by one positioned read each, not through the mapping
        (nothing stays mapped, and a page not in the page cache costs one page read, not the neighbourhood a
        fault reads ahead). For a few hundred rows (a shortlist, ``Columns.read_rows``); for thousands, one
        system call a row costs more than the mapping (bench/RESULTS.md 12.1)."""
        a = self._arrays[name]
        dtype, shape = np.dtype(a["dtype"]), tuple(int(x) for x in a["shape"])
        rows = np.asarray(rows, np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= shape[0]):
            raise IndexError(f"rows {rows.min()}..{rows.max()} outside the {name} array of {shape[0]} rows")
        out = np.empty((len(rows), *shape[1:]), dtype)
        width = out.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        buffer, base = memoryview(out).cast("B"), self._start + int(a["offset"])
        with open(self.path, "rb", buffering=0) as fh:
            fd = fh.fileno()
            for i, row in enumerate(rows.tolist()):
                if os.preadv(fd, [buffer[i * width:(i + 1) * width]], base + row * width) != width:
                    raise self._corrupt(f"array {name!r} is shorter than its header says (truncated)")
        return out

    def verify(self) -> None:
        """Every array against its checksum, the trusted ones included (``fashrec index`` and --check)."""
        for name, a in self._arrays.items():
            if a.get("crc32") is not None and _crc(self.array(name)) != a["crc32"]:
                raise self._corrupt(f"array {name!r} fails its checksum")

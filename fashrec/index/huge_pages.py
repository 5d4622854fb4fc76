"""Index layer: put a large hnswlib graph on 2 MiB (transparent huge) pages.

Why: an unfiltered search of a 1M-item graph reads a few thousand scattered 1 KiB vectors out of one
1.1 GiB block. On 4 KiB pages nearly every one of those reads also misses the TLB and walks the page
tables; on 2 MiB pages the whole block needs ~600 TLB entries instead of ~290,000. Measured on the ANN
bench's 1M graphs: p50 0.70-0.74x with the block on huge pages (bench/huge_pages.py, RESULTS 12.5).

Most Linux distributions ship transparent huge pages in "madvise" mode: only memory a process marks
``MADV_HUGEPAGE`` gets them. numpy already marks its own large arrays, but hnswlib ``malloc``s its block
and fills it from the file inside one ``load_index`` call, so nobody marks it. This module finds the
block afterwards (the anonymous address range that the call mapped, from ``/proc/self/maps``) and

- ``advise``s it (``MADV_HUGEPAGE``): free, and the kernel's khugepaged thread then collapses it in
  the background, slowly (by default 16 MiB every 10 s: a 1M graph in ~12 minutes);
- ``collapse``s it on request (``MADV_COLLAPSE``, Linux 6.1+): now, synchronously, ~2 s of one core per
  GiB measured here, which a long-lived server does in a background thread (``fashrec serve``), and a
  one-shot command never does (its few queries would not win the time back).

Everything here only changes how memory is backed, never its contents: where the kernel, the C library
or the platform does not support a step, that step is skipped and the graph works as before.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

MADV_HUGEPAGE = 14   # <asm-generic/mman-common.h>
MADV_COLLAPSE = 25   # Linux 6.1+
HUGE_PAGE = 2 << 20  # x86-64 and arm64 (4 KiB base pages) PMD size
# Graph files from this size on are worth it (a 256 MiB block spans 65,536 base pages, far beyond any
# TLB); below it the graph is small enough that the misses cost little, and nothing changes.
ABOVE_BYTES = 256 << 20
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")
MAPS = Path("/proc/self/maps")
SMAPS = Path("/proc/self/smaps")

T = TypeVar("T")


@dataclass(frozen=True)
class Block:
    """An address range of this process's anonymous memory, trimmed inward to whole huge pages."""

    start: int
    length: int

    @property
    def huge_pages(self) -> int:
        return self.length // HUGE_PAGE

    def advise(self) -> bool:
        """Mark the range MADV_HUGEPAGE; False where the kernel refuses (no THP, or "never")."""
        return _madvise(self.start, self.length, MADV_HUGEPAGE)

    def huge_page_bytes(self, smaps: str | None = None) -> int:
        """How much of the mappings holding the range the kernel has on huge pages (AnonHugePages in
        ``smaps``, the text of /proc/self/smaps, read when None; 0 where there is no such file): what
        advise and collapse achieved."""
        if smaps is None:
            try:
                smaps = SMAPS.read_text()
            except OSError:
                return 0
        inside, kib = False, 0
        for line in smaps.splitlines():
            head = line.split(maxsplit=1)[0] if line.strip() else ""
            if "-" in head and not head.endswith(":"):   # a mapping's first line: "start-end perms ..."
                start, end = (int(part, 16) for part in head.split("-"))
                inside = start < self.start + self.length and end > self.start
            elif inside and head == "AnonHugePages:":
                kib += int(line.split()[1])
        return kib * 1024

    def collapse(self) -> bool:
        """Back the range with huge pages now (MADV_COLLAPSE); False where the kernel cannot (before
        6.1, THP "never", no free huge pages). A huge page at a time, so a concurrent search waits at
        most for one 2 MiB copy, and memory grows by at most one page while it runs."""
        done = True
        for offset in range(0, self.length, HUGE_PAGE):
            done = _madvise(self.start + offset, HUGE_PAGE, MADV_COLLAPSE) and done
        return done


def thp_mode() -> str:
    """The system's transparent huge page mode: "always", "madvise", "never", or "unsupported"."""
    try:
        text = THP_SETTING.read_text()
    except OSError:
        return "unsupported"
    chosen = [word.strip("[]") for word in text.split() if word.startswith("[")]
    return chosen[0] if chosen else "unsupported"


def anonymous_ranges(maps: str | None = None) -> list[tuple[int, int]]:
    """The private anonymous mappings and the heap of this process (``maps``: the text of /proc/self/maps, read when
    None), as sorted (start, end) pairs; [] where there is no such file."""
    if maps is None:
        try:
            maps = MAPS.read_text()
        except OSError:
            return []
    ranges = []
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        # address perms offset dev inode [path]: anonymous memory has inode 0 and no path, or is the
        # heap (malloc serves a block below its mmap threshold, up to 32 MiB, from there)
        name = fields[5].strip() if len(fields) == 6 else ""
        if len(fields) < 5 or fields[4] != "0" or name not in ("", "[heap]"):
            continue
        if not fields[1].startswith("rw") or fields[1][3] != "p":
            continue
        start, end = (int(part, 16) for part in fields[0].split("-"))
        ranges.append((start, end))
    return sorted(ranges)


def new_ranges(before: list[tuple[int, int]], after: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``after`` not covered by ``before`` (a new mapping may merge with an old neighbour
    into one line of the maps file, so whole lines cannot simply be compared)."""
    out = []
    for start, end in after:
        cursor = start
        for old_start, old_end in before:
            if old_end <= cursor or old_start >= end:
                continue
            if old_start > cursor:
                out.append((cursor, old_start))
            cursor = max(cursor, old_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def block_within(start: int, end: int) -> Block | None:
    """The whole huge pages inside [start, end), or None when there is not one."""
    first = -(-start // HUGE_PAGE) * HUGE_PAGE
    last = end // HUGE_PAGE * HUGE_PAGE
    return Block(first, last - first) if last > first else None


def allocated_by(call: Callable[[], T], at_least: int) -> tuple[T, Block | None]:
    """Run ``call``; also return the largest new anonymous range of at least ``at_least`` bytes it
    mapped (trimmed to huge pages), or None (not Linux, or no such range).

    Callers hold a lock around this (ann._LOAD_LOCK): another thread's large allocation during the call
    would look the same.
    """
    if not sys.platform.startswith("linux"):
        return call(), None
    before = anonymous_ranges()
    result = call()
    grown = [r for r in new_ranges(before, anonymous_ranges()) if r[1] - r[0] >= at_least]
    if not grown:
        return result, None
    start, end = max(grown, key=lambda r: r[1] - r[0])
    return result, block_within(start, end)


def collapse_in_background(block: Block, on_done: Callable[[bool], None] | None = None) -> threading.Thread:
    """Collapse ``block`` on a daemon thread (the madvise calls release the GIL, so requests go on)."""
    def run() -> None:
        done = block.collapse()
        if on_done is not None:
            on_done(done)

    thread = threading.Thread(target=run, name="fashrec-huge-pages", daemon=True)
    thread.start()
    return thread


_libc = None


def _madvise(start: int, length: int, advice: int) -> bool:
    global _libc
    if not sys.platform.startswith("linux") or length <= 0:
        return False
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            _libc.madvise.restype = ctypes.c_int
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    return _libc.madvise(start, length, advice) == 0

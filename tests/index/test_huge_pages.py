"""A large graph's memory on huge pages (fashrec.index.huge_pages): finding the block hnswlib filled,
advising and collapsing it, and that none of it changes a search's answer."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import numpy as np
import pytest

from fashrec.index import ann, huge_pages

MIB = 1 << 20
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="huge pages are Linux's")

MAPS = """\
00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/python3
01e00000-01f00000 rw-p 00000000 00:00 0           [heap]
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
7f0000400000-7f0000600000 ---p 00000000 00:00 0
7f0000600000-7f0000800000 rw-s 00000000 00:01 1024        /dev/zero (deleted)
7f0001000000-7f0001200000 rw-p 00000000 08:02 99          /tmp/mapped-1.bin
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0           [stack]
"""


def test_anonymous_ranges_keeps_only_private_writable_unnamed_mappings_and_the_heap():
    assert huge_pages.anonymous_ranges(MAPS) == [(0x01E00000, 0x01F00000), (0x7F0000000000, 0x7F0000400000)]


def test_new_ranges_finds_growth_merged_into_an_old_neighbour():
    before = [(0x1000, 0x3000), (0x9000, 0xA000)]
    # the kernel merged a new mapping with the old one below it, and mapped another one on its own
    after = [(0x1000, 0x8000), (0x9000, 0xA000), (0xC000, 0xD000)]
    assert huge_pages.new_ranges(before, after) == [(0x3000, 0x8000), (0xC000, 0xD000)]
    assert huge_pages.new_ranges(after, after) == []


def test_block_within_keeps_whole_huge_pages_only():
    page = huge_pages.HUGE_PAGE
    block = huge_pages.block_within(page + 4096, 4 * page + 100)
    assert (block.start, block.length, block.huge_pages) == (2 * page, 2 * page, 2)
    assert huge_pages.block_within(page + 4096, 2 * page + 4096) is None


@pytest.mark.parametrize("text, mode", [("always [madvise] never\n", "madvise"),
                                        ("[always] madvise never\n", "always"),
                                        ("always madvise [never]\n", "never"),
                                        ("", "unsupported")])
def test_thp_mode_reads_the_chosen_word(tmp_path, monkeypatch, text, mode):
    setting = tmp_path / "enabled"
    setting.write_text(text)
    monkeypatch.setattr(huge_pages, "THP_SETTING", setting)
    assert huge_pages.thp_mode() == mode


def test_thp_mode_without_the_setting_is_unsupported(tmp_path, monkeypatch):
    monkeypatch.setattr(huge_pages, "THP_SETTING", tmp_path / "absent")
    assert huge_pages.thp_mode() == "unsupported"


SMAPS = """\
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
Size:               4096 kB
AnonHugePages:      2048 kB
7f0000400000-7f0000600000 rw-p 00000000 00:00 0
AnonHugePages:      2048 kB
7f0001000000-7f0001200000 rw-p 00000000 08:02 99          /tmp/mapped-1.bin
AnonHugePages:         0 kB
"""


def test_huge_page_bytes_counts_the_mappings_that_hold_the_block():
    page = huge_pages.HUGE_PAGE
    assert huge_pages.Block(0x7F0000000000, page).huge_page_bytes(SMAPS) == 2048 * 1024
    assert huge_pages.Block(0x7F0000200000, 2 * page).huge_page_bytes(SMAPS) == 4096 * 1024  # spans both
    assert huge_pages.Block(0x7F0002000000, page).huge_page_bytes(SMAPS) == 0


@linux_only
def test_allocated_by_finds_the_mapping_a_call_made_and_collapse_backs_it_with_huge_pages():
    held = []

    def allocate():  # what hnswlib's malloc of a large block amounts to: a private anonymous mapping
        region = mmap.mmap(-1, 16 * MIB, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        region.write(b"\x01" * (16 * MIB))  # filled, as load_index fills it
        held.append(region)
        return region

    region, block = huge_pages.allocated_by(allocate, at_least=8 * MIB)
    assert region is held[0]
    assert block is not None and block.length >= 14 * MIB  # 16 MiB less at most one partial page each end
    address = np.frombuffer(region, dtype=np.uint8).ctypes.data
    assert address <= block.start and block.start + block.length <= address + 16 * MIB
    # nothing large was mapped by this call: nothing found
    assert huge_pages.allocated_by(lambda: 42, at_least=8 * MIB) == (42, None)

    if huge_pages.thp_mode() not in ("always", "madvise"):
        pytest.skip(f"transparent huge pages are {huge_pages.thp_mode()} here")
    assert block.advise()
    if not block.collapse():
        pytest.skip("this kernel cannot collapse on request (MADV_COLLAPSE is Linux 6.1+)")
    assert block.huge_page_bytes() >= block.length
    assert bytes(region[:4]) == b"\x01\x01\x01\x01" and bytes(region[-4:]) == b"\x01\x01\x01\x01"


def _graph_file(tmp_path: Path, n: int = 230_000, dim: int = 4) -> tuple[Path, np.ndarray]:
    """A 36 MiB graph: above glibc's largest mmap threshold (32 MiB), so its block is always a mapping
    of its own, as a large index's graph is (a smaller block may reuse memory freed before, which no
    maps file can tell apart). Few dimensions and a shallow build keep it to seconds."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = tmp_path / "vectors.hnsw"
    ann.save_hnsw(ann.build_hnsw(vectors, ef_construction=16, threads=2), path, n)
    return path, vectors


@linux_only
def test_a_large_graph_is_found_advised_and_collapsed_with_the_same_answers(tmp_path, monkeypatch):
    path, vectors = _graph_file(tmp_path)  # made "large" below
    queries = vectors[:20] + 0.05
    small = ann.load_hnsw(path, vectors.shape[1], len(vectors))
    assert ann.graph_block(small) is None  # under ABOVE_BYTES: loaded as before
    assert not ann.collapse_onto_huge_pages(small)

    monkeypatch.setattr(huge_pages, "ABOVE_BYTES", 1)
    large = ann.load_hnsw(path, vectors.shape[1], len(vectors))
    block = ann.graph_block(large)
    assert block is not None
    assert 0 < block.length <= path.stat().st_size  # the level-0 block, not some other mapping
    before = [ann.search(large, vectors, q, 10, ef=64).positions for q in queries]
    if huge_pages.thp_mode() in ("always", "madvise") and ann.collapse_onto_huge_pages(large):
        assert block.huge_page_bytes() >= block.length
    after = [ann.search(large, vectors, q, 10, ef=64).positions for q in queries]
    plain = [ann.search(small, vectors, q, 10, ef=64).positions for q in queries]
    for b, a, p in zip(before, after, plain):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(a, p)


def test_a_small_index_has_nothing_to_collapse(tmp_path):
    from fashrec.catalog import Product
    from fashrec.index import Index

    products = [Product(id=f"p{i}", image=f"{i}.png", image_path=Path(f"{i}.png"), title=f"thing {i}") for i in range(3)]
    vectors = np.eye(3, 8, dtype=np.float32)
    index = Index.from_products(products, vectors, vectors, tmp_path)
    assert index.collapse_onto_huge_pages() is False
    assert index.collapse_onto_huge_pages(background=True) is False

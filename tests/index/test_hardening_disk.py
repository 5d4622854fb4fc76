"""A full disk while indexing: refused up front when it is foreseeable, a clear error when it strikes
mid-write, and never a published generation with a truncated file.

Hostile campaign II, items 2 and 10 (full disk). hnswlib's ``save_index`` writes through a C++ stream
and ignores write errors: on a full disk it returned normally after writing 102,400 of 750,608 bytes,
and the checksum was then taken of the truncated file. Two real limits stand in for a full disk here:
a per-process file-size limit (RLIMIT_FSIZE: writes past it fail with EFBIG, the way they fail with
ENOSPC on a full disk) and, where this process may mount one, a small tmpfs.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from index_support import assert_usable, make_catalog

from fashrec.index import read_manifest
from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("full disk")


def limited(max_bytes: int):
    """A preexec_fn: files this process writes cannot grow past ``max_bytes`` (Python ignores SIGXFSZ,
    so the write fails with EFBIG instead of killing the process)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))


SAVE = textwrap.dedent("""
    import json, os, resource, sys
    import numpy as np
    from fashrec.errors import FashrecIndexError
    from fashrec.index import ann
    folder = sys.argv[1]
    graph = ann.build_hnsw(np.random.default_rng(0).random((500, 32), dtype=np.float32))
    graph.save_index(os.path.join(folder, "full.hnsw"))
    full = os.path.getsize(os.path.join(folder, "full.hnsw"))
    resource.setrlimit(resource.RLIMIT_FSIZE, (full // 2, full // 2))
    graph.save_index(os.path.join(folder, "raw.hnsw"))          # hnswlib itself: returns normally
    result = {"full": full, "raw": os.path.getsize(os.path.join(folder, "raw.hnsw"))}
    try:
        ann.save_hnsw(graph, __import__("pathlib").Path(folder) / "checked.hnsw", 500)
        result["checked"] = "saved"
    except FashrecIndexError as exc:
        result["checked"] = exc.message
    print(json.dumps(result))
""")


def test_a_truncated_graph_save_is_caught_before_anything_is_published(tmp_path):
    run = subprocess.run([sys.executable, "-c", SAVE, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["raw"] < result["full"]   # the defect: a silent short write
    assert "could not be written completely" in result["checked"] and "checked.hnsw" in result["checked"]


@pytest.fixture()
def built(tmp_path, tiny_model, fashrec_env) -> tuple[Path, Path]:
    catalog = make_catalog(tmp_path / "shop", 12)
    return catalog, Path(build_index(catalog, model=str(tiny_model)).index)


@pytest.mark.parametrize("where", ["copying the item store", "growing the item store"])
def test_a_write_failing_mid_run_is_a_clear_error_and_the_index_stays(built, fashrec_env, where):
    catalog, folder = built
    manifest = read_manifest(folder)
    before = sorted(p.name for p in folder.iterdir())
    size = (folder / manifest.items_file).stat().st_size
    make_catalog(catalog.parent, 60)                      # 48 new products: the store must grow
    limit = size // 2 if where.startswith("copying") else size + 4096
    run = subprocess.run([sys.executable, "-m", "fashrec", "index", str(catalog), "--json"], env=fashrec_env,
                         capture_output=True, text=True, timeout=300, preexec_fn=limited(limit))
    assert run.returncode == 4 and run.stdout == "", run.stderr
    error = json.loads(run.stderr)
    assert error["error"] == "index" and f"could not write the index at {folder}" in error["message"]
    reason = "File too large" if where.startswith("copying") else "disk I/O error"   # the OS's, SQLite's
    assert reason in error["message"] and "still published" in error["message"]
    assert "free" in error["hint"]
    assert sorted(p.name for p in folder.iterdir()) == before   # its half-written files are gone
    assert read_manifest(folder).generation == manifest.generation
    assert_usable(folder, 12)
    assert build_index(catalog).total == 60                 # and with room again, it completes


@pytest.fixture()
def small_disk(tmp_path):
    """A 4 MiB tmpfs (skipped where this process may not mount file systems)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_too_little_free_space_is_refused_before_writing(small_disk, tiny_model, fashrec, tmp_path):
    catalog = make_catalog(tmp_path / "shop", 12)
    folder = small_disk / "idx"
    assert fashrec("index", catalog, "--index", folder, "--model", tiny_model).returncode == 0
    generation = read_manifest(folder).generation
    free = os.statvfs(small_disk)
    filler = small_disk / "filler.bin"
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 24 * 1024))   # leave 24 KiB
    make_catalog(catalog.parent, 40)
    run = fashrec("index", catalog, "--index", folder, "--json")
    assert run.returncode == 4 and run.stdout == "", run.stderr
    error = json.loads(run.stderr)
    assert "not enough free space" in error["message"] and str(folder) in error["message"]
    assert "needed" in error["message"] and "free" in error["message"] and error["hint"]
    assert read_manifest(folder).generation == generation
    assert_usable(folder, 12)
    assert filler.stat().st_size > 0
    filler.unlink()
    assert fashrec("index", catalog, "--index", folder, "--json").returncode == 0
    assert_usable(folder, 40)

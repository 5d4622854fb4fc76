"""Readers during publishes: a reader never fails because a writer published while it was opening.

Hostile campaign II, item 5: the writer used to delete the previous generation right after the
manifest swap, so a reader that had read the old manifest found its files gone (FileNotFoundError,
or exit 4 "index file missing" on a healthy index). The writer now keeps the previous generation,
and a reader that still loses the race (two publishes while it opened) reads the manifest again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from index_support import assert_usable, make_catalog

import fashrec.index.store as store
from fashrec.index import open_index, read_manifest
from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("concurrency")


def reprice(catalog: Path, price: float) -> Path:
    """A metadata-only edit: the next run publishes a new generation without encoding anything."""
    rows = [json.loads(line) for line in catalog.read_text().splitlines()]
    catalog.write_text("".join(json.dumps({**r, "price": price}) + "\n" for r in rows))
    return catalog


@pytest.fixture()
def built(tmp_path, tiny_model, fashrec_env, store) -> tuple[Path, Path]:
    """On both stores: on lance, several processes read one dataset while a writer adds versions."""
    catalog = make_catalog(tmp_path / "shop", 12)
    return catalog, Path(build_index(catalog, model=str(tiny_model), store=store).index)


def pause_reader_after_manifest(monkeypatch, publishes: int, catalog: Path) -> list[int]:
    """Make the next reader stop right after reading the manifest while a writer publishes
    ``publishes`` times: the interleaving that failed one open in a thousand, made certain."""
    seen: list[int] = []
    real = store.read_manifest

    def paused(folder):
        manifest = real(folder)
        seen.append(manifest.generation)
        if len(seen) == 1:
            for n in range(publishes):
                build_index(reprice(catalog, 10.0 + n))
        return manifest

    monkeypatch.setattr(store, "read_manifest", paused)
    return seen


@pytest.mark.parametrize("publishes", [1, 2, 3])
def test_a_reader_paused_across_publishes_still_opens(built, monkeypatch, publishes):
    catalog, folder = built
    generation = read_manifest(folder).generation
    seen = pause_reader_after_manifest(monkeypatch, publishes, catalog)
    index = open_index(folder)
    assert len(index) == 12 and index.nearest(index.image_vectors[2], 3).positions[0] == 2
    # One publish: the generation it read is still there. More: it read the manifest once more.
    assert seen[0] == generation
    assert index.manifest.generation == (generation if publishes == 1 else generation + publishes)
    assert index.get("p0").price == (None if publishes == 1 else 10.0 + publishes - 1)


def test_the_previous_generation_stays_and_the_one_before_goes(built, store):
    catalog, folder = built
    for n in range(3):
        build_index(reprice(catalog, 20.0 + n))
    manifest = read_manifest(folder)
    g = manifest.generation
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([".lock", "manifest.json", f"items-{g}.sqlite", f"vectors-{g}.hnsw", f"mapped-{g}.bin",
                            f"items-{g - 1}.sqlite", f"vectors-{g - 1}.hnsw", f"mapped-{g - 1}.bin",
                            *(["lance"] if store == "lance" else [])])
    assert [r["generation"] for r in manifest.retained] == [g - 1]
    assert_usable(folder, 12)


READER = textwrap.dedent("""
    import json, os, sys
    from fashrec.index import open_index
    folder, stop, progress = sys.argv[1], sys.argv[2], sys.argv[3]
    opens, failures, seen = 0, [], set()
    with open(progress, "a") as told:
        while not os.path.exists(stop):
            try:
                index = open_index(folder)
                assert len(index) >= 12
                index.nearest(index.image_vectors[0], 3)
                opens += 1
                seen.add(index.manifest.generation)
                told.write(f"{index.manifest.generation}\\n")
            except Exception as exc:  # every failure counts, whatever its kind
                failures.append(f"{type(exc).__name__}: {exc}")
                told.write(f"failed: {failures[-1]}\\n")
            told.flush()
    print(json.dumps({"opens": opens, "failures": failures, "seen": sorted(seen)}))
""")
WAIT_S = 300   # for a reader to open a generation: generous, so only a stuck reader fails, and loudly


def wait_until_each_reader_opened(readers: list, progress: list[Path], generation: int) -> None:
    """Until every reader has answered from ``generation`` (or a newer one): the writer publishes the next
    only then, so each reader opens every generation however slow this machine is today."""
    deadline = time.monotonic() + WAIT_S
    for reader, told in zip(readers, progress):
        while True:
            lines = told.read_text().splitlines() if told.exists() else []
            opened = [int(line) for line in lines if not line.startswith("failed")]
            if opened and max(opened) >= generation:
                break
            last_failure = next((line for line in reversed(lines) if line.startswith("failed")), None)
            if reader.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"reader {reader.pid} never opened generation {generation} in {WAIT_S} s "
                            f"(exited: {reader.poll()}, {len(opened)} opens, newest {max(opened, default=None)}, "
                            f"last failure: {last_failure}; stderr: {_stderr(reader)})")
            time.sleep(0.02)


def _stderr(reader: subprocess.Popen) -> str:
    if reader.poll() is None:
        return "(still running)"
    return reader.stderr.read()[-2000:]


def test_readers_in_a_loop_while_a_writer_reindexes_20_times(built, tiny_model, fashrec_env, tmp_path, store):
    """Two readers open the index in a loop, without pause, while a writer re-indexes 20 times: every open
    answers from a complete generation. The writer publishes generation g+1 only once each reader has
    opened g, so every reader opens all 21 generations, and keeps opening while each next one is written."""
    catalog, folder = built
    stop = tmp_path / "stop"
    progress = [tmp_path / f"reader-{i}.opened" for i in range(2)]
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(folder), str(stop), str(told)], env=fashrec_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for told in progress]
    try:
        generation = read_manifest(folder).generation
        for n in range(20):
            wait_until_each_reader_opened(readers, progress, generation + n)
            if n % 5 == 4:   # now and then a new product, so some runs encode too
                make_catalog(catalog.parent, 12 + n // 5 + 1)
            report = build_index(reprice(catalog, 30.0 + n))
            assert report.total >= 12
        assert read_manifest(folder).generation == generation + 20
        wait_until_each_reader_opened(readers, progress, generation + 20)
    finally:
        stop.touch()
        outputs = [r.communicate(timeout=WAIT_S) for r in readers]
    results = [json.loads(out) for out, _ in outputs]
    failures = [f for r in results for f in r["failures"]]
    assert failures == [], failures[:5]
    assert all(r["seen"] == list(range(generation, generation + 21)) for r in results), [r["seen"] for r in results]
    assert all(r["opens"] >= 21 for r in results)

"""Damage inside the item store and the manifest: found on open, by `fashrec index --check`, and by
every plain `fashrec index` run, which repairs it.

Hostile campaign II, items 3, 4 and 9: a price changed to 0.01 or a zeroed vector inside
``items-N.sqlite`` was served silently and never repaired (the content digests were unchanged); a
manifest count of 10, a dimension of 512 or 10^12, a truncated vector blob, or a garbled graph under a
manifest without checksum were all "already up to date"; rows whose metadata is ``{}``, ``[1]`` or
whose attributes are ``5`` gave KeyError/AttributeError tracebacks.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from index_support import assert_usable, make_catalog

from fashrec.errors import FashrecIndexError
from fashrec.index import open_index, read_manifest
from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("corrupt index state")


@pytest.fixture()
def built(tmp_path, tiny_model, fashrec_env) -> tuple[Path, Path]:
    rows = [{"id": f"p{i}", "image": f"img/{i}.jpg", "title": f"item {i}", "price": 40.0 + i,
             "attributes": {"color": ["red", "blue", "green"][i % 3]}} for i in range(12)]
    catalog = make_catalog(tmp_path / "shop", 12)
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return catalog, Path(build_index(catalog, model=str(tiny_model)).index)


def store(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / read_manifest(folder).items_file)


def edit_row(folder: Path, item_id: str, damage: str, *, legacy: bool = False) -> None:
    """Damage one row the way a disk error or a hand edit would; ``legacy`` also drops the row's
    checksum, as in an index written before rows had one."""
    conn = store(folder)
    with conn:
        meta, vec = conn.execute("SELECT meta, image_vec FROM items WHERE id = ?", (item_id,)).fetchone()
        if damage == "price 0.01":
            conn.execute("UPDATE items SET meta = ? WHERE id = ?", (json.dumps({**json.loads(meta), "price": 0.01}),
                                                                    item_id))
        elif damage == "zeroed vector":
            conn.execute("UPDATE items SET image_vec = ? WHERE id = ?", (bytes(len(vec)), item_id))
        elif damage == "truncated vector":
            conn.execute("UPDATE items SET image_vec = ? WHERE id = ?", (vec[: len(vec) // 2], item_id))
        else:  # a metadata document of the wrong shape
            conn.execute("UPDATE items SET meta = ? WHERE id = ?", (damage, item_id))
        if legacy:
            conn.execute("UPDATE items SET row_crc = NULL")
    conn.close()


ROW_DAMAGE = ["price 0.01", "zeroed vector", "truncated vector", "{}", "[1]",
              '{"id": "p3", "image": "x.jpg", "attributes": 5}']


@pytest.mark.parametrize("legacy", [False, True], ids=["checksummed", "legacy-row"])
@pytest.mark.parametrize("damage", ROW_DAMAGE)
def test_a_damaged_row_is_refused_checked_and_repaired(built, damage, legacy):
    catalog, folder = built
    original = open_index(folder)
    vector, price = original.image_vectors[3].copy(), original.get("p3").price
    edit_row(folder, "p3", damage, legacy=legacy)
    if legacy and damage == "price 0.01":
        # Without a checksum, a plausible edit cannot be told from the catalog's own price: the next
        # index run compares it with the catalog and puts it right.
        assert open_index(folder).get("p3").price == 0.01
    else:
        with pytest.raises(FashrecIndexError, match="damaged") as refused:
            open_index(folder)
        assert "'p3'" in refused.value.message and read_manifest(folder).items_file in refused.value.message
        assert "fashrec index" in refused.value.hint
        from fashrec.index.audit import audit_index
        found = audit_index(folder)
        assert not found.clean and list(found.damaged) == ["p3"]
    report = build_index(catalog)
    assert report.notes != ["index already up to date"]
    repaired = open_index(folder)
    assert repaired.get("p3").price == price == 43.0
    assert np.allclose(repaired.image_vectors[repaired.position("p3")], vector, atol=1e-6)
    assert build_index(catalog).notes == ["index already up to date"]
    from fashrec.index.audit import audit_index
    assert audit_index(folder).clean


@pytest.mark.parametrize("damage", ["{}", "[1]", '{"id": "p3", "image": "x.jpg", "attributes": 5}'])
def test_a_row_of_the_wrong_shape_is_exit_4_through_the_cli(built, fashrec, damage):
    catalog, folder = built
    edit_row(folder, "p3", damage, legacy=True)
    for command in (["info"], ["search", "red"]):
        run = fashrec(*command, "--index", folder, "--json")
        assert run.returncode == 4 and "Traceback" not in run.stderr, run.stderr
        error = json.loads(run.stderr)
        assert error["error"] == "index" and "damaged" in error["message"]


def edit_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key, value in changes.items():
        if key == "dimension":
            manifest["encoder"]["dimension"] = value
        elif key == "crc32":
            manifest["hnsw"].pop("crc32")
        else:
            manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))


def garble_graph(folder: Path) -> None:
    path = folder / read_manifest(folder).vectors_file
    data = bytearray(path.read_bytes())
    middle, block = len(data) // 2, min(4096, len(data) // 4)
    data[middle:middle + block] = b"\xff" * block   # same size: loads, then crashes a search
    path.write_bytes(bytes(data))


MANIFEST_DAMAGE = {"count 10": {"count": 10}, "dimension 512": {"dimension": 512},
                   "dimension 10^12": {"dimension": 10 ** 12}, "no checksum, garbled graph": {"crc32": None}}


@pytest.mark.parametrize("damage", MANIFEST_DAMAGE)
def test_a_damaged_manifest_is_never_already_up_to_date(built, damage):
    catalog, folder = built
    edit_manifest(folder, **MANIFEST_DAMAGE[damage])
    if damage.startswith("no checksum"):
        garble_graph(folder)
    else:
        with pytest.raises(FashrecIndexError):   # in-process: a garbled graph may crash a search
            open_index(folder)
    from fashrec.index.audit import audit_index
    assert not audit_index(folder).clean
    report = build_index(catalog)
    assert "index already up to date" not in report.notes and report.total == 12
    assert (report.added, report.updated) == (0, 0)   # repaired from the stored rows: nothing re-encoded
    manifest = read_manifest(folder)
    assert manifest.count == 12 and manifest.encoder["dimension"] == 32 and "crc32" in manifest.hnsw
    assert_usable(folder, 12)
    assert build_index(catalog).notes == ["index already up to date"]


def test_index_check_reports_and_changes_nothing(built, fashrec):
    catalog, folder = built
    run = fashrec("index", "--check", "--index", folder, "--json")
    assert run.returncode == 0, run.stderr
    assert run.json()["ok"] is True and run.json()["items"] == 12
    edit_row(folder, "p5", "zeroed vector")
    edit_manifest(folder, count=10)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    run = fashrec("index", catalog, "--check", "--json")
    assert run.returncode == 4, run.stderr
    report = run.json()
    assert report["ok"] is False and report["damaged"] == {"p5": "fails its checksum"}
    assert any("manifest says 10 items" in p for p in report["problems"])
    assert "fashrec index" in report["hint"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    run = fashrec("index", catalog, "--check")      # for a person: the same, in words
    assert run.returncode == 4 and "p5" in run.stdout and "fails its checksum" in run.stdout


def test_damage_is_refused_by_search_and_repaired_by_a_plain_index_run(built, fashrec):
    """Items 3 and 4 through the commands: a price edited to 0.01 was served, and a plain `fashrec index`
    on a manifest that says 10 items answered "already up to date"."""
    catalog, folder = built
    edit_row(folder, "p3", "price 0.01")
    run = fashrec("search", "item", "--index", folder, "--json")
    assert run.returncode == 4 and run.stdout == "", run.stderr
    assert "'p3'" in json.loads(run.stderr)["message"]
    edit_manifest(folder, count=10)
    run = fashrec("index", catalog, "--json")
    assert run.returncode == 0, run.stderr
    assert "index already up to date" not in run.json()["notes"] and run.json()["total"] == 12
    run = fashrec("search", "item", "-k", "12", "--index", folder, "--json")
    assert run.returncode == 0, run.stderr
    prices = {r["id"]: r["price"] for r in run.json()["results"]}
    assert prices["p3"] == 43.0 and len(prices) == 12
    assert fashrec("index", "--check", "--index", folder, "--json").json()["ok"] is True

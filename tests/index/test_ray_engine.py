"""`--engine ray`: the images to encode go through a Ray Data pipeline on a local Ray runtime (2 CPUs),
and the index it writes is the one the local path writes (same ids, same vectors, same reports).

One Ray runtime serves the in-process tests of this module (starting one costs seconds); the
end-to-end test starts its own, as the command does."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import ray
from PIL import Image

from fashrec.errors import FashrecIndexError
from fashrec.index import open_index, read_manifest
from fashrec.index.build import build_index, choose_engine
from fashrec.index.ray_engine import RayEngine
from index_support import make_catalog


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture()
def shop(tmp_path, fashrec_env):
    """11 products, one of them (line 6) with a corrupt image; a few batches of 3 for two workers."""
    catalog = make_catalog(tmp_path, 11)
    (tmp_path / "img" / "5.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return tmp_path, catalog


def vectors_by_id(folder) -> dict[str, np.ndarray]:
    index = open_index(folder)
    return {index.products[i].id: np.concatenate([index.image_vectors[i], index.text_vectors[i]])
            for i in range(len(index))}


def assert_same_vectors(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    cosines = [float(a[k] @ b[k]) / 2 for k in a]   # two unit vectors per item, concatenated
    assert min(cosines) >= 0.9999, min(cosines)


def skipped(report) -> list[tuple]:
    return sorted((e.path, e.line, e.field, e.item_id, e.message) for e in report.skipped)


def test_ray_index_equals_local_and_reports_bad_images_alike(shop, tiny_model, local_ray):
    folder, catalog = shop
    local = build_index(catalog, folder / "local", model=str(tiny_model), batch_size=3, export_onnx=False)
    on_ray = build_index(catalog, folder / "ray", model=str(tiny_model), batch_size=3, export_onnx=False,
                         engine=RayEngine(workers=2))
    assert (on_ray.added, on_ray.total) == (local.added, local.total) == (10, 10)
    assert on_ray.engine["engine"] == "ray" and on_ray.engine["workers"] == 2 and on_ray.engine["images"] == 11
    assert_same_vectors(vectors_by_id(folder / "local"), vectors_by_id(folder / "ray"))
    assert skipped(on_ray) == skipped(local)
    assert [(e.line, e.field, e.item_id) for e in on_ray.skipped] == [(6, "image", "p5")]
    assert str(catalog) in on_ray.skipped[0].path

    # Incremental: a changed image and a new product are all that travels to Ray.
    lines = catalog.read_text()
    make_catalog(folder, 1, start=11)   # writes img/11.jpg and the one line of p11
    catalog.write_text(lines + catalog.read_text())
    Image.new("RGB", (48, 48), (250, 250, 0)).save(folder / "img" / "2.jpg")
    again = build_index(catalog, folder / "ray", batch_size=3, export_onnx=False, engine=RayEngine(workers=2))
    assert (again.added, again.updated, again.unchanged) == (1, 1, 9)
    assert again.engine["images"] == 3   # the two changes, and the bad image tried again
    build_index(catalog, folder / "local", batch_size=3, export_onnx=False)
    assert_same_vectors(vectors_by_id(folder / "local"), vectors_by_id(folder / "ray"))


def test_dead_workers_are_survived_or_fail_the_run_cleanly(shop, tiny_model, local_ray):
    folder, catalog = shop
    drill = folder / "drill"
    drill.mkdir()
    (drill / "kills").write_text("1 2")          # one worker SIGKILLs itself at its second batch
    survived = build_index(catalog, folder / "ray", model=str(tiny_model), batch_size=2, export_onnx=False,
                           engine=RayEngine(workers=2, drill=drill))
    assert len((drill / "killed").read_text().split()) == 1 and (drill / "kills").read_text() == "0 2"
    assert survived.total == 10
    build_index(catalog, folder / "local", model=str(tiny_model), export_onnx=False)
    assert_same_vectors(vectors_by_id(folder / "local"), vectors_by_id(folder / "ray"))

    # Workers that die on every try end the run; the previous generation stays published and readable.
    before = read_manifest(folder / "ray").generation
    (drill / "kills").write_text("1000 1")
    Image.new("RGB", (48, 48), (0, 250, 250)).save(folder / "img" / "0.jpg")
    with pytest.raises(FashrecIndexError, match="nothing was published"):
        build_index(catalog, folder / "ray", batch_size=2, export_onnx=False,
                    engine=RayEngine(workers=2, drill=drill))
    assert read_manifest(folder / "ray").generation == before
    assert len(open_index(folder / "ray")) == 10


def test_engine_options_are_checked_before_anything_runs():
    with pytest.raises(Exception, match="unknown engine 'spark'"):
        choose_engine("spark")
    with pytest.raises(Exception, match="need --engine ray"):
        choose_engine("local", address="auto")


def test_index_command_on_ray_end_to_end(fashrec, fashrec_env, small_catalog, tiny_model, tmp_path):
    """The real command, its own local runtime, two workers and a worker killed mid-run by the drill."""
    drill = tmp_path / "drill"
    drill.mkdir()
    (drill / "kills").write_text("1 1")
    fashrec_env["FASHREC_RAY_KILL_DRILL"] = str(drill)
    plain = fashrec("index", small_catalog, "--model", tiny_model, "--index", tmp_path / "plain",
                    "--runtime", "torch", "--json")
    assert plain.returncode == 0, plain.stderr
    run = fashrec("index", small_catalog, "--model", tiny_model, "--index", tmp_path / "ray", "--runtime",
                  "torch", "--engine", "ray", "--ray-workers", "2", "--batch-size", "4", "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    assert report["engine"]["engine"] == "ray" and report["engine"]["address"] == "local"
    assert report["added"] == plain.json()["added"] == 24
    assert len((drill / "killed").read_text().split()) == 1
    assert_same_vectors(vectors_by_id(tmp_path / "plain"), vectors_by_id(tmp_path / "ray"))

    bad = fashrec("index", small_catalog, "--ray-address", "auto", "--json")
    assert bad.returncode == 2 and "need --engine ray" in json.loads(bad.stderr)["message"]
    shutil.rmtree(drill)

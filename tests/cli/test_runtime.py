"""End to end through the real command: `fashrec index` exports the encoder once for torch-free queries,
queries use it by default and answer as torch does, `--runtime` picks the path, and every way the fast
path can be unavailable (no export, a damaged one, an unwritable export folder, an index built before
exports existed) falls back to torch with a note instead of a wrong answer."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def ids_and_scores(run) -> tuple[list[str], list[float]]:
    assert run.returncode == 0, run.stderr
    data = run.json()
    # Exact matches, then the labelled near misses: a short answer lists few results (issue 11).
    results = data["results"] + data.get("alternatives", [])
    assert results, data
    return [r["id"] for r in results], [r["score"] for r in results]


@pytest.fixture()
def indexed(fashrec, small_catalog, tiny_model):
    run = fashrec("index", small_catalog, "--model", tiny_model, "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    assert report["onnx"]["ok"] and report["onnx"]["status"] in ("exported", "found")
    return small_catalog.parent / "catalog.fashrec-index"


def anchor_of(small_catalog):
    return sorted((small_catalog.parent / "images").iterdir())[3]


def test_queries_run_on_onnx_and_answer_as_torch_does(fashrec, indexed, small_catalog):
    image = anchor_of(small_catalog)
    for args in (("similar", image), ("search", "red dress", "--planner", "none"),
                 ("refine", image, "but in black", "--planner", "rules")):
        fast = fashrec(*args, "--index", indexed, "-k", "8", "--json")
        torch = fashrec(*args, "--index", indexed, "-k", "8", "--json", "--runtime", "torch")
        assert "using torch" not in fast.stderr, fast.stderr
        fast_ids, fast_scores = ids_and_scores(fast)
        torch_ids, torch_scores = ids_and_scores(torch)
        assert fast_ids == torch_ids, args
        assert max(abs(a - b) for a, b in zip(fast_scores, torch_scores)) < 1e-3
    info = fashrec("info", "--index", indexed, "--json").json()
    assert info["query_runtime"]["runtime"] == "onnx"


def test_runtime_onnx_fails_instead_of_falling_back(fashrec, indexed, small_catalog, fashrec_env, tmp_path):
    fashrec_env["FASHREC_EXPORTS"] = str(tmp_path / "empty-exports")
    run = fashrec("similar", anchor_of(small_catalog), "--index", indexed, "--json", "--runtime", "onnx")
    assert run.returncode == 5, run.stderr  # model missing or unloadable
    assert "ONNX runtime cannot serve" in json.loads(run.stderr.strip().splitlines()[-1])["message"]
    bad = fashrec("similar", anchor_of(small_catalog), "--index", indexed, "--runtime", "jax")
    assert bad.returncode == 2 and "unknown encoder runtime" in bad.stderr
    fashrec_env["FASHREC_RUNTIME"] = "jax"
    assert fashrec("search", "shirt", "--index", indexed).returncode == 2


def test_a_damaged_export_falls_back_to_torch(fashrec, indexed, small_catalog, fashrec_env, shared_exports,
                                              tmp_path):
    own = tmp_path / "exports"
    shutil.copytree(shared_exports, own)
    fashrec_env["FASHREC_EXPORTS"] = str(own)
    tower = next(own.glob("*/image.onnx"))
    tower.write_bytes(tower.read_bytes()[:1000])
    image = anchor_of(small_catalog)
    run = fashrec("similar", image, "--index", indexed, "-k", "5", "--json")
    assert "using torch" in run.stderr and "truncated" in run.stderr
    torch = fashrec("similar", image, "--index", indexed, "-k", "5", "--json", "--runtime", "torch")
    assert ids_and_scores(run) == ids_and_scores(torch)
    info = fashrec("info", "--index", indexed, "--json").json()
    assert info["query_runtime"]["runtime"] == "torch" and "truncated" in info["query_runtime"]["why"]
    # The next index update notices and exports again.
    again = fashrec("index", small_catalog, "--json").json()
    assert again["onnx"]["status"] == "exported" and "index already up to date" in again["notes"]
    assert "using torch" not in fashrec("similar", image, "--index", indexed, "--json").stderr


def test_an_index_built_before_exports_gains_the_fast_path_on_its_next_update(fashrec, small_catalog, tiny_model,
                                                                             fashrec_env, tmp_path):
    fashrec_env["FASHREC_EXPORTS"] = str(tmp_path / "fresh-exports")
    old = fashrec("index", small_catalog, "--model", tiny_model, "--runtime", "torch", "--json")
    assert old.returncode == 0 and old.json()["onnx"] is None   # what an index from before looks like
    image = anchor_of(small_catalog)
    before = fashrec("similar", image, "-k", "5", "--json")
    assert "using torch: no ONNX export" in before.stderr
    update = fashrec("index", small_catalog, "--json").json()
    assert "index already up to date" in update["notes"] and update["onnx"]["status"] == "exported"
    assert any("exported for torch-free queries" in n for n in update["notes"])
    after = fashrec("similar", image, "-k", "5", "--json")
    assert "using torch" not in after.stderr and ids_and_scores(after)[0] == ids_and_scores(before)[0]
    assert fashrec("index", small_catalog, "--json").json()["onnx"]["status"] == "found"


def test_an_export_that_cannot_be_written_never_fails_the_build(fashrec, small_catalog, tiny_model, fashrec_env,
                                                                tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    fashrec_env["FASHREC_EXPORTS"] = str(blocker)
    run = fashrec("index", small_catalog, "--model", tiny_model, "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    assert report["total"] == 24 and not report["onnx"]["ok"]
    assert any(n.startswith("queries will use torch") for n in report["notes"])
    query = fashrec("refine", anchor_of(small_catalog), "in black", "--planner", "rules", "--json")
    answer = query.json()
    assert query.returncode == 0 and "using torch" in query.stderr
    assert answer["results"] + answer.get("alternatives", [])


def test_a_query_on_the_fast_path_never_imports_torch(fashrec, indexed, small_catalog, fashrec_env):
    fashrec_env["PYTHONPROFILEIMPORTTIME"] = "1"  # python -X importtime: every import on stderr
    for args in (("refine", anchor_of(small_catalog), "in black", "--planner", "rules"),
                 ("search", "red dress"), ("similar", anchor_of(small_catalog))):
        run = fashrec(*args, "--index", indexed, "--json")
        assert run.returncode == 0, run.stderr[-2000:]
        modules = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()
                   if line.startswith("import time:")}
        assert "onnxruntime" in modules, args
        assert not modules & {"torch", "open_clip", "torchvision", "llama_cpp", "fashrec.train",
                              "fashrec.cli.eval_cmd", "fashrec.cli.chat_cmd"}, args

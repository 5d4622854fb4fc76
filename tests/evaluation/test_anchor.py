"""`fashrec eval anchor`: readings scored against labels (accuracy, calibration, confusions, joint), end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashrec.evaluation.anchor import calibration_table, score_attribute, score_readings
from fashrec.evaluation.refine import split_catalog


def test_accuracy_counts_missing_guesses_as_wrong():
    s = score_attribute("color", ["red", "blue", "red", None], [("red", 0.9), None, ("blue", 0.3), ("red", 1.0)])
    assert s.items == 3                       # the unlabelled anchor is not scored
    assert s.accuracy == pytest.approx(1 / 3)
    assert s.coverage == pytest.approx(2 / 3)
    assert s.confident_accuracy == 1.0 and s.confident_share == pytest.approx(1 / 3)
    # two errors: the wrong guess and the missing one
    assert s.confusions == [("red", "blue", 1, 0.5)]


def test_unsure_guesses_are_scored_with_the_values_they_offer():
    truth = ["red", "blue", "green", "red"]
    guesses = [("red", 0.9, ()), ("navy", 0.4, (("blue", 0.3),)), ("teal", 0.2, (("olive", 0.1),)),
               ("red", 0.45)]
    s = score_attribute("color", truth, guesses)
    assert s.unsure_share == 0.75                 # three of four below the keep threshold (0.5)
    assert s.unsure_accuracy == pytest.approx(1 / 3)
    assert s.unsure_offered == pytest.approx(2 / 3)   # blue was offered, green was not
    assert s.unsure_options == pytest.approx(5 / 3)
    assert s.kept_wrong == 0.0                    # the one kept guess is right
    wrong = score_attribute("color", truth, [("blue", 0.9), *guesses[1:]])
    assert wrong.kept_wrong == 0.25
    assert s.to_dict()["unsure"]["threshold"] == 0.5


def test_calibration_bins_and_ece():
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, True, True, False])
    bins, ece = calibration_table(conf, correct)
    filled = [b for b in bins if b.count]
    assert [b.count for b in filled] == [2, 2]
    assert filled[0].accuracy == 0.5 and filled[1].accuracy == 1.0
    assert ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert sum(b.count for b in bins) == 4   # confidence 1.0 falls in the last bin


def test_joint_needs_every_attribute_right():
    truth = [{"category": "shirts", "color": "blue", "gender": "men"},
             {"category": "shirts", "color": "red", "gender": "men"},
             {"category": "shirts", "color": None, "gender": "men"}]
    readings = [{"category": ("shirts", 0.9), "color": ("blue", 0.8), "gender": ("men", 0.99)},
                {"category": ("shirts", 0.9), "color": ("blue", 0.8), "gender": ("men", 0.99)},
                {"category": ("shirts", 0.9), "gender": ("men", 0.99)}]
    report = score_readings("test", truth, readings, attributes=["category", "color", "gender"],
                            joint=["category", "color", "gender"], milliseconds=[1.0, 2.0, 3.0])
    assert report.joint == 0.5 and report.joint_items == 2     # the anchor without a colour label is left out
    assert report.joint_kept_wrong == 0.5                       # blue for red, at 0.8: kept, so not asked
    assert report.read_ms == 2.0
    assert report.attributes["color"].accuracy == 0.5 and report.attributes["category"].accuracy == 1.0
    with pytest.raises(ValueError):
        score_readings("x", truth, readings[:1], attributes=["color"], joint=[])


def _catalog_with_a_relabelled_copy(tmp_path):
    """A drawn shop where one evaluation product reuses an indexed product's photo under other labels."""
    from fashrec.demo import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    _, indexed, anchors = split_catalog(catalog, tmp_path / "probe")
    rows = [json.loads(line) for line in catalog.read_text().splitlines()]
    donor = next(r for r in rows if r["id"] == indexed[0].id)
    copy = next(r for r in rows if r["id"] == anchors[0].id)
    copy["image"] = donor["image"]
    copy["attributes"] = {**donor["attributes"], "color": "mauve-ish" if donor["attributes"].get("color") != "mauve-ish"
                          else "teal"}
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return catalog, len(anchors)


def test_eval_anchor_end_to_end(fashrec, tmp_path, tiny_model):
    catalog, n_anchors = _catalog_with_a_relabelled_copy(tmp_path)
    run = fashrec("eval", "anchor", catalog, "--model", tiny_model, "--workdir", tmp_path / "work", "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    assert report["anchors"] == n_anchors and report["indexed"] == 160 - n_anchors
    assert [r["reader"] for r in report["readers"]] == ["shipped", "baseline (blend confidence)", "vote only",
                                                        "zero-shot only"]
    assert report["joint"] == ["category", "color", "gender"] and report["runtime"] in ("onnx", "torch")
    for reader in report["readers"]:
        assert reader["ms_per_anchor"] >= reader["read_ms"] > 0
        joint_bound = min(reader["attributes"][a]["accuracy"] for a in report["joint"])
        assert 0 <= reader["joint"] <= joint_bound
        for attr in reader["attributes"].values():
            guessed = round(attr["coverage"] * attr["items"])
            assert sum(b["count"] for b in attr["calibration"]) == guessed
            right = sum(b["count"] * b["accuracy"] for b in attr["calibration"] if b["count"])
            assert right == pytest.approx(attr["accuracy"] * attr["items"], abs=0.01)  # both rounded in JSON
        for attr in reader["attributes"].values():
            unsure = attr["unsure"]
            below = sum(b["count"] for b in attr["calibration"] if float(b["bin"].split("-")[1]) <= 0.5)
            assert unsure["share"] == pytest.approx(below / attr["items"], abs=1e-3)
            if unsure["share"]:    # the value is always offered, so offering more can only help
                assert unsure["accuracy"] <= unsure["offered_contains_label"] and unsure["mean_options"] >= 1
    # the copied photo: found by its bytes, and its colour label disagrees with the indexed product's
    exact = report["exact_photos"]
    assert exact["anchors"] >= 1 and exact["agreement"]["color"] < 1.0 and exact["joint_agreement"] < 1.0

    human = fashrec("eval", "anchor", catalog, "--model", tiny_model, "--workdir", tmp_path / "work", "--n", "5")
    assert human.returncode == 0, human.stderr
    assert "5 photos read against" in human.stdout and "color: confidence" in human.stdout
    assert "zero-shot only" in human.stdout

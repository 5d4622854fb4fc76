"""Anchor reading (ammr.anchor.infer_attributes): the blend picks the value, the neighbours' vote says how sure."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fashrec.ammr.anchor import DEFAULT_READER, infer_attributes


def test_confidence_is_the_share_of_the_vote_behind_the_chosen_value(refiner, small_catalog):
    index, prompts = refiner.index, refiner.prompts
    blend = replace(DEFAULT_READER, confidence="blend")
    for pos in range(0, len(index), 5):
        vector = index.image_vectors[pos] + 0.05 * np.random.default_rng(pos).standard_normal(index.image_vectors.shape[1])
        vector = (vector / np.linalg.norm(vector)).astype(np.float32)
        shipped = infer_attributes(index, vector, prompts)
        before = infer_attributes(index, vector, prompts, settings=blend)
        assert shipped.keys() == before.keys()
        found = index.nearest(vector, DEFAULT_READER.neighbours)
        weights = np.exp((found.scores - found.scores.max()) / DEFAULT_READER.temperature)
        for attr, guess in shipped.items():
            assert guess.value == before[attr].value          # the same decisions ...
            share, covered = 0.0, 0.0                          # ... with the vote's support as confidence
            for p, w in zip(found.positions, weights):
                vals = index.products[int(p)].attributes.get(attr)
                if vals:
                    covered += w
                    share += w / len(vals) if guess.value in vals else 0.0
            assert guess.confidence == pytest.approx(share / covered, abs=1e-6)
            assert 0.0 <= guess.confidence <= 1.0


def test_vote_only_and_zero_shot_only_readers(refiner):
    index, prompts = refiner.index, refiner.prompts
    vector = index.image_vectors[0]
    votes = infer_attributes(index, vector, prompts, settings=replace(DEFAULT_READER, vote_weight=1.0))
    prompts_only = infer_attributes(index, vector, prompts, settings=replace(DEFAULT_READER, vote_weight=0.0))
    assert votes and {g.source for g in votes.values()} == {"neighbours"}
    assert {g.source for g in prompts_only.values()} <= {"zero-shot", "neighbours"}
    assert any(g.source == "zero-shot" for g in prompts_only.values())
    # its own photo is its nearest neighbour: the vote names the product's own category
    category = index.products[0].first("category")
    assert votes["category"].value == category

"""The torch-free query path's two reimplementations, compared with open_clip's originals:
the image transform (bit-exact tensors) and the CLIP BPE tokenizer (identical token ids).

Needs open_clip (the reference) but not onnx/onnxruntime; tests/encoder/test_onnx.py covers the export.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fashrec.encoder.onnx_export import drawn_probe_images
from fashrec.encoder.preprocess import PreprocessConfig, PreprocessUnsupported, Preprocessor
from fashrec.encoder.tokenizer import ClipTokenizer, MergeRanks, TokenizerConfig, basic_clean
from onnx_support import TEXTS, example_images, example_rows

# -- preprocessing ------------------------------------------------------------------------------------
PREPROCESS_CASES = [
    {"size": 64, "resize_mode": "longest", "fill_color": 255, "interpolation": "bicubic"},  # fashrec-mini
    {"size": 32, "resize_mode": "longest", "fill_color": 0},
    {"size": 224},                                                # open_clip's defaults: shortest + crop
    {"size": 48, "resize_mode": "shortest", "interpolation": "bilinear"},
    {"size": (40, 56), "resize_mode": "shortest"},                # non-square: ResizeKeepRatio + crop
    {"size": (40, 56), "resize_mode": "longest", "fill_color": 128},
    {"size": 50, "resize_mode": "squash", "mean": 0.5, "std": 0.5},
    {"size": 64, "interpolation": "random", "resize_mode": "longest"},
]


@pytest.mark.parametrize("cfg", PREPROCESS_CASES, ids=lambda c: f"{c.get('resize_mode', 'shortest')}-{c['size']}")
def test_preprocessing_equals_open_clip_transform(cfg):
    from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict

    full = merge_preprocess_dict(PreprocessCfg(), cfg)
    reference = image_transform_v2(PreprocessCfg(**full), is_train=False)
    ours = Preprocessor(PreprocessConfig.from_dict(full))
    images = drawn_probe_images() + [Image.open(p) for p in example_images()[:12]]
    worst = 0.0
    for im in images:
        expected = reference(im).numpy()
        got = ours.to_array(im)
        assert got.shape == expected.shape and got.dtype == np.float32
        worst = max(worst, float(np.abs(got - expected).max()))
    assert worst == 0.0


@pytest.mark.parametrize("bad", [{"resize_mode": "fit"}, {"interpolation": "nearest"}, {"fill_color": (1, 2, 3)},
                                 {"mode": "L"}, {"size": (1, 2, 3)}, {"std": [0, 1, 1]}])
def test_preprocessing_refuses_what_it_cannot_reproduce(bad):
    with pytest.raises(PreprocessUnsupported):
        PreprocessConfig.from_dict({"size": 32, **bad})


# -- tokenizer ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def open_clip_tokenizer_cls():
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer


@pytest.mark.parametrize("context", [16, 24, 77])
@pytest.mark.parametrize("clean", ["lower", "whitespace", "canonicalize"])
@pytest.mark.parametrize("dict_after", [0, 10**9], ids=["rank-dict", "merges-text"])
def test_tokenizer_equals_open_clip(open_clip_tokenizer_cls, context, clean, dict_after, monkeypatch):
    """Both ways MergeRanks answers (searching the merges text, then its dict once enough lookups were
    made; dict_after 0 switches after the first word) tokenize as open_clip does."""
    monkeypatch.setattr(MergeRanks, "DICT_AFTER", dict_after)
    reference = open_clip_tokenizer_cls(context_length=context, clean=clean)
    ours = ClipTokenizer(TokenizerConfig(context_length=context, clean=clean))
    texts = TEXTS + [row["title"] for row in example_rows()] + [row.get("description", "") for row in example_rows()]
    assert np.array_equal(ours(texts), reference(texts).numpy())
    for text in TEXTS:
        assert ours.encode(text) == reference.encode(text), text


def test_tokenizer_vocabulary_equals_open_clip(open_clip_tokenizer_cls):
    reference = open_clip_tokenizer_cls()
    ours = ClipTokenizer()
    assert ours.encoder == reference.encoder
    assert ours.vocab_size == reference.vocab_size == 49408
    assert (ours.sot_token_id, ours.eot_token_id) == (reference.sot_token_id, reference.eot_token_id)


def test_tokenizer_extra_special_tokens(open_clip_tokenizer_cls):
    reference = open_clip_tokenizer_cls(context_length=20, additional_special_tokens=["<pad>", "<mask>"])
    ours = ClipTokenizer(TokenizerConfig(context_length=20, additional_special_tokens=("<pad>", "<mask>")))
    texts = ["a <mask> dress", "<pad><pad>", "plain"]
    assert np.array_equal(ours(texts), reference(texts).numpy())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_tokenizer_equals_open_clip_on_any_text(open_clip_tokenizer_cls, text):
    reference = _reference_tokenizer(open_clip_tokenizer_cls)
    assert _our_tokenizer().encode(text) == reference.encode(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80))
def test_ftfy_leaves_plain_ascii_alone(text):
    """The ASCII fast path skips ftfy; this is the claim it rests on."""
    import ftfy

    from open_clip.tokenizer import basic_clean as reference_clean

    if "&" not in text:
        assert ftfy.fix_text(text) == text
    assert basic_clean(text) == reference_clean(text)


_TOKENIZERS: dict[str, object] = {}


def _reference_tokenizer(cls):
    if "ref" not in _TOKENIZERS:
        _TOKENIZERS["ref"] = cls()
    return _TOKENIZERS["ref"]


def _our_tokenizer() -> ClipTokenizer:
    if "ours" not in _TOKENIZERS:
        _TOKENIZERS["ours"] = ClipTokenizer()
    return _TOKENIZERS["ours"]

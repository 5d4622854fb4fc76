"""Inputs shared by the ONNX-path tests: the example catalog's images and texts, and tokenizer edge cases."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = REPO / "catalog.example.jsonl"


def example_rows() -> list[dict]:
    return [json.loads(line) for line in EXAMPLE_CATALOG.read_text().splitlines() if line.strip()]


def example_images() -> list[Path]:
    return [REPO / row["image"] for row in example_rows()] + sorted((REPO / "examples" / "anchors").glob("*.jpg"))


TEXTS = [
    "", " ", "a", "a photo of a red dress", "Men's NAVY blue T-Shirt!!", "same style in linen, under 60",
    "not black, something more formal", "size 42 / EU 8.5 -- 100% cotton", "it's they're we've I'm you'll he'd",
    "Café crème &amp; <b>bold</b> &lt;tag&gt;", "naïve façade — “quoted” ‘text’ …", "日本語のテキスト、中文",
    "Ελληνικά кириллица", "👗 summer dress 🌞🌞", "ﬁ ligature ＦＵＬＬＷＩＤＴＨ", "tab\tand\nnewline\r\nend",
    "\x1b[31mred\x1b[0m", "\u00a0nbsp\u200b",
    "<start_of_text> literal <end_of_text>", "<START_OF_TEXT>", "x" * 300, " ".join(["very long description"] * 40),
    "mojibake: cafÃ© Ã¼ber", "½ ² ³ Ⅻ ٣", "under_score and-dash", "&amp;amp; double", "a\x00b\x07c\x7f",
    "file\x1cgroup\x1drecord\x1eunit\x1fsep",
]

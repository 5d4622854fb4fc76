"""How often is an identity reading right alone, and how often as a pair with its runner-up?

The evidence behind :data:`fashrec.ammr.constraints.EITHER_BELOW` and ``RUNNER_UP_MIN``: every evaluation
photo of the catalog (never indexed, never trained on; the split of `fashrec eval refine`) is read by the
anchor stage against the evaluation index, and each category and gender reading is compared with the
product's label, by confidence band: right alone (top-1), and right as "the reading or its strongest
runner-up" when that runner-up reaches 0.2, 0.25 or 0.3. The photos `eval refine --n 200` asks about
are left out (``--keep-refine`` keeps them), so the thresholds are not fitted on the requests they are
scored on.

    python bench/pair_readings.py ~/.cache/fashrec-data/catalog.jsonl [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from fashrec.ammr.anchor import infer_attributes
from fashrec.encoder.prompts import AttributePrompts
from fashrec.encoder.runtime import load_query_encoder
from fashrec.evaluation.refine import make_requests, split_catalog
from fashrec.index import open_index

BANDS = ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))
RUNNER_UP = (0.2, 0.25, 0.3)


def readings(catalog: Path, workdir: Path, keep_refine: bool) -> list[dict]:
    _, indexed, anchors = split_catalog(catalog, workdir)
    if not keep_refine:   # the same requests as `eval refine --n 200` (its default seed)
        asked = {r.anchor.id for r in make_requests(indexed, anchors, 200, 0)}
        anchors = [p for p in anchors if p.id not in asked]
    index = open_index(workdir / "index")
    encoder = load_query_encoder(index.encoder_spec, identifier=index.encoder_identifier, interactive=True).encoder
    vectors, failures = encoder.encode_images_lenient([p.image_path for p in anchors])
    anchors = [p for i, p in enumerate(anchors) if i not in failures]
    prompts = AttributePrompts(index, encoder)
    out = []
    for product, vector in zip(anchors, vectors):
        guesses = infer_attributes(index, vector, prompts)
        out.append({a: (g.value, g.confidence, list(g.alternatives), product.first(a))
                    for a, g in guesses.items() if a in ("category", "gender") and product.first(a)})
    return out


def table(rows: list[dict], attribute: str) -> list[dict]:
    out = []
    for lo, hi in BANDS:
        band = [r[attribute] for r in rows if attribute in r and lo <= r[attribute][1] < hi]
        if not band:
            continue
        entry = {"band": f"{lo}-{min(hi, 1.0)}", "n": len(band), "top1": _share(band, 0.0, alone=True)}
        for floor in RUNNER_UP:
            with_second = [g for g in band if _runner_up(g)[1] >= floor]
            entry[f"runner_up>={floor}"] = {"n": len(with_second), "top1": _share(with_second, floor, alone=True),
                                           "pair": _share(with_second, floor, alone=False)}
        out.append(entry)
    return out


def _runner_up(guess) -> tuple[str | None, float]:
    value, _, alternatives, _ = guess
    others = [(v, c) for v, c in alternatives if v != value]
    return max(others, key=lambda vc: vc[1]) if others else (None, 0.0)


def _share(band, floor: float, *, alone: bool) -> float | None:
    if not band:
        return None
    right = sum(1 for g in band if g[0] == g[3] or (not alone and _runner_up(g)[0] == g[3]))
    return round(right / len(band), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--workdir", type=Path, default=None, help="default: CATALOG's .eval-refine folder")
    parser.add_argument("--keep-refine", action="store_true", help="also read the photos eval refine asks about")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    catalog = args.catalog.expanduser()
    workdir = args.workdir or catalog.parent / f"{catalog.stem}.eval-refine"
    random.seed(0)
    rows = readings(catalog, workdir, args.keep_refine)
    report = {"photos": len(rows), **{a: table(rows, a) for a in ("category", "gender")}}
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

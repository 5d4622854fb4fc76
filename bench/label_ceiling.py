"""How consistent are a catalog's labels? Agreement between products whose photos are (nearly) the same picture.

No reader of pixels can tell two copies of one photo apart, so where such products carry different labels
the difference is label noise, and it caps what any anchor reader can score against those labels.
`fashrec eval anchor` reports the byte-identical pairs between its anchors and the index; this script
also finds photos that are identical after re-encoding or resizing: each photo is shrunk to 16 x 16 RGB
and compared with every other (root-mean-square difference in 0-255 grey levels), over the whole catalog.

    python bench/label_ceiling.py ~/.cache/fashrec-data/catalog.jsonl [--json]

Pairs under 1 grey level are the same picture; by 4 levels different shots of one product creep in.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fashrec.catalog import load_catalog
from fashrec.catalog.images import load_rgb
from fashrec.catalog.split import is_evaluation_item

ATTRIBUTES = ("category", "color", "gender", "usage")
JOINT = ("category", "color", "gender")
THRESHOLDS = (1.0, 2.0, 4.0)
SIDE = 16


def thumbnails(paths: list[Path]) -> np.ndarray:
    out = np.full((len(paths), SIDE * SIDE * 3), 255.0, dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            im = load_rgb(path)
        except Exception:          # noqa: BLE001 - an unreadable photo just has no twin
            continue
        out[i] = np.asarray(im.resize((SIDE, SIDE), Image.BILINEAR), dtype=np.float32).ravel()
    return out


def nearest(queries: np.ndarray, pool: np.ndarray, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """(RMS grey-level distance, position) of each query's nearest photo in the pool (itself excluded)."""
    pp = (pool * pool).sum(1)
    dist, pos = np.zeros(len(queries)), np.zeros(len(queries), dtype=int)
    for start in range(0, len(queries), 1024):
        q = queries[start:start + 1024]
        d = (q * q).sum(1)[:, None] - 2 * q @ pool.T + pp[None]
        if same:
            d[np.arange(len(q)), np.arange(start, start + len(q))] = np.inf
        pos[start:start + len(q)] = d.argmin(1)
        dist[start:start + len(q)] = d.min(1)
    return np.sqrt(np.maximum(dist, 0) / queries.shape[1]), pos


def agreement(pairs: list[tuple], attrs: tuple[str, ...]) -> float | None:
    both = [(a, b) for a, b in pairs if all(a.first(x) and b.first(x) for x in attrs)]
    return round(float(np.mean([all(a.first(x) == b.first(x) for x in attrs) for a, b in both])), 4) if both else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    products = load_catalog(args.catalog).products
    indexed = [p for p in products if not is_evaluation_item(p.id)]
    anchors = [p for p in products if is_evaluation_item(p.id)]
    pool = thumbnails([p.image_path for p in indexed])
    queries = thumbnails([p.image_path for p in anchors])
    print(f"decoded {len(products)} photos in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    rows = []
    for name, (dist, pos, qs) in {"evaluation -> index": (*nearest(queries, pool, False), anchors),
                                  "index -> index": (*nearest(pool, pool, True), indexed)}.items():
        for limit in THRESHOLDS:
            pairs = [(qs[i], indexed[pos[i]]) for i in np.flatnonzero(dist < limit)]
            rows.append({"pairs": name, "rms_below": limit, "count": len(pairs),
                         **{a: agreement(pairs, (a,)) for a in ATTRIBUTES}, "joint": agreement(pairs, JOINT)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| pairs | RMS < | photos | " + " | ".join(ATTRIBUTES) + " | " + "+".join(JOINT) + " |")
    print("|---" * (4 + len(ATTRIBUTES)) + "|")
    for r in rows:
        print(f"| {r['pairs']} | {r['rms_below']:g} | {r['count']} | "
              + " | ".join(str(r[a]) for a in ATTRIBUTES) + f" | {r['joint']} |")


if __name__ == "__main__":
    main()

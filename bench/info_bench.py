"""How long `fashrec info --json` takes on a big index, for several checkouts side by side.

info used to build every product from the item store to count prices, brands, sizes and stock; it now
reads counts the writer stores in the mapped file (an index written before them has SQLite pick out
those fields). Two copies of the index are timed: ``as-is`` (its mapped file as it was written) and
``offer-counts`` (the same generation with the counts in its mapped file, as `fashrec index` now writes
it). The source index is only read; the copies live under ``--work``.

    python bench/info_bench.py --index ~/.cache/fashrec-data/catalog.eval-refine/index \\
        --work ~/.cache/fashrec-data/work-tidy/info --code before=/tmp/wt-tidy-before --code after=. --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import report_header

REPO = Path(__file__).resolve().parent.parent


def copy_generation(source: Path, target: Path) -> None:
    """The manifest and the current generation's files (copy2 keeps the item store's stamp)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    manifest = json.loads((source / "manifest.json").read_text())
    for key in ("items_file", "mapped_file", "vectors_file"):
        if manifest.get(key):
            shutil.copy2(source / manifest[key], target / manifest[key])
    shutil.copy2(source / "manifest.json", target / "manifest.json")


def add_offer_counts(folder: Path) -> None:
    """Rewrite the copy's mapped file with the offer counts the writer now stores (needs this checkout)."""
    sys.path.insert(0, str(REPO))
    import numpy as np

    from fashrec.index import items
    from fashrec.index.columns import offer_counts
    from fashrec.index.mapped import Mapped, write_mapped

    manifest = json.loads((folder / "manifest.json").read_text())
    path, items_path = folder / manifest["mapped_file"], folder / manifest["items_file"]
    conn = items.connect(items_path, readonly=True)
    try:
        counts = offer_counts(items.read_offer_fields(conn, items_path))
    finally:
        conn.close()
    mapped = Mapped(path)
    arrays = {name: np.array(mapped.array(name)) for name in mapped._arrays}
    facts = {**mapped.facts, "offer": counts}
    del mapped
    write_mapped(path, arrays, facts)


# In a child, with the checkout on its path: opening the index, then the answer `fashrec info` prints.
CHILD = """
import json, sys, time
from fashrec.index import open_index
from fashrec.service.handlers import info_answer
t0 = time.perf_counter(); index = open_index(sys.argv[1]); t1 = time.perf_counter()
data = info_answer(index); t2 = time.perf_counter()
print(json.dumps({"open_s": t1 - t0, "info_s": t2 - t1}))
"""


def time_info(code: Path, index: Path, runs: int) -> tuple[list[float], list[float], dict]:
    """(CLI wall seconds, in-process info seconds, the CLI's answer) over ``runs`` runs."""
    env = {**os.environ, "PYTHONPATH": str(code)}   # and cwd=code: `-m`/`-c` put the cwd first on the path
    walls, infos, data = [], [], {}
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "fashrec", "info", "--index", str(index), "--json"],
                              env=env, cwd=code, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        data = json.loads(done.stdout)
        child = subprocess.run([sys.executable, "-c", CHILD, str(index)], env=env, cwd=code, capture_output=True,
                               text=True, check=True)
        infos.append(json.loads(child.stdout)["info_s"])
    return walls, infos, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--code", action="append", default=[], help="NAME=CHECKOUT (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report_header("`fashrec info --json` on a big index", ("numpy",))
    copies = {"as-is": args.work / "as-is", "offer-counts": args.work / "offer-counts"}
    for folder in copies.values():
        copy_generation(args.index.expanduser(), folder)
    add_offer_counts(copies["offer-counts"])
    codes = dict(c.split("=", 1) for c in args.code) or {"this": str(REPO)}
    keys = ("items", "price", "brands", "sizes", "stock", "vocabulary")
    answers, rows = {}, []
    for copy, folder in copies.items():
        for name, code in codes.items():
            walls, infos, data = time_info(Path(code).resolve(), folder, args.runs)
            answers[(copy, name)] = {k: data[k] for k in keys}
            rows.append((copy, name, statistics.median(walls), statistics.median(infos)))
    base = {copy: next(r for r in rows if r[0] == copy) for copy in copies}
    print("| index copy | code | `fashrec info --json` wall s (median) | vs first | Index.info() s (median) | vs first |")
    print("|---|---|---|---|---|---|")
    for copy, name, wall, info in rows:
        print(f"| {copy} | {name} | {wall:.2f} | {wall / base[copy][2]:.2f}x | {info:.3f} | "
              f"{info / base[copy][3]:.3f}x |")
    same = all(a == next(iter(answers.values())) for a in answers.values())
    print(f"same answers (items, price, brands, sizes, stock, vocabulary) everywhere: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()

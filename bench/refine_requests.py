"""`fashrec eval refine`, request by request: dump every answer, then compare two checkouts' answers.

`eval refine` reports means; to find where P@10 went between two versions, each answer is needed. This
script runs the same evaluation as the command (same requests, same seed) with whatever `fashrec` is on
``PYTHONPATH`` and writes one JSON line per answer: the request, P@10, the result ids and which match,
what was read from the photo (value, confidence, runners-up) against the product's labels, the steps and
the stop reason. It wraps the evaluation's own answering function, so it works on older checkouts too.

    # the answers of an older checkout (its own copy of the index, so nothing shared is rewritten)
    git worktree add /tmp/old 1697049~1
    PYTHONPATH=/tmp/old python bench/refine_requests.py dump old.jsonl --workdir /tmp/old-work
    PYTHONPATH=. python bench/refine_requests.py dump new.jsonl
    python bench/refine_requests.py diff old.jsonl new.jsonl          # --strategy ammr by default

``diff`` lists every request whose P@10 changed and sums the change by cause: (a) the anchor's
category or gender, which the request left alone, read wrong at >= 0.6 (the true kind became an
alternative); (u) read wrong below 0.6; (b) fewer than 10 results while the final search's filter let
through more products than were returned; (c) the rest (ranking, other).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

CATALOG = Path("~/.cache/fashrec-data/catalog.jsonl").expanduser()
IDENTITY = ("category", "gender")


def dump(out: Path, catalog: Path, workdir: Path | None, n: int, strategies: tuple[str, ...]) -> dict:
    import fashrec.evaluation.refine as ev

    rows: list[dict] = []
    answer, seen = ev._answer, {"i": -1, "req": None}

    def recorded(refiner, req, anchor, strategy, plans, options):
        result, elapsed, asked = answer(refiner, req, anchor, strategy, plans, options)
        if seen["req"] is not req:
            seen["i"], seen["req"] = seen["i"] + 1, req
        rows.append(_row(seen["i"], strategy, req, anchor, result))
        return result, elapsed, asked

    ev._answer = recorded
    try:
        report = ev.evaluate_refine(catalog, n=n, strategies=strategies, workdir=workdir)
    finally:
        ev._answer = answer
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return report.to_dict()


def _row(i: int, strategy: str, req, anchor, result) -> dict:
    products = [r.candidate.product for r in result.results]
    return {
        "i": i, "strategy": strategy, "request": req.to_dict(),
        "p10": sum(req.matches(p) for p in products[:10]) / 10, "results": len(products),
        "ids": [p.id for p in products], "good": [req.matches(p) for p in products],
        "alternatives": [r.candidate.product.id for r in getattr(result, "alternatives", [])],
        "read": {a: [g.value, round(g.confidence, 3), [[v, round(c, 3)] for v, c in getattr(g, "alternatives", ())][:3]]
                 for a, g in anchor.attributes.items()},
        "labels": {a: req.anchor.first(a) for a in ("category", "gender", "color", "usage")},
        "stop": result.stop_reason,
        "steps": [{"action": s.action, "detail": s.detail, "allowed": s.allowed, "retrieved": s.retrieved,
                   "passed": s.passed_guard, "selected": s.selected} for s in result.steps],
    }


def cause(row: dict) -> str:
    target, read, labels = row["request"]["target"], row["read"], row["labels"]
    for attr in IDENTITY:
        if attr in read and target.get(attr) == labels.get(attr) and read[attr][0] != labels.get(attr):
            return "a" if read[attr][1] >= 0.6 else "u"
    searched = [s for s in row["steps"] if s["action"] != "alternatives"]
    if row["results"] < 10 and searched and searched[-1]["allowed"] > row["results"]:
        return "b"
    return "c"


def diff(old_path: Path, new_path: Path, strategy: str) -> dict:
    def load(path: Path) -> dict:
        return {r["i"]: r for r in map(json.loads, path.read_text().splitlines()) if r["strategy"] == strategy}

    old, new = load(old_path), load(new_path)
    by_cause: dict[str, list[float]] = defaultdict(list)
    for i in sorted(set(old) & set(new)):
        o, n = old[i], new[i]
        if o["request"]["text"] != n["request"]["text"] or o["request"]["anchor"] != n["request"]["anchor"]:
            sys.exit(f"request {i} differs between the two files: not the same evaluation")
        if n["p10"] == o["p10"]:
            continue
        why = cause(n if n["p10"] < o["p10"] else o)
        by_cause[why].append(n["p10"] - o["p10"])
        read = {a: n["read"].get(a, ["-", 0])[:2] for a in IDENTITY}
        print(f"#{i} {n['request']['kind']:8} {n['p10'] - o['p10']:+.1f} ({why}) {o['p10']:.1f} ({o['results']} results) -> "
              f"{n['p10']:.1f} ({n['results']}) {n['request']['text']!r} read {read} labels "
              f"{ {a: n['labels'][a] for a in IDENTITY} }\n    before: {o['stop'][:100]}\n    after:  {n['stop'][:100]}")
    total = {k: {"requests": len(v), "gained": round(sum(d for d in v if d > 0), 2),
                 "lost": round(-sum(d for d in v if d < 0), 2)} for k, v in sorted(by_cause.items())}
    mean_old = sum(r["p10"] for r in old.values()) / max(1, len(old))
    mean_new = sum(r["p10"] for r in new.values()) / max(1, len(new))
    return {"strategy": strategy, "requests": len(new), "p10_before": round(mean_old, 4),
            "p10_after": round(mean_new, 4), "by_cause": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="run eval refine and write one JSON line per answer")
    d.add_argument("out", type=Path)
    d.add_argument("--catalog", type=Path, default=CATALOG)
    d.add_argument("--workdir", type=Path, default=None, help="the evaluation's index folder (default: shared)")
    d.add_argument("--n", type=int, default=200)
    d.add_argument("--strategies", default="ammr,ammr-labelled")
    c = sub.add_parser("diff", help="requests whose P@10 changed between two dumps, by cause")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    c.add_argument("--strategy", default="ammr")
    args = parser.parse_args()
    if args.command == "dump":
        report = dump(args.out, args.catalog, args.workdir, args.n, tuple(args.strategies.split(",")))
        print(json.dumps([{k: s[k] for k in ("strategy", "precision_at_10", "hit_at_10")}
                          for s in report["strategies"]], indent=1))
    else:
        print(json.dumps(diff(args.old, args.new, args.strategy), indent=1))


if __name__ == "__main__":
    main()

"""Stage 8, explanations: one line per result, built only from verified facts (guard checks)."""

from __future__ import annotations

from .retrieve import Candidate


def _fact(check) -> str:
    how = "" if check.evidence == "catalog" else f" ({check.evidence})"
    if check.kind == "price":
        return f"price {check.evidence} {check.expected.replace('<=', 'within').replace('>=', 'from')}"
    if check.kind == "exclude":
        return f"{check.attribute} {check.expected}{how}"
    return f"{check.expected}{how}"


def explain(candidate: Candidate, rank: int) -> str:
    asked = [_fact(c) for c in candidate.checks if c.ok and c.kind in ("set", "exclude", "price")]
    kept = [c.expected for c in candidate.checks if c.ok and c.kind == "keep"]
    parts = []
    if asked:
        parts.append("matches " + ", ".join(asked))
    if kept:
        parts.append("keeps the anchor's " + ", ".join(kept))
    missed = [c.label for c in candidate.checks if not c.ok and c.hard]
    if missed:
        parts.append("differs in " + ", ".join(missed))
    parts.append(f"look similarity {candidate.similarity:.2f}")
    if "sponsored" in candidate.boosts:
        parts.append(f"sponsored (+{candidate.boosts['sponsored']:.2f}, capped)")
    return "; ".join(parts)

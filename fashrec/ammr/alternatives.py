"""AMMR stage 7c, near misses: the labelled ``alternatives`` a short answer keeps apart from its results.

Both answers that can fall short -- refine's loop (:mod:`fashrec.ammr.loop`) and text search
(:mod:`fashrec.search`) -- draw them the same way: from the best few shortfall options
(:func:`fashrec.ammr.shortfall.shortfall_options`, in the order they are offered), each option
fetching products that satisfy everything except what it gives up. How a caller retrieves and ranks
candidates differs (refine: the composed anchor vector and the critic; search: the blended text score),
so it hands in a ``fetch`` function; which candidates count as near misses of an option does not.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence, TypeVar

import numpy as np

from fashrec.ammr.guard import check_product
from fashrec.ammr.types import Check, Constraints, Option
from fashrec.catalog import Product
from fashrec.encoder.prompts import AttributePrompts

# Near misses are drawn from at most this many shortfall options, so each stays easy to read.
ALTERNATIVE_SOURCES = 3

T = TypeVar("T")
# fetch(option, how many are still wanted, ids already in the answer) -> near misses for that option
Fetch = Callable[[Option, int, set[str]], list[T]]


def draw_alternatives(options: Sequence[Option], exact: int, need: int, answered: Iterable[str],
                      fetch: Fetch, *, product_id: Callable[[T], str]) -> list[T]:
    """Up to ``need`` near misses from the first :data:`ALTERNATIVE_SOURCES` options that add products
    the ``exact`` matches did not already have; each option records how many it contributed."""
    answered = set(answered)
    alternatives: list[T] = []
    used = 0
    for option in options:
        left = need - len(alternatives)
        if left <= 0 or used >= ALTERNATIVE_SOURCES:
            break
        if not option.useful or option.count <= exact:   # adds nothing the exact matches do not have
            continue
        found = fetch(option, left, answered)
        used += 1
        option.shown = len(found)
        answered |= {product_id(item) for item in found}
        alternatives += found
    return alternatives


def lacks_only_what_option_frees(product: Product, vector: np.ndarray, asked: Constraints, option: Option,
                                 prompts: AttributePrompts | None) -> list[Check] | None:
    """The guard's checks of ``product`` against everything asked, when the constraints it fails are
    all among those ``option`` gives up (and it fails at least one: else it is an exact match);
    otherwise None. What a near miss lacks is thus named from the guard's own checks."""
    checks = check_product(product, vector, asked, prompts)
    freed = {(r.check, r.attribute) for r in option.relax}
    failed = {(ch.kind, ch.attribute) for ch in checks if ch.hard and not ch.ok}
    return checks if failed and failed <= freed else None

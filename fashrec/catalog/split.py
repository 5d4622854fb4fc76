"""Catalog layer: which products training may see: a pure function of the product id, shared by every evaluation.

- ``is_holdout`` (crc32 % 10 == 0) is the project-wide held-out 10 %. The fashion-products copy shipped
  with this project has none of those ids (it is "the larger part" of the public set: the rest is kept
  back for testing), so on that data ``is_holdout`` selects nothing.
- ``is_validation`` (crc32 % 10 == 1) is therefore a second 10 % slice kept out of training, so that
  validation numbers can be measured on the data we do have.

Training skips every ``is_evaluation_item``; evaluations use only those. Being a function of the id (not
of file order or a seed), an item is on the same side in every run, benchmark and catalog.
"""

from __future__ import annotations

import zlib

MODULUS = 10
HOLDOUT_SLICE = 0
VALIDATION_SLICE = 1


def _slice(product_id: str) -> int:
    return zlib.crc32(str(product_id).encode()) % MODULUS


def is_holdout(product_id: str) -> bool:
    """The project-wide held-out ~10 %: never trained on."""
    return _slice(product_id) == HOLDOUT_SLICE


def is_validation(product_id: str) -> bool:
    """A second ~10 % slice, never trained on, used for validation where the held-out ids are absent."""
    return _slice(product_id) == VALIDATION_SLICE


def is_evaluation_item(product_id: str) -> bool:
    """Held out or validation (~20 %): training never sees these, evaluations use only these."""
    return _slice(product_id) in (HOLDOUT_SLICE, VALIDATION_SLICE)

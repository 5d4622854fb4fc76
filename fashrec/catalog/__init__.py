"""Catalog layer: products, their vocabulary, loading and validating a JSONL catalog, safe images.

Everything above this layer (index, encoder, planner, the AMMR stages) speaks in these terms.
"""

from __future__ import annotations

from fashrec.catalog.load import (
           MAX_LINE_BYTES,
           MAX_PRICE,
           CatalogLoad,
           load_catalog,
           parse_product,
)
from fashrec.catalog.product import Product, normalize_key, normalize_value
from fashrec.catalog.vocabulary import Vocabulary

__all__ = ["MAX_LINE_BYTES", "MAX_PRICE", "CatalogLoad", "Product", "Vocabulary", "load_catalog", "normalize_key",
           "normalize_value", "parse_product"]

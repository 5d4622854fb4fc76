"""Demo layer: drawn demo products: the example catalog that ships with fashrec and small catalogs for tests.

Nothing here needs a model, a download or a photo licence: garments are drawn with Pillow.
"""

from __future__ import annotations

from fashrec.demo.catalog import make_catalog, plan_catalog
from fashrec.demo.garments import CATEGORIES, COLORS, MATERIALS, PATTERNS, draw_garment

__all__ = ["CATEGORIES", "COLORS", "MATERIALS", "PATTERNS", "draw_garment", "make_catalog", "plan_catalog"]

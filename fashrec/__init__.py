"""fashrec: a local-first, agentic fashion recommender (AMMR).

Library first: everything the command line does is importable from here. Heavy parts (torch,
open_clip, llama.cpp) are imported lazily by the modules that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from fashrec.catalog import CatalogLoad, Product, Vocabulary, load_catalog
from fashrec.errors import FashrecError

__all__ = ["__version__", "CatalogLoad", "Product", "Vocabulary", "load_catalog", "FashrecError"]

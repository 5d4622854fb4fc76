"""Server layer: catalog photos as small JPEG thumbnails, made once and kept in memory (least recently used
go first). Only a catalog product's own image can be served: the route takes a product id, never a path.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

from fashrec.catalog.images import load_rgb
from fashrec.errors import RequestError
from fashrec.index import Index

SIZES = (96, 192, 256, 384, 512)
DEFAULT_SIZE = 256


class Thumbnails:
    def __init__(self, index: Index, max_bytes: int) -> None:
        self.index = index
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, int], tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, product_id: str, size: int) -> tuple[bytes, str] | None:
        """(JPEG bytes, ETag) of a product's photo at most ``size`` px on its longer side; None: no product."""
        if size not in SIZES:
            raise RequestError.of_field("size", f"must be one of {', '.join(map(str, SIZES))}", size,
                                        place="query parameter")
        product = self.index.get(product_id)
        if product is None:
            return None
        key = (product_id, size)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        image = load_rgb(product.image_path)   # ImageError (missing, corrupt) reaches the client as 400
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)
        data = out.getvalue()
        entry = (data, '"' + hashlib.sha256(data).hexdigest()[:20] + '"')
        with self._lock:
            if key not in self._cache:
                self._cache[key] = entry
                self._bytes += len(data)
            while self._bytes > self.max_bytes and len(self._cache) > 1:
                _, (old, _) = self._cache.popitem(last=False)
                self._bytes -= len(old)
        return entry

"""Catalog layer: one product, and how attribute names and values are compared everywhere."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def normalize_value(value: str) -> str:
    """Attribute values are compared case- and whitespace-insensitively everywhere in fashrec."""
    return " ".join(str(value).split()).casefold()


def normalize_key(key: str) -> str:
    return "_".join(str(key).split()).casefold()


class _PathOnDemand:
    """A dataclass field that accepts a str and turns it into a Path on first read.

    Opening an index builds tens of thousands of products, and ``Path(str)`` was 70 % of that time
    (0.75 s for 35k); most products' paths are never looked at.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Path:
        if obj is None:
            raise AttributeError(self._slot)   # tells dataclass the field has no default
        value = obj.__dict__[self._slot]
        if not isinstance(value, Path):
            value = obj.__dict__[self._slot] = Path(value)
        return value

    def __set__(self, obj: Any, value: "Path | str") -> None:
        obj.__dict__[self._slot] = value


# The optional fields of stored metadata and the JSON types each may have.
_METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "title": (str,), "brand": (str,), "currency": (str,), "description": (str,), "price": (int, float),
    "in_stock": (bool,), "sizes": (list,), "sponsored": (int, float), "extra": (dict,),
}


@dataclass
class Product:
    id: str
    image: str
    image_path: Path = _PathOnDemand()  # type: ignore[assignment]  # a str is accepted and converted
    title: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    in_stock: bool | None = None
    sizes: list[str] = field(default_factory=list)
    description: str = ""
    sponsored: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def values(self, attribute: str) -> list[str]:
        return self.attributes.get(normalize_key(attribute), [])

    def first(self, attribute: str) -> str | None:
        vals = self.values(attribute)
        return vals[0] if vals else None

    def text(self) -> str:
        """The words that describe the product, embedded next to its image."""
        parts = [self.title] if self.title else []
        attrs = " ".join(v for vals in self.attributes.values() for v in vals)
        if attrs:
            parts.append(attrs)
        if self.brand:
            parts.append(self.brand)
        return ". ".join(p for p in parts if p)

    def text_digest(self) -> str:
        payload = json.dumps(
            {"t": self.title, "a": self.attributes, "b": self.brand, "d": self.description},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """What every result list shows of a product (search, refine, outfits, the web API)."""
        return {
            "id": self.id,
            "title": self.title,
            "image": str(self.image_path),
            "attributes": {k: (v[0] if len(v) == 1 else v) for k, v in self.attributes.items()},
            "brand": self.brand,
            "price": self.price,
            "currency": self.currency,
            "in_stock": self.in_stock,
        }

    def metadata(self) -> dict[str, Any]:
        """Everything but the image, as stored next to the vectors (and shown in results)."""
        return {
            "id": self.id,
            "image": str(self.image_path),
            "title": self.title,
            "attributes": {k: (v[0] if len(v) == 1 else v) for k, v in self.attributes.items()},
            "brand": self.brand,
            "price": self.price,
            "currency": self.currency,
            "in_stock": self.in_stock,
            "sizes": self.sizes,
            "description": self.description,
            "sponsored": self.sponsored,
            **({"extra": self.extra} if self.extra else {}),
        }

    @staticmethod
    def metadata_problem(meta: Any) -> str | None:
        """What makes ``meta`` unusable as :meth:`metadata` output (None when it is usable): stored
        metadata comes back from disk, where damage or a hand edit can leave any JSON at all."""
        if not isinstance(meta, dict):
            return f"metadata is a JSON {type(meta).__name__}, not an object"
        for key in ("id", "image"):
            if not isinstance(meta.get(key), str) or not meta[key]:
                return f"metadata has no '{key}' string"
        attributes = meta.get("attributes")
        if attributes is not None and not (isinstance(attributes, dict) and all(
                isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
                for v in attributes.values())):
            return "metadata 'attributes' is not an object of strings or lists of strings"
        for key, kinds in _METADATA_TYPES.items():
            value = meta.get(key)
            if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
                return f"metadata '{key}' has the wrong type ({type(value).__name__})"
        return None

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> "Product":
        attrs = {k: (v if isinstance(v, list) else [v]) for k, v in (meta.get("attributes") or {}).items()}
        return cls(
            id=meta["id"],
            image=meta["image"],
            image_path=meta["image"],
            title=meta.get("title") or "",
            attributes=attrs,
            brand=meta.get("brand"),
            price=meta.get("price"),
            currency=meta.get("currency"),
            in_stock=meta.get("in_stock"),
            sizes=list(meta.get("sizes") or []),
            description=meta.get("description") or "",
            sponsored=float(meta.get("sponsored") or 0.0),
            extra=dict(meta.get("extra") or {}),
        )

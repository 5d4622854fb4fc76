"""Catalog layer: loading a JSONL file of products, parsed and validated line by line.

Every problem becomes a :class:`CatalogError` naming the file, the line and the field. By default bad
lines are skipped and reported, so one broken product never stops (or corrupts) the indexing of the
other ten thousand; ``strict=True`` turns the first problem into a failure instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fashrec.catalog.images import check_image_file, is_remote
from fashrec.catalog.product import Product, normalize_key, normalize_value
from fashrec.catalog.vocabulary import Vocabulary
from fashrec.errors import CatalogError, ImageError

# One product per line; a line longer than this is not a product, it is an accident (or an attack).
MAX_LINE_BYTES = 1_000_000
MAX_PRICE = 1e9
KNOWN_KEYS = {
    "id", "image", "title", "attributes", "brand", "price", "currency", "in_stock", "sizes",
    "description", "sponsored",
}


@dataclass
class CatalogLoad:
    """The valid products of a catalog plus every problem found on the way."""

    path: Path
    products: list[Product]
    problems: list[CatalogError]

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.from_products(self.products)


def _fail(path: Path, line: int, message: str, field_name: str | None = None) -> CatalogError:
    return CatalogError(message, path=str(path), line=line, field=field_name)


def _expect_str(obj: dict, key: str, path: Path, line: int, *, allow_int: bool = False) -> str | None:
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _fail(path, line, f"must be a string, got {type(value).__name__}", key)
    return value


def parse_product(obj: Any, *, path: Path, line: int, base_dir: Path, check_images: bool = True) -> Product:
    """Validate one decoded JSON line and turn it into a :class:`Product`."""
    if not isinstance(obj, dict):
        raise _fail(path, line, f"a product must be a JSON object, got {type(obj).__name__}")
    pid = _parse_id(obj, path, line)
    image, image_path = _parse_image(obj, path, line, base_dir, check_images)
    attributes = _parse_attributes(obj.get("attributes"), path, line)
    price, in_stock, sizes, sponsored = _parse_offer(obj, path, line)
    return Product(
        id=pid,
        image=image,
        image_path=_resolved(image_path),
        title=(_expect_str(obj, "title", path, line) or "").strip(),
        attributes=attributes,
        brand=_expect_str(obj, "brand", path, line),
        price=price,
        currency=_expect_str(obj, "currency", path, line),
        in_stock=in_stock,
        sizes=sizes,
        description=(_expect_str(obj, "description", path, line) or "").strip(),
        sponsored=sponsored,
        extra={k: v for k, v in obj.items() if k not in KNOWN_KEYS},
        line=line,
    )


def _parse_id(obj: dict, path: Path, line: int) -> str:
    pid = _expect_str(obj, "id", path, line, allow_int=True)
    if pid is None or not pid.strip():
        raise _fail(path, line, "missing required field", "id")
    pid = pid.strip()
    if len(pid) > 512:
        raise _fail(path, line, "is longer than 512 characters", "id")
    return pid


def _parse_image(obj: dict, path: Path, line: int, base_dir: Path, check_images: bool) -> tuple[str, Path]:
    image = _expect_str(obj, "image", path, line)
    if image is None or not image.strip():
        raise _fail(path, line, "missing required field", "image")
    if image.strip().lower().startswith("file://"):
        local = image.strip()[len("file://"):]
        raise _fail(path, line, f"is a file:// URL ({image}): give the local path instead ({local})", "image")
    if is_remote(image):
        raise _fail(path, line, f"remote image URLs are not supported (fashrec works offline): {image}", "image")
    try:
        image_path = Path(image).expanduser()
    except RuntimeError:   # "~name/..." where no user is called name
        user = image.split("/", 1)[0][1:]
        raise _fail(path, line, f"starts with the home folder of no user '{user}': {image}", "image") from None
    if not image_path.is_absolute():
        image_path = base_dir / image_path
    if check_images:
        try:
            check_image_file(image_path)
        except ImageError as exc:
            raise _fail(path, line, exc.message, "image") from None
    return image, image_path


def _resolved(image_path: Path) -> Path:
    """The absolute path of an existing image; a path that cannot be resolved is kept as written (the
    image check reports why, when images are checked)."""
    try:
        return image_path.resolve() if image_path.exists() else image_path
    except (OSError, RuntimeError):
        return image_path


def _parse_attributes(attrs_raw: Any, path: Path, line: int) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    if attrs_raw is None:
        return attributes
    if not isinstance(attrs_raw, dict):
        raise _fail(path, line, f"must be an object of attribute -> value, got {type(attrs_raw).__name__}", "attributes")
    for key, value in attrs_raw.items():
        where = f"attributes.{key}"
        if value is None or value == "":
            continue
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            values = value
        else:
            raise _fail(path, line, "must be a string or a list of strings", where)
        norm = [normalize_value(v) for v in values if v.strip()]
        if norm:
            attributes[normalize_key(key)] = list(dict.fromkeys(norm))
    return attributes


def _parse_offer(obj: dict, path: Path, line: int) -> tuple[float | None, bool | None, list[str], float]:
    """(price, in stock, sizes, sponsored boost): what the shop says about selling the product."""
    price = obj.get("price")
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            raise _fail(path, line, f"must be a number, got {type(price).__name__}", "price")
        # A range test rejects NaN and infinities too, and (unlike math.isfinite) cannot overflow
        # on an integer too big for a float.
        if not 0 <= price <= MAX_PRICE:
            shown = repr(price) if len(repr(price)) <= 40 else repr(price)[:20] + "..."
            raise _fail(path, line, f"must be a finite number between 0 and {MAX_PRICE:g}, got {shown}", "price")
        price = float(price)
    in_stock = obj.get("in_stock")
    if in_stock is not None and not isinstance(in_stock, bool):
        raise _fail(path, line, f"must be true or false, got {type(in_stock).__name__}", "in_stock")
    sizes = obj.get("sizes") or []
    if not isinstance(sizes, list) or not all(isinstance(s, (str, int)) and not isinstance(s, bool) for s in sizes):
        raise _fail(path, line, "must be a list of strings", "sizes")
    sponsored = obj.get("sponsored", 0.0)
    if sponsored is None:
        sponsored = 0.0
    if isinstance(sponsored, bool) or not isinstance(sponsored, (int, float)) or not 0 <= sponsored <= 1:
        raise _fail(path, line, "must be a number between 0 and 1 (sponsored boost)", "sponsored")
    return price, in_stock, [str(s) for s in sizes], float(sponsored)


def _has_lone_surrogate(obj: Any) -> bool:
    """Whether a decoded JSON value holds a string that cannot be encoded as UTF-8 again."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):  # not this check's concern: parse_product reports those
        pass
    return False


def iter_lines(path: Path) -> Iterable[tuple[int, bytes, int]]:
    """Yield (line number, raw bytes, line length) one physical line at a time (no whole-file read).

    Of a line longer than MAX_LINE_BYTES only the first MAX_LINE_BYTES + 1 bytes are kept (enough to
    refuse it) and the rest is skipped in chunks, so a huge file without newlines (a tarball passed
    by mistake) never has to fit in memory.
    """
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            size = len(raw)
            if size > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)):
                    size += len(rest)
                    if rest.endswith(b"\n"):
                        break
            yield number, raw, size


_BLANK = object()   # a blank or comment line: nothing to parse


def _decode_line(path: Path, number: int, raw: bytes, size: int) -> Any:
    """One physical line as decoded JSON, :data:`_BLANK`, or the CatalogError that says what is wrong."""
    if size > MAX_LINE_BYTES:
        return _fail(path, number, f"line is {size} bytes, more than the {MAX_LINE_BYTES} allowed")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _fail(path, number, f"invalid UTF-8 at byte {exc.start}")
    text = text.strip().lstrip("\ufeff")
    if not text or text.startswith("//"):
        return _BLANK
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if "\r" in text:   # readline splits at \n only: a CR-only file is one long "line"
            return _fail(path, number, "several lines separated by carriage returns (CR-only line endings, "
                                       "as old Mac files have): convert the file to LF line endings")
        return _fail(path, number, f"malformed JSON: {exc.msg} at column {exc.colno}")
    except ValueError as exc:  # valid JSON Python refuses: an integer of over 4300 digits
        return _fail(path, number, f"unreadable JSON value: {exc}")
    except RecursionError:
        return _fail(path, number, "JSON is nested too deeply")
    if "\\ud" in text.lower() and _has_lone_surrogate(obj):
        # JSON may escape half of a UTF-16 pair ("\ud800"); Python decodes it to a string that
        # cannot be encoded again, which would crash storing the product much later.
        return _fail(path, number, "contains an unpaired UTF-16 surrogate escape (\\udXXX), which is "
                                   "not valid Unicode")
    return obj


def load_catalog(path: str | Path, *, strict: bool = False, check_images: bool = True) -> CatalogLoad:
    """Parse a JSONL catalog. Bad lines are collected in ``problems`` (or raised with ``strict``)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CatalogError(f"catalog not found: {path}")
    if not path.is_file():
        raise CatalogError(f"catalog is not a file: {path}")
    base_dir = path.resolve().parent
    products: list[Product] = []
    problems: list[CatalogError] = []
    seen: dict[str, int] = {}

    def problem(err: CatalogError) -> None:
        if strict:
            raise err
        problems.append(err)

    for number, raw, size in iter_lines(path):
        obj = _decode_line(path, number, raw, size)
        if obj is _BLANK:
            continue
        if isinstance(obj, CatalogError):
            problem(obj)
            continue
        try:
            product = parse_product(obj, path=path, line=number, base_dir=base_dir, check_images=check_images)
        except CatalogError as err:
            if isinstance(obj, dict) and isinstance(obj.get("id"), (str, int)) and not isinstance(obj.get("id"), bool):
                err.item_id = str(obj["id"]).strip()
            problem(err)
            continue
        except RecursionError:
            problem(_fail(path, number, "JSON is nested too deeply"))
            continue
        if product.id in seen:
            dup = _fail(path, number, f"duplicate id '{product.id}' (first seen on line {seen[product.id]})", "id")
            dup.item_id = product.id
            problem(dup)
            continue
        seen[product.id] = number
        products.append(product)
    return CatalogLoad(path=path, products=products, problems=problems)

"""Demo layer: demo catalogs: drawn products with believable attributes, titles, brands, prices and stock.

Two users: the repository's ``catalog.example.jsonl`` (written by ``examples/make_catalog.py``), which
must hold answers to the README's refinements, and tests that need a small valid catalog in a temp
folder (:func:`make_catalog`). Both come from one plan: a hand-picked sampler that covers every
category, material and pattern in its first items, then a coverage grid (several colours per material
and gender for each category), then seeded random products (the data: :mod:`fashrec.demo.assortment`).
Everything is deterministic in ``seed``.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from PIL import Image

from fashrec.demo.assortment import (
    ANCHORS,
    BRANDS,
    CATEGORY_RULES,
    COVERAGE_GRID,
    MATERIAL_RULES,
    SAMPLER,
    SIZE_RUNS,
    SPONSORED_IN_SAMPLER,
    USAGE_OVERRIDES,
    Anchor,
    Brand,
    Look,
)
from fashrec.demo.garments import STYLES, draw_garment
from fashrec.errors import UsageError

IMAGE_SIZE = (96, 128)
JPEG_QUALITY = 90
CURRENCY = "EUR"
SPONSORED_BOOST = 0.3

EXAMPLE_CATALOG = "catalog.example.jsonl"
EXAMPLE_IMAGES = Path("examples/images")
EXAMPLE_ANCHORS = Path("examples/anchors")
EXAMPLE_ITEMS = 160
EXAMPLE_SEED = 0


@dataclass(frozen=True)
class DemoProduct:
    """One planned product: everything written to the catalog line, plus what it takes to draw it."""

    id: str
    look: Look
    usage: str
    season: str
    sleeve: str | None
    style: str
    title: str
    description: str
    brand: str
    price: float
    in_stock: bool
    sizes: tuple[str, ...]
    image_seed: int
    sponsored: float = 0.0

    def attributes(self) -> dict[str, str]:
        attrs = {"category": self.look.category, "color": self.look.color, "material": self.look.material,
                 "pattern": self.look.pattern, "gender": self.look.gender, "usage": self.usage,
                 "season": self.season}
        if self.sleeve:
            attrs["sleeve"] = self.sleeve
        return attrs

    def draw(self) -> Image.Image:
        look = self.look
        return draw_garment(look.category, look.color, look.pattern, look.material, size=IMAGE_SIZE,
                            seed=self.image_seed, sleeve=self.sleeve, fitted=look.gender == "women", style=self.style)

    def to_json(self, image_ref: str) -> dict[str, Any]:
        line: dict[str, Any] = {
            "id": self.id, "image": image_ref, "title": self.title, "attributes": self.attributes(),
            "brand": self.brand, "price": self.price, "currency": CURRENCY, "in_stock": self.in_stock,
            "sizes": list(self.sizes), "description": self.description,
        }
        if self.sponsored:
            line["sponsored"] = self.sponsored
        return line


# --------------------------------------------------------------------------------------------------
# Planning: which looks, in which order


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _pick_pattern(category: str, material: str, rng: random.Random) -> str:
    allowed = [p for p in CATEGORY_RULES[category].patterns if p in MATERIAL_RULES[material].patterns]
    # Real shops sell mostly plain garments: solid gets as much weight as all prints together.
    return _weighted(rng, {p: (len(allowed) - 1 or 1) if p == "solid" else 1 for p in allowed})


def _pick_color(category: str, material: str, pattern: str, gender: str, taken: set, rng: random.Random) -> str:
    colors = MATERIAL_RULES[material].colors
    fresh = [c for c in colors if (category, c, material, pattern, gender) not in taken]
    return rng.choice(fresh or list(colors))


def _grid_looks(rng: random.Random, taken: set) -> Iterator[Look]:
    for category, material, genders, per_gender in COVERAGE_GRID:
        for gender in genders:
            for _ in range(per_gender):
                pattern = _pick_pattern(category, material, rng)
                yield Look(category, _pick_color(category, material, pattern, gender, taken, rng), material,
                           pattern, gender)


def _random_look(rng: random.Random, taken: set) -> Look:
    for _ in range(50):  # a few retries find an unseen combination; after that a repeat is fine
        category = _weighted(rng, {c: r.weight for c, r in CATEGORY_RULES.items()})
        rule = CATEGORY_RULES[category]
        material = _weighted(rng, rule.materials)
        pattern = _pick_pattern(category, material, rng)
        gender = rng.choice(rule.genders)
        look = Look(category, _pick_color(category, material, pattern, gender, taken, rng), material, pattern,
                    gender)
        if look.key not in taken:
            break
    return look


def plan_looks(n_items: int, seed: int) -> list[Look]:
    """The sampler, then the coverage grid, then random looks: the first ``n_items`` of that."""
    looks = list(SAMPLER[:n_items])
    taken = {look.key for look in looks}
    rng = random.Random(f"fashrec-demo-plan:{seed}")
    grid = _grid_looks(rng, taken)
    while len(looks) < n_items:
        look = next(grid, None) or _random_look(rng, taken)
        looks.append(look)
        taken.add(look.key)
    return looks


# --------------------------------------------------------------------------------------------------
# Dressing a look up as a product: cut, season, brand, price, stock, words


def _choose_usage(look: Look, rng: random.Random) -> str:
    if look.usage:
        return look.usage
    allowed = USAGE_OVERRIDES.get((look.category, look.material)) or [
        u for u in CATEGORY_RULES[look.category].usages if u in MATERIAL_RULES[look.material].usages]
    return rng.choice(allowed or list(CATEGORY_RULES[look.category].usages))


def _choose_sleeve(look: Look, usage: str, rng: random.Random) -> str | None:
    options = CATEGORY_RULES[look.category].sleeves
    if not options:
        return None
    if look.category == "shirt":
        return "long" if usage == "formal" or rng.random() < 0.6 else "short"
    if look.category == "t-shirt":
        if look.gender != "men" and rng.random() < 0.15:
            return "sleeveless"
        return "long" if rng.random() < 0.2 else "short"
    return rng.choice(options)


def _choose_style(look: Look, usage: str, rng: random.Random) -> str:
    category, material = look.category, look.material
    if category == "shoes":
        return {"formal": "derby", "sports": "runner"}.get(usage, "sneaker")
    if category == "jacket":
        if material in ("denim", "leather", "suede"):
            return "trucker"
        return "blazer" if usage == "formal" else rng.choice(("blazer", "trucker"))
    if category == "skirt":
        return "pencil" if usage == "formal" or material == "leather" else rng.choice(("a-line", "pleated"))
    if category == "trousers":
        options = ["straight", "slim"] + (["wide-leg"] if look.gender == "women" else [])
        return rng.choice(options)
    if category == "bag":
        return "tote" if material in ("cotton", "polyester") else "handbag"
    return rng.choice(STYLES[category])


def _choose_season(look: Look, rng: random.Random) -> str:
    seasons = MATERIAL_RULES[look.material].seasons
    if look.category in ("sweater", "jacket") and look.material not in ("linen", "silk"):
        seasons = ("fall", "winter")
    elif look.category == "t-shirt":
        seasons = ("summer",)
    return rng.choice(seasons)


def _choose_brand(usage: str, rng: random.Random) -> Brand:
    known_for = [b for b in BRANDS if usage in b.usages]
    return rng.choice(known_for or list(BRANDS))


def _price(look: Look, brand: Brand, rng: random.Random) -> float:
    raw = (CATEGORY_RULES[look.category].base_price * MATERIAL_RULES[look.material].price_factor
           * brand.price_factor * rng.uniform(0.85, 1.2))
    if raw >= 100:
        return float(5 * round(raw / 5))  # premium prices are round: 185.0
    return round(math.floor(raw) + 0.95, 2)  # everyday prices end in .95


def _sizes(look: Look, rng: random.Random) -> tuple[str, ...]:
    sizing = CATEGORY_RULES[look.category].sizing
    if sizing == "one size":
        return ("One size",)
    run = SIZE_RUNS[(sizing, look.gender)]
    length = rng.randint(min(3, len(run)), len(run))
    start = rng.randint(0, len(run) - length)
    return run[start:start + length]


def _short_color(color: str) -> str:
    return "navy" if color == "navy blue" else color


PATTERN_WORDS = {"solid": "", "striped": "striped", "checked": "checked", "dotted": "polka-dot", "floral": "floral"}
FIT_WORDS = {"shirt": ("Slim", "Regular-fit", "Relaxed", "Classic"), "t-shirt": ("Essential", "Relaxed", "Everyday")}
# A cut is either a fit that leads the title ("Slim navy linen trousers") or a kind of garment that sits
# right before the noun ("Black leather Derby shoes").
LEADING_CUTS = {"straight": "Straight", "wide-leg": "Wide-leg", "slim": "Slim", "crew": "Crew-neck",
                "v-neck": "V-neck", "blazer": "Tailored", "handbag": "Structured", "tote": "Everyday"}
TYPE_CUTS = {"a-line": "A-line", "shift": "shift", "maxi": "maxi", "pencil": "pencil", "pleated": "pleated",
             "trucker": "trucker", "derby": "Derby", "sneaker": "low-top", "runner": "running"}
USAGE_PHRASES = {"casual": "made for everyday wear", "formal": "sharp enough for the office",
                 "sports": "built for training", "party": "ready for evenings out"}
GENDER_WORDS = {"men": "Men's", "women": "Women's", "unisex": "Unisex"}


def _noun(look: Look, style: str, sleeve: str | None, usage: str) -> str:
    if look.category == "t-shirt":
        return {"sleeveless": "tank top", "long": "long-sleeve t-shirt"}.get(sleeve or "", "t-shirt")
    if look.category == "trousers":
        return "jeans" if look.material == "denim" else "joggers" if usage == "sports" else "trousers"
    if look.category == "shoes":
        return "sneakers" if style == "sneaker" else "shoes"
    return {"blazer": "blazer", "handbag": "handbag", "tote": "tote bag"}.get(style, look.category)


def _material_word(look: Look) -> str:
    if look.category in ("shoes", "bag"):
        return {"cotton": "canvas", "polyester": "mesh" if look.category == "shoes" else "nylon"}.get(
            look.material, look.material)
    return look.material


def _words(look: Look, style: str, sleeve: str | None, usage: str, rng: random.Random) -> tuple[str, str]:
    """(title, one-sentence description), e.g. "Slim navy linen shirt"."""
    fit = rng.choice(FIT_WORDS[look.category]) if look.category in FIT_WORDS else LEADING_CUTS.get(style, "")
    kind = TYPE_CUTS.get(style, "")
    cloth = " ".join(w for w in (_short_color(look.color), PATTERN_WORDS[look.pattern], _material_word(look)) if w)
    noun = " ".join(w for w in (kind, _noun(look, style, sleeve, usage)) if w)
    title = " ".join(w for w in (fit, cloth, noun) if w)
    described = " ".join(w for w in (fit.lower(), noun) if w)
    description = (f"{GENDER_WORDS[look.gender]} {described} in {cloth}, {MATERIAL_RULES[look.material].blurb}, "
                   f"{USAGE_PHRASES[usage]}.")
    return title[0].upper() + title[1:], description


def dress_up(look: Look, index: int, seed: int) -> DemoProduct:
    """Turn the ``index``-th look into a product; each product has its own random stream, so adding
    items to a catalog never changes the ones before."""
    rng = random.Random(f"fashrec-demo-product:{seed}:{index}")
    usage = _choose_usage(look, rng)
    sleeve = _choose_sleeve(look, usage, rng)
    style = _choose_style(look, usage, rng)
    brand = _choose_brand(usage, rng)
    title, description = _words(look, style, sleeve, usage, rng)
    sponsored = index in SPONSORED_IN_SAMPLER or (index >= len(SAMPLER) and rng.random() < 0.03)
    return DemoProduct(
        id=f"sku-{1001 + index}", look=look, usage=usage, season=_choose_season(look, rng), sleeve=sleeve,
        style=style, title=title, description=description, brand=brand.name, price=_price(look, brand, rng),
        in_stock=rng.random() >= 0.1, sizes=_sizes(look, rng), image_seed=seed * 100_003 + index,
        sponsored=SPONSORED_BOOST if sponsored else 0.0,
    )


def plan_catalog(n_items: int, seed: int = 0) -> list[DemoProduct]:
    if n_items < 1:
        raise UsageError(f"a demo catalog needs at least one item, got {n_items}")
    return [dress_up(look, index, seed) for index, look in enumerate(plan_looks(n_items, seed))]


# --------------------------------------------------------------------------------------------------
# Writing files


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename, so a crash never leaves a half-written image or catalog."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def write_catalog(products: Sequence[DemoProduct], catalog_path: Path, image_dir: Path) -> list[Path]:
    """Draw every product into ``image_dir`` and write the JSONL; image paths are stored relative to
    the catalog's folder, as the catalog format expects. Returns the image paths written."""
    catalog_path, image_dir = Path(catalog_path), Path(image_dir)
    images, lines = [], []
    for product in products:
        image_path = image_dir / f"{product.id}.jpg"
        _write_atomic(image_path, jpeg_bytes(product.draw()))
        images.append(image_path)
        ref = Path(os.path.relpath(image_path.resolve(), catalog_path.parent.resolve())).as_posix()
        lines.append(json.dumps(product.to_json(ref), ensure_ascii=False))
    _write_atomic(catalog_path, ("\n".join(lines) + "\n").encode("utf-8"))
    return images


def make_catalog(out_dir: Path, n_items: int = 24, seed: int = 0) -> Path:
    """Write a small valid catalog (``catalog.jsonl`` plus ``images/``) into ``out_dir``; returns the JSONL path."""
    out_dir = Path(out_dir)
    catalog_path = out_dir / "catalog.jsonl"
    write_catalog(plan_catalog(n_items, seed), catalog_path, out_dir / "images")
    return catalog_path


def draw_anchor(anchor: Anchor) -> Image.Image:
    look = anchor.look
    return draw_garment(look.category, look.color, look.pattern, look.material, size=IMAGE_SIZE, seed=anchor.seed,
                        sleeve=anchor.sleeve, fitted=look.gender == "women", style=anchor.style)


@dataclass
class ExampleFiles:
    catalog: Path
    images: list[Path] = field(default_factory=list)
    anchors: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def _remove_stale(folder: Path, keep: Sequence[Path]) -> list[Path]:
    """Drop images a previous, larger run left behind, so the folder matches the catalog exactly."""
    keep_names = {p.name for p in keep}
    stale = [p for p in sorted(folder.glob("*.jpg")) if p.name not in keep_names]
    for path in stale:
        path.unlink()
    return stale


def build_example(root: Path, n_items: int = EXAMPLE_ITEMS, seed: int = EXAMPLE_SEED) -> ExampleFiles:
    """Write the repository's example catalog, its images and the README's anchor photos under ``root``."""
    root = Path(root)
    files = ExampleFiles(catalog=root / EXAMPLE_CATALOG)
    files.images = write_catalog(plan_catalog(n_items, seed), files.catalog, root / EXAMPLE_IMAGES)
    for anchor in ANCHORS:
        path = root / EXAMPLE_ANCHORS / anchor.filename
        _write_atomic(path, jpeg_bytes(draw_anchor(anchor)))
        files.anchors.append(path)
    files.removed = _remove_stale(root / EXAMPLE_IMAGES, files.images) + _remove_stale(root / EXAMPLE_ANCHORS,
                                                                                          files.anchors)
    return files


__all__ = [
    "ANCHORS", "BRANDS", "CATEGORY_RULES", "MATERIAL_RULES", "SAMPLER", "DemoProduct",
    "ExampleFiles", "Look", "build_example", "make_catalog", "plan_catalog", "write_catalog",
]

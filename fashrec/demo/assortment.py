"""Demo layer: what the demo shop sells: category and material rules, brands, size runs, the hand-picked sampler,
the coverage grid and the README's anchor photos. Data only; :mod:`fashrec.demo.catalog` plans and
writes catalogs from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryRule:
    """What a category can be made of and sold as."""

    base_price: float  # EUR for a mid-range cotton piece
    materials: dict[str, int]  # material -> weight when picking at random
    patterns: tuple[str, ...]
    genders: tuple[str, ...]
    usages: tuple[str, ...]
    sleeves: tuple[str, ...] = ()  # empty: the category has no sleeve attribute
    sizing: str = "clothing"  # clothing | shoes | one size
    weight: int = 2  # how often it appears among the random products


ALL_PATTERNS = ("solid", "striped", "checked", "dotted", "floral")
CATEGORY_RULES: dict[str, CategoryRule] = {
    "shirt": CategoryRule(45, {"cotton": 4, "linen": 3, "silk": 2, "denim": 1, "polyester": 1}, ALL_PATTERNS,
                          ("men", "women"), ("casual", "formal", "party"), ("long", "short"), weight=4),
    "t-shirt": CategoryRule(19, {"cotton": 5, "linen": 1, "polyester": 2}, ("solid", "striped", "dotted"),
                            ("men", "women", "unisex"), ("casual", "sports"), ("short", "long", "sleeveless"),
                            weight=3),
    "dress": CategoryRule(65, {"cotton": 3, "silk": 2, "linen": 2, "polyester": 2, "wool": 1}, ALL_PATTERNS,
                          ("women",), ("casual", "party", "formal"), ("sleeveless", "short", "long"), weight=3),
    "skirt": CategoryRule(45, {"cotton": 2, "denim": 2, "wool": 2, "leather": 1, "silk": 1, "linen": 1, "suede": 1},
                          ALL_PATTERNS, ("women",), ("casual", "formal", "party")),
    "trousers": CategoryRule(55, {"cotton": 3, "denim": 3, "wool": 2, "linen": 2, "polyester": 1},
                             ("solid", "checked", "striped"), ("men", "women"), ("casual", "formal", "sports"),
                             weight=3),
    "jacket": CategoryRule(95, {"denim": 2, "leather": 2, "wool": 2, "cotton": 1, "suede": 1}, ("solid", "checked"),
                           ("men", "women", "unisex"), ("casual", "formal"), ("long",)),
    "sweater": CategoryRule(55, {"wool": 3, "cotton": 2}, ("solid", "striped", "checked"), ("men", "women", "unisex"),
                            ("casual",), ("long",)),
    "shoes": CategoryRule(80, {"leather": 4, "suede": 1, "cotton": 1, "polyester": 2}, ("solid",),
                          ("men", "women", "unisex"), ("casual", "formal", "sports"), sizing="shoes"),
    "bag": CategoryRule(70, {"leather": 4, "cotton": 2, "suede": 1, "polyester": 1}, ("solid", "striped", "checked"),
                        ("women", "unisex"), ("casual", "formal", "party"), sizing="one size"),
}


@dataclass(frozen=True)
class MaterialRule:
    colors: tuple[str, ...]  # what the material is usually sold in, most typical first
    patterns: tuple[str, ...]
    usages: tuple[str, ...]
    seasons: tuple[str, ...]
    price_factor: float
    blurb: str  # finishes the description: "... in navy linen, <blurb>"


MATERIAL_RULES: dict[str, MaterialRule] = {
    "cotton": MaterialRule(("white", "light blue", "navy blue", "black", "pink", "red", "green", "yellow", "grey",
                            "beige", "olive", "khaki"), ALL_PATTERNS, ("casual", "formal", "sports", "party"),
                           ("summer", "spring", "fall"), 1.0, "soft, breathable and easy to care for"),
    "linen": MaterialRule(("white", "beige", "navy blue", "light blue", "olive", "cream", "khaki", "grey", "pink"),
                          ("solid", "striped", "checked"), ("casual", "formal"), ("summer",), 1.25,
                          "with the slubby texture that keeps you cool on hot days"),
    "denim": MaterialRule(("blue", "light blue", "navy blue", "black", "grey"), ("solid",), ("casual",),
                          ("fall", "spring", "summer"), 1.1, "a sturdy twill that softens with every wash"),
    "wool": MaterialRule(("grey", "charcoal", "navy blue", "black", "maroon", "cream", "green", "tan", "beige"),
                         ("solid", "checked", "striped"), ("casual", "formal"), ("winter", "fall"), 1.6,
                         "warm, soft and naturally crease-resistant"),
    "silk": MaterialRule(("black", "cream", "maroon", "pink", "navy blue", "red", "green", "white", "purple"),
                         ("solid", "floral", "dotted", "striped"), ("party", "formal"), ("summer", "spring"), 2.0,
                         "smooth, light and with a soft sheen"),
    "leather": MaterialRule(("black", "brown", "tan", "maroon", "white", "beige"), ("solid",),
                            ("casual", "formal", "party"), ("fall", "winter"), 2.6,
                            "full-grain and finished by hand"),
    "polyester": MaterialRule(("black", "navy blue", "red", "blue", "grey", "pink", "purple", "orange", "yellow",
                               "green"), ("solid", "floral", "dotted", "striped"), ("sports", "casual", "party",
                                                                                     "formal"),
                              ("summer", "spring", "fall"), 0.8, "light, stretchy and quick to dry"),
    "suede": MaterialRule(("tan", "brown", "beige", "olive", "grey", "maroon"), ("solid",), ("casual",), ("fall",),
                          2.1, "with a velvety brushed finish"),
}


# Where a material's usual occasions do not apply to one category (nobody wears canvas Derbies to the office).
USAGE_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("jacket", "leather"): ("casual",),
    ("shoes", "cotton"): ("casual",),
    ("shoes", "polyester"): ("sports", "casual"),
    ("shoes", "suede"): ("casual",),
    ("bag", "cotton"): ("casual",),
    ("bag", "polyester"): ("casual",),
}


@dataclass(frozen=True)
class Brand:
    name: str
    price_factor: float
    usages: tuple[str, ...]  # what the brand is known for; products elsewhere pick among all brands


BRANDS = (
    Brand("Acme Basics", 0.65, ("casual", "sports")),
    Brand("Nordvik", 1.0, ("casual", "formal")),
    Brand("Fieldhouse", 1.05, ("casual",)),
    Brand("Kestrel", 0.95, ("sports", "casual")),
    Brand("Maison Lune", 1.55, ("formal", "party")),
    Brand("Atelier Sable", 1.3, ("party", "formal", "casual")),
)

SIZE_RUNS = {
    ("clothing", "men"): ("S", "M", "L", "XL", "XXL"),
    ("clothing", "women"): ("XS", "S", "M", "L", "XL"),
    ("clothing", "unisex"): ("XS", "S", "M", "L", "XL", "XXL"),
    ("shoes", "men"): tuple(str(n) for n in range(40, 47)),
    ("shoes", "women"): tuple(str(n) for n in range(36, 42)),
    ("shoes", "unisex"): tuple(str(n) for n in range(37, 46)),
}


@dataclass(frozen=True)
class Look:
    """What a product is, before it is given a cut, a brand and a price."""

    category: str
    color: str
    material: str
    pattern: str
    gender: str
    usage: str | None = None  # None: chosen from what the category and material allow

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.category, self.color, self.material, self.pattern, self.gender)


# The first items of every catalog, in this order: the first ten already span all categories, materials
# and patterns, so even a tiny test catalog is varied. Several are what the README's demo relies on
# (linen and cotton shirts, a floral dress, denim).
SAMPLER = (
    Look("shirt", "white", "linen", "solid", "men", "casual"),
    Look("dress", "red", "silk", "floral", "women", "party"),
    Look("trousers", "blue", "denim", "solid", "women", "casual"),
    Look("jacket", "navy blue", "wool", "solid", "men", "formal"),
    Look("sweater", "green", "wool", "solid", "women", "casual"),
    Look("shoes", "black", "leather", "solid", "men", "formal"),
    Look("bag", "brown", "leather", "solid", "women", "casual"),
    Look("skirt", "beige", "cotton", "checked", "women", "casual"),
    Look("t-shirt", "navy blue", "cotton", "striped", "unisex", "casual"),
    Look("dress", "navy blue", "polyester", "dotted", "women", "casual"),
    Look("shirt", "navy blue", "linen", "solid", "women", "casual"),
    Look("shirt", "light blue", "cotton", "striped", "men", "formal"),
    Look("skirt", "black", "leather", "solid", "women", "party"),
    Look("shirt", "pink", "silk", "solid", "women", "party"),
    Look("t-shirt", "black", "polyester", "solid", "men", "sports"),
    Look("jacket", "blue", "denim", "solid", "unisex", "casual"),
    Look("trousers", "beige", "linen", "solid", "men", "casual"),
    Look("shoes", "white", "cotton", "solid", "unisex", "casual"),
    Look("shirt", "white", "cotton", "solid", "men", "formal"),
    Look("dress", "green", "cotton", "floral", "women", "casual"),
    Look("sweater", "navy blue", "cotton", "striped", "men", "casual"),
    Look("skirt", "blue", "denim", "solid", "women", "casual"),
    Look("bag", "tan", "suede", "solid", "women", "casual"),
    Look("trousers", "charcoal", "wool", "checked", "men", "formal"),
)
SPONSORED_IN_SAMPLER = {3}  # the navy blazer: keeps every catalog of four or more items with an advert

# (category, material, genders, colours per gender): after the sampler, this guarantees that the
# everyday refinements ("in linen", "in navy", "the women's version") have several answers.
COVERAGE_GRID: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("shirt", "cotton", ("men", "women"), 2),
    ("shirt", "linen", ("men", "women"), 2),
    ("shirt", "silk", ("women", "men"), 2),
    ("shirt", "denim", ("men", "women"), 2),
    ("t-shirt", "cotton", ("men", "women", "unisex"), 2),
    ("t-shirt", "polyester", ("men", "women"), 1),
    ("dress", "cotton", ("women",), 3),
    ("dress", "silk", ("women",), 3),
    ("dress", "linen", ("women",), 2),
    ("dress", "polyester", ("women",), 2),
    ("skirt", "denim", ("women",), 2),
    ("skirt", "cotton", ("women",), 2),
    ("skirt", "wool", ("women",), 2),
    ("skirt", "leather", ("women",), 1),
    ("skirt", "silk", ("women",), 2),
    ("trousers", "cotton", ("men", "women"), 2),
    ("trousers", "denim", ("men", "women"), 2),
    ("trousers", "wool", ("men", "women"), 1),
    ("trousers", "linen", ("men", "women"), 1),
    ("jacket", "denim", ("men", "women"), 1),
    ("jacket", "leather", ("men", "women"), 1),
    ("jacket", "wool", ("men", "women"), 1),
    ("jacket", "cotton", ("men", "women"), 1),
    ("sweater", "wool", ("men", "women"), 2),
    ("sweater", "cotton", ("men", "women"), 1),
    ("shoes", "leather", ("men", "women"), 2),
    ("shoes", "cotton", ("unisex",), 2),
    ("shoes", "polyester", ("unisex",), 2),
    ("shoes", "suede", ("men", "women"), 1),
    ("bag", "leather", ("women",), 3),
    ("bag", "cotton", ("unisex",), 2),
    ("bag", "suede", ("women",), 1),
    ("bag", "polyester", ("unisex",), 1),
)


@dataclass(frozen=True)
class Anchor:
    """A query photo for the README demo: drawn like the catalog but never part of it."""

    filename: str
    look: Look
    seed: int
    sleeve: str | None = None
    style: str | None = None


ANCHORS = (
    Anchor("white-cotton-shirt.jpg", Look("shirt", "white", "cotton", "solid", "men"), seed=90001, sleeve="long"),
    Anchor("blue-denim-jacket.jpg", Look("jacket", "blue", "denim", "solid", "unisex"), seed=90002, style="trucker"),
    Anchor("red-floral-dress.jpg", Look("dress", "red", "cotton", "floral", "women"), seed=90003, sleeve="short"),
)

"""Catalog layer: which role an attribute plays, whatever a catalog calls it ("colour", "base_colour" -> color).

fashrec works with any attribute names; the agent only needs to know which ones identify a product's
kind, who it is for and how it looks, so it can keep those from the anchor and relax them in order.
"""

from __future__ import annotations

ROLE_ALIASES: dict[str, set[str]] = {
    "category": {"category", "type", "article_type", "articletype", "product_type", "kind", "garment"},
    "gender": {"gender", "sex", "department", "audience"},
    "color": {"color", "colour", "base_colour", "basecolour", "base_color", "basecolor"},
    "material": {"material", "fabric", "materials"},
    "pattern": {"pattern", "print", "design"},
    "usage": {"usage", "occasion", "style"},
    "season": {"season"},
    "sleeve": {"sleeve", "sleeves", "sleeve_length"},
    "length": {"length", "dress_length", "hem_length", "hemline"},
    "fit": {"fit", "cut", "silhouette"},
}

# Anchor attributes kept as hard filters (if confidently inferred), most important first. The agent
# relaxes them from the end of this list when too few products survive.
KEEP_ORDER = ("category", "gender", "color", "material", "pattern")
# The part of those that says what a product *is* and who it is for. A result never lacks the anchor's
# identity (when it was read with confidence): a product that does is at best a labelled alternative.
# The other kept attributes (colour, material, pattern) describe its look and may give way in results.
IDENTITY_ROLES = ("category", "gender")


def role_of(attribute: str) -> str | None:
    for role, names in ROLE_ALIASES.items():
        if attribute in names:
            return role
    return None


def attribute_for_role(attributes: list[str], role: str) -> str | None:
    for attr in attributes:
        if role_of(attr) == role:
            return attr
    return None


def is_identity(attribute: str) -> bool:
    return role_of(attribute) in IDENTITY_ROLES


def keep_rank(attribute: str) -> int:
    """Importance of keeping an anchor attribute (lower = more important); unknown roles last."""
    role = role_of(attribute)
    return KEEP_ORDER.index(role) if role in KEEP_ORDER else len(KEEP_ORDER)

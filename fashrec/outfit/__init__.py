"""Outfit layer: outfit composition ("complete the look"): slots, colour harmony and beam search over a catalog.

``compose_outfits(index, anchor)`` is the one call most code needs; :class:`OutfitComposer` keeps the
prepared index for many anchors (evaluation, batch use).
"""

from __future__ import annotations

from fashrec.catalog.colors import ColorInfo, color_info
from fashrec.outfit.compose import (
           Outfit,
           OutfitComposer,
           OutfitContext,
           OutfitPiece,
           OutfitResult,
           compose_outfits,
)
from fashrec.outfit.harmony import Harmony, harmony
from fashrec.outfit.slots import Slot, SlotDefinition, load_definition

__all__ = ["ColorInfo", "Harmony", "Outfit", "OutfitComposer", "OutfitContext", "OutfitPiece", "OutfitResult",
           "Slot", "SlotDefinition", "color_info", "compose_outfits", "harmony", "load_definition"]

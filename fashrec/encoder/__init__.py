"""Encoder layer: images and texts into one vector space (open_clip models, fashrec-mini by default).

torch and open_clip load only when an encoder is built (:func:`load_encoder`), never on import.
"""

from __future__ import annotations

from fashrec.encoder.interface import Encoder, ProgressFn
from fashrec.encoder.openclip import OpenClipEncoder, load_encoder
from fashrec.encoder.spec import DEFAULT_MODEL, ModelSpec, identify, resolve_spec

__all__ = ["DEFAULT_MODEL", "Encoder", "ModelSpec", "OpenClipEncoder", "ProgressFn", "identify", "load_encoder",
           "resolve_spec"]

"""fashrec's home folder ($FASHREC_HOME): remembered state such as the last index and sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path


def home_dir() -> Path:
    env = os.environ.get("FASHREC_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fashrec"


def _state_path() -> Path:
    return home_dir() / "state.json"


def read_state() -> dict:
    try:
        return json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}


def write_state(**updates) -> None:
    from .index.manifest import atomic_write_bytes

    state = read_state()
    state.update(updates)
    path = _state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(state, indent=2).encode())

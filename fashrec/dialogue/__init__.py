"""Dialogue layer: multi-turn refinement, sessions whose turns accumulate, revise and release constraints.

- :mod:`.records`: what a session stores (turns, their anchors, plans and results).
- :mod:`.session`: :class:`Dialogue`, which runs turns (start, refine, pick, undo) against a Refiner.
- :mod:`.store`: SQLite storage in ``$FASHREC_HOME/sessions.sqlite`` with recorded migrations.

How a new request changes the accumulated plan is the planner's business (:mod:`fashrec.planner.merge`).
"""

from __future__ import annotations

from fashrec.dialogue.records import AnchorRef, Session, Turn
from fashrec.dialogue.session import Dialogue, TurnOutcome
from fashrec.dialogue.store import SessionStore

__all__ = ["AnchorRef", "Dialogue", "Session", "SessionStore", "Turn", "TurnOutcome"]

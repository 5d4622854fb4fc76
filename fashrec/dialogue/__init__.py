"""Multi-turn refinement: sessions whose turns accumulate, revise and release constraints.

- :mod:`.merge`: how a new request changes the accumulated plan (pure data).
- :mod:`.session`: the session model and :class:`Dialogue`, which runs turns (start, refine, pick, undo).
- :mod:`.store`: SQLite storage in ``$FASHREC_HOME/sessions.sqlite`` with recorded migrations.
"""

from __future__ import annotations

from fashrec.dialogue.session import AnchorRef, Dialogue, Session, Turn, TurnOutcome
from fashrec.dialogue.store import SessionStore
from fashrec.planner.merge import Change, describe_plan, merge_plans

__all__ = ["AnchorRef", "Change", "Dialogue", "Session", "SessionStore", "Turn", "TurnOutcome", "describe_plan",
           "merge_plans"]

"""Dialogue layer: sessions on disk, ``$FASHREC_HOME/sessions.sqlite`` with named, recorded schema migrations.

Each migration is applied once, in order, inside one transaction, and recorded in the ``migrations``
table; ``PRAGMA user_version`` holds the schema version, so a database written by a newer fashrec is
refused rather than misread. Writes take SQLite's write lock up front (``BEGIN IMMEDIATE``), so a chat in
one terminal and a ``refine --session`` in another never interleave half-turns.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from fashrec.dialogue.records import AnchorRef, Session, Turn, now
from fashrec.errors import SessionError, UsageError
from fashrec.planner import Plan
from fashrec.planner.merge import Change
from fashrec.settings import home_dir, home_folder

SESSIONS_FILE = "sessions.sqlite"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# (name, statements). Append new steps; never edit or reorder a released one.
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_sessions_and_turns", [
        """CREATE TABLE sessions (
               name       TEXT PRIMARY KEY,
               created_at TEXT NOT NULL,
               updated_at TEXT NOT NULL,
               index_path TEXT
           )""",
        """CREATE TABLE turns (
               session      TEXT NOT NULL REFERENCES sessions(name) ON DELETE CASCADE,
               number       INTEGER NOT NULL,
               action       TEXT NOT NULL,
               text         TEXT NOT NULL,
               anchor_kind  TEXT NOT NULL,          -- 'image' or 'product'
               anchor       TEXT NOT NULL,          -- image path or product id
               request_plan TEXT NOT NULL,          -- JSON: what this turn's words meant
               plan         TEXT NOT NULL,          -- JSON: the accumulated plan searched with
               changes      TEXT NOT NULL,          -- JSON list of changes to the plan
               result_ids   TEXT NOT NULL,          -- JSON list, best first
               stop_reason  TEXT NOT NULL DEFAULT '',
               created_at   TEXT NOT NULL,
               PRIMARY KEY (session, number)
           )""",
    ]),
    # Titles of the results as they were shown, so `session show` reads without opening the index.
    ("0002_result_titles", [
        "ALTER TABLE turns ADD COLUMN result_titles TEXT NOT NULL DEFAULT '[]'",   # JSON list, as result_ids
    ]),
    # What the shopper corrected in what was read from the turn's anchor, so a resumed session keeps it.
    ("0003_anchor_overrides", [
        "ALTER TABLE turns ADD COLUMN anchor_overrides TEXT NOT NULL DEFAULT '{}'",   # JSON: {"category": "dresses"}
    ]),
]
SCHEMA_VERSION = len(MIGRATIONS)
TURN_COLUMNS = ("number, action, text, anchor_kind, anchor, request_plan, plan, changes, result_ids, stop_reason, "
                "created_at, result_titles, anchor_overrides")


def sessions_path() -> Path:
    return home_dir() / SESSIONS_FILE


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise UsageError(f"invalid session name '{name}'",
                         hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


class SessionStore:
    """All sessions of one home folder. ``path=":memory:"`` keeps them in memory (evaluations, tests)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else str(sessions_path())
        if path is None:
            home_folder()   # a clear error when $FASHREC_HOME is a file
        elif self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SessionError(f"cannot create the folder of {self.path}: {exc.strerror or exc}") from None
        try:
            self.conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"sessions database is unreadable: {self.path} ({exc})",
                               hint="move the file away to start with no sessions") from exc

    @classmethod
    def if_exists(cls, path: str | Path | None = None) -> "SessionStore | None":
        """The store, or None when no session was ever saved (reading commands create no files)."""
        path = Path(path) if path is not None else sessions_path()
        return cls(path) if path.exists() else None

    # -- schema -----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise SessionError(f"sessions database was written by a newer fashrec (schema {version}, this one "
                               f"reads up to {SCHEMA_VERSION}): {self.path}", hint="upgrade fashrec")
        if version == SCHEMA_VERSION:
            return
        with self._write():
            self.conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            for name, statements in MIGRATIONS:
                if name in done:
                    continue
                for statement in statements:
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now()))
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrations(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]

    def _write(self) -> "_Transaction":
        return _Transaction(self.conn)

    # -- reading ----------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sessions ORDER BY updated_at DESC, name")]

    def list(self) -> list[Session]:
        return [s for s in (self.get(n) for n in self.names()) if s is not None]

    def get(self, name: str) -> Session | None:
        row = self.conn.execute("SELECT name, created_at, updated_at, index_path FROM sessions WHERE name = ?",
                                (name,)).fetchone()
        if row is None:
            return None
        turns = [_turn_from_row(r) for r in self.conn.execute(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE session = ? ORDER BY number", (name,))]
        return Session(row[0], row[1], row[2], row[3], turns)

    def load(self, name: str) -> Session:
        session = self.get(name)
        if session is None:
            known = self.names()
            raise SessionError(f"no session named '{name}'",
                               hint=("known sessions: " + ", ".join(known[:10])) if known else
                               f'start one: fashrec refine IMAGE "TEXT" --session {name}')
        return session

    # -- writing ----------------------------------------------------------------------------------
    def append_turn(self, name: str, turn: Turn, *, index: str | None = None, restart: bool = False) -> int:
        """Record ``turn`` as the session's next one (creating the session); returns its number.

        ``restart`` discards the session's earlier turns in the same transaction.
        """
        check_name(name)
        stamp = now()
        with self._write():
            self.conn.execute(
                "INSERT INTO sessions (name, created_at, updated_at, index_path) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at, "
                "index_path = COALESCE(excluded.index_path, sessions.index_path)", (name, stamp, stamp, index))
            if restart:
                self.conn.execute("DELETE FROM turns WHERE session = ?", (name,))
                self.conn.execute("UPDATE sessions SET created_at = ? WHERE name = ?", (stamp, name))
            number = self.conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM turns WHERE session = ?",
                                       (name,)).fetchone()[0]
            self.conn.execute(
                f"INSERT INTO turns (session, {TURN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, turn.action, turn.text, turn.anchor.kind, turn.anchor.value,
                 json.dumps(turn.request.to_dict()), json.dumps(turn.plan.to_dict()),
                 json.dumps([c.to_dict() for c in turn.changes]), json.dumps(turn.result_ids),
                 turn.stop_reason, turn.created_at, json.dumps(turn.result_titles),
                 json.dumps(dict(turn.anchor.overrides))))
        return int(number)

    def pop_turn(self, name: str) -> Turn | None:
        """Remove and return the session's last turn (None when it has none)."""
        self.load(name)
        with self._write():
            row = self.conn.execute(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE session = ? ORDER BY number DESC LIMIT 1",
                (name,)).fetchone()
            if row is None:
                return None
            self.conn.execute("DELETE FROM turns WHERE session = ? AND number = ?", (name, row[0]))
            self.conn.execute("UPDATE sessions SET updated_at = ? WHERE name = ?", (now(), name))
        return _turn_from_row(row)

    def remove(self, name: str) -> bool:
        with self._write():
            deleted = self.conn.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount
        return bool(deleted)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "SessionStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on any exception)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _turn_from_row(row: tuple) -> Turn:
    number, action, text, kind, anchor, request, plan, changes, result_ids, stop_reason, created, titles, fixed = row
    ref = AnchorRef(kind, anchor).corrected(json.loads(fixed or "{}"))
    return Turn(number, action, text, ref, Plan.from_dict(json.loads(request)),
                Plan.from_dict(json.loads(plan)), [Change.from_dict(c) for c in json.loads(changes)],
                list(json.loads(result_ids)), stop_reason, created, list(json.loads(titles)))

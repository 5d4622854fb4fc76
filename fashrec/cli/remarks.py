"""CLI layer: what loading remarks (which encoder runtime, a stale export) look like at the terminal.

Imported by every command module that loads an index or encoder through :mod:`fashrec.service.runtime`:
``fashrec CMD`` imports only CMD's module, so the styling cannot live in :mod:`fashrec.cli.commands`.
"""

from __future__ import annotations

from fashrec.cli.output import literal, note
from fashrec.service.runtime import set_notifier

set_notifier(lambda message, warning=False: note(f"[yellow]warning:[/] {literal(message)}" if warning
                                                 else f"[dim]{literal(message)}[/]"))

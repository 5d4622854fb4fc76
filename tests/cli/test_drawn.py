"""What is drawn for a person still is, now that rich loads only when something is drawn (cli/output.py's
LazyConsole, cli/drawing.py): progress bars when FASHREC_PROGRESS=1 forces them on a pipe, tables and
notes without --json, the same answer as --json. (Catalog text in those tables and notes stays literal:
tests/cli/test_hardening.py; rich stays off the --json path: tests/cli/test_startup.py.)"""

from __future__ import annotations

import re


def test_a_forced_progress_bar_draws_on_stderr_while_indexing(fashrec, fashrec_env, small_catalog, tiny_model):
    fashrec_env["FASHREC_PROGRESS"] = "1"   # settings.progress_forced: bars on a pipe too
    run = fashrec("index", small_catalog, "--model", tiny_model)
    assert run.returncode == 0, run.stderr
    assert "Encoding images" in run.stderr and re.search(r"\b24/24\b", run.stderr), run.stderr[-2000:]
    assert "Encoding images" not in run.stdout
    fashrec_env["FASHREC_PROGRESS"] = "0"
    run = fashrec("index", small_catalog, "--model", tiny_model, "--rebuild")
    assert run.returncode == 0, run.stderr
    assert "Encoding images" not in run.stderr   # on a pipe, unforced: no bar


def test_answers_drawn_for_a_person_are_tables_of_the_json_answer(fashrec, indexed, small_catalog):
    image = sorted((small_catalog.parent / "images").iterdir())[3]
    for args in (("search", "red dress"), ("similar", image), ("refine", image, "in red", "--planner", "rules")):
        shown = fashrec(*args, "--index", indexed)
        data = fashrec(*args, "--index", indexed, "--json").json()
        assert shown.returncode == 0, (args, shown.stderr[-2000:])
        assert not shown.stdout.lstrip().startswith("{"), args   # drawn, not the JSON document
        # refine on the tiny model's catalog finds no full match: its table holds the alternatives
        rows = data["results"] or data.get("alternatives")
        assert rows and all(row["id"] in shown.stdout for row in rows[:3]), (args, shown.stdout[-2000:])
        assert re.search(r"[│┃]", shown.stdout), args   # a rich table's column rules
        if args[0] == "refine":
            assert data["shortfall"]["message"] in shown.stdout.lower()   # the notes above the table

"""End to end through the real `fashrec` command: refine --session, session list/show/undo/rm, chat on stdin."""

from __future__ import annotations

import json

import pytest


@pytest.fixture()
def indexed(fashrec, small_catalog, tiny_model):
    run = fashrec("index", small_catalog, "--model", tiny_model, "--json")
    assert run.returncode == 0, run.stderr
    return small_catalog.parent / "catalog.fashrec-index"


@pytest.fixture()
def shirt(small_catalog):
    """A white linen men's shirt from the demo catalog (its exact photo: the anchor is recognised)."""
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    row = next(r for r in rows if r["attributes"]["category"] == "shirt" and r["attributes"]["color"] == "white")
    return small_catalog.parent / row["image"]


def test_refine_session_continues_across_processes(fashrec, indexed, shirt):
    run = fashrec("refine", shirt, "in navy", "--session", "s1", "--index", indexed, "--planner", "rules",
                  "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    first = run.json()
    assert first["session"]["turn"] == 1 and first["session"]["action"] == "start"
    assert "color" in first["plan"]["set"] and first["results"]
    navy = first["plan"]["set"]["color"]

    # A new process, no image and no --index: the session knows both.
    run = fashrec("refine", "--session", "s1", "under 100", "--planner", "rules", "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    second = run.json()
    assert second["session"]["turn"] == 2 and second["session"]["action"] == "refine"
    assert second["plan"]["set"]["color"] == navy and second["plan"]["price"]["max"] == 100  # accumulated
    assert {"change": "added", "constraint": "price <= 100"} in second["session"]["changes"]
    assert all(r["price"] <= 100 and r["attributes"]["color"] == navy for r in second["results"])

    run = fashrec("refine", "--session", "s1", "--pick", "1", "--planner", "rules", "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    third = run.json()
    assert third["session"]["action"] == "pick"
    assert third["session"]["anchor"] == {"kind": "product", "value": second["results"][0]["id"]}
    assert third["anchor"]["catalog_id"] == second["results"][0]["id"]

    listed = fashrec("session", "list", "--json").json()
    assert [(s["name"], s["turns"]) for s in listed["sessions"]] == [("s1", 3)]
    shown = fashrec("session", "show", "s1", "--json").json()
    assert [t["action"] for t in shown["turns"]] == ["start", "refine", "pick"]
    assert shown["turns"][1]["results"] == [r["id"] for r in second["results"]]

    undo = fashrec("session", "undo", "s1", "--json").json()
    assert undo["undone"]["turn"] == 3 and undo["turns"] == 2
    human = fashrec("session", "show", "s1")
    assert human.returncode == 0 and "under 100" in human.stdout

    assert fashrec("session", "rm", "s1", "--json").json() == {"removed": "s1"}
    missing = fashrec("session", "show", "s1", "--json")
    assert missing.returncode == 7 and missing.stdout == "" and json.loads(missing.stderr)["error"] == "session"


def test_session_usage_errors(fashrec, indexed, shirt):
    run = fashrec("refine", "--session", "never", "in red", "--index", indexed, "--planner", "rules", "--json")
    assert run.returncode == 2 and "has not started" in json.loads(run.stderr)["message"]
    run = fashrec("refine", shirt, "in red", "--pick", "1", "--index", indexed, "--json")
    assert run.returncode == 2 and "--session" in json.loads(run.stderr)["message"]
    run = fashrec("refine", shirt, "in red", "--session", "bad/name", "--index", indexed, "--json")
    assert run.returncode == 2


def test_chat_reads_requests_from_stdin(fashrec, indexed, shirt):
    script = "\n".join(["in navy", "under 100", "/pick 1", "/undo", "/plan", "/bogus", "", "/quit",
                        "never read"]) + "\n"
    run = fashrec("chat", shirt, "--index", indexed, "--session", "c1", "--planner", "rules", "-k", "3", "--json",
                  input=script)
    out = [json.loads(line) for line in run.stdout.splitlines()]  # one JSON object per answered line
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert [o.get("command") for o in out] == ["refine", "refine", "pick", "undo", "plan", None]
    assert [o["session"]["turn"] for o in out[:3]] == [1, 2, 3]
    assert out[2]["session"]["anchor"]["value"] == out[1]["results"][0]["id"]
    assert out[3]["undone"] == 3 and out[3]["turns"] == 2
    assert out[4]["plan"]["price"]["max"] == 100 and out[4]["constraints"] == out[1]["session"]["constraints"]
    assert out[5]["error"] == "usage" and "/bogus" in out[5]["message"]
    assert run.returncode == 1  # one line failed; the others were answered

    # The chat was saved as a session: a later chat (or refine --session) continues it.
    run = fashrec("chat", "--session", "c1", "--planner", "rules", "-k", "3", input="/plan\n")
    assert run.returncode == 0, run.stderr
    assert "Constraints:" in run.stdout and "price <= 100" in run.stdout
    assert fashrec("session", "show", "c1", "--json").json()["turns"][-1]["turn"] == 2


def test_chat_for_people(fashrec, indexed, shirt, tmp_path):
    sheet = tmp_path / "looks.png"
    run = fashrec("chat", shirt, "--index", indexed, "--planner", "rules", "-k", "3",
                  input=f"in navy\n/sheet {sheet}\n/help\n")
    assert run.returncode == 0, run.stderr
    assert "turn 1" in run.stdout and "Changed:" in run.stdout and "/pick N" in run.stdout
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "chat-" in fashrec("session", "list", "--json").stdout  # an unnamed chat still gets a session

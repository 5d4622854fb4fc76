"""End to end through the real `fashrec` command: refine --session, session list/show/undo/rm, chat on stdin."""

from __future__ import annotations

import json

import pytest


def test_refine_session_continues_across_processes(fashrec, indexed, shirt):
    # (No navy shirt for men is in stock in this catalog: "in navy" is an honest empty answer.)
    run = fashrec("refine", shirt, "in cotton", "--session", "s1", "--index", indexed, "--planner", "rules",
                  "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    first = run.json()
    assert first["session"]["turn"] == 1 and first["session"]["action"] == "start"
    assert first["plan"]["set"] == {"material": "cotton"} and first["results"]
    navy = first["plan"]["set"]["material"]

    # A new process, no image and no --index: the session knows both.
    run = fashrec("refine", "--session", "s1", "under 100", "--planner", "rules", "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    second = run.json()
    assert second["session"]["turn"] == 2 and second["session"]["action"] == "refine"
    assert second["plan"]["set"]["material"] == navy and second["plan"]["price"]["max"] == 100  # accumulated
    assert {"change": "added", "constraint": "price <= 100"} in second["session"]["changes"]
    assert all(r["price"] <= 100 and r["attributes"]["material"] == navy for r in second["results"]) and second["results"]

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
    script = "\n".join(["in cotton", "under 100", "/pick 1", "/undo", "/plan", "/bogus", "", "/quit",
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
    assert "turn 1" in run.stdout and "Changed:" in run.stdout and "pick N" in run.stdout
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(sheet) as im:   # the sheet's own text: the reading on top, the near misses apart
        text = im.text["Description"].splitlines()
    assert text[1] == 'Request: "in navy"' and text[2].startswith("Anchor (") and "category=shirt" in text[2]
    assert "No navy blue shirts for men (you asked for 3)" in text
    heading = text.index("Alternatives (not matches: each lacks something)")
    assert heading > 0 and all("(lacks " in line for line in text[heading + 1:]) and text[heading + 1:]
    assert "chat-" in fashrec("session", "list", "--json").stdout  # an unnamed chat still gets a session


def test_plain_words_are_commands_only_where_they_cannot_be_requests(tmp_path):
    from fashrec.cli.chat_cmd import command_of

    photo = tmp_path / "other.jpg"
    photo.write_bytes(b"")
    assert command_of("undo") == ("undo", "") and command_of("/undo") == ("undo", "")
    assert command_of("more") == ("more", "") and command_of("Quit") == ("quit", "")
    assert command_of("pick 2 but in red") == ("pick", "2 but in red")
    assert command_of(f"image {photo} in red") == ("image", f"{photo} in red")
    assert command_of("sheet looks.png") == ("sheet", "looks.png")
    for request in ("more formal", "pick the blue one", "new colours please", "image of a coat", "undo the red"):
        assert command_of(request) is None, request


def test_chat_more_pages_and_plain_undo(fashrec, indexed, shirt):
    script = "\n".join(["under 300", "more", "pick 2", "undo", "plan", "more formal"]) + "\n"
    run = fashrec("chat", shirt, "--index", indexed, "--session", "c2", "--planner", "rules", "-k", "1", "--json",
                  input=script)
    assert run.returncode == 0, run.stdout + run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["command"] for o in out] == ["refine", "more", "pick", "undo", "plan", "refine"]
    first, more = out[0], out[1]
    assert more["query"]["offset"] == len(first["results"]) == 1 and more["results"]
    assert not {r["id"] for r in more["results"]} & {r["id"] for r in first["results"]}   # a new page
    assert more["plan"]["price"] == first["plan"]["price"] and more["session"]["changes"] == []
    assert out[2]["session"]["anchor"]["value"] == more["results"][0]["id"]          # "pick 2": the 2nd shown
    assert out[3]["undone"] == 3                                                       # undo, no slash
    assert "undo" not in " ".join(out[4]["constraints"])                               # not a request
    assert out[5]["session"]["action"] == "refine"                                    # "more formal" is one

    shown = fashrec("session", "show", "c2", "--json").json()
    assert [t["action"] for t in shown["turns"]] == ["start", "more", "refine"]
    assert shown["turns"][1]["results"][:1] == [r["id"] for r in first["results"]]     # pick N counts them all
    assert shown["turns"][1]["titles"][1] == more["results"][0]["title"]

    run = fashrec("chat", "--session", "c2", "--planner", "rules", "-k", "1", input="pick 1\n")
    assert run.returncode == 0, run.stderr
    human = fashrec("session", "show", "c2")
    picked = shown["turns"][2]["titles"][0]
    assert f"pick #1 of turn 3: {picked}" in human.stdout                              # what was picked
    assert '(pick) ""' not in human.stdout
    assert shown["turns"][0]["titles"][0] in human.stdout                               # results by title


def _pty_chat(args: list[str], env: dict[str, str], steps: list[tuple[str | None, str]], timeout: float = 300):
    """Run `fashrec ARGS` on a pseudo-terminal; for each (keys, expected) type keys (None: nothing) and
    wait until the output contains expected. Returns the whole output."""
    import fcntl
    import os
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "fashrec", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True)
    os.close(slave)
    seen = b""
    try:
        for keys, expected in steps:
            start = len(seen)
            if keys is not None:
                os.write(master, keys.encode())
            deadline = time.monotonic() + timeout
            while expected.encode() not in seen[start:]:
                assert time.monotonic() < deadline, f"no {expected!r} in:\n{seen.decode(errors='replace')}"
                ready, _, _ = select.select([master], [], [], 1.0)
                if ready:
                    try:
                        seen += os.read(master, 65536)
                    except OSError:   # the child closed the terminal
                        break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return seen.decode(errors="replace")


def test_chat_at_a_terminal_answers_the_photo_first_and_edits_lines(fashrec, fashrec_env, indexed, shirt):
    """At a terminal: what was read from the photo and a first answer before any typing; prompt-toolkit
    line editing (the Up arrow recalls the last request instead of typing ^[[A)."""
    args = ["chat", str(shirt), "--index", str(indexed), "--session", "tty", "--planner", "rules", "-k", "2"]
    output = _pty_chat(args, fashrec_env, [(None, "you>"), ("in navy\r", "turn 2"), ("\x1b[A\r", "turn 3"),
                                           ("quit\r", "")])
    before_typing = output.split("you>", 1)[0]
    assert "turn 1" in before_typing and "Anchor:" in before_typing
    turns = fashrec("session", "show", "tty", "--json").json()["turns"]
    assert [(t["action"], t["text"]) for t in turns] == [("start", ""), ("refine", "in navy"), ("refine", "in navy")]


def test_chat_offers_ways_forward_as_numbers_and_takes_corrections(fashrec, indexed, shirt):
    """An empty answer offers numbered ways forward and a number takes one; "it's a jacket" and
    "anchor attr=value" correct what was read from the anchor and answer again (issue 11)."""
    script = "\n".join(["in navy", "it's a jacket", "1", "anchor category=jackt", "9", "/anchor gender=women"]) + "\n"
    run = fashrec("chat", shirt, "--index", indexed, "--session", "w1", "--planner", "rules", "-k", "3", "--json",
                  input=script)
    out = [json.loads(line) for line in run.stdout.splitlines()]
    empty, corrected, taken, typo, missing, women = out
    # No navy shirt for men is in stock: said, with what each way forward would yield, numbered from 1.
    assert empty["results"] == [] and empty["shortfall"]["message"] == "no navy blue shirts for men"
    options = empty["shortfall"]["options"]
    assert [o["number"] for o in options] == list(range(1, len(options) + 1)) and options[0]["count"] > 0
    # "it's a jacket": the anchor is corrected (the guess it replaces stays visible) and answered again.
    assert corrected["command"] == "correct" and corrected["session"]["action"] == "correct"
    assert corrected["session"]["anchor"]["overrides"] == {"category": "jacket"}
    category = corrected["anchor"]["attributes"]["category"]
    assert (category["value"], category["source"], category["guessed"]["value"]) == ("jacket", "shopper", "shirt")
    assert {"change": "revised", "constraint": "anchor category=jacket", "previous": "anchor category=shirt"} in \
        corrected["session"]["changes"]
    said = next(a for a in corrected["assumptions"] if a["attribute"] == "category")
    assert "you said; the photo read shirt" in said["reason"]
    assert corrected["results"] and all(r["attributes"]["category"] == "jacket" and r["attributes"]["color"] ==
                                        "navy blue" for r in corrected["results"])
    # The only jacket is navy and for men: giving up either finds the same one, so neither way forward
    # can be taken ("1" is refused and says why; taking a useful one: tests/cli/test_ways_forward.py).
    assert not any(o["useful"] for o in corrected["shortfall"]["options"])
    chosen = corrected["shortfall"]["options"][0]
    assert chosen["count"] == 1 and chosen["adds"] == 0
    assert taken["error"] == "usage" and taken["message"] == f"way forward 1 adds nothing: {chosen['message']}"
    assert typo["error"] == "usage" and "did you mean category=jacket?" in typo["message"]
    assert missing["error"] == "usage" and "no way forward 9" in missing["message"]
    assert women["session"]["anchor"]["overrides"] == {"category": "jacket", "gender": "women"}
    assert run.returncode == 1   # three lines failed

    # A new process resumes the session: the corrections still hold for that anchor.
    run = fashrec("chat", "--session", "w1", "--planner", "rules", "-k", "3", "--json", input="in wool\n")
    assert run.returncode == 0, run.stderr
    resumed = json.loads(run.stdout)
    attributes = resumed["anchor"]["attributes"]
    assert (attributes["category"]["value"], attributes["category"]["source"]) == ("jacket", "shopper")
    assert (attributes["gender"]["value"], attributes["gender"]["source"]) == ("women", "shopper")
    assert all(r["attributes"]["category"] == "jacket" for r in resumed["results"])
    shown = fashrec("session", "show", "w1", "--json").json()
    assert shown["turns"][-1]["anchor"]["overrides"] == {"category": "jacket", "gender": "women"}
    assert "overrides" not in shown["turns"][0]["anchor"]
    assert "(you said category=jacket, gender=women)" in fashrec("session", "show", "w1").stdout
    # refine --session --anchor corrects the same stored anchor (and reads its words too)
    run = fashrec("refine", "--session", "w1", "under 300", "--anchor", "pattern=solid", "--planner", "rules",
                  "-k", "3", "--json")
    assert run.returncode == 0, run.stderr
    fixed = run.json()
    assert fixed["session"]["action"] == "correct" and fixed["plan"]["price"]["max"] == 300
    assert fixed["session"]["anchor"]["overrides"] == {"category": "jacket", "gender": "women", "pattern": "solid"}

    human = fashrec("chat", shirt, "--index", indexed, "--planner", "rules", "-k", "3", input="in navy\n")
    assert "Ways forward:" in human.stdout and "1. " in human.stdout and "to take a way forward" in human.stdout


def test_chat_starts_from_a_catalog_product_or_with_a_correction(fashrec, indexed, shirt, products):
    """chat --id SKU starts from a catalog product; chat --anchor corrects the first anchor, or with
    --session alone the session's last one, answered before any line is read (line 0)."""
    jacket = next(p for p in products if p["attributes"]["category"] == "jacket")
    run = fashrec("chat", "--id", jacket["id"], "--index", indexed, "--session", "p1", "--planner", "rules",
                  "-k", "2", "--json", input="something casual\n")
    assert run.returncode == 0, run.stderr
    first = json.loads(run.stdout)
    assert first["session"]["anchor"] == {"kind": "product", "value": jacket["id"]}
    assert first["anchor"]["catalog_id"] == jacket["id"] and jacket["id"] not in [r["id"] for r in first["results"]]

    run = fashrec("chat", shirt, "--anchor", "category=jacket", "--index", indexed, "--session", "p2",
                  "--planner", "rules", "-k", "2", "--json", input="something casual\n")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["session"]["anchor"]["overrides"] == {"category": "jacket"}
    assert data["anchor"]["attributes"]["category"]["source"] == "shopper"

    run = fashrec("chat", "--session", "p1", "--anchor", "color=red", "--planner", "rules", "-k", "2", "--json",
                  input="")
    assert run.returncode == 0, run.stderr
    line0 = json.loads(run.stdout)
    assert line0["line"] == 0 and line0["command"] == "correct"
    assert line0["session"]["anchor"] == {"kind": "product", "value": jacket["id"], "overrides": {"color": "red"}}
    assert {"change": "revised", "constraint": "anchor color=red", "previous": f"anchor color={jacket['attributes']['color']}"} \
        in line0["session"]["changes"]

    for args, words in (((shirt, "--id", jacket["id"]), "not both"), (("--anchor", "color=red"), "--anchor corrects"),
                        ((shirt, "--anchor", "colour=red"), "did you mean color=red?")):
        run = fashrec("chat", *args, "--index", indexed, "--session", "p3", "--json", input="in red\n")
        assert run.returncode == 2 and words in json.loads(run.stderr)["message"], run.stderr


def test_chat_from_an_id_no_product_has_is_not_found_with_a_hint(fashrec, indexed):
    """chat --id with an unknown SKU: the first turn is refused as refine --id is (kind not-found, the id
    named, where ids come from), its line's error object in --json, Error:/Hint: to a person."""
    from fashrec.errors import PRODUCT_IDS_HINT

    run = fashrec("chat", "--id", "no-such-sku", "--index", indexed, "--session", "nf1", "--planner", "rules",
                  "--json", input="in red\n")
    assert [json.loads(line) for line in run.stdout.splitlines()] == [
        {"line": 1, "error": "not-found", "message": "no product 'no-such-sku' in the index", "field": "id",
         "hint": PRODUCT_IDS_HINT}], run.stdout
    human = fashrec("chat", "--id", "no-such-sku", "--index", indexed, "--session", "nf2", "--planner", "rules",
                    input="in red\n")
    assert "Error: no product 'no-such-sku' in the index" in human.stderr, human.stderr
    assert f"Hint: {PRODUCT_IDS_HINT}" in human.stderr, human.stderr


def test_a_chat_anchor_correction_without_a_name_or_value_is_refused_in_chat_s_words(fashrec, indexed, shirt):
    """"/anchor =red" in a chat: the shopper typed /anchor, so the refusal and its hint say /anchor with the
    chat's own syntax (pairs on one line), never the command line's --anchor; the chat goes on."""
    script = "\n".join(["/anchor =red", "anchor =red", "/anchor color=", "/anchor red", "/anchor"]) + "\n"
    run = fashrec("chat", shirt, "--index", indexed, "--session", "a1", "--planner", "rules", "-k", "2", "--json",
                  input=script)
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5] and run.returncode == 1, run.stdout
    for said, error in zip(["=red", "=red", "color=", "red"], out):
        assert error["error"] == "usage" and error["message"] == f"/anchor expects attribute=value, got '{said}'"
        assert error["hint"] == "e.g. /anchor category=dresses color=red", error
    assert out[4]["message"] == "/anchor needs attribute=value pairs" and out[4]["hint"] == out[0]["hint"]
    assert "--anchor" not in run.stdout + run.stderr

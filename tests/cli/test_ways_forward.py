"""Ways forward outside the live chat (issue 11): `refine --relax N` and `search --relax N` take option N of
a short answer as chat's "N" takes it; the options say what takes them; a number not offered is a usage
error naming those offered. And piped chat reads "it's a jacket" beside a pending image as a correction.

All through the real command on the small drawn shop with the tiny model; what a search should find is
counted here from the catalog's rows, product by product.
"""

from __future__ import annotations

import json


def _json(run) -> dict:
    assert run.returncode == 0, run.stderr
    return run.json()


def _error(run) -> dict:
    assert run.returncode == 2, (run.stdout, run.stderr)   # UsageError's exit code (fashrec/errors.py)
    return json.loads(run.stderr.strip().splitlines()[-1])


def test_refine_relax_takes_the_option_chat_takes(fashrec, indexed, shirt):
    """refine --relax N answers as chat's "N" does for the same request: the same results, plan and
    shortfall; the options carry what takes them; a number not offered names those offered."""
    args = ["--index", indexed, "--planner", "rules", "-k", "3"]
    short = _json(fashrec("refine", shirt, "in navy", *args, "--json"))
    options = short["shortfall"]["options"]
    yielding = [o["number"] for o in options if o["useful"]]
    assert short["results"] == [] and yielding, "the request must be short with a way forward"
    for o in options:   # what takes each option that adds something: --relax N here, "relax": [N] in a request
        assert o.get("take") == ({"relax": [o["number"]]} if o["useful"] else None)

    number = yielding[0]
    run = fashrec("chat", shirt, *args, "--session", "c1", "--json", input=f"in navy\n{number}\n")
    assert run.returncode == 0, run.stderr
    in_chat, chat_taken = (json.loads(line) for line in run.stdout.splitlines())
    assert in_chat["shortfall"]["options"][number - 1]["message"] == options[number - 1]["message"]
    taken = _json(fashrec("refine", shirt, "in navy", *args, "--relax", str(number), "--json"))
    assert chat_taken["command"] == "relax" and chat_taken["results"]
    assert [r["id"] for r in taken["results"]] == [r["id"] for r in chat_taken["results"]]
    assert [r["id"] for r in taken["alternatives"]] == [r["id"] for r in chat_taken["alternatives"]]
    assert taken["plan"]["drop"] == chat_taken["plan"]["drop"] and taken["plan"]["set"] == chat_taken["plan"]["set"]
    assert (taken["shortfall"] or {}).get("message") == (chat_taken["shortfall"] or {}).get("message")
    chosen = options[number - 1]
    assert taken["query"]["text"] == "in navy"
    assert taken["query"]["relaxed"] == [{"number": number, "drop": chosen["drop"], "message": chosen["message"]}]
    released = {r["attribute"] for r in chosen["relax"] if r["check"] != "within"}
    assert released <= set(taken["plan"]["drop"]) and len(taken["results"]) == min(3, chosen["count"])

    table = fashrec("refine", shirt, "in navy", *args)
    assert table.returncode == 0, table.stderr
    assert f"{number}. {chosen['message']}" in table.stdout and f"(--relax {number})" in table.stdout
    table = fashrec("refine", shirt, "in navy", *args, "--relax", str(number))
    assert table.returncode == 0, table.stderr
    assert f"Took way forward {number}: {chosen['message']}" in table.stdout

    offered = ", ".join(map(str, yielding[:-1])) + f" or {yielding[-1]}" if len(yielding) > 1 else str(yielding[0])
    error = _error(fashrec("refine", shirt, "in navy", *args, "--relax", "99", "--json"))
    assert error["error"] == "usage" and error["message"] == f"there is no way forward 99 (the answer offers {offered})"
    empty = [o for o in options if not o["count"]]
    if empty:
        error = _error(fashrec("refine", shirt, "in navy", *args, "--relax", str(empty[0]["number"]), "--json"))
        assert error["message"] == f"way forward {empty[0]['number']} finds nothing: {empty[0]['message']}"
    same = [o for o in options if o["count"] and not o["useful"]]
    if same:
        error = _error(fashrec("refine", shirt, "in navy", *args, "--relax", str(same[0]["number"]), "--json"))
        assert error["message"] == f"way forward {same[0]['number']} adds nothing: {same[0]['message']}"
    error = _error(fashrec("refine", shirt, "in navy", *args, "--session", "c2", "--relax", "1", "--json"))
    assert "type the option's number" in error["message"]


def test_search_relax_releases_what_the_option_gives_up(fashrec, indexed, products):
    """search --relax N: the same query with option N's constraint given up; its results are exactly the
    in-stock products with the rest of what was asked; a full answer offers no way forward to take."""
    def matching(**wanted: str) -> set[str]:
        return {p["id"] for p in products if p.get("in_stock", True)
                and all(p["attributes"].get(a) == v for a, v in wanted.items())}

    args = ["--index", indexed, "-k", "5", "--json"]
    wanted = {"material": "linen", "category": "shirt", "gender": "men"}
    data = _json(fashrec("search", "linen shirt for men", *args))
    assert data["query"]["understood"]["set"] == wanted
    assert {r["id"] for r in data["results"]} == matching(**wanted)
    options = data["shortfall"]["options"]
    # The women's linen shirt is out of stock: dropping "for men" finds the same linen shirts for men.
    same = next(o for o in options if o["drop"] == ["gender=men"])
    assert same["count"] == len(matching(**wanted)) and same["adds"] == 0 and not same["useful"]
    assert same["message"].startswith(f"the same {same['count']} linen shirt") and "take" not in same
    error = _error(fashrec("search", "linen shirt for men", *args, "--relax", str(same["number"])))
    assert error["message"] == f"way forward {same['number']} adds nothing: {same['message']}"
    assert [o["useful"] for o in options] == sorted((o["useful"] for o in options), reverse=True)
    for option in (o for o in options if o["useful"]):
        (dropped,) = option["drop"]
        rest = {a: v for a, v in wanted.items() if f"{a}={v}" != dropped}
        assert option["take"] == {"relax": [option["number"]]}
        taken = _json(fashrec("search", "linen shirt for men", *args, "--relax", str(option["number"])))
        found = {r["id"] for r in taken["results"]}
        assert option["count"] == len(matching(**rest)) and len(found) == min(5, option["count"])
        assert found <= matching(**rest)
        assert taken["query"]["understood"]["set"] == rest
        assert taken["query"]["relaxed"] == [{"number": option["number"], "drop": option["drop"],
                                              "message": option["message"]}]
        line = json.dumps({"text": "linen shirt for men", "relax": [option["number"]]})
        batch = fashrec("search", "--batch", "-", "--index", indexed, "-k", "5", input=line + "\n")
        assert batch.returncode == 0, batch.stderr
        assert [r["id"] for r in json.loads(batch.stdout)["results"]] == [r["id"] for r in taken["results"]]
    error = _error(fashrec("search", "linen shirt for men", *args, "--relax", "1", "--relax", "9"))
    assert error["message"].startswith("there is no way forward 9 (the answer after --relax 1 ")


def test_piped_chat_reads_its_a_beside_a_pending_image_as_a_correction(fashrec, indexed, shirt):
    """Piped to chat IMAGE, a first line "it's a jacket" corrects the pending anchor (it used to be read
    as a request for jackets): the turn starts from the corrected anchor and asks for nothing more."""
    run = fashrec("chat", shirt, "--index", indexed, "--session", "p1", "--planner", "rules", "-k", "3", "--json",
                  input="it's a jacket\nin navy\n")
    assert run.returncode == 0, run.stderr
    corrected, refined = (json.loads(line) for line in run.stdout.splitlines())
    assert corrected["command"] == "correct" and corrected["session"]["action"] == "start"
    assert corrected["session"]["anchor"]["overrides"] == {"category": "jacket"}
    category = corrected["anchor"]["attributes"]["category"]
    assert (category["value"], category["source"]) == ("jacket", "shopper")
    assert "category" not in corrected["plan"]["set"]      # a fact about the anchor, not a wish
    assert corrected["results"] and all(r["attributes"]["category"] == "jacket" for r in corrected["results"])
    assert refined["session"]["anchor"]["overrides"] == {"category": "jacket"}
    # An ordinary first line stays a request beside the pending image.
    run = fashrec("chat", shirt, "--index", indexed, "--session", "p2", "--planner", "rules", "-k", "3", "--json",
                  input="in navy\n")
    first = json.loads(run.stdout.splitlines()[0])
    assert first["command"] == "refine" and "overrides" not in first["session"]["anchor"]


def _ways_forward(stdout: str) -> list[str]:
    """The lines under "Ways forward:", up to the near misses' heading that follows them."""
    lines = stdout.splitlines()
    start = lines.index("Ways forward:") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Alternatives (each lacks something):")),
               len(lines))
    return lines[start:end]


def test_a_way_forward_too_long_for_the_terminal_wraps_under_its_text(fashrec, fashrec_env, indexed, shirt):
    """At 60 columns a way forward goes on under its own text, past its number ("  1. "), not back at
    column 0 where it read as something apart; where it fits (200 columns) each is one line, as before."""
    args = ["refine", shirt, "in navy", "--index", indexed, "--planner", "rules", "-k", "3"]
    options = _json(fashrec(*args, "--json"))["shortfall"]["options"]
    said = [f"  {o['number']}. {o['message']}" + (f"  (--relax {o['number']})" if o["useful"] else "")
            for o in options]
    wide = fashrec(*args)
    assert wide.returncode == 0, wide.stderr
    assert _ways_forward(wide.stdout) == said

    fashrec_env["COLUMNS"] = "60"
    narrow = fashrec(*args)
    assert narrow.returncode == 0, narrow.stderr
    lines = _ways_forward(narrow.stdout)
    assert all(len(line.rstrip()) <= 60 for line in lines), lines
    assert len(lines) > len(options), "some way forward must be too long for 60 columns"
    ways: list[list[str]] = []
    for line in lines:
        if line.startswith(f"  {len(ways) + 1}. "):
            ways.append([line])
        else:   # a continuation: indented past "  N. ", where the way's text starts
            assert ways and line.startswith(" " * len(f"  {len(ways)}. ")) and line.strip(), lines
            ways[-1].append(line)
    # Each way's lines hold its words, in order, and nothing else.
    assert [" ".join(" ".join(way).split()) for way in ways] == [" ".join(s.split()) for s in said]

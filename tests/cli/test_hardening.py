"""The command line under misuse: hostile campaign II, items 7, 8, 10-15 and 17.

Catalog text full of rich markup and terminal escapes, batch lines built to overflow or crash,
option-parsing errors in --json mode, files and folders where the other kind is expected, bytes that
are not UTF-8: every case ends in the documented exit code and shape (one JSON document on stdout,
JSON errors on stderr in --json mode), never a traceback, and a bad batch line never stops the batch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("CLI and batch misuse")

MARKUP_TITLE = "[/] bad [bold]title"
ESCAPE_ID = "ctl\x1b[31mRED"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, tiny_model) -> tuple[Path, Path]:
    """A catalog whose text is hostile to a terminal renderer, and its index."""
    folder = tmp_path_factory.mktemp("hostile-shop")
    (folder / "img").mkdir()
    rows = []
    for i, (title, color) in enumerate([(MARKUP_TITLE, "[red]"), ("plain shirt", "blue"), ("[link=x]dress", "red"),
                                        ("trousers", "green")]):
        Image.new("RGB", (40, 50), (60 * i, 200 - 40 * i, 90)).save(folder / "img" / f"{i}.jpg")
        rows.append({"id": ESCAPE_ID if i == 0 else f"p{i}", "image": f"img/{i}.jpg", "title": title,
                     "attributes": {"color": color, "category": "shirt"}, "price": 10.0 + i, "brand": "[i]Acme"})
    rows.append({"id": "p9", "image": "bad/[/]x.jpg", "title": "missing image"})   # skipped, and reported
    catalog = folder / "shop.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = build_index(catalog, model=str(tiny_model))
    assert report.total == 4 and len(report.skipped) == 1
    return catalog, Path(report.index)


# -- item 7: catalog text is text, never markup or terminal control ----------------------------------------
@pytest.mark.parametrize("command", [["similar", "IMG"], ["search", "shirt"], ["info"],
                                     ["refine", "IMG", "in red", "--planner", "rules", "--explain"]])
def test_markup_and_escapes_in_catalog_text_are_shown_literally(fashrec, shop, command):
    catalog, folder = shop
    image = str(catalog.parent / "img" / "0.jpg")
    run = fashrec(*[image if a == "IMG" else a for a in command], "--index", folder)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout   # the id's escape never reaches the terminal raw
    if command[0] in ("info", "refine"):
        assert "[red]" in run.stdout   # a colour value of the vocabulary (the anchor's, in refine)
    else:
        assert MARKUP_TITLE in run.stdout and "ctl\\x1b[31mRED" in run.stdout


def test_markup_in_a_skipped_image_path_and_an_error_is_printed_literally(fashrec, shop, tiny_model, tmp_path):
    catalog, _ = shop
    run = fashrec("index", catalog, "--index", tmp_path / "idx", "--model", tiny_model)
    assert run.returncode == 0, run.stderr
    assert "bad/[/]x.jpg" in run.stderr
    run = fashrec("similar", tmp_path / "no[/]such[bold].jpg", "--index", tmp_path / "idx")
    assert run.returncode == 3 and "no[/]such[bold].jpg" in run.stderr and "Traceback" not in run.stderr


# -- item 8: one bad batch line is one error object ----------------------------------------------------
def run_bytes(env: dict, args: list, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess:
    """The real command with stdin as raw bytes (text mode could not even carry bytes that are not UTF-8)."""
    return subprocess.run([sys.executable, "-m", "fashrec", *map(str, args)], input=stdin, capture_output=True,
                          env=env, cwd=cwd, timeout=300)


def batch(fashrec_env, command: list, lines: list, tmp_path: Path):
    """Run ``command --batch -`` on ``lines`` (dicts, JSON text, or raw bytes); the outputs, one per line."""
    payload = b"".join((line if isinstance(line, bytes) else
                        (json.dumps(line) if isinstance(line, dict) else line).encode()) + b"\n" for line in lines)
    run = run_bytes(fashrec_env, [*command, "--batch", "-"], payload, tmp_path)
    stdout, stderr = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")   # valid UTF-8 both
    assert "Traceback" not in stderr, stderr
    out = [json.loads(line) for line in stdout.splitlines()]
    assert [o["line"] for o in out] == list(range(1, len(lines) + 1)), stdout
    return run, out


def test_search_batch_lines_that_used_to_kill_the_batch(fashrec_env, shop, tmp_path):
    _, folder = shop
    lines = ['{"text": "shirt", "k": 1e309}', '{"text": "a\\ud800b"}', '{"text": "shirt", "k": "ten"}',
             '{"text": "shirt", "k": 0}', '{"text": "shirt", "k": true}', '{"text": ["shirt"]}',
             {"text": "shirt", "k": 2}]
    run, out = batch(fashrec_env, ["search", "--index", folder], lines, tmp_path)
    assert run.returncode == 1
    assert [o.get("error") for o in out] == ["usage"] * 6 + [None]
    assert "'k'" in out[0]["message"] and "surrogate" in out[1]["message"] and "'text'" in out[5]["message"]
    assert len(out[6]["results"]) == 2


def test_similar_batch_with_a_name_too_long(fashrec_env, shop, tmp_path):
    catalog, folder = shop
    lines = [{"image": "x" * 300 + ".jpg"}, {"image": str(catalog.parent / "img" / "1.jpg"), "k": 1}]
    run, out = batch(fashrec_env, ["similar", "--index", folder], lines, tmp_path)
    assert out[0]["error"] == "image" and "too long" in out[0]["message"] and len(out[1]["results"]) == 1


def test_refine_batch_with_absurd_numbers(fashrec_env, shop, tmp_path):
    catalog, folder = shop
    image = str(catalog.parent / "img" / "1.jpg")
    lines = [{"image": image, "text": "in red", "max_steps": 1e309}, '{"image": "%s", "max_steps": -1}' % image,
             {"image": image, "text": "in red", "k": 1e309}, {"image": image, "text": "in red", "k": 1}]
    run, out = batch(fashrec_env, ["refine", "--index", folder, "--planner", "rules"], lines, tmp_path)
    assert [o.get("error") for o in out] == ["usage", "usage", "usage", None]
    assert "'max_steps'" in out[0]["message"] and "'k'" in out[2]["message"]


def test_plan_batch_with_a_malformed_previous_plan(fashrec_env, shop, tmp_path):
    _, folder = shop
    lines = [{"text": "in red", "previous": {"set": "abc"}}, {"text": "in red", "previous": {"exclude": 5}},
             {"text": "in red", "previous": {"price": {"max": "cheap"}}}, {"text": "in red"}]
    run, out = batch(fashrec_env, ["plan", "--index", folder, "--planner", "rules"], lines, tmp_path)
    assert [o.get("error") for o in out] == ["usage", "usage", "usage", None]
    assert all("previous" in o["message"] for o in out[:3])


def test_a_bad_field_on_a_batch_line_names_file_line_and_field_in_fashrecs_words(fashrec_env, shop, tmp_path):
    """A field a request model refuses reads like any bad input: where (file:line), which field, what it must
    be in fashrec's words (never pydantic's "input should be"); the good lines are answered as ever."""
    _, folder = shop
    lines = [{"text": "shirt", "k": 2}, {"text": "shirt", "sort": "cheapest"}, {"text": "shirt", "k": "ten"},
             {"text": "shirt", "where": 5}, {"text": "shirt", "profile": {"budget": -1}}, {"text": "shirt", "k": 2}]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = run_bytes(fashrec_env, ["search", "--index", folder, "--batch", requests], b"", tmp_path)
    assert run.returncode == 1, run.stderr   # README: some lines of a --batch run failed
    out = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    sort = out[1]
    assert {k: sort[k] for k in ("error", "path", "field", "message")} == {
        "error": "usage", "path": str(requests), "field": "sort",
        "message": f"{requests}:2: field 'sort': must be one of relevance, price, -price (got \"cheapest\")"}
    assert sort["hint"].startswith("a search line: ")
    assert (out[2]["field"], out[2]["message"]) == ("k", f"{requests}:3: field 'k': must be a whole number (got \"ten\")")
    assert out[3]["field"] == "where" and out[3]["message"] == (
        f'{requests}:4: field \'where\': must be {{"ATTR": "VALUE"}} or ["ATTR=VALUE", ...] (got 5)')
    assert (out[4]["field"], out[4]["message"]) == ("profile.budget",
                                                    f"{requests}:5: field 'profile.budget': must be at least 0 (got -1)")
    assert not any("input should" in o.get("message", "").lower() or "valid " in o.get("message", "") for o in out)
    assert out[0]["results"] and [r["id"] for r in out[0]["results"]] == [r["id"] for r in out[5]["results"]]
    # from stdin the same, the file named as such
    run, piped = batch(fashrec_env, ["search", "--index", folder], lines[:2], tmp_path)
    assert piped[1]["path"] == "-" and piped[1]["message"].startswith("<stdin>:2: field 'sort': must be one of ")


def test_a_bad_strategy_or_where_on_a_batch_line_names_the_field_not_the_option(fashrec_env, shop, tmp_path):
    """A line's "strategy" and "where" are refused in the words of every bad field (file:line, the field, what
    it must be, what was given), never as the command's --strategy / --where; the options keep their own."""
    catalog, folder = shop

    def answered(command: list, lines: list) -> tuple[Path, list]:
        requests = tmp_path / f"{command[0]}.jsonl"
        requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
        run = run_bytes(fashrec_env, [*command, "--batch", requests, "--index", folder], b"", tmp_path)
        assert run.returncode == 1, run.stderr   # README: some lines of a --batch run failed
        out = [json.loads(line) for line in run.stdout.decode().splitlines()]
        assert [o["line"] for o in out] == list(range(1, len(lines) + 1))
        assert not any("--strategy" in o.get("message", "") or "--where" in o.get("message", "") for o in out)
        return requests, out

    requests, out = answered(["refine", "--planner", "rules"], [{"id": "p1", "text": "in red", "strategy": "magic"},
                                                                {"id": "p1", "text": "in red", "k": 1}])
    assert out[1]["results"]
    assert {k: out[0][k] for k in ("error", "path", "field", "message")} == {
        "error": "usage", "path": str(requests), "field": "strategy",
        "message": f"{requests}:1: field 'strategy': must be one of ammr, fusion, image, text (got \"magic\")"}
    requests, out = answered(["search"], [{"text": "shirt", "where": ["colorred"]}, {"text": "shirt", "k": 1},
                                          {"text": "shirt", "where": ["price<abc"]}])
    assert out[1]["results"]
    assert out[0]["field"] == "where" and out[0]["message"] == (
        f"{requests}:1: field 'where': must be attr=value, attr!=value, price<50, price<=50, price>20, "
        "price>=20 or price=20..40 (got \"colorred\")")
    assert (out[2]["field"], out[2]["message"]) == ("where", f"{requests}:3: field 'where': 'abc' in 'price<abc' is "
                                                             "not a price")
    assert out[2]["hint"].startswith("price bounds read ")
    # the options themselves keep their names
    image = str(catalog.parent / "img" / "1.jpg")
    for args, needle in ((["refine", image, "in red", "--strategy", "magic"], "--strategy must be one of "),
                         (["search", "shirt", "--where", "colorred"], "--where expects attr=value"),
                         (["search", "shirt", "--where", "price<abc"], "--where: 'abc' in 'price<abc' is not")):
        run = run_bytes(fashrec_env, [*args, "--index", folder, "--json"], b"", tmp_path)
        assert run.returncode == 2 and json.loads(run.stderr)["message"].startswith(needle), run.stderr


def test_every_field_a_later_check_refuses_on_a_batch_line_is_named(fashrec_env, shop, tmp_path):
    """Not only the request model's refusals: a line's relax, session, pick, id, image, anchor, offset, text or
    previous refused by a later check (the conversation, the catalog, the answer's ways forward) is named in
    the error object's field too, behind FILE:LINE:, and every output line parses; the options keep their words."""
    catalog, folder = shop
    image = str(catalog.parent / "img" / "1.jpg")

    def refused(command: list, lines: list) -> dict[int, tuple[str | None, str]]:
        run, out = batch(fashrec_env, [*command, "--index", folder], lines, tmp_path)
        assert run.returncode == 1, run.stderr
        for o in out:
            assert "error" not in o or o["message"].startswith(f"<stdin>:{o['line']}: "), o
        return {o["line"]: (o.get("field"), o["message"].split(": ", 1)[1]) for o in out if "error" in o}

    got = refused(["refine", "--planner", "rules"], [
        {"id": "p1", "text": "in red", "pick": 1},
        {"id": "p1", "text": "in red", "session": "s1", "relax": [1]},
        {"id": "p1", "text": "in red", "session": "../up"},
        {"id": "p1", "session": "s1", "pick": 1},
        {"id": "p1", "text": "in red", "session": "s1", "offset": 2},
        {"id": "nope", "text": "in red"},
        {"text": "in red"},
        {"id": "p1", "text": "in red", "anchor": {"zzz": "red"}},
        {"id": "p1", "text": "in red", "relax": [99]},
        {"id": "p1", "text": "in red", "session": "s1", "k": 2},   # answered: the session starts
        {"session": "s1", "pick": 99},
        {"session": "s1"},
        {"session": "s1", "text": "in red", "anchor": {"zzz": "red"}},
        {"session": "s1", "id": "nope"},
    ])
    assert 10 not in got
    assert {n: field for n, (field, _) in got.items()} == {
        1: "pick", 2: "relax", 3: "session", 4: "pick", 5: "offset", 6: "id", 7: "image", 8: "anchor", 9: "relax",
        11: "pick", 12: "text", 13: "anchor", 14: "id"}
    assert got[1][1] == "field 'pick': continues a conversation: add a 'session' name (got 1)"
    assert got[2][1] == ("field 'relax': takes a way forward of one refinement; in a conversation, type the "
                         "option's number (got [1])")
    assert got[3][1] == "field 'session': is not a session name (got \"../up\")"
    assert got[5][1] == "field 'offset': pages a single refinement; in a conversation, ask for more (got 2)"
    assert got[6][1] == got[14][1] == "no product 'nope' in the index"
    assert got[8][1].startswith("the catalog has no attribute 'zzz'") and got[13][1] == got[8][1]
    assert got[9][1].startswith("there is no way forward 99 (")
    assert got[11][1].startswith("there is no result 99 to pick (the last turn showed ")
    got = refused(["search"], [{"text": "shirt", "relax": [99]}, {"text": "shirt", "image": 5}, {"text": "shirt"}])
    assert got == {1: ("relax", got[1][1]), 2: ("image", "field 'image': must be a string (got 5)")}
    assert got[1][1].startswith("there is no way forward 99 (")
    got = refused(["similar"], [{"id": "nope"}, {}, {"id": "p1", "image": image}, {"id": "p1", "k": 1}])
    assert got == {1: ("id", "no product 'nope' in the index"), 2: ("image", "the request needs an 'image' (or an 'id')"),
                   3: ("id", "give an 'image' or an 'id', not both")}
    got = refused(["plan", "--planner", "rules"], [{"text": "in red", "previous": {"set": "abc"}},
                                                   {"text": "in red", "previous": {"price": {"max": "cheap"}}}])
    assert got == {1: ("previous.set", "field 'previous.set': must be an object of attribute -> value (got \"abc\")"),
                   2: ("previous.price", "field 'previous.price': must be an object of min and max, each a number "
                                         "of 0 or more or null (got {\"max\": \"cheap\"})")}
    # the options say themselves: never "field '...'"
    for args, needle in ((["refine", "--id", "p1", "in red", "--session", "s2", "--relax", "1"],
                          "--relax takes a way forward of one refinement"),
                         (["refine", "--id", "p1", "in red", "--session", "s2", "--offset", "2"],
                          "--offset and --sort page a single refinement"),
                         (["refine", "--pick", "1", "in red"], "--pick continues a conversation")):
        run = run_bytes(fashrec_env, [*args, "--index", folder, "--planner", "rules", "--json"], b"", tmp_path)
        assert run.returncode == 2 and json.loads(run.stderr)["message"].startswith(needle), run.stderr


def test_an_empty_anchor_name_or_value_on_a_batch_line_is_told_as_the_line_s_anchor(fashrec_env, shop, tmp_path):
    """A line's anchor with an empty attribute or value, in a single refinement or a session's turns: the field
    'anchor' refused in the words of a mapping, not --anchor's; the option keeps its own words."""
    catalog, folder = shop
    run, out = batch(fashrec_env, ["refine", "--index", folder, "--planner", "rules"], [
        {"id": "p1", "text": "in red", "anchor": {"": "red"}},
        {"id": "p1", "text": "in red", "anchor": {"color": ""}},
        {"id": "p1", "text": "", "session": "e1", "k": 2},   # answered: the session starts
        {"session": "e1", "text": "in red", "anchor": {"": "red"}},
        {"session": "e1", "anchor": {"color": " "}},
        {"session": "e1", "pick": 1, "anchor": {"": ""}},
        {"id": "p1", "text": "in red", "anchor": {"color=red": "blue"}},
    ], tmp_path)
    assert run.returncode == 1 and "results" in out[2], out[2]
    given = {1: '{"": "red"}', 2: '{"color": ""}', 4: '{"": "red"}', 5: '{"color": " "}', 6: '{"": ""}'}
    for number, got in given.items():
        line = out[number - 1]
        assert line["field"] == "anchor" and line["message"] == (
            f"<stdin>:{number}: anchor: attribute names and values must not be empty (got {got})"), line
        assert "--anchor" not in json.dumps(line) and "attribute=value" not in json.dumps(line)
    assert out[6]["field"] == "anchor" and out[6]["message"].startswith("<stdin>:7: the catalog has no attribute "
                                                                        "'color=red'"), out[6]
    for bad in ("=red", "color="):
        run = run_bytes(fashrec_env, ["refine", "--id", "p1", "in red", "--anchor", bad, "--index", folder,
                                      "--planner", "rules", "--json"], b"", tmp_path)
        assert run.returncode == 2 and json.loads(run.stderr)["message"] == (
            f"--anchor expects attribute=value, got '{bad}'"), run.stderr


def test_a_valid_pick_on_a_batch_line_is_not_blamed_for_what_its_turn_refuses_later(fashrec_env, shop, tmp_path,
                                                                                    monkeypatch):
    """Only the pick's own refusal names the field 'pick': a strategy (registered as a plugin's is, so the
    batch runs in this process) refusing the turn a valid pick starts is told as itself."""
    from typer.testing import CliRunner

    from fashrec.ammr import loop
    from fashrec.cli.commands import app
    from fashrec.errors import UsageError

    def picky(refiner, anchor, text, options, **request):
        raise UsageError("the picky strategy answers only a turn with words", hint="say what to change")

    monkeypatch.setattr(loop, "_STRATEGIES", dict(loop._STRATEGIES))   # the registration ends with the test
    loop.register_strategy("picky", picky)
    _, folder = shop
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(json.dumps(line) + "\n" for line in (
        {"id": "p1", "text": "", "session": "pk", "k": 2},
        {"session": "pk", "pick": 1, "strategy": "picky"},
        {"session": "pk", "pick": 9, "strategy": "picky"},
        {"session": "pk", "pick": 1})))
    result = CliRunner().invoke(app, ["refine", "--batch", str(lines), "--index", str(folder), "--planner", "rules"])
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(out) == 4 and out[0]["results"], result.output
    assert out[1] == {"line": 2, "error": "usage", "hint": "say what to change", "path": str(lines),
                      "message": f"{lines}:2: the picky strategy answers only a turn with words"}
    assert out[2]["field"] == "pick" and out[2]["message"].startswith(f"{lines}:3: there is no result 9 to pick")
    assert out[3]["session"]["action"] == "pick" and out[3]["anchor"]["catalog_id"] == out[0]["results"][0]["id"]


def test_batch_lines_that_are_not_utf8_each_get_an_error(fashrec_env, shop, tmp_path):
    _, folder = shop
    lines = ['{"text": "shirt", "k": 1}', b'{"text": "caf\xe9"}', '{"text": "shirt", "k": 1}']
    run, out = batch(fashrec_env, ["search", "--index", folder], lines, tmp_path)
    assert out[1]["error"] == "usage" and "UTF-8" in out[1]["message"]
    assert "results" in out[0] and "results" in out[2]


def test_batch_pointing_at_a_folder_is_a_usage_error(fashrec, shop, tmp_path):
    _, folder = shop
    run = fashrec("search", "--index", folder, "--batch", tmp_path)
    assert run.returncode == 2 and run.stdout == "", run.stderr
    error = json.loads(run.stderr)
    assert error["error"] == "usage" and "is a folder" in error["message"]


# -- item 10: files where folders belong, and the other way round ---------------------------------------
def test_fashrec_home_that_is_a_file(fashrec, fashrec_env, shop, tmp_path):
    catalog, folder = shop
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    fashrec_env["FASHREC_HOME"] = str(home)
    image = catalog.parent / "img" / "1.jpg"
    for command in (["refine", image, "in red", "--session", "s1", "--index", folder, "--planner", "rules"],
                    ["profile", "set", "size=M"]):
        run = fashrec(*command, "--json")
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        error = json.loads(run.stderr)
        assert "FASHREC_HOME" in error["message"] and "is a file" in error["message"] and error["hint"]
    assert home.read_text() == "not a folder"


def test_sheet_pointing_at_a_folder(fashrec, shop, tmp_path):
    catalog, folder = shop
    run = fashrec("similar", catalog.parent / "img" / "1.jpg", "--index", folder, "--sheet", tmp_path, "--json")
    assert run.returncode == 2 and run.stdout == "", run.stderr
    assert "cannot write the sheet" in json.loads(run.stderr)["message"]


def test_chat_with_invalid_utf8_on_stdin(fashrec_env, shop, tmp_path):
    catalog, folder = shop
    image = catalog.parent / "img" / "1.jpg"
    run = run_bytes(fashrec_env, ["chat", image, "--index", folder, "--planner", "rules", "--json"],
                    b"in red\ncaf\xe9 \xff\n/plan\n", tmp_path)
    assert "Traceback" not in run.stderr.decode("utf-8")
    out = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3] and out[1]["error"] == "usage" and "UTF-8" in out[1]["message"]
    assert "results" in out[0] and "constraints" in out[2] and run.returncode == 1


# -- item 11: option-parsing errors in --json mode are JSON ------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["search", "x", "-k", "0"], "'-k'"), (["search", "x", "-k", "-1"], "'-k'"),
    (["search", "x", "-k", "ten"], "'-k'"), (["search", "x", "--bogus"], "--bogus"),
    (["refine", "a.jpg", "x", "--max-steps", "0"], "'--max-steps'"),
])
def test_option_parsing_errors_are_json_in_json_mode(fashrec, args, words):
    run = fashrec(*args, "--json")
    assert run.returncode == 2 and run.stdout == ""
    error = json.loads(run.stderr)   # exactly one JSON document, no rich box
    assert error["error"] == "usage" and words in error["message"] and f"fashrec {args[0]} --help" in error["hint"]
    assert set(error) == {"error", "message", "hint"}
    human = fashrec(*args)
    assert human.returncode == 2 and words in human.stderr and not human.stderr.lstrip().startswith("{")


# -- item 12: a bad --llm file falls back to rules with --planner llm too -------------------------------
def test_a_bad_llm_file_falls_back_to_rules(fashrec, shop, tmp_path):
    catalog, folder = shop
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not a model at all")
    image = catalog.parent / "img" / "1.jpg"
    for command in (["refine", image, "in red"], ["plan", "in red"]):
        run = fashrec(*command, "--index", folder, "--planner", "llm", "--llm", bad, "--json")
        assert run.returncode == 0, run.stderr
        plan = run.json().get("plan", run.json())
        assert plan["source"] == "llm+rules" and "color" in plan["set"]
        assert any("not a GGUF" in n and "rules" in n for n in plan["notes"]), plan["notes"]


# -- item 13: a broken profile has its own exit code and a way out -------------------------------------
@pytest.mark.parametrize("content", ["{not json", '{"version": 99}', "DIR"])
def test_a_broken_profile_is_exit_8_with_a_hint(fashrec, fashrec_env, shop, content):
    _, folder = shop
    home = Path(fashrec_env["FASHREC_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    profile = home / "profile.json"
    profile.mkdir() if content == "DIR" else profile.write_text(content)
    for command in (["search", "shirt", "--index", folder], ["profile", "show"]):
        run = fashrec(*command, "--json")
        assert run.returncode == 8 and run.stdout == "", run.stderr
        error = json.loads(run.stderr)
        assert error["error"] == "profile" and str(profile) in error["message"] + error["hint"]
    run = fashrec("profile", "clear", "--json")
    if content == "DIR":   # never removed for the user: it is not a file fashrec wrote
        assert run.returncode == 8 and profile.is_dir()
    else:
        assert run.returncode == 0 and not profile.exists()


# -- item 14: a misleading hint ----------------------------------------------------------------------
def test_where_price_points_at_something_that_exists(fashrec, shop):
    _, folder = shop
    # price bounds are --where filters now (issue 17): a bad one is refused, its hint naming what exists
    run = fashrec("search", "shirt", "--where", "price=cheap", "--index", folder, "--json")
    assert run.returncode == 2
    error = json.loads(run.stderr)
    assert "--max-price" not in error["message"] + error.get("hint", "")
    assert "price<50" in error["hint"] and "under 50" in error["hint"] and "budget" in error["hint"]
    exact = fashrec("search", "shirt", "--where", "price=11", "--index", folder, "--planner", "none", "--json")
    assert exact.returncode == 0 and [r["price"] for r in exact.json()["results"]] == [11.0]


# -- item 15: bytes that are not UTF-8 never reach the output raw ---------------------------------------
def test_argv_that_is_not_utf8_is_refused_and_output_stays_utf8(fashrec_env, shop, tmp_path):
    _, folder = shop
    for json_flag in (["--json"], []):
        run = subprocess.run([sys.executable, "-m", "fashrec", "search", b"caf\xe9 \xff", "--index", str(folder),
                              *json_flag], capture_output=True, env=fashrec_env, cwd=tmp_path, timeout=120)
        assert run.returncode == 2
        stderr = run.stderr.decode("utf-8")   # valid UTF-8, whatever came in
        message = json.loads(stderr)["message"] if json_flag else stderr
        assert "not valid UTF-8" in message and "caf\\xe9 \\xff" in message
        assert run.stdout == b""


# -- item 17: absurd budgets are refused (the injected chat turns: tests/planner/test_readings.py) --------
@pytest.mark.parametrize("planner", ["rules", "hybrid"])
def test_absurd_and_negative_budgets_are_refused_through_plan(fashrec, shop, planner):
    _, folder = shop
    run = fashrec("plan", "in red, under 0 dollars, price max -1, under 1e309 euros", "--index", folder,
                  "--planner", planner, "--json")
    assert run.returncode == 0, run.stderr
    plan = run.json()
    assert plan["price"] == {"min": None, "max": None}, plan   # hybrid used to answer max 1
    assert any("budget" in n or "price" in n for n in plan["notes"]), plan["notes"]


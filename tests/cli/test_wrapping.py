"""Human output too long for the terminal goes on under its own words, past its label, not back at
column 0 where a continuation reads as a line of its own; where a line fits it prints as before."""

from __future__ import annotations

import json
from pathlib import Path

from fashrec.ammr.ways import numbers_text


def _wrapped(lines: list[str], start: int, said: str, indent: int, width: int = 60) -> tuple[list[str], int]:
    """The lines from ``start`` that print ``said``: the first holds its first words, each further one is
    ``indent`` spaces in and goes on with the next words, until all are there, in order, none wider than
    ``width``. Returns them and the index of the line after them."""
    block, words, i = [lines[start]], said.split(), start
    assert said.startswith(lines[start].rstrip()) and lines[start].strip(), (said, lines[start])
    while len(" ".join(block).split()) < len(words):
        i += 1
        assert i < len(lines) and lines[i].startswith(" " * indent) and lines[i].strip(), (said, lines[i - 1:i + 1])
        block.append(lines[i])
    assert " ".join(block).split() == words, (said, block)
    assert all(len(line.rstrip()) <= width for line in block), block
    return block, i + 1


def _starting(lines: list[str], prefix: str, start: int = 0) -> int:
    return next(i for i in range(start, len(lines)) if lines[i].startswith(prefix))


def _info_line(data: dict) -> str:
    return (f"{data['path']}: {data['items']} items, {data['disk_bytes'] / 1e6:.1f} MB, encoder "
            f"{data['encoder']['identifier']} (dim {data['encoder']['dimension']}), schema "
            f"v{data['schema_version']}, updated {data['updated_at']}")


def test_info_first_line_goes_on_past_the_index_path(fashrec, fashrec_env, indexed, tmp_path):
    """At 60 columns `fashrec info`'s first line goes on past "PATH: "; a path as wide as half the line
    takes its own line and the facts follow two spaces in. At 200 columns it is its one line, as before."""
    near = str(indexed.relative_to(tmp_path))      # the commands run in tmp_path
    data = fashrec("info", "--index", near, "--json").json()
    said = _info_line(data)
    wide = fashrec("info", "--index", near)
    assert wide.returncode == 0, wide.stderr
    assert wide.stdout.splitlines()[0] == said

    fashrec_env["COLUMNS"] = "60"
    narrow = fashrec("info", "--index", near)
    assert narrow.returncode == 0, narrow.stderr
    block, _ = _wrapped(narrow.stdout.splitlines(), 0, said, len(data["path"]) + 2)
    assert len(block) > 1, "the line must be too long for 60 columns"

    far = fashrec("info", "--index", indexed, "--json").json()    # tmp_path's own, absolute
    assert len(far["path"]) > 30, far["path"]
    lines = fashrec("info", "--index", indexed).stdout.splitlines()
    start = _starting(lines, "  ")
    assert "".join(line.rstrip() for line in lines[:start]) == f"{far['path']}:"   # folded if it must be
    block, _ = _wrapped(lines, start, "  " + _info_line(far).removeprefix(f"{far['path']}: "), 2)
    assert len(block) > 1


def _changed(turn: dict) -> str:
    listed = [("+ " if c["change"] == "added" else "- " if c["change"] == "removed" else "~ ")
              + (f"{c['previous']} -> {c['constraint']}" if c.get("previous") else c["constraint"])
              for c in turn["changes"]]
    return "Changed: " + (", ".join(listed) or "no change to the constraints")


def _constraints(constraints: list[str]) -> str:
    return "Constraints: " + (", ".join(constraints) or "(none)")


CHAT = "in cotton\nunder 100 and in navy, not striped, with longer sleeves\n/plan\n"


def _printed(lines: list[str], start: int, said: list[tuple[str, int]], width: int) -> tuple[int, list[str]]:
    """Checks that ``said`` (each line with the indent its continuations take) is printed one line after the
    other from ``start``: each its one line at 200 columns, wrapped under its words when narrower. Returns
    the index after them and the first words of those that took more than one line."""
    wrapped = []
    for line, indent in said:
        if width == 200:
            assert lines[start] == line
            start += 1
        else:
            block, start = _wrapped(lines, start, line, indent, width)
            wrapped += [line.split()[0]] if len(block) > 1 else []
    return start, wrapped


def test_a_chat_turn_and_a_session_wrap_under_their_labels(fashrec, fashrec_env, indexed, shirt):
    """At 60 columns chat's turn heading goes on past "Session NAME · turn N ", its "Changed: ..." and
    "Constraints: ..." lines past their labels, and so do `session show`'s, its heading past "N. ".
    Before, each went on at column 0. At 200 columns each is its one line, as before."""
    args = [shirt, "--index", indexed, "--planner", "rules", "-k", "3"]
    for width in (200, 60):
        name = f"w{width}"
        fashrec_env["COLUMNS"] = str(width)
        chat = fashrec("chat", *args, "--session", name, input=CHAT)
        assert chat.returncode == 0, chat.stderr
        shown = fashrec("session", "show", name).stdout.splitlines()
        turns = fashrec("session", "show", name, "--json").json()["turns"]
        assert [t["action"] for t in turns] == ["start", "refine"]
        lines, end, wrapped = chat.stdout.splitlines(), 0, []
        for t in turns:
            image = t["anchor"]["value"] if width == 200 else Path(t["anchor"]["value"]).name
            head = f"Session {name} · turn {t['turn']}"
            said = [(f'{head} ({t["action"]}) "{t["text"]}"  anchor: {image}', len(head) + 1),
                    (_changed(t), len("Changed: ")), (_constraints(t["constraints"]), len("Constraints: "))]
            end, more = _printed(lines, _starting(lines, f"{head} ", end), said, width)
            wrapped += more
        said = [(_constraints(turns[-1]["constraints"]), len("Constraints: "))]     # /plan's
        wrapped += _printed(lines, _starting(lines, "Constraints: ", end), said, width)[1]
        expected = ["Session", "Session", "Changed:", "Constraints:", "Constraints:"] if width == 60 else []
        assert wrapped == expected, "the headings, turn 2's and /plan's lines must be too long for 60 columns"

        end, wrapped = 0, []
        for t in turns:
            said = [(f'{t["turn"]}. {t["action"]} "{t["text"]}"  {Path(t["anchor"]["value"]).name} · {t["time"]}',
                     len(f"{t['turn']}. ")),
                    (_changed(t), len("Changed: ")), (_constraints(t["constraints"]), len("Constraints: "))]
            end, more = _printed(shown, _starting(shown, f"{t['turn']}. ", end), said, width)
            wrapped += more
        expected = ["1.", "2.", "Changed:", "Constraints:"] if width == 60 else []
        assert wrapped == expected, "the headings and turn 2's lines must be too long for 60 columns"


def _outfit_head(data: dict) -> list[tuple[str, int]]:
    """outfit's lines above its looks, each with the indent its continuations take."""
    a = data["anchor"]
    traits = a["traits"]
    described = " · ".join(str(traits[k]) for k in ("category", "gender", "color", "season") if traits.get(k))
    said = [(f"Anchor: {described} ({traits['group']}, catalog {a['catalog_id']})", len("Anchor: "))]
    said += [(f"Occasion: {a['occasion']} ({a['occasion_source']})", len("Occasion: "))] if a.get("occasion") else []
    said += [(f"Budget: {data['budget']:g} for the added pieces of a look", len("Budget: "))]
    return said + [(f"  {n}", 2) for n in a.get("notes") or []]


def test_outfit_lines_wrap_under_their_labels(fashrec, fashrec_env, indexed):
    """At 60 columns (and 40) outfit's "Anchor: ...", "Occasion: ..." and "Budget: ..." lines go on past
    their labels, its notes two spaces in, and an empty slot's line past "SLOT: ", whether no look could be
    built or a look lacks the slot. Before, each went on at column 0. At 200 columns each is its one line."""
    def outfit(product: str, *more: str):
        run = fashrec("outfit", "--id", product, "--index", indexed, "--occasion", "party", "--budget", "100", *more)
        assert run.returncode == 0, run.stderr
        return run.json() if more else run.stdout.splitlines()

    lacking, none = outfit("sku-1001", "--json"), outfit("sku-1002", "--json")   # a white shirt, a red dress
    assert len(lacking["outfits"]) == 1 and lacking["outfits"][0]["missing"] and lacking["anchor"]["notes"]
    assert not none["outfits"] and none["empty"]
    for width in (200, 60, 40):
        fashrec_env["COLUMNS"] = str(width)
        lines = outfit("sku-1001")
        end, wrapped = _printed(lines, 0, _outfit_head(lacking), width)
        if width < 200:     # a narrow look: its empty slot a line below its pieces (at 200, a table's row)
            look = lacking["outfits"][0]
            empty = {e["slot"]: e["reason"] for e in look["empty"]}
            for slot in look["missing"]:
                said = [(f"{slot}: empty: {empty.get(slot, 'nothing suitable')}", len(f"{slot}: "))]
                wrapped += _printed(lines, _starting(lines, f"{slot}: empty: ", end), said, width)[1]
        lines = outfit("sku-1002")
        end, more = _printed(lines, 0, _outfit_head(none), width)
        assert lines[end].startswith("No outfit could be built")     # (wrapped at 40, as it was)
        said = [(f"  {e['slot']}: {e['reason']}", len(f"  {e['slot']}: ")) for e in none["empty"]]
        wrapped += more + _printed(lines, _starting(lines, "  ", end), said, width)[1]
        if width == 60:     # these must be too long for 60 columns, and for 40 the lines that fit at 60 too
            assert wrapped == ["footwear:", "Anchor:"] + [f"{e['slot']}:" for e in none["empty"]], wrapped
        if width == 40:
            assert {"Anchor:", "Budget:", "only", "footwear:"} <= set(wrapped), wrapped


def _shortfall(data: dict) -> str:
    short = data["shortfall"]
    return f"{short['message'][:1].upper()}{short['message'][1:]} (you asked for {short['wanted']})."


SHORT = "in navy cotton, not striped, under 100, with longer sleeves"


def test_a_short_answers_headline_goes_on_two_spaces_in(fashrec, fashrec_env, indexed, shirt):
    """At 60 columns the headline of a short answer ("No navy blue cotton shirts ... (you asked for 3).") of
    refine, search and chat goes on two spaces in, as a note does: a sentence has no label to hang under;
    at 40 chat's "type a number (...) to take a way forward" goes on under its words too. Before, each went
    on at column 0. At 200 columns each is its one line, as before."""
    refine = ["refine", shirt, SHORT, "--index", indexed, "--planner", "rules", "-k", "3"]
    search = ["search", "cotton shirt for men", "--where", "color=navy blue", "--index", indexed, "-k", "3"]
    chat = ["chat", shirt, "--index", indexed, "--planner", "rules", "-k", "3"]
    answered = [fashrec(*refine, "--json").json(), fashrec(*search, "--json").json(),
                fashrec(*chat, "--session", "j", "--json", input=SHORT + "\n").stdout.splitlines()[0]]
    answered[2] = json.loads(answered[2])
    said = [_shortfall(data) for data in answered]
    offered = [o["number"] for o in answered[2]["shortfall"]["options"] if o["useful"]]
    assert offered, "chat's answer must offer a way forward"
    hint = f"  type a number ({numbers_text(offered)}) to take a way forward"
    for width in (200, 60, 40):
        fashrec_env["COLUMNS"] = str(width)
        runs = [fashrec(*refine), fashrec(*search), fashrec(*chat, "--session", f"w{width}", input=SHORT + "\n")]
        wrapped = []
        for run, line in zip(runs, said):
            assert run.returncode == 0, run.stderr
            lines = run.stdout.splitlines()
            start = _starting(lines, " ".join(line.split()[:3]))
            wrapped += _printed(lines, start, [(line, 2)], width)[1]
        lines = runs[2].stdout.splitlines()
        more = _printed(lines, _starting(lines, "  type a number "), [(hint, 2)], width)[1]
        if width == 60:
            assert wrapped == ["No", "No", "No"] and not more, "each headline must be too long for 60 columns"
        if width == 40:
            assert more == ["type"], "the hint must be too long for 40 columns"


def _folded(lines: list[str], start: int, said: str, indent: int, width: int = 60) -> list[str]:
    """As :func:`_wrapped`, for a line holding a word wider than its column (a path): each further line is
    ``indent`` spaces in and goes on with the next characters of ``said``, after a space or within the word,
    never cut short. Returns the lines."""
    text, i = lines[start].rstrip(), start
    assert text and said.startswith(text), (said, lines[start])
    while text != said:
        i += 1
        assert i < len(lines) and lines[i].startswith(" " * indent) and lines[i].strip(), (said, lines[i - 1:i + 1])
        piece = lines[i].strip()
        text = next((t for t in (f"{text} {piece}", text + piece) if said.startswith(t)), "")
        assert text, (said, lines[start:i + 1])
    assert all(len(line.rstrip()) <= width for line in lines[start:i + 1]), lines[start:i + 1]
    return lines[start:i + 1]


def test_session_show_and_info_go_on_past_their_labels(fashrec, fashrec_env, indexed, shirt):
    """At 60 columns `session show`'s first line goes on past "NAME · N turn(s) · index ", and info's
    "queries run on RUNTIME: ..." past its label, a long path folded in its column, never cut to "…"; a
    session name as wide as half the line takes its own line and the path follows two spaces in. Before,
    each went on at column 0. At 200 columns each is its one line, as before."""
    runtime = fashrec("info", "--index", indexed, "--json").json()["query_runtime"]
    ran = f"queries run on {runtime['runtime']}: {runtime['why']}"
    names = ("w", "a-session-named-for-jackets")
    for name in names:
        run = fashrec("chat", shirt, "--index", indexed, "--planner", "rules", "-k", "3", "--session", name,
                      input="in navy\n")
        assert run.returncode == 0, run.stderr
    for width in (200, 60):
        fashrec_env["COLUMNS"] = str(width)
        lines = fashrec("info", "--index", indexed).stdout.splitlines()
        start = _starting(lines, "queries run on ")
        if width == 200:
            assert lines[start] == ran
        else:
            assert len(_folded(lines, start, ran, len(f"queries run on {runtime['runtime']}: "))) > 1
        for name in names:
            data = fashrec("session", "show", name, "--json").json()
            head = f"{name} · {len(data['turns'])} turn(s) · index"
            lines = fashrec("session", "show", name).stdout.splitlines()
            if width == 200:
                assert lines[0] == f"{head} {data['index']}"
            elif len(head) <= width // 2:
                assert len(_folded(lines, 0, f"{head} {data['index']}", len(head) + 1)) > 1
            else:
                assert lines[0] == head and len(_folded(lines, 1, f"  {data['index']}", 2)) > 1


def test_plan_notes_go_on_under_their_words(fashrec, fashrec_env, indexed):
    """At 60 columns each of `plan`'s notes goes on under its words, past "  · ". Before, they went on at
    column 0. At 200 columns each is its one line, as before."""
    args = ["plan", "the women's version as a skirt in navy, not black, under $30, in bla", "--index", indexed,
            "--planner", "rules"]
    notes = fashrec(*args, "--json").json()["notes"]
    assert len(notes) > 1, notes
    for width in (200, 60):
        fashrec_env["COLUMNS"] = str(width)
        lines = fashrec(*args).stdout.splitlines()
        end, wrapped = _printed(lines, _starting(lines, "  · "), [(f"  · {n}", 4) for n in notes], width)
        assert end == len(lines)
        assert wrapped == (["·"] * len(notes) if width == 60 else []), "each note must be too long for 60 columns"

"""Human output too long for the terminal goes on under its own words, past its label, not back at
column 0 where a continuation reads as a line of its own; where a line fits it prints as before."""

from __future__ import annotations

from pathlib import Path


def _wrapped(lines: list[str], start: int, said: str, indent: int) -> tuple[list[str], int]:
    """The lines from ``start`` that print ``said``: the first holds its first words, each further one is
    ``indent`` spaces in and goes on with the next words, until all are there, in order, none wider than
    60 columns. Returns them and the index of the line after them."""
    block, words, i = [lines[start]], said.split(), start
    assert said.startswith(lines[start].rstrip()) and lines[start].strip(), (said, lines[start])
    while len(" ".join(block).split()) < len(words):
        i += 1
        assert i < len(lines) and lines[i].startswith(" " * indent) and lines[i].strip(), (said, lines[i - 1:i + 1])
        block.append(lines[i])
    assert " ".join(block).split() == words, (said, block)
    assert all(len(line.rstrip()) <= 60 for line in block), block
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


def _printed(lines: list[str], start: int, said: list[tuple[str, int]], width: int) -> tuple[int, int]:
    """Checks that ``said`` (each line with the indent its continuations take) is printed one line after the
    other from ``start``: each its one line at 200 columns, wrapped under its words at 60. Returns the
    index after them and how many took more than one line."""
    wrapped = 0
    for line, indent in said:
        if width == 200:
            assert lines[start] == line
            start += 1
        else:
            block, start = _wrapped(lines, start, line, indent)
            wrapped += len(block) > 1
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
        lines, end, wrapped = chat.stdout.splitlines(), 0, 0
        for t in turns:
            image = t["anchor"]["value"] if width == 200 else Path(t["anchor"]["value"]).name
            head = f"Session {name} · turn {t['turn']}"
            said = [(f'{head} ({t["action"]}) "{t["text"]}"  anchor: {image}', len(head) + 1),
                    (_changed(t), len("Changed: ")), (_constraints(t["constraints"]), len("Constraints: "))]
            end, more = _printed(lines, _starting(lines, f"{head} ", end), said, width)
            wrapped += more
        said = [(_constraints(turns[-1]["constraints"]), len("Constraints: "))]     # /plan's
        wrapped += _printed(lines, _starting(lines, "Constraints: ", end), said, width)[1]
        assert wrapped == (5 if width == 60 else 0), "the headings, turn 2's and /plan's lines must be too long"

        end, wrapped = 0, 0
        for t in turns:
            said = [(f'{t["turn"]}. {t["action"]} "{t["text"]}"  {Path(t["anchor"]["value"]).name} · {t["time"]}',
                     len(f"{t['turn']}. ")),
                    (_changed(t), len("Changed: ")), (_constraints(t["constraints"]), len("Constraints: "))]
            end, more = _printed(shown, _starting(shown, f"{t['turn']}. ", end), said, width)
            wrapped += more
        assert wrapped == (4 if width == 60 else 0), "the headings and turn 2's lines must be too long for 60"

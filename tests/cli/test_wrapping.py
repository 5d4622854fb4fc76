"""Human output too long for the terminal goes on under its own words, past its label, not back at
column 0 where a continuation reads as a line of its own; where a line fits it prints as before."""

from __future__ import annotations


def _wrapped(lines: list[str], said: str, indent: int, start: int = 0) -> tuple[list[str], int]:
    """The lines, from ``start`` on, that print ``said``: the first holds its first words, each further
    one is ``indent`` spaces in and goes on with the next words, until all are there, in order. Returns
    them and the index of the line after them."""
    i = next(i for i in range(start, len(lines)) if lines[i].strip() and said.startswith(lines[i].rstrip()))
    block, words = [lines[i]], said.split()
    while len(" ".join(block).split()) < len(words):
        i += 1
        assert i < len(lines) and lines[i].startswith(" " * indent) and lines[i].strip(), (said, lines[i - 1:i + 1])
        block.append(lines[i])
    assert " ".join(block).split() == words, (said, block)
    assert all(len(line.rstrip()) <= 60 for line in block), block
    return block, i + 1


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
    block, _ = _wrapped(narrow.stdout.splitlines(), said, len(data["path"]) + 2)
    assert len(block) > 1, "the line must be too long for 60 columns"

    far = fashrec("info", "--index", indexed, "--json").json()    # tmp_path's own, absolute
    assert len(far["path"]) > 30, far["path"]
    lines = fashrec("info", "--index", indexed).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  "))
    assert "".join(line.rstrip() for line in lines[:start]) == f"{far['path']}:"   # folded if it must be
    block, _ = _wrapped(lines, "  " + _info_line(far).removeprefix(f"{far['path']}: "), 2, start)
    assert len(block) > 1

"""The index folder belongs to the user: fashrec deletes only what it records having written.

Hostile campaign II, items 1, 10 and 16: files the user keeps in (or next to) an index folder
survive every run, a folder that is not an index is refused, symbolic links never lead a writer out
of the folder, and odd things in the place of index files end in a message, never a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from index_support import assert_usable, make_catalog

from fashrec.errors import FashrecIndexError
from fashrec.index import read_manifest
from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("index folder")

USER_FILES = {"items-2024.csv": b"id,price\n1,2\n", "vectors-notes.md": b"# my notes\n",
              "movie.mkv.partial": b"\x1a\x45\xdf\xa3 half a film"}


def put_user_files(folder: Path) -> None:
    for name, data in USER_FILES.items():
        (folder / name).write_bytes(data)


def assert_user_files_intact(folder: Path) -> None:
    for name, data in USER_FILES.items():
        assert (folder / name).read_bytes() == data, name


@pytest.fixture()
def shop(tmp_path, fashrec_env) -> Path:
    return make_catalog(tmp_path / "shop", 12)


def test_a_folder_that_is_not_an_index_is_refused_and_left_alone(shop, tiny_model, fashrec):
    folder = shop.parent / "my-stuff"
    folder.mkdir()
    put_user_files(folder)
    run = fashrec("index", shop, "--index", folder, "--model", tiny_model, "--json")
    assert run.returncode == 4 and run.stdout == "", run.stderr
    error = json.loads(run.stderr)
    assert "not a fashrec index" in error["message"] and str(folder) in error["message"]
    assert "empty folder" in error["hint"]
    assert_user_files_intact(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(USER_FILES)  # not even a .lock


@pytest.mark.parametrize("rebuild", [False, True], ids=["update", "rebuild"])
def test_user_files_inside_an_index_survive_every_run(shop, tiny_model, rebuild):
    folder = Path(build_index(shop, model=str(tiny_model)).index)
    put_user_files(folder)
    make_catalog(shop.parent, 14)                           # two new products: a real write
    build_index(shop, rebuild=rebuild)
    build_index(shop)                                       # and a no-op run
    assert_user_files_intact(folder)
    assert_usable(folder, 14)


def test_a_killed_writer_leftovers_are_removed_but_only_those(shop, tiny_model):
    folder = Path(build_index(shop, model=str(tiny_model)).index)
    put_user_files(folder)
    # What a writer killed mid-write leaves: its lock names the files it was about to write.
    generation = read_manifest(folder).generation + 1
    leftovers = [f"items-{generation}.sqlite.partial", f"vectors-{generation}.hnsw.partial"]
    for name in leftovers:
        (folder / name).write_bytes(b"half written")
    (folder / ".lock").write_text(json.dumps({"fashrec": "index writer", "pid": 999999, "writes": leftovers}))
    # Same patterns, never recorded: a user's (or an older fashrec's) file. Left alone.
    (folder / "items-77.sqlite").write_bytes(b"not ours")
    report = build_index(shop)
    assert not any((folder / name).exists() for name in leftovers)
    assert (folder / "items-77.sqlite").read_bytes() == b"not ours"
    assert any("items-77.sqlite" in n and "left alone" in n for n in report.notes), report.notes
    assert_user_files_intact(folder)


def test_symbolic_links_never_lead_the_writer_out_of_the_folder(shop, tiny_model, tmp_path):
    folder = Path(build_index(shop, model=str(tiny_model)).index)
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.txt"
    precious.write_bytes(b"keep me")
    generation = read_manifest(folder).generation + 1
    # The names the next generation would be written under, pointing outside (one dangling).
    os.symlink(precious, folder / f"items-{generation}.sqlite.partial")
    os.symlink(outside / "new-file", folder / f"vectors-{generation}.hnsw.partial")
    make_catalog(shop.parent, 13)
    build_index(shop)
    assert precious.read_bytes() == b"keep me" and sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert_usable(folder, 13)

    (folder / ".lock").unlink()
    os.symlink(precious, folder / ".lock")  # a lock that is a link: never opened, never truncated
    with pytest.raises(FashrecIndexError, match="is a symbolic link"):
        build_index(shop)
    assert precious.read_bytes() == b"keep me"


@pytest.mark.parametrize("name", [".lock", "manifest.json", "items-1.sqlite", "vectors-1.hnsw"])
def test_a_directory_in_place_of_an_index_file_is_a_clear_error(shop, tiny_model, fashrec, name):
    folder = Path(build_index(shop, model=str(tiny_model)).index)
    (folder / name).unlink()
    (folder / name).mkdir()
    (folder / name / "inside.txt").write_text("user data")
    run = fashrec("index", shop, "--rebuild", "--json")
    assert "Traceback" not in run.stderr
    assert (folder / name / "inside.txt").read_text() == "user data"   # never removed
    if name in (".lock", "manifest.json"):
        assert run.returncode == 4 and run.stdout == ""
        error = json.loads(run.stderr)
        assert f"{folder / name} is a directory" in error["message"] and error.get("hint")
    else:  # --rebuild writes a new generation; the directory is not a file of ours to remove
        assert run.returncode == 0, run.stderr
        assert_usable(folder, 12)


def test_index_pointing_at_a_regular_file_is_a_clear_error(shop, tiny_model, fashrec):
    target = shop.parent / "notes.txt"
    target.write_text("not a folder")
    for command in (["index", shop, "--index", target, "--model", tiny_model], ["info", "--index", target]):
        run = fashrec(*command, "--json")
        assert run.returncode == 4 and "Traceback" not in run.stderr, run.stderr
        assert "is a file, not an index folder" in json.loads(run.stderr)["message"]
    assert target.read_text() == "not a folder"


def test_every_index_file_gets_the_same_permissions(shop, tiny_model):
    old = os.umask(0o022)
    try:
        folder = Path(build_index(shop, model=str(tiny_model)).index)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert set(modes.values()) == {0o644}, modes


def test_user_files_inside_an_index_survive_the_command(shop, tiny_model, fashrec):
    """Item 1 through `fashrec index`: the stray cleaner matched items-*, vectors-* and *.partial."""
    folder = shop.parent / "shop.fashrec-index"
    assert fashrec("index", shop, "--index", folder, "--model", tiny_model, "--json").returncode == 0
    put_user_files(folder)
    make_catalog(shop.parent, 14)
    for extra in ([], ["--rebuild"], []):   # an update that writes, a rebuild, a no-op
        run = fashrec("index", shop, "--index", folder, *extra, "--json")
        assert run.returncode == 0, run.stderr
    assert_user_files_intact(folder)
    assert fashrec("info", "--index", folder, "--json").json()["items"] == 14

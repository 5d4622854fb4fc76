"""Hostile catalog inputs: broken lines, absurd values and broken images.

Each case must end in a clear message naming the file, line and field (never a traceback), and a
re-index of an existing index with such inputs must not lose anything already indexed.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashrec.catalog import MAX_LINE_BYTES, load_catalog
from fashrec.catalog.images import MAX_PIXELS, load_rgb
from fashrec.errors import CatalogError, ImageError
from fashrec.index import open_index
from fashrec.index.build import build_index

pytestmark = pytest.mark.hostile("bad catalog lines")


# -- image factories ---------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png_bomb(path: Path, side: int = 30_000) -> Path:
    """A valid 1-bit PNG of side x side black pixels: ~100 KB on disk, 900 MB once decoded as L."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


def write_truncated_jpeg(path: Path) -> Path:
    rng = np.random.default_rng(0)  # noise, so the JPEG is large and its second half matters
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(path, format="JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_mode_image(path: Path, mode: str) -> tuple[int, int, int]:
    """An 8x8 image in ``mode``; returns the RGB that pixel (0, 0) must come out as."""
    if mode == "CMYK":
        Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, format="JPEG", quality=100)
        return (255, 0, 0)
    if mode == "RGBA":  # fully transparent red: must come out white, not black or red
        Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(path, format="PNG")
        return (255, 255, 255)
    if mode == "P":  # palette with a transparent entry 0 and green entry 1
        im = Image.new("P", (8, 8), 0)
        im.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
        im.putpixel((0, 0), 1)
        im.save(path, format="PNG", transparency=0)
        return (0, 255, 0)
    if mode == "LA":
        Image.new("LA", (8, 8), (0, 0)).save(path, format="PNG")
        return (255, 255, 255)
    if mode == "I;16":  # 16-bit greyscale at full scale: white, not clipped garbage
        Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)).save(path, format="PNG")
        return (255, 255, 255)
    if mode == "1":
        Image.new("1", (8, 8), 1).save(path, format="PNG")
        return (255, 255, 255)
    raise ValueError(mode)


# -- catalog helpers -----------------------------------------------------------------------------------
def good(pid: str, image: str = "img/a.jpg", **extra) -> dict:
    return {"id": pid, "image": image, "title": f"shirt {pid}", "attributes": {"color": "red"},
            "price": 10.0, **extra}


def write_lines(path: Path, lines: list) -> Path:
    """Lines may be dicts (dumped as JSON), str or bytes (written exactly, plus a newline)."""
    out = bytearray()
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        out += (line.encode() if isinstance(line, str) else line) + b"\n"
    path.write_bytes(bytes(out))
    return path


@pytest.fixture()
def shop(tmp_path) -> Path:
    (tmp_path / "img").mkdir()
    Image.new("RGB", (40, 60), (200, 30, 30)).save(tmp_path / "img" / "a.jpg")
    return tmp_path


def peak_mib_of(code: str) -> float:
    """Peak RSS of a fresh Python running ``code``.

    Read from VmHWM, not ru_maxrss: Linux carries the spawning process's peak across exec into
    ru_maxrss, so a child of a big pytest process would look big whatever it did.
    """
    probe = code + "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def only_problem(load, line: int) -> CatalogError:
    assert len(load.problems) == 1, [p.message for p in load.problems]
    err = load.problems[0]
    assert err.line == line and err.path == str(load.path)
    assert f"{load.path}:{line}" in err.message
    return err


# -- lines -------------------------------------------------------------------------------------------
def test_truncated_last_line_is_reported_and_the_rest_kept(shop):
    path = shop / "c.jsonl"
    whole = json.dumps(good("3"))
    path.write_bytes((json.dumps(good("1")) + "\n" + json.dumps(good("2")) + "\n" + whole[:25]).encode())
    load = load_catalog(path)
    assert [p.id for p in load.products] == ["1", "2"]
    assert "malformed JSON" in only_problem(load, 3).message


def test_invalid_utf8_names_line_and_byte(shop):
    line = b'{"id": "1", "image": "img/a.jpg", "title": "caf\xe9"}'  # Latin-1 e-acute
    load = load_catalog(write_lines(shop / "c.jsonl", [good("0"), line]))
    offset = line.index(b"\xe9")
    assert f"invalid UTF-8 at byte {offset}" in only_problem(load, 2).message
    assert [p.id for p in load.products] == ["0"]


def test_byte_order_mark_is_tolerated(shop):
    path = shop / "c.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(good("1")).encode() + b"\n")
    load = load_catalog(path)
    assert not load.problems and [p.id for p in load.products] == ["1"]


def test_huge_line_is_refused_and_following_lines_parse(shop):
    huge = good("big", description="x" * (MAX_LINE_BYTES + 10))
    load = load_catalog(write_lines(shop / "c.jsonl", [good("1"), huge, good("2")]))
    assert "more than the 1000000 allowed" in only_problem(load, 2).message
    assert [p.id for p in load.products] == ["1", "2"]


def test_huge_file_without_newlines_is_refused_without_reading_it_whole(shop):
    path = shop / "blob.jsonl"
    with open(path, "wb") as fh:  # 300 MB in one line, as when a tarball is passed by mistake
        for _ in range(300):
            fh.write(b"x" * 1_000_000)
        fh.write(b"\n" + json.dumps(good("after")).encode() + b"\n")
    load = load_catalog(path)
    assert "line is 300000001 bytes" in only_problem(load, 1).message
    assert [p.id for p in load.products] == ["after"]
    code = f"from fashrec.catalog import load_catalog\nload_catalog({str(path)!r})"
    assert peak_mib_of(code) < 200


@pytest.mark.parametrize("depth", [50_000, 2_000_000])
def test_deeply_nested_json_is_refused(shop, depth):
    nested = '{"id": "d", "image": "img/a.jpg", "extra": ' + "[" * depth + "]" * depth + "}"
    if len(nested) > MAX_LINE_BYTES:  # 4 MB of brackets: the size limit stops it before the parser
        words = "more than the"
    else:
        words = "nested too deeply"
    load = load_catalog(write_lines(shop / "c.jsonl", [good("1"), nested]))
    assert words in only_problem(load, 2).message


@pytest.mark.parametrize("raw_value, field, words", [
    ("1e308", "price", "between 0 and"),
    ("1e999", "price", "got inf"),          # overflows to infinity in the JSON parser
    ("NaN", "price", "got nan"),            # Python's json accepts this non-standard token
    ("-Infinity", "price", "got -inf"),
    ("-0.5", "price", "between 0 and"),
    ("1" + "0" * 400, "price", "between 0 and"),   # an int too big for a float (used to overflow)
    ("9" * 5000, None, "4300 digits"),              # an int Python refuses to parse at all
    ("NaN", "sponsored", "between 0 and 1"),
    ("1e308", "sponsored", "between 0 and 1"),
    ("1", "in_stock", "true or false"),
    ("1e5", "id", "must be a string"),
    ('"x\\ud800y"', None, "surrogate"),             # half a UTF-16 pair: not encodable, used to crash
])
def test_absurd_values_are_refused_with_field(shop, raw_value, field, words):
    target = field or "title"
    line = json.dumps(good("v"))[:-1] + f', "{target}": {raw_value}}}'
    if target == "id":
        line = line.replace('"id": "v", ', "")
    load = load_catalog(write_lines(shop / "c.jsonl", [good("ok"), line]))
    err = only_problem(load, 2)
    assert err.field == field and words in err.message
    assert len(err.message) < 400  # a 400-digit price is not echoed back in full
    assert [p.id for p in load.products] == ["ok"]


def test_valid_surrogate_pairs_and_nan_in_extra_fields_are_fine(shop):
    line = json.dumps(good("e"))[:-1] + ', "title": "\\ud83d\\ude00 tee", "rating": NaN}'
    load = load_catalog(write_lines(shop / "c.jsonl", [line]))
    assert not load.problems
    product = load.products[0]
    assert product.title == "\U0001F600 tee" and math.isnan(product.extra["rating"])


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b"// just a comment\n"])
def test_empty_catalog_parses_to_nothing_and_indexing_refuses(shop, content):
    path = shop / "c.jsonl"
    path.write_bytes(content)
    load = load_catalog(path)
    assert load.products == [] and load.problems == []
    with pytest.raises(CatalogError, match="catalog is empty"):
        build_index(path, shop / "idx", model="unused: never loaded for an empty catalog")
    assert not (shop / "idx").exists()


def test_duplicate_ids_across_spellings_keep_the_first(shop):
    rows = [good("7"), {**good("7"), "id": 7}, {**good("x"), "id": " 7 "}]
    load = load_catalog(write_lines(shop / "c.jsonl", rows))
    assert [p.id for p in load.products] == ["7"]
    assert [(e.line, e.field, e.item_id) for e in load.problems] == [(2, "id", "7"), (3, "id", "7")]
    assert all("first seen on line 1" in e.message for e in load.problems)


# -- images ------------------------------------------------------------------------------------------
def test_truncated_jpeg_is_a_clear_image_error(shop):
    path = write_truncated_jpeg(shop / "img" / "cut.jpg")
    with pytest.raises(ImageError, match="corrupt or truncated") as info:
        load_rgb(path)
    assert str(path) in info.value.message


def test_zero_byte_image_is_refused_at_parse_time(shop):
    (shop / "img" / "zero.jpg").write_bytes(b"")
    load = load_catalog(write_lines(shop / "c.jsonl", [good("z", "img/zero.jpg")]))
    err = only_problem(load, 1)
    assert err.field == "image" and "empty (0 bytes)" in err.message and "zero.jpg" in err.message


def test_decompression_bomb_is_refused_without_decoding(shop):
    bomb = write_png_bomb(shop / "img" / "bomb.png")
    assert bomb.stat().st_size < 1_000_000 and 30_000 ** 2 > MAX_PIXELS
    with pytest.raises(ImageError, match="decompression bomb") as info:
        load_rgb(bomb)
    assert str(bomb) in info.value.message
    # Decoding it would take ~900 MiB; refusing it costs nothing (measured in a fresh process).
    assert peak_mib_of(f"from fashrec.catalog.images import load_rgb\ntry: load_rgb({str(bomb)!r})\nexcept Exception: pass") < 200


def test_png_named_jpg_works_and_text_named_jpg_is_refused(shop):
    Image.new("RGB", (8, 8), (0, 0, 255)).save(shop / "img" / "png.jpg", format="PNG")
    assert load_rgb(shop / "img" / "png.jpg").getpixel((0, 0)) == (0, 0, 255)
    (shop / "img" / "text.jpg").write_text("definitely not pixels\n")
    with pytest.raises(ImageError, match="not an image") as info:
        load_rgb(shop / "img" / "text.jpg")
    assert "text.jpg" in info.value.message


@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "P", "LA", "I;16", "1"])
def test_unusual_modes_load_as_rgb(shop, mode):
    path = shop / "img" / f"m.{'jpg' if mode == 'CMYK' else 'png'}"
    expected = write_mode_image(path, mode)
    assert Image.open(path).mode == mode
    image = load_rgb(path)
    assert image.mode == "RGB" and image.size == (8, 8)
    assert all(abs(a - b) <= 2 for a, b in zip(image.getpixel((0, 0)), expected))


def test_symlinks_valid_and_dangling(shop):
    os.symlink(shop / "img" / "a.jpg", shop / "img" / "link.jpg")
    os.symlink(shop / "img" / "gone.jpg", shop / "img" / "dangling.jpg")
    load = load_catalog(write_lines(shop / "c.jsonl", [good("l", "img/link.jpg"), good("d", "img/dangling.jpg")]))
    assert [p.id for p in load.products] == ["l"]
    assert load_rgb(load.products[0].image_path).size == (40, 60)
    err = only_problem(load, 2)
    assert err.field == "image" and "broken symbolic link" in err.message and "gone.jpg" in err.message


# -- through `fashrec index` on an existing index -------------------------------------------------------
BROKEN_EXISTING = 11  # items p0..p10 below


def _rows_and_images(folder: Path) -> list[dict]:
    img = folder / "img"
    img.mkdir(exist_ok=True)
    rows = []
    for i in range(BROKEN_EXISTING + 1):
        Image.new("RGB", (24 + i, 32), (20 * i, 100, 200 - 10 * i)).save(img / f"p{i}.jpg")
        rows.append({"id": f"p{i}", "image": f"img/p{i}.jpg", "title": f"item {i}", "price": 5.0 + i,
                     "attributes": {"color": ["red", "blue"][i % 2]}})
    return rows


def test_reindex_with_every_kind_of_bad_input_loses_nothing(tmp_path, tiny_model, fashrec):
    shop = tmp_path / "shop"
    shop.mkdir()
    rows = _rows_and_images(shop)
    catalog = write_lines(shop / "shop.jsonl", rows)
    first = build_index(catalog, model=str(tiny_model))
    assert first.total == BROKEN_EXISTING + 1
    index_dir = Path(first.index)

    img = shop / "img"
    write_truncated_jpeg(img / "p0.jpg")                       # decodes badly at encode time
    (img / "p1.jpg").write_bytes(b"")                          # zero bytes
    write_png_bomb(img / "p2.jpg")                             # bomb, PNG bytes under .jpg
    (img / "p3.jpg").write_text("not an image")               # text under .jpg
    (img / "p4.jpg").unlink()
    os.symlink(img / "moved-away.jpg", img / "p4.jpg")         # dangling symlink
    bad = [dict(r) for r in rows]
    bad[5]["price"] = float("nan")
    bad[6]["price"] = 1e308
    bad[7]["attributes"] = {"color": {"nested": ["too", "deep"]}}
    bad[8]["price"] = 10 ** 400
    lines: list = [json.dumps(r) for r in bad[:9]]
    lines.append(json.dumps(bad[9])[:-1] + ', "title": "\\udc00"}')  # lone surrogate
    lines += [json.dumps(bad[10]), json.dumps(bad[11])]
    # New products whose images are odd but valid: all must be added.
    modes = ["CMYK", "RGBA", "P", "I;16"]
    for j, mode in enumerate(modes):
        name = f"n{j}.{'jpg' if mode == 'CMYK' else 'png'}"
        write_mode_image(img / name, mode)
        lines.append(json.dumps({"id": f"n{j}", "image": f"img/{name}", "title": f"new {mode}"}))
    Image.new("RGB", (20, 20), (1, 2, 3)).save(img / "png-named.jpg", format="PNG")
    os.symlink(img / "png-named.jpg", img / "via-link.jpg")
    lines.append(json.dumps({"id": "n-png-as-jpg", "image": "img/png-named.jpg"}))
    lines.append(json.dumps({"id": "n-symlink", "image": "img/via-link.jpg"}))
    # Lines that cannot even be read as a product.
    lines.append(json.dumps({**rows[10], "image": "img/p0.jpg"}))       # duplicate id
    lines.append(b'{"id": "latin1", "image": "img/p11.jpg", "title": "\xe9t\xe9"}')
    lines.append("[" * 100_000 + "]" * 100_000)
    lines.append(json.dumps({"id": "huge", "image": "img/p11.jpg", "description": "x" * MAX_LINE_BYTES}))
    write_lines(catalog, lines)
    with open(catalog, "ab") as fh:
        fh.write(b'{"id": "cut", "image": "img/p1')  # the last line, cut mid-JSON

    run = fashrec("index", catalog, "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    skipped = {(s["line"], s["field"]): s["message"] for s in report["skipped"]}
    expected = {
        (1, "image"): "corrupt or truncated", (2, "image"): "empty (0 bytes)",
        (3, "image"): "decompression bomb", (4, "image"): "not an image",
        (5, "image"): "broken symbolic link", (6, "price"): "got nan", (7, "price"): "between 0 and",
        (8, "attributes.color"): "string or a list", (9, "price"): "between 0 and", (10, None): "surrogate",
        (19, "id"): "duplicate id 'p10'", (20, None): "invalid UTF-8", (21, None): "nested too deeply",
        (22, None): "more than the", (23, None): "malformed JSON",
    }
    assert set(skipped) == set(expected), skipped
    for where, words in expected.items():
        assert words in skipped[where] and f"{catalog}:{where[0]}" in skipped[where]
    assert (report["added"], report["removed"], report["kept_previous"]) == (6, 0, 9)
    # p9's line is unreadable (no id), so its removal is postponed rather than carried out.
    assert any("1 removal(s) postponed" in n for n in report["notes"])

    index = open_index(index_dir)
    assert len(index) == BROKEN_EXISTING + 1 + 6
    for i, row in enumerate(rows):  # every product indexed before is still there, as it was
        kept = index.get(f"p{i}")
        assert kept is not None and kept.title == row["title"] and kept.price == row["price"]
    assert {f"n{j}" for j in range(len(modes))} | {"n-png-as-jpg", "n-symlink"} <= {p.id for p in index.products}


def test_empty_or_all_bad_catalog_leaves_the_index_alone(tmp_path, tiny_model, fashrec):
    shop = tmp_path / "shop"
    shop.mkdir()
    catalog = write_lines(shop / "shop.jsonl", _rows_and_images(shop)[:3])
    index_dir = Path(build_index(catalog, model=str(tiny_model)).index)
    before = {p.name: p.read_bytes() for p in index_dir.iterdir()}

    catalog.write_bytes(b"")
    run = fashrec("index", catalog)
    assert run.returncode == 3 and "catalog is empty" in run.stderr and str(catalog) in run.stderr

    write_lines(catalog, ["{broken", b"\xff\xfe", json.dumps({"id": "x"})])
    run = fashrec("index", catalog, "--json")
    assert run.returncode == 3 and run.stdout == ""
    error = json.loads(run.stderr)
    assert error["error"] == "catalog" and "3 bad lines" in error["message"]
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == before
    assert len(open_index(index_dir)) == 3


def test_bad_catalog_path_is_a_clear_error(tmp_path, fashrec):
    run = fashrec("index", tmp_path / "missing.jsonl")
    assert run.returncode == 3 and "catalog not found" in run.stderr
    run = fashrec("index", tmp_path)
    assert run.returncode == 3 and "not a file" in run.stderr
    assert "Traceback" not in run.stderr


# -- hostile campaign II, items 6 and 14: lines that aborted a whole run, or were misreported ----------
def write_wide_png(path: Path, width: int = 60_000, height: int = 1) -> Path:
    Image.new("RGB", (width, height), (10, 200, 30)).save(path, format="PNG")
    return path


ABORTING_IMAGES = {
    "name over 255 bytes": ("img/" + "a" * 300 + ".jpg", "too long"),
    "path over 4096 bytes": ("img/" + ("d" * 200 + "/") * 25 + "x.jpg", "too long"),
    "home of an unknown user": ("~nosuchuser-fashrec/x.jpg", "no user 'nosuchuser-fashrec'"),
}


@pytest.mark.parametrize("case", ABORTING_IMAGES)
def test_an_impossible_image_path_is_one_bad_line(shop, case):
    image, words = ABORTING_IMAGES[case]
    load = load_catalog(write_lines(shop / "c.jsonl", [good("ok"), good("bad", image), good("ok2")]))
    err = only_problem(load, 2)
    assert err.field == "image" and words in err.message and err.item_id == "bad"
    assert [p.id for p in load.products] == ["ok", "ok2"]


def test_an_image_too_thin_to_encode_is_skipped_and_the_run_goes_on(shop, tiny_model, fashrec_env):
    write_wide_png(shop / "img" / "wide.png")
    write_wide_png(shop / "img" / "tall.png", 2, 5000)
    catalog = write_lines(shop / "c.jsonl", [good("ok"), good("wide", "img/wide.png"), good("tall", "img/tall.png")])
    report = build_index(catalog, model=str(tiny_model))
    assert report.total == 1
    reasons = {e.item_id: e.message for e in report.skipped}
    assert set(reasons) == {"wide", "tall"}
    assert "60000x1 pixels" in reasons["wide"] and "2x5000 pixels" in reasons["tall"]
    assert f"{catalog}:2" in reasons["wide"] and all("side" in r for r in reasons.values())


def test_similar_on_an_image_too_thin_to_encode_is_exit_3(shop, tiny_model, fashrec):
    catalog = write_lines(shop / "c.jsonl", [good("ok")])
    assert build_index(catalog, model=str(tiny_model)).total == 1
    run = fashrec("similar", write_wide_png(shop / "img" / "wide.png"), "--index", shop / "c.fashrec-index",
                  "--json")
    assert run.returncode == 3 and "Traceback" not in run.stderr, run.stderr
    assert "60000x1 pixels" in json.loads(run.stderr)["message"]


def test_a_file_url_is_named_as_a_url(shop):
    url = f"file://{shop}/img/a.jpg"
    err = only_problem(load_catalog(write_lines(shop / "c.jsonl", [good("u", url)])), 1)
    assert err.field == "image" and "file:// URL" in err.message and f"{shop}/img/a.jpg" in err.message
    assert "file:/" not in err.message.replace("file://", "")   # not "image not found: .../file:/..."


def test_cr_only_line_endings_are_named(shop):
    path = shop / "c.jsonl"
    path.write_bytes(b"\r".join(json.dumps(good(str(i))).encode() for i in range(3)) + b"\r")
    err = only_problem(load_catalog(path), 1)
    assert "carriage returns" in err.message and "Extra data" not in err.message


def test_a_symlink_loop_is_not_called_a_missing_target(shop):
    os.symlink(shop / "img" / "loop-b.jpg", shop / "img" / "loop-a.jpg")
    os.symlink(shop / "img" / "loop-a.jpg", shop / "img" / "loop-b.jpg")
    err = only_problem(load_catalog(write_lines(shop / "c.jsonl", [good("l", "img/loop-a.jpg")])), 1)
    assert "symbolic link loop" in err.message and "target missing" not in err.message


def test_lines_that_aborted_a_run_are_skipped_by_the_command(shop, tiny_model, fashrec):
    """Items 6 and 14 through `fashrec index`: each of these lines used to end the run with a traceback
    (or a misleading reason); now each is one skipped line with its own reason, and the rest is indexed."""
    write_wide_png(shop / "img" / "wide.png")
    lines = [good("ok"), good("long", "img/" + "a" * 300 + ".jpg"), good("home", "~nosuchuser-fashrec/x.jpg"),
             good("url", f"file://{shop}/img/a.jpg"), good("wide", "img/wide.png"), good("ok2")]
    run = fashrec("index", write_lines(shop / "c.jsonl", lines), "--model", tiny_model, "--json")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    report = run.json()
    assert report["total"] == 2
    reasons = {e["id"]: e["message"] for e in report["skipped"]}
    assert set(reasons) == {"long", "home", "url", "wide"}, reasons
    assert "too long" in reasons["long"] and "no user 'nosuchuser-fashrec'" in reasons["home"]
    assert "file:// URL" in reasons["url"] and "60000x1 pixels" in reasons["wide"]

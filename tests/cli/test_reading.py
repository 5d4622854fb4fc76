"""End to end through the real `fashrec` command: what a person reads and what a script discovers.

info's vocabulary, price bounds in --where, --sort and --offset, search with words and a photo, the
compact layout of narrow terminals, named keys in --batch errors, contact sheets fitted by text width.
"""

from __future__ import annotations

import json
from collections import Counter


def test_info_lists_the_vocabulary_prices_brands_sizes_and_stock(fashrec, indexed, products):
    data = fashrec("info", "--index", indexed, "--json").json()
    colors = Counter(p["attributes"]["color"] for p in products)
    for field, counts in (("color", data["vocabulary"]["color"]), ("brands", data["brands"])):
        assert list(counts.values()) == sorted(counts.values(), reverse=True), field   # most common first
    assert Counter(data["vocabulary"]["color"]) == colors
    assert data["attributes"]["color"] == len(colors)          # the old field keeps its meaning
    prices = [p["price"] for p in products if p.get("price") is not None]
    assert (data["price"]["min"], data["price"]["max"], data["price"]["priced"]) == (min(prices), max(prices),
                                                                                    len(prices))
    assert data["price"]["currency"] == products[0]["currency"]
    assert Counter(data["brands"]) == Counter(p["brand"] for p in products if p.get("brand"))
    assert Counter(data["sizes"]) == Counter(s for p in products for s in p.get("sizes") or [])
    stock = Counter(p.get("in_stock") for p in products)
    assert data["stock"] == {"in_stock": stock[True], "out_of_stock": stock[False], "unknown": stock[None]}
    human = fashrec("info", "--index", indexed)
    assert human.returncode == 0
    for label in ("Prices:", "Brands:", "Sizes:", "Stock:"):
        assert label in human.stdout
    top_color, top_count = colors.most_common(1)[0]
    assert f"{top_color} {top_count}" in human.stdout


def test_price_bounds_sort_and_pages(fashrec, indexed, products):
    prices = sorted(p["price"] for p in products)
    middle = prices[len(prices) // 2]
    below = fashrec("search", "clothes", "--index", indexed, "-k", "24", "--planner", "none", "--where",
                    f"price<{middle}", "--json").json()["results"]
    assert below and all(r["price"] < middle for r in below)
    assert len(below) == sum(1 for p in prices if p < middle)     # strictly below: the middle one is out
    low, high = prices[3], prices[12]
    band = fashrec("similar", next((indexed.parent / "images").iterdir()), "--index", indexed, "-k", "24",
                   "--where", f"price={low}..{high}", "--sort", "price", "--json").json()["results"]
    assert [r["price"] for r in band] == sorted(r["price"] for r in band)
    assert len(band) == sum(1 for p in prices if low <= p <= high)
    dearest = fashrec("search", "clothes", "--index", indexed, "-k", "5", "--planner", "none", "--sort", "-price",
                      "--json").json()["results"]
    assert [r["price"] for r in dearest] == sorted(prices, reverse=True)[:5]   # the pool holds all 24 here
    whole = fashrec("search", "clothes", "--index", indexed, "-k", "10", "--planner", "none", "--json").json()
    page2 = fashrec("search", "clothes", "--index", indexed, "-k", "5", "--offset", "5", "--planner", "none",
                    "--json").json()
    assert [r["id"] for r in page2["results"]] == [r["id"] for r in whole["results"][5:10]]
    assert page2["query"]["offset"] == 5
    human = fashrec("search", "clothes", "--index", indexed, "-k", "2", "--offset", "5", "--planner", "none")
    assert "6." in human.stdout or "│ 6 " in human.stdout                   # ranks continue after the offset
    bad = fashrec("search", "x", "--index", indexed, "--where", "price<cheap", "--json")
    assert bad.returncode == 2 and "cheap" in json.loads(bad.stderr)["message"]
    bad = fashrec("search", "x", "--index", indexed, "--where", "price=40..20", "--json")
    assert bad.returncode == 2 and "empty range" in json.loads(bad.stderr)["message"]


def test_a_price_bound_on_a_catalog_without_prices_is_noted(fashrec, small_catalog, tiny_model, products):
    for p in products:
        p.pop("price", None)
    small_catalog.write_text("".join(json.dumps(p) + "\n" for p in products))
    assert fashrec("index", small_catalog, "--model", tiny_model, "--json").returncode == 0
    index = small_catalog.parent / "catalog.fashrec-index"
    run = fashrec("search", "shirt", "--index", index, "--where", "price<50", "--planner", "none", "--json")
    data = run.json()
    assert run.returncode == 0 and data["results"] == []          # nothing is passed off as under 50
    assert any("no product in this catalog has a price" in n for n in data["notes"])
    human = fashrec("search", "shirt", "--index", index, "--where", "price<50", "--planner", "none")
    assert "has a price" in human.stderr


def test_search_with_words_and_a_photo(fashrec, indexed, products, small_catalog):
    """The words say what (every result has the colour they name), the photo how it looks."""
    photo_product = next(p for p in products if p["attributes"]["category"] in ("shirt", "t-shirt"))
    photo = small_catalog.parent / photo_product["image"]
    colors = Counter(p["attributes"]["color"] for p in products)
    # A colour with more products than the page, so that every result is a full match.
    color = next(c for c, n in colors.most_common() if c != photo_product["attributes"]["color"] and n >= 4)
    both = fashrec("search", f"in {color}", "--image", photo, "--index", indexed, "-k", "3", "--json").json()
    assert both["query"]["image"] == str(photo) and both["query"]["understood"]["set"] == {"color": color}
    # What the photo shows is said (its exact bytes: the catalog product's own metadata), and not filtered on.
    reading = both["query"]["photo"]
    assert reading["catalog_id"] == photo_product["id"] and reading["filtered"] is False
    assert {a: g["value"] for a, g in reading["attributes"].items()} == \
        {a: photo_product["attributes"][a] for a in ("category", "color", "gender")}
    assert all(0 < g["confidence"] <= 1 for g in reading["attributes"].values())
    human = fashrec("search", f"in {color}", "--image", photo, "--index", indexed, "-k", "3")
    assert f"category={photo_product['attributes']['category']} (" in human.stdout
    assert "Photo:" in human.stdout and "not filtered on" in human.stdout
    full = [r for r in both["results"] if r["why"].startswith("matches")]
    assert len(full) == 3 and all(r["attributes"]["color"] == color for r in full)
    words = fashrec("search", f"in {color}", "--index", indexed, "-k", "3", "--json").json()
    looks = {r["id"]: r["score"] for r in fashrec("similar", photo, "--index", indexed, "-k", "24",
                                                  "--json").json()["results"]}
    # The photo pulls the results towards its look: closer to it, on average, than the words alone.
    mean = lambda rs: sum(looks[r["id"]] for r in rs) / len(rs)  # noqa: E731
    assert mean(both["results"]) >= mean(words["results"])


def test_narrow_terminals_get_the_compact_layout(fashrec, fashrec_env, indexed):
    wide = fashrec("search", "shirt", "--index", indexed, "-k", "5", "--planner", "none")
    assert "┃" in wide.stdout and "title" in wide.stdout                     # the full table
    fashrec_env["COLUMNS"] = "30"
    narrow = fashrec("search", "shirt", "--index", indexed, "-k", "5", "--planner", "none")
    assert narrow.returncode == 0 and "┃" not in narrow.stdout
    lines = narrow.stdout.splitlines()
    assert all(len(line.rstrip()) <= 30 for line in lines), lines
    assert any(line.rstrip().endswith("EUR") and "…" in line for line in lines)   # title cut, price kept
    assert "score" in narrow.stdout


def test_batch_errors_name_the_keys(fashrec, indexed):
    lines = "\n".join([json.dumps({"query": "red dress"}), "{broken", json.dumps({"text": "x", "k": "five"}),
                       json.dumps({"text": "x", "kk": 2}), json.dumps({"text": "red", "where": ["price<40"]})])
    run = fashrec("search", "--batch", "-", "--index", indexed, input=lines + "\n")
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 1 and [o["line"] for o in out] == [1, 2, 3, 4, 5]
    assert "'text'" in out[0]["message"] and "query" in out[0]["message"] and '"text"' in out[0]["hint"]
    assert out[1]["message"].startswith("<stdin>:2: malformed JSON") and out[1]["path"] == "-"
    assert "'k'" in out[2]["message"] and "five" in out[2]["message"]
    assert "'kk'" in out[3]["message"] and '"k"' in out[3]["hint"]      # the hint lists the keys a line takes
    assert all(r["price"] < 40 for r in out[4]["results"])
    run = fashrec("refine", "--batch", "-", "--index", indexed, "--planner", "rules",
                  input=json.dumps({"text": "in red"}) + "\n")
    assert json.loads(run.stdout)["line"] == 1 and "'image'" in json.loads(run.stdout)["message"]


def test_sheet_captions_fit_their_tiles():
    from PIL import Image, ImageDraw

    from fashrec.cli.sheet import THUMB_W, _font, fit, wrap

    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title = "Extraordinarily long relaxed-fit double-breasted houndstooth wool blend overcoat with lapels"
    lines = wrap(draw, title, _font(12), THUMB_W, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(draw.textlength(line, font=_font(12)) <= THUMB_W for line in lines)
    assert wrap(draw, "Red dress", _font(12), THUMB_W, 2) == ["Red dress"]
    cut = fit(draw, "W" * 80, _font(11), 60)
    assert cut.endswith("…") and draw.textlength(cut, font=_font(11)) <= 60


def test_refine_sheet_says_what_was_asked_and_read(fashrec, indexed, products, small_catalog, tmp_path):
    from PIL import Image

    photo = small_catalog.parent / products[0]["image"]
    sheet = tmp_path / "looks.png"
    run = fashrec("refine", photo, "but cheaper", "--index", indexed, "--planner", "rules", "-k", "4",
                  "--sheet", sheet, "--json")
    assert run.returncode == 0, run.stderr
    with Image.open(sheet) as im:
        assert im.format == "PNG"
    plain = tmp_path / "plain.png"
    fashrec("similar", photo, "--index", indexed, "-k", "4", "--sheet", plain, "--json")
    with Image.open(sheet) as a, Image.open(plain) as b:
        assert a.height > b.height          # the request, the anchor's reading and the plan on top


def test_sheet_shows_the_reading_with_corrections_on_top_and_alternatives_apart(fashrec, indexed, products,
                                                                                   small_catalog, tmp_path):
    """Issue 11: the anchor's reading (confidence, and what the shopper corrected) heads the sheet; near
    misses are a section of their own, each saying what it lacks, never mixed with the results."""
    from PIL import Image

    photo = small_catalog.parent / products[0]["image"]
    sheet = tmp_path / "short.png"
    run = fashrec("refine", photo, "in navy", "--anchor", "season=winter", "--index", indexed, "--planner", "rules",
                  "-k", "3", "--sheet", sheet, "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    read = data["anchor"]["attributes"]["season"]["guessed"]
    assert data["alternatives"] and data["shortfall"]
    with Image.open(sheet) as im:
        text = im.text["Description"].splitlines()
    anchor_line = next(line for line in text if line.startswith("Anchor ("))
    assert f"season=winter (you said; photo: {read['value']} {read['confidence']:.0%})" in anchor_line
    assert f"category={data['anchor']['attributes']['category']['value']} (" in anchor_line
    heading = text.index("Alternatives (not matches: each lacks something)")
    shown = text[heading + 1:]
    assert len(shown) == len(data["alternatives"])
    for line, alternative in zip(shown, data["alternatives"]):
        assert line == f"- {alternative['title']} (lacks {', '.join(alternative['lacks'])})"
    results = [line for line in text[:heading] if line.startswith("- ") and line != "- anchor"]
    assert results == [f"- {n}. {r['title']}" for n, r in enumerate(data["results"], start=1)]


def test_refine_like_these_not_like_that(fashrec, indexed, products, small_catalog):
    """--like blends another photo into the anchor (what both share is kept), --unlike leans away from one:
    the results move towards the liked photo's look and away from the unliked one's."""
    photo = lambda p: small_catalog.parent / p["image"]  # noqa: E731
    anchor = products[0]
    other = next(p for p in products[1:] if p["attributes"]["category"] == anchor["attributes"]["category"])
    away = next(p for p in products if p["attributes"]["category"] != anchor["attributes"]["category"])

    def looks(p):   # every product's exact similarity to one photo: `similar` lists the whole 24-item shop
        listed = fashrec("similar", photo(p), "--index", indexed, "-k", "24", "--json").json()["results"]
        assert len(listed) == len(products)
        return {r["id"]: r["score"] for r in listed}

    # The request opens what the anchor's reading would keep: on this small shop a kept category and
    # gender leave two or three exact matches, so every answer would be the same few products whatever
    # the photos; with the pool open, the blended direction alone decides which four are shown.
    def refine(*extra):
        run = fashrec("refine", photo(anchor), "any category, any gender, any colour", "--index", indexed,
                      "--planner", "rules", "-k", "4", *extra, "--json")
        assert run.returncode == 0, run.stderr
        assert not run.json()["shortfall"], run.json()["shortfall"]
        return run.json()

    plain, liked, unliked = refine(), refine("--like", photo(other)), refine("--unlike", photo(away))
    assert liked["query"]["like"] == [str(photo(other))] and unliked["query"]["unlike"] == [str(photo(away))]
    assert other["id"] not in {r["id"] for r in liked["results"]}   # a liked product is not offered back
    # The yardstick leaves out the liked product itself (an answer with --like never shows it, so the plain
    # answer must not score it either) and is each result's plain cosine to the photo, untouched by the critic.
    def mean(data, sims):
        ids = [r["id"] for r in data["results"] if r["id"] != other["id"]]
        assert ids
        return sum(sims[i] for i in ids) / len(ids)

    towards, away_from = looks(other), looks(away)
    assert mean(liked, towards) > mean(plain, towards)
    assert mean(unliked, away_from) < mean(plain, away_from)
    shared = {a for a, g in liked["anchor"]["attributes"].items()}
    assert "category" in shared                    # both anchors are of that category: it is kept
    refused = fashrec("refine", photo(anchor), "x", "--index", indexed, "--session", "s", "--like", photo(other))
    assert refused.returncode == 2 and "--like" in refused.stderr


def test_a_relaxed_answer_says_what_it_gave_up_where_the_shopper_reads(fashrec, indexed, products, small_catalog,
                                                                        tmp_path):
    """When too few products keep the anchor's look, the loop gives some of it up: the table, the compact
    layout and the sheet say which values, and each relaxed row says what it is known to lack, without
    --explain. Before, such rows said only "relaxed" (and a product whose row does not list the attribute
    could not say it lacked it)."""
    from PIL import Image

    row = next(p for p in products if p["id"] == "sku-1019")   # a white cotton formal shirt for men
    photo = small_catalog.parent / row["image"]
    args = ["refine", photo, "casual", "--index", indexed, "--planner", "rules", "-k", "3"]
    data = fashrec(*args, "--json").json()
    given = [(a["attribute"], a["value"]) for a in data["assumptions"] if a["use"] == "relaxed"]
    relaxed_rows = [r for r in data["results"] if (r.get("tier") or 1) > 1]
    assert given and relaxed_rows and any(r["not_kept"] for r in relaxed_rows), "the request must relax the look"
    expected = "Relaxed: the anchor's " + ", ".join(f"{a} {v}" for a, v in given)
    wide = fashrec(*args)
    assert wide.returncode == 0, wide.stderr
    assert expected + " (too few matches had" in wide.stdout    # those values and no others
    for r in relaxed_rows:
        line = next(line for line in wide.stdout.splitlines() if r["id"] in line)
        assert "relaxed" in line
        for label in r["not_kept"]:
            assert "not " + label.partition("=")[2] in line, line
    sheet = tmp_path / "relaxed.png"
    assert fashrec(*args, "--sheet", sheet, "--json").returncode == 0
    with Image.open(sheet) as im:
        assert any(line.startswith(expected) for line in im.text["Description"].splitlines())
    # an answer that gives up nothing says nothing of the kind
    from fashrec.cli.render import relaxed_words

    kept = {**data, "assumptions": [{**a, "use": "required"} for a in data["assumptions"]]}
    assert relaxed_words(kept) == "" and relaxed_words(data).startswith(expected + " (too few matches had")


def test_what_refine_read_and_gave_up_wraps_under_its_own_words(fashrec, fashrec_env, indexed, products,
                                                                  small_catalog):
    """At 60 columns the lines above the results go on under their words: "Anchor: ...", "Understood: ..."
    and "Relaxed: ..." past their label, a note (here --explain's steps) two spaces in. Before, each went on
    at column 0, where it read as a line of its own. Where they fit (200 columns) each is its one line."""
    from fashrec.cli.render import relaxed_words

    row = next(p for p in products if p["id"] == "sku-1019")   # a white cotton formal shirt for men
    args = ["refine", small_catalog.parent / row["image"], "casual", "--index", indexed, "--planner", "rules",
            "-k", "3", "--explain"]
    data = fashrec(*args, "--json").json()
    relaxed = relaxed_words(data)
    notes = len(data["steps"]) + 1                          # a note per step, and the stop reason
    labels = ("Anchor: ", "Understood: ", "Relaxed: ")

    def is_note(line: str) -> bool:
        return line.startswith(("  step ", "  stop: "))

    wide = fashrec(*args)
    assert wide.returncode == 0, wide.stderr
    lines = wide.stdout.splitlines()
    said = lines[:next(i for i, line in enumerate(lines) if line.startswith("┏"))]   # above the results' table
    assert [line.split(" ")[0] + " " for line in said[:3]] == list(labels) and said[2] == relaxed
    assert len(said) == 3 + notes and all(map(is_note, said[3:]))

    fashrec_env["COLUMNS"] = "60"
    narrow = fashrec(*args)
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    head = lines[:next(i for i, line in enumerate(lines) if line.startswith("1. "))]   # above the first row
    assert all(len(line.rstrip()) <= 60 for line in head), head
    blocks: list[list[str]] = []
    for line in head:
        if line.startswith(labels) or is_note(line):
            blocks.append([line])
            continue
        assert blocks, head     # a continuation: past its block's label, or a note's two spaces
        indent = 2 if is_note(blocks[-1][0]) else len(blocks[-1][0].split(" ")[0]) + 1
        assert line.startswith(" " * indent) and line.strip(), head
        blocks[-1].append(line)
    # The same lines, wrapped: their words, in order, and nothing else.
    assert [" ".join(" ".join(b).split()) for b in blocks] == [" ".join(line.split()) for line in said]
    wrapped = {b[0].split()[0] for b in blocks if len(b) > 1}
    assert {"Anchor:", "Relaxed:", "step"} <= wrapped, "these lines must be too long for 60 columns"

"""The HTTP API through an HTTP client against the real app: every route answers the command's own document,
errors keep the command line's JSON shape, and what a client sends cannot reach beyond what it may."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from catalog.test_hardening import write_png_bomb, write_truncated_jpeg
from fashrec.service import schema


def _without_timing(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "timing_ms"}


def _products(shop_index) -> list[dict]:
    catalog, _ = shop_index
    return [json.loads(line) for line in catalog.read_text().splitlines()]


def _photo(shop_index, n: int = 0) -> Path:
    catalog, _ = shop_index
    return catalog.parent / _products(shop_index)[n]["image"]


def _png_bytes(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 60), color).save(out, "PNG")
    return out.getvalue()


# --- the answers are the commands' documents ----------------------------------------------------------

def test_refine_answers_what_fashrec_refine_json_prints(client, shop_index, fashrec):
    catalog, index = shop_index
    photo = _photo(shop_index, 3)
    answer = client.post("/refine", json={"image": str(photo), "text": "but in red", "k": 4})
    assert answer.status_code == 200, answer.text
    run = fashrec("refine", photo, "but in red", "-k", "4", "--index", index, "--planner", "rules", "--json")
    assert run.returncode == 0, run.stderr
    assert _without_timing(answer.json()) == _without_timing(run.json())
    schema.RefineDocument.model_validate(run.json())   # the OpenAPI model describes what the command prints


def test_search_similar_and_plan_answer_their_batch_lines(client, shop_index, fashrec):
    _, index = shop_index
    photo = _photo(shop_index, 1)
    searches = [{"text": "red dress", "k": 3}, {"text": "shoes", "k": 2, "where": {"category": "shoes"}}]
    run = fashrec("search", "--batch", "-", "--index", index, input="\n".join(map(json.dumps, searches)))
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    for request, line in zip(searches, lines):
        answer = client.post("/search", json=request)
        assert answer.status_code == 200, answer.text
        assert _without_timing(answer.json()) == _without_timing({k: v for k, v in line.items() if k != "line"})
        schema.SearchDocument.model_validate(answer.json())
    run = fashrec("similar", photo, "-k", "3", "--index", index, "--json")
    answer = client.post("/similar", json={"image": str(photo), "k": 3})
    assert _without_timing(answer.json()) == _without_timing(run.json())
    run = fashrec("plan", "--batch", "-", "--index", index, "--planner", "rules",
                  input=json.dumps({"text": "same in navy, under 40", "anchor": {"color": "black"}}))
    answer = client.post("/plan", json={"text": "same in navy, under 40", "anchor": {"color": "black"}})
    assert answer.json() == {k: v for k, v in json.loads(run.stdout).items() if k != "line"}
    schema.PlanAnswer.model_validate(answer.json())


def test_info_items_and_vocabulary(client, shop_index, fashrec):
    _, index = shop_index
    products = _products(shop_index)
    run = fashrec("info", "--index", index, "--json")
    assert client.get("/info").json() == run.json()
    assert client.get("/healthz").json() == {"status": "ok", "items": len(products)}
    item = client.get(f"/items/{products[2]['id']}").json()
    assert item["id"] == products[2]["id"] and item["title"] == products[2]["title"]
    assert item["price"] == products[2].get("price") and "sizes" in item
    schema.ItemDocument.model_validate(item)
    vocabulary = client.get("/vocabulary").json()
    assert products[2]["attributes"]["category"] in vocabulary["category"]


def test_outfit_by_product_and_by_upload(client, shop_index, fashrec):
    _, index = shop_index
    top = next(p for p in _products(shop_index) if p["attributes"]["category"] in ("shirt", "tshirt", "top"))
    answer = client.post("/outfit", json={"id": top["id"], "n": 2})
    assert answer.status_code == 200, answer.text
    run = fashrec("outfit", "--id", top["id"], "-n", "2", "--index", index, "--json")
    assert _without_timing(answer.json()) == _without_timing(run.json())
    schema.OutfitDocument.model_validate(answer.json())
    upload = client.post("/outfit", files={"image": ("look.jpg", _photo(shop_index).read_bytes(), "image/jpeg")},
                         data={"request": json.dumps({"n": 1})})
    assert upload.status_code == 200, upload.text
    assert upload.json()["anchor"]["image"] == "look.jpg"


def test_pages_sorts_price_bounds_and_a_look_budget_answer_as_the_commands_do(client, shop_index, fashrec):
    """offset, sort, price bounds in where and the outfit budget are request fields (issue 17), answered
    by the server exactly as by the command line."""
    _, index = shop_index
    request = {"text": "clothes", "k": 3, "offset": 3, "sort": "price", "where": ["price<80"]}
    answer = client.post("/search", json=request)
    assert answer.status_code == 200, answer.text
    run = fashrec("search", "clothes", "-k", "3", "--offset", "3", "--sort", "price", "--where", "price<80",
                  "--index", index, "--json")
    assert _without_timing(answer.json()) == _without_timing(run.json())
    assert answer.json()["query"]["offset"] == 3 and all(r["price"] < 80 for r in answer.json()["results"])
    top = next(p for p in _products(shop_index) if p["attributes"]["category"] in ("shirt", "tshirt", "top"))
    look = client.post("/outfit", json={"id": top["id"], "n": 1, "budget": 60})
    assert look.status_code == 200, look.text
    run = fashrec("outfit", "--id", top["id"], "-n", "1", "--budget", "60", "--index", index, "--json")
    assert _without_timing(look.json()) == _without_timing(run.json())
    bad = client.post("/search", json={"text": "x", "sort": "cheapest"})
    assert bad.status_code == 400 and bad.json()["field"] == "sort"
    assert bad.json()["message"] == "field 'sort': must be one of relevance, price, -price (got \"cheapest\")"


def test_search_answers_honestly_as_the_command_does(client, shop_index, fashrec):
    """Issue 11: POST /search holds only exact matches, says when they fall short, keeps labelled near
    misses apart, and a request's strict lists none -- the same document as `fashrec search --json`."""
    _, index = shop_index
    in_stock = [p for p in _products(shop_index) if p.get("in_stock", True)]
    pairs = Counter((p["attributes"]["color"], p["attributes"]["category"]) for p in in_stock)
    color, category = next(pair for pair, n in sorted(pairs.items()) if 0 < n < 4)
    exact = {p["id"] for p in in_stock if (p["attributes"]["color"], p["attributes"]["category"]) == (color, category)}
    request = {"text": f"{color} {category}", "k": 4}
    answer = client.post("/search", json=request)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    schema.SearchDocument.model_validate(doc)
    assert doc["query"]["understood"]["set"] == {"color": color, "category": category}
    assert {r["id"] for r in doc["results"]} == exact
    assert doc["shortfall"]["found"] == len(exact) and doc["shortfall"]["message"].startswith(f"only {len(exact)} ")
    assert doc["alternatives"] and len(doc["results"]) + len(doc["alternatives"]) <= 4
    assert len(doc["alternatives"]) == sum(o["shown"] for o in doc["shortfall"]["options"])
    for alt in doc["alternatives"]:
        assert alt["id"] not in exact and alt["lacks"] and alt["why"].startswith("lacks ")
    run = fashrec("search", f"{color} {category}", "-k", "4", "--index", index, "--planner", "rules", "--json")
    assert run.returncode == 0, run.stderr
    assert _without_timing(doc) == _without_timing(run.json())
    strict = client.post("/search", json={**request, "strict": True}).json()
    assert strict["alternatives"] == [] and [r["id"] for r in strict["results"]] == [r["id"] for r in doc["results"]]
    assert strict["shortfall"]["message"] == doc["shortfall"]["message"] and strict["shortfall"]["alternatives"] is False


# --- anchors: a product, an upload, corrections ------------------------------------------------------------

def test_an_upload_is_the_same_anchor_as_its_path_and_shows_its_own_name(client, shop_index, loaded):
    photo = _photo(shop_index, 5)
    by_path = client.post("/refine", json={"image": str(photo), "text": "not black", "k": 3}).json()
    upload = client.post("/refine", files={"image": ("my photo.jpg", photo.read_bytes(), "image/jpeg")},
                         data={"request": json.dumps({"text": "not black", "k": 3})})
    assert upload.status_code == 200, upload.text
    data = upload.json()
    assert data["query"]["image"] == data["anchor"]["image"] == "my photo.jpg"
    assert [r["id"] for r in data["results"]] == [r["id"] for r in by_path["results"]]
    # the upload lives only in the server's private temporary folder
    kept = list(client.app.state.uploads.path.iterdir())
    assert kept and all(p.suffix == ".upload" for p in kept)
    assert str(client.app.state.uploads.path) not in upload.text


def test_a_catalog_product_is_an_anchor_and_its_reading_can_be_corrected(client, shop_index):
    products = _products(shop_index)
    anchor = products[0]
    data = client.post("/refine", json={"id": anchor["id"], "text": "", "k": 3}).json()
    assert data["anchor"]["catalog_id"] == anchor["id"]
    assert anchor["id"] not in [r["id"] for r in data["results"]]
    # Another category the catalog has for the anchor's gender (its gender is certain, so it is kept).
    other = next(p["attributes"]["category"] for p in products
                 if p["attributes"]["category"] != anchor["attributes"]["category"]
                 and p["attributes"].get("gender") == anchor["attributes"].get("gender"))
    fixed = client.post("/refine", json={"id": anchor["id"], "k": 3, "anchor": {"category": other}}).json()
    corrected = fixed["anchor"]["attributes"]["category"]
    assert {k: corrected[k] for k in ("value", "confidence", "source", "alternatives")} == \
        {"value": other, "confidence": 1.0, "source": "shopper", "alternatives": []}
    assert corrected["guessed"]["value"] == anchor["attributes"]["category"]     # what it said before
    assert fixed["results"] and all(r["attributes"]["category"] == other for r in fixed["results"])
    bad = client.post("/refine", json={"id": anchor["id"], "anchor": {"category": "spaceship"}})
    assert bad.status_code == 400 and bad.json()["error"] == "usage"
    assert "spaceship" in bad.json()["message"] and other in bad.json()["hint"]


def test_ask_below_turns_what_was_read_into_questions(client, shop_index, fashrec):
    """"ask_below" is refine --ask-below: identity attributes read under it come back as questions, with
    the values to choose from, the same as the command answers."""
    photo = _photo(shop_index, 7)
    plain = client.post("/refine", json={"image": str(photo), "text": "", "k": 3}).json()
    asked = client.post("/refine", json={"image": str(photo), "text": "", "k": 3, "ask_below": 1.01}).json()
    assert plain["unsure"] == [] or all(u["options"][0]["confidence"] < 0.5 for u in plain["unsure"])
    assert asked["unsure"], asked["anchor"]
    for question in asked["unsure"]:
        assert question["attribute"] in asked["anchor"]["attributes"] and question["options"]
        assert question["options"][0]["value"] == asked["anchor"]["attributes"][question["attribute"]]["value"]
    _, index = shop_index
    run = fashrec("refine", photo, "", "--index", index, "--planner", "rules", "-k", "3", "--ask-below", "1.01",
                  "--json")
    assert run.returncode == 0, run.stderr
    assert run.json()["unsure"] == asked["unsure"]


def test_a_session_turn_by_turn_with_pick_and_undo(client, shop_index):
    # A photo whose kind (category and gender, kept) has products that are not black: results only hold
    # exact matches, so for some kinds of this small shop "not black" is an honest empty answer.
    for number in range(2, 12):
        photo = _photo(shop_index, number)
        first = client.post("/refine", files={"image": ("a.jpg", photo.read_bytes(), "image/jpeg")},
                            data={"request": json.dumps({"text": "", "k": 3, "session": "web-1"})})
        assert first.status_code == 200, first.text
        assert first.json()["session"]["turn"] == 1 and first.json()["session"]["action"] == "start"
        second = client.post("/refine", json={"session": "web-1", "text": "not black", "k": 3}).json()
        if second["results"]:
            break
    assert second["session"]["turn"] == 2 and second["plan"]["exclude"] == {"color": ["black"]}
    picked = client.post("/refine", json={"session": "web-1", "pick": 1, "k": 3}).json()
    assert picked["anchor"]["catalog_id"] == second["results"][0]["id"]
    assert picked["plan"]["exclude"] == {"color": ["black"]}   # the constraints stay
    shown = client.get("/sessions/web-1").json()
    assert [t["action"] for t in shown["turns"]] == ["start", "refine", "pick"]
    undone = client.post("/sessions/web-1/undo").json()
    assert undone["undone"]["turn"] == 3 and undone["turns"] == 2
    schema.UndoDocument.model_validate(undone)
    missing = client.post("/refine", json={"session": "nobody", "text": "in red"})
    assert missing.status_code == 404 and missing.json()["error"] == "session"
    assert client.get("/sessions/nobody").status_code == 404


# --- thumbnails ---------------------------------------------------------------------------------------

def test_thumbnails_are_small_cached_jpegs_of_catalog_photos_only(client, shop_index):
    product = _products(shop_index)[4]
    first = client.get(f"/images/{product['id']}", params={"size": 96})
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(first.content))
    assert max(image.size) <= 96
    again = client.get(f"/images/{product['id']}", params={"size": 96},
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get(f"/images/{product['id']}", params={"size": 7}).status_code == 400
    for sneaky in ("..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "../catalog.jsonl", "nope"):
        answer = client.get(f"/images/{sneaky}")
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"


def test_an_unknown_product_s_item_or_image_is_a_404_naming_it_with_a_hint(client):
    """/items/ID and /images/ID for an id no product has: fashrec's error document saying which product was
    not found, its hint saying where ids come from (a result's "id": POST /search); /images/ says it takes
    an id, never a path. A long id is not echoed back whole."""
    for route in ("items", "images"):
        data = _documented_refusal(client.get(f"/{route}/no-such-item"), 404, "not-found")
        assert data["message"] == "no product 'no-such-item' in the index", data
        assert "POST /search" in data["hint"] and "fashrec search" in data["hint"], data
        long = _documented_refusal(client.get(f"/{route}/" + "x" * 5000), 404, "not-found")
        assert len(long["message"]) < 120, long
    assert "not a file path" in client.get("/images/no-such-item").json()["hint"]


def test_item_answer_for_an_unknown_product_is_not_found_not_a_usage_error(loaded, shop_index):
    """Called directly (not through /items, which answers its own words), the handler refuses a missing
    product as a missing thing: kind not-found, which the server maps to 404, with the id's field and a hint;
    still exit code 2 on the command line, as every mistake of the caller's."""
    from fashrec.errors import NotFoundError, UsageError
    from fashrec.serve.guards import status_for
    from fashrec.service import handlers

    with pytest.raises(NotFoundError) as refused:
        handlers.item_answer(loaded.index, "no-such-item")
    err = refused.value
    assert isinstance(err, UsageError) and err.exit_code == 2 and status_for(err) == 404
    assert err.to_dict() == {"error": "not-found", "message": "no product 'no-such-item' in the index",
                             "field": "id", "hint": err.hint}
    assert "fashrec search" in err.hint and '"id"' in err.hint
    product = _products(shop_index)[0]
    assert handlers.item_answer(loaded.index, product["id"])["id"] == product["id"]


# --- bad requests: clear 4xx in the command line's error shape ---------------------------------------------

@pytest.mark.parametrize("body, needle", [
    ({"txt": "in red", "id": "x"}, "field 'txt': unknown field"),
    ({"text": "x", "k": 0}, "field 'k'"),
    ({"text": "x", "k": "many"}, "field 'k'"),
    ({"text": "x", "k": True, "id": "x"}, "field 'k': must be a whole number"),
    ({"text": "x", "ask_below": 2, "id": "x"}, "field 'ask_below'"),
    ({"text": 5}, "field 'text'"),
    ({"text": "x"}, "needs an anchor"),
    ({"text": "x", "strategy": "magic", "id": "x"}, "field 'strategy': must be one of ammr, fusion, image, text (got \"magic\")"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_bodies_are_400_with_a_message_naming_the_problem(client, body, needle):
    answer = client.post("/refine", json=body)
    assert answer.status_code == 400
    data = answer.json()
    assert data["error"] == "usage" and needle in data["message"], data
    schema.ErrorDocument.model_validate(data)


def test_a_bad_strategy_where_or_anchor_in_a_body_names_the_field_not_the_option(client, shop_index):
    """A body's fields are told in the words of a field (as on a --batch line), never by the command's options."""
    top = _products(shop_index)[0]
    for path, body, field in (("/refine", {"id": top["id"], "text": "x", "strategy": "magic"}, "strategy"),
                              ("/search", {"text": "x", "where": ["price<abc"]}, "where"),
                              ("/similar", {"id": top["id"], "where": ["colorred"]}, "where")):
        answer = client.post(path, json=body)
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
        assert answer.json()["message"].startswith(f"field '{field}': ") and "--" not in answer.json()["message"]
    answer = client.post("/outfit", json={"n": 2})
    assert answer.status_code == 400 and answer.json()["message"] == (
        "the request needs an anchor: an 'image' or a catalog product 'id'"), answer.text
    upload = client.post("/outfit", files={"image": ("look.jpg", _photo(shop_index).read_bytes(), "image/jpeg")},
                         data={"request": json.dumps({"id": top["id"]})})
    assert upload.status_code == 400 and upload.json()["message"] == "give an anchor 'image' or an 'id', not both"


def test_every_field_a_later_check_refuses_in_a_body_is_named(client, shop_index):
    """A body's relax, session, pick, id, image, anchor, offset, text, previous or occasion refused after the
    request model has read it (by the conversation, the catalog, the ways forward) is a 400 naming that field,
    as the model's own refusals are."""
    top = _products(shop_index)[0]["id"]
    started = client.post("/refine", json={"id": top, "text": "", "session": "fields-1", "k": 2})
    assert started.status_code == 200, started.text
    cases = [
        ("/refine", {"id": top, "text": "x", "pick": 1}, "pick",
         "field 'pick': continues a conversation: add a 'session' name (got 1)"),
        ("/refine", {"id": top, "text": "x", "session": "fields-1", "relax": [1]}, "relax",
         "field 'relax': takes a way forward of one refinement; in a conversation, type the option's number (got [1])"),
        ("/refine", {"id": top, "text": "x", "session": "../up"}, "session",
         "field 'session': is not a session name (got \"../up\")"),
        ("/refine", {"id": top, "session": "fields-1", "pick": 1}, "pick",
         "'pick' and an anchor both choose the anchor: give one of them"),
        ("/refine", {"session": "fields-1", "sort": "price"}, "sort",
         "field 'sort': pages a single refinement; in a conversation, ask for more (got \"price\")"),
        ("/refine", {"session": "fields-1", "pick": 99}, "pick", "there is no result 99 to pick (the last turn showed "),
        ("/refine", {"session": "fields-1"}, "text", "say what to change, or 'pick' a result to continue from"),
        ("/refine", {"text": "x"}, "image", "the request needs an anchor: an 'image' or a catalog product 'id'"),
        ("/refine", {"id": top, "text": "x", "anchor": {"zzz": "red"}}, "anchor", "the catalog has no attribute 'zzz'"),
        ("/refine", {"id": top, "text": "x", "relax": [99]}, "relax", "there is no way forward 99 ("),
        ("/search", {"text": "shirt", "relax": [99]}, "relax", "there is no way forward 99 ("),
        ("/similar", {}, "image", "the request needs an 'image' (or an 'id')"),
        ("/plan", {"text": "x", "previous": {"set": "abc"}}, "previous.set",
         "field 'previous.set': must be an object of attribute -> value (got \"abc\")"),
        ("/outfit", {"id": top, "occasion": "moonwalking"}, "occasion", "occasion 'moonwalking'"),
    ]
    for path, body, field, message in cases:
        answer = client.post(path, json=body)
        data = answer.json()
        assert answer.status_code == 400 and data["error"] == "usage", (body, answer.text)
        assert data["field"] == field and data["message"].startswith(message), (body, data)
        schema.ErrorDocument.model_validate(data)


def test_a_body_s_id_no_product_has_is_a_404_not_found_naming_the_id_with_a_hint(client, shop_index):
    """An 'id' no product of the index has, in a single refinement, a conversation's start, /similar or
    /outfit: a missing thing, so 404 kind not-found (as /items/ID), not a 400 usage error; the field named,
    the id quoted (a long one cut short) and the hint saying where ids come from, as the command line says."""
    from fashrec.errors import PRODUCT_IDS_HINT

    top = _products(shop_index)[0]["id"]
    assert client.post("/refine", json={"id": top, "text": "", "session": "missing-1", "k": 2}).status_code == 200
    for path, body in (("/refine", {"id": "nope", "text": "x"}), ("/refine", {"session": "missing-1", "id": "nope"}),
                       ("/refine", {"session": "missing-2", "id": "nope", "text": "x"}),
                       ("/similar", {"id": "nope"}), ("/outfit", {"id": "nope"})):
        data = _documented_refusal(client.post(path, json=body), 404, "not-found")
        assert data == {"error": "not-found", "message": "no product 'nope' in the index", "field": "id",
                        "hint": PRODUCT_IDS_HINT}, (path, body, data)
        assert "fashrec search" in data["hint"] and '"id"' in data["hint"]
    long = _documented_refusal(client.post("/similar", json={"id": "x" * 5000}), 404, "not-found")
    assert long["message"] == f"no product '{'x' * 77}...' in the index", long


def test_an_empty_anchor_name_or_value_in_a_body_is_refused_in_the_body_s_words(client, shop_index):
    """A body's anchor corrections with an empty attribute or value, in a single refinement and in every kind
    of session turn (start, correct, pick): a 400 naming the field 'anchor' in the words of a mapping, never
    the command line's "--anchor expects attribute=value"; a name holding "=" is not split at it."""
    top = _products(shop_index)[0]["id"]
    started = client.post("/refine", json={"id": top, "text": "", "session": "empty-1", "k": 2})
    assert started.status_code == 200, started.text
    for body, given in (({"id": top, "text": "x", "anchor": {"": "red"}}, '{"": "red"}'),
                        ({"id": top, "text": "x", "anchor": {"color": "  "}}, '{"color": "  "}'),
                        ({"id": top, "session": "empty-2", "anchor": {"color": ""}}, '{"color": ""}'),
                        ({"session": "empty-1", "text": "x", "anchor": {"": "red"}}, '{"": "red"}'),
                        ({"session": "empty-1", "anchor": {"color": ""}}, '{"color": ""}'),
                        ({"session": "empty-1", "pick": 1, "anchor": {"category": "x", " ": ""}},
                         '{"category": "x", " ": ""}')):
        answer = client.post("/refine", json=body)
        data = answer.json()
        assert answer.status_code == 400 and data["field"] == "anchor", (body, answer.text)
        assert data["message"] == f"anchor: attribute names and values must not be empty (got {given})", data
        assert "--anchor" not in answer.text and "attribute=value" not in answer.text
        schema.ErrorDocument.model_validate(data)
    for body in ({"id": top, "text": "x", "anchor": {"color=red": "blue"}},
                 {"session": "empty-1", "text": "x", "anchor": {"color=red": "blue"}}):
        data = client.post("/refine", json=body).json()
        assert data["field"] == "anchor" and data["message"].startswith("the catalog has no attribute 'color=red'")


def test_an_empty_anchor_name_or_value_given_to_plan_is_refused_as_the_field(client, shop_index, fashrec):
    """/plan's anchor (the attributes the request is read against) with an empty name or value is refused as
    /refine's corrections are: a 400 naming the field 'anchor' with a hint, never silently dropped or kept as
    an attribute named ""; a `fashrec plan --batch` line the same (the same handler)."""
    _, index = shop_index
    for anchor in ({"": "red"}, {"color": "  "}, {"color": "black", " ": "x"}):
        answer = client.post("/plan", json={"text": "same in navy", "anchor": anchor})
        data = answer.json()
        assert answer.status_code == 400 and data["error"] == "usage" and data["field"] == "anchor", answer.text
        assert data["message"] == ("anchor: attribute names and values must not be empty "
                                   f"(got {json.dumps(anchor)})"), data
        assert data["hint"] and "--anchor" not in answer.text, data
        schema.ErrorDocument.model_validate(data)
    run = fashrec("plan", "--batch", "-", "--index", index, "--planner", "rules",
                  input=json.dumps({"text": "same in navy", "anchor": {"": "red"}}))
    line = json.loads(run.stdout)
    assert run.returncode == 1 and line["field"] == "anchor" and line["hint"], run.stdout
    assert client.post("/plan", json={"text": "same in navy", "anchor": {"Color": " Black "}}).json()["plan"] == \
        client.post("/plan", json={"text": "same in navy", "anchor": {"color": "black"}}).json()["plan"]


def test_an_occasion_the_catalog_has_no_usage_for_is_refused_where_it_came_from(tmp_path, tiny_model, fashrec):
    """A catalog without an occasion (usage) attribute: a body's occasion is refused as the field, its hint
    saying to leave the request's 'occasion' out; the command line's hint still says --occasion."""
    from fastapi.testclient import TestClient

    from fashrec.index.build import build_index
    from fashrec.serve import Loaded, ServerConfig, create_app

    (tmp_path / "img").mkdir()
    rows = []
    for i, (category, color) in enumerate([("shirt", "blue"), ("trousers", "black"), ("shoes", "brown")]):
        Image.new("RGB", (40, 50), (70 * i, 200 - 50 * i, 90)).save(tmp_path / "img" / f"{i}.jpg")
        rows.append({"id": f"p{i}", "image": f"img/{i}.jpg", "title": f"{color} {category}",
                     "attributes": {"category": category, "color": color, "gender": "men"}})
    catalog = tmp_path / "plain.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_index(catalog, tmp_path / "idx", model=str(tiny_model))
    plain = Loaded.load(ServerConfig(index=tmp_path / "idx", planner="rules"))
    with TestClient(create_app(plain), raise_server_exceptions=False) as client:
        answer = client.post("/outfit", json={"id": "p0", "occasion": "party"})
    data = answer.json()
    assert answer.status_code == 400 and data["field"] == "occasion", answer.text
    assert data["message"] == "occasion 'party': this catalog has no occasion (usage) attribute"
    assert data["hint"] == "leave out the request's 'occasion'"
    schema.ErrorDocument.model_validate(data)
    run = fashrec("outfit", "--id", "p0", "--occasion", "party", "--index", tmp_path / "idx", "--json")
    assert run.returncode == 2 and json.loads(run.stderr)["hint"] == "leave out --occasion", run.stderr


def test_a_valid_pick_is_not_blamed_for_what_its_turn_refuses_later(client, shop_index, monkeypatch):
    """Only the pick's own refusal (no result N) names the field 'pick': a strategy (registered as a plugin's
    is) that refuses the turn a valid pick starts is told as itself, with no field blamed."""
    from fashrec.ammr import loop
    from fashrec.errors import UsageError

    def picky(refiner, anchor, text, options, **request):
        raise UsageError("the picky strategy answers only a turn with words", hint="say what to change")

    monkeypatch.setattr(loop, "_STRATEGIES", dict(loop._STRATEGIES))   # the registration ends with the test
    loop.register_strategy("picky", picky)
    top = _products(shop_index)[0]["id"]
    started = client.post("/refine", json={"id": top, "text": "", "session": "picky-1", "k": 3})
    assert started.status_code == 200 and started.json()["results"], started.text
    answer = client.post("/refine", json={"session": "picky-1", "pick": 1, "strategy": "picky"})
    data = answer.json()
    assert answer.status_code == 400 and data == {"error": "usage", "hint": "say what to change",
                                                  "message": "the picky strategy answers only a turn with words"}
    schema.ErrorDocument.model_validate(data)
    shown = len(started.json()["results"])
    refused = client.post("/refine", json={"session": "picky-1", "pick": shown + 1, "strategy": "picky"}).json()
    assert refused["field"] == "pick" and refused["message"] == (
        f"there is no result {shown + 1} to pick (the last turn showed {shown})")
    picked = client.post("/refine", json={"session": "picky-1", "pick": 1, "k": 2})
    assert picked.status_code == 200 and picked.json()["session"]["action"] == "pick", picked.text
    assert picked.json()["anchor"]["catalog_id"] == started.json()["results"][0]["id"]


def test_malformed_bodies_and_unknown_routes(client):
    answer = client.post("/search", content=b"{broken", headers={"content-type": "application/json"})
    assert answer.status_code == 400 and "malformed JSON" in answer.json()["message"]
    answer = client.post("/search", content=b"text=red", headers={"content-type": "text/plain"})
    assert answer.status_code == 400 and "application/json" in answer.json()["message"]
    for bad in (b'{"text": "a\\ud800b"}', b'{"text": "caf\xe9"}', b'{"text": "x", "k": 1e309}'):
        answer = client.post("/search", content=bad, headers={"content-type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"] == "usage", (bad, answer.text)
    assert client.get("/nowhere").json()["error"] == "not-found"
    answer = client.get("/refine")
    assert answer.status_code == 405 and answer.json()["error"] == "method-not-allowed"


def _refusal(answer) -> dict:
    """A 400 in fashrec's error shape, with none of pydantic's error list, its words or the whole input."""
    data = answer.json()
    assert answer.status_code == 400 and data["error"] == "usage", answer.text
    assert not {"detail", "loc", "msg", "type", "input", "ctx", "url"} & set(data), data
    assert "input should" not in data["message"].lower() and "valid integer" not in data["message"]
    schema.ErrorDocument.model_validate(data)
    return data


def test_a_parameter_fastapi_refuses_is_a_400_naming_it_in_fashrecs_words(client, shop_index):
    """FastAPI checks a route's own parameters before fashrec sees them: its refusals read like fashrec's
    (the parameter named, what it must be, what was given cut short), never pydantic's list."""
    product = _products(shop_index)[0]["id"]
    data = _refusal(client.get(f"/images/{product}", params={"size": "abc"}))
    assert data == {"error": "usage", "field": "size",
                    "message": "query parameter 'size': must be a whole number (got \"abc\")"}
    data = _refusal(client.get(f"/images/{product}", params={"size": "9" * 5000 + "x"}))
    assert data["field"] == "size" and "whole number" in data["message"] and len(data["message"]) < 160   # not whole
    data = _refusal(client.get(f"/images/{product}", params={"size": 7}))   # fashrec's own check: the same words
    assert data == {"error": "usage", "field": "size",
                    "message": "query parameter 'size': must be one of 96, 192, 256, 384, 512 (got 7)"}


def test_any_route_s_missing_or_ill_typed_parameters_and_bodies_read_the_same(loaded):
    """The same handler answers for every route: a required parameter left out, one of the wrong type, a body
    FastAPI parses itself that is not JSON or has a bad field (a route added to the real app to show it)."""
    from fastapi import Body
    from fastapi.testclient import TestClient

    from fashrec.serve import create_app

    app = create_app(loaded)

    @app.post("/probe/{n}")
    async def probe(n: int, when: float, body: dict = Body(...)) -> dict:
        return {"n": n}

    with TestClient(app, raise_server_exceptions=False) as probing:
        assert probing.post("/probe/1", params={"when": 2}, json={"a": 1}).json() == {"n": 1}
        data = _refusal(probing.post("/probe/1", json={"a": 1}))
        assert data == {"error": "usage", "field": "when", "message": "query parameter 'when': is required"}
        data = _refusal(probing.post("/probe/x", params={"when": "soon"}, json={"a": 1}))
        assert data["field"] == "n" and data["message"] == ("path parameter 'n': must be a whole number (got \"x\"); "
                                                            "query parameter 'when': must be a number (got \"soon\")")
        data = _refusal(probing.post("/probe/1", params={"when": 2}, content=b'{"a": "' + b"x" * 10_000,
                                     headers={"content-type": "application/json"}))
        assert data["message"].startswith("malformed JSON body") and len(data["message"]) < 200, data
        data = _refusal(probing.post("/probe/1", params={"when": 2}, json=[1, 2]))
        assert data == {"error": "usage", "field": "request", "message": "the request must be a JSON object (got [1, 2])"}


def test_every_body_the_app_refuses_names_what_was_wrong_in_one_shape(client, shop_index):
    """A body that is not JSON, not UTF-8, nested past the parser, half a surrogate pair, not an object, with a
    field of the wrong type or unknown, of another content type, or a form whose parts are wrong: a 4xx in
    fashrec's error document naming the field to blame ('request' for the whole body), never a 500, the parser's
    advice or FastAPI's list; a body that is not an object reads as one FastAPI reads (the probe route above)."""
    as_json = {"content-type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    photo = ("a.jpg", _photo(shop_index).read_bytes(), "image/jpeg")
    cases = [
        (dict(content=b"{broken", headers=as_json), 400, "request",
         "malformed JSON body: Expecting property name enclosed in double quotes (character 1)"),
        (dict(content=b'{"text": "caf\xe9"}', headers=as_json), 400, "request",
         "malformed JSON body: not valid UTF-8 (byte 13)"),
        (dict(content=deep, headers=as_json), 400, "request",   # was a 500 (RecursionError)
         "malformed JSON body: a JSON value too large or too deeply nested"),
        (dict(content=b'{"text": ' + deep + b"}", headers=as_json), 400, "request",
         "malformed JSON body: a JSON value too large or too deeply nested"),
        (dict(content=b'{"text": "x", "k": ' + b"9" * 5000 + b"}", headers=as_json), 400, "request",
         "malformed JSON body: a JSON value too large or too deeply nested"),   # not "use sys.set_int_max_..."
        (dict(content=b'{"text": "x", "where": {"color": "\\udc00"}}', headers=as_json), 400, "request",
         "malformed JSON body: an unpaired UTF-16 surrogate escape (\\udXXX), which is not valid Unicode"),  # was 500
        (dict(content=b'{"text": "x", "a\\ud800": 1}', headers=as_json), 400, "request",
         "malformed JSON body: an unpaired UTF-16 surrogate escape (\\udXXX), which is not valid Unicode"),
        (dict(json=[1, 2]), 400, "request", "the request must be a JSON object (got [1, 2])"),
        (dict(json="red"), 400, "request", "the request must be a JSON object (got \"red\")"),
        (dict(json={"text": 5}), 400, "text", "field 'text': must be a string (got 5)"),
        (dict(json={"text": "x", "txt": "y"}), 400, "txt", "field 'txt': unknown field"),
        (dict(content=b"text=red", headers={"content-type": "text/plain"}), 400, "content-type",
         "send the request as application/json (or multipart/form-data with an 'image' file)"),
        (dict(files={"image": photo}, data={"request": "{bad"}), 400, "request",
         "malformed JSON in form part 'request': Expecting property name enclosed in double quotes (character 1)"),
        (dict(files={"image": photo}, data={"request": "[1]"}), 400, "request",
         "the request must be a JSON object (got [1])"),
        (dict(files={"request": ("r.json", b"{}", "application/json")}), 400, "request",
         "form part 'request' must be the request's JSON as text, not a file"),   # was a 500 (TypeError)
        (dict(files={"image": photo, "request": ("r.json", b"{}", "application/json")}), 400, "request",
         "the form cannot be read: Too many files"),   # starlette's own limit, said with the field
        (dict(files={"image": photo}, data={"request": "{}", "extra": "1"}), 400, "extra",
         "unknown form part(s): extra (send 'image' and 'request')"),
        (dict(files={"request": (None, "{}")}, data={"image": "not a file"}), 400, "image",
         "form part 'image' must be a file"),
        (dict(files={"image": photo}, data={"request": json.dumps({"image": "/etc/passwd"})}), 400, "image",
         "send the photo as the 'image' file part, not as a path in 'request'"),
        (dict(json={"image": "/etc/passwd"}), 403, "image", "image path is outside the allowed folders: /etc/passwd"),
        (dict(content=b'{"text": "' + b"x" * (600 * 1024) + b'"}', headers=as_json), 413, "request",
         "the request body is larger than this server accepts"),
    ]
    for sent, status, field, message in cases:
        answer = client.post("/similar" if "files" in sent or "image" in sent.get("json", ()) else "/search", **sent)
        data = answer.json()
        assert answer.status_code == status and data["field"] == field, (sent.get("content", b"")[:40], answer.text)
        assert data["message"].startswith(message) and len(data["message"]) < 200, data
        assert not {"detail", "loc", "msg", "type", "input"} & set(data)
        schema.ErrorDocument.model_validate(data)
    assert client.post("/search", json=[1, 2]).json() == {   # word for word the probe route's (FastAPI's parse)
        "error": "usage", "field": "request", "message": "the request must be a JSON object (got [1, 2])"}
    # the photo over the upload limit itself (the body within the server's) names the image part
    limit = client.app.state.loaded.config.max_upload_bytes
    answer = client.post("/similar", files={"image": ("big.png", b"\0" * (limit + 10), "image/png")})
    assert answer.status_code == 413 and answer.json()["field"] == "image", answer.text


def test_an_unexpected_failure_is_500_without_a_stack_trace(client, monkeypatch):
    from fashrec.service import handlers

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(handlers, "search_answer", explode)
    answer = client.post("/search", json={"text": "red"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal", "message": "internal error (the server's log has the details)"}
    assert "secret" not in answer.text and "Traceback" not in answer.text


# --- what a client may reach ----------------------------------------------------------------------------

def test_image_paths_only_under_allowed_folders(client, shop_index, tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(_png_bytes())
    catalog, _ = shop_index
    link = catalog.parent / "images" / "sneaky-link.png"
    link.symlink_to(outside)
    try:
        for raw in (str(outside), "/etc/passwd", str(catalog.parent / ".." / outside.parent.name / outside.name),
                    str(link)):
            answer = client.post("/refine", json={"image": raw, "text": "x"})
            assert answer.status_code == 403 and answer.json()["error"] == "forbidden", raw
    finally:
        link.unlink()


def test_a_server_without_allowed_folders_reads_no_paths(loaded, shop_index):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from fashrec.serve import Loaded, create_app

    strict = Loaded(replace(loaded.config, allowed_image_dirs=()), loaded.refiner, loaded.searcher)
    with TestClient(create_app(strict)) as client:
        answer = client.post("/similar", json={"image": str(_photo(shop_index))})
        assert answer.status_code == 403 and "--allow-images" in answer.json()["hint"]
        assert client.post("/similar", json={"id": _products(shop_index)[0]["id"], "k": 2}).status_code == 200


def test_uploads_are_size_limited_and_decoded_safely(client, tmp_path):
    limit = client.app.state.loaded.config.max_upload_bytes
    big = client.post("/refine", files={"image": ("big.png", b"\x89PNG" + b"\0" * (limit + 10), "image/png")})
    assert big.status_code == 413 and big.json()["error"] == "too-large"

    def chunks():   # no Content-Length: the limit is counted as the body streams in
        for _ in range(limit // 65536 + 8):
            yield b"x" * 65536
    streamed = client.post("/refine", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    bomb = write_png_bomb(tmp_path / "bomb.png")
    cases = {"bomb.png": (bomb.read_bytes(), "decompression bomb"),
             "cut.jpg": (write_truncated_jpeg(tmp_path / "cut.jpg").read_bytes(), "corrupt or truncated"),
             "notes.jpg": (b"just some text, not a photo", "not an image"),
             "empty.jpg": (b"", "empty")}
    for name, (content, needle) in cases.items():
        answer = client.post("/refine", files={"image": (name, content, "image/jpeg")},
                             data={"request": json.dumps({"text": "x"})})
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"] == "image" and needle in answer.json()["message"], answer.json()
        assert name in answer.json()["message"] or name == "empty.jpg"
    assert not list(client.app.state.uploads.path.glob("*.partial"))
    mixed = client.post("/refine", files={"image": ("a.png", _png_bytes(), "image/png")},
                        data={"request": json.dumps({"image": "/etc/passwd"})})
    assert mixed.status_code == 400 and "file part" in mixed.json()["message"]


def test_a_loopback_server_answers_only_its_own_host_names(loaded):
    from fastapi.testclient import TestClient

    from fashrec.serve import create_app, trusted_hosts

    with TestClient(create_app(loaded, trusted_hosts=trusted_hosts("127.0.0.1")),
                    base_url="http://127.0.0.1:8000") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz", headers={"host": "evil.example:8000"}).status_code == 400
    assert trusted_hosts("0.0.0.0") is None
    assert trusted_hosts("::1") == ["127.0.0.1", "[::1]", "localhost"]   # the IPv6 loopback is guarded too


def test_trusted_host_names_are_answered_too_and_nothing_else(loaded):
    """--trusted-host adds names a loopback server answers (its own still answered); beyond this machine the
    server answers only the names given (and the address it listens on), where without any it answers all."""
    from fastapi.testclient import TestClient

    from fashrec.serve import create_app, trusted_hosts

    assert trusted_hosts("127.0.0.1", ["Shop.Lan", "*.proxy.test", "::1"]) == [
        "*.proxy.test", "127.0.0.1", "[::1]", "localhost", "shop.lan"]
    assert trusted_hosts("0.0.0.0", ["shop.lan"]) == ["shop.lan"]
    assert trusted_hosts("192.168.1.20", ["shop.lan"]) == ["192.168.1.20", "shop.lan"]
    assert trusted_hosts("192.168.1.20") is None
    answered = {"127.0.0.1": ["shop.lan:8000", "127.0.0.1:8000", "localhost", "a.proxy.test", "[::1]:8000"],
                "0.0.0.0": ["shop.lan:8000", "a.proxy.test"]}
    refused = {"127.0.0.1": ["evil.example", "proxy.test", "shop.lan.evil.example"],
               "0.0.0.0": ["evil.example", "127.0.0.1:8000", "localhost", "proxy.test"]}
    for bind in answered:
        app = create_app(loaded, trusted_hosts=trusted_hosts(bind, ["shop.lan", "*.proxy.test", "::1"]))
        with TestClient(app, raise_server_exceptions=False) as client:
            for name in answered[bind]:
                assert client.get("/healthz", headers={"host": name}).status_code == 200, (bind, name)
            for name in refused[bind]:
                answer = client.get("/healthz", headers={"host": name})
                assert answer.status_code == 400 and answer.json()["error"] == "invalid-host", (bind, name)
                assert "--trusted-host" in answer.json()["hint"]


@pytest.mark.parametrize("name, problem", [
    ("http://shop.lan", "leave out the scheme"), ("shop.lan/", "no path"), ("shop.lan:8080", "no port"),
    ("[::1]:8000", "no port"), ("*", "would answer any Host"), ("", "empty"), ("shop..lan", "between dots"),
    ("*shop.lan", "between dots"), ("a.*.lan", "between dots"), ("300.1.1.1", "not an IPv4 address"),
])
def test_a_trusted_host_that_is_no_bare_name_is_refused_naming_the_option(name, problem):
    from fashrec.errors import UsageError
    from fashrec.serve import trusted_hosts

    with pytest.raises(UsageError) as refused:
        trusted_hosts("127.0.0.1", ["shop.lan", name])
    err = refused.value
    assert err.message.startswith(f"--trusted-host expects a bare host name, got '{name}': ") and problem in err.message
    assert "--trusted-host shop.lan" in err.hint


def _documented_refusal(answer, status: int, kind: str) -> dict:
    """A refusal Starlette makes itself, in fashrec's error document: JSON, the status and kind the document
    describes (guards.STATUS, the ErrorDocument's own description), with a hint."""
    from fashrec.serve.guards import STATUS

    assert answer.status_code == status and answer.headers["content-type"] == "application/json", answer.text
    data = answer.json()
    schema.ErrorDocument.model_validate(data)
    assert data["error"] == kind and STATUS[kind] == status and data["hint"], data
    assert kind in schema.ErrorDocument.model_fields["error"].description
    return data


def test_starlette_s_own_refusals_are_fashrec_error_documents_with_a_hint(loaded):
    """A Host header the server does not answer, an unknown route (under /api/ or /static/ too) and a method a
    route does not answer (a POST route's HEAD and OPTIONS too) are refused before any of fashrec's routes run:
    each keeps its status (a 405 its Allow header, its methods in one order) and answers fashrec's error
    document, the hint saying what to do instead; the refused host's hint never lists the host names the
    server answers."""
    from fastapi.testclient import TestClient

    from fashrec.serve import create_app, trusted_hosts

    with TestClient(create_app(loaded, trusted_hosts=trusted_hosts("127.0.0.1")), base_url="http://127.0.0.1:8000",
                    raise_server_exceptions=False) as client:
        for method, path in (("GET", "/healthz"), ("POST", "/refine"), ("GET", "/nowhere")):
            answer = client.request(method, path, headers={"host": "evil.example:8000"}, json={})
            data = _documented_refusal(answer, 400, "invalid-host")
            assert data["message"] == ('this server does not answer requests for the host "evil.example:8000" '
                                       "(the Host header)")
            assert "--host" in data["hint"] and "127.0.0.1" not in answer.text and "localhost" not in answer.text
        for path in ("/nowhere", "/api/v1/refine", "/static/nope.js", "/static/", "/items/"):
            data = _documented_refusal(client.get(path), 404, "not-found")
            assert data["message"] == f"no such page or route: {path}" and "/docs" in data["hint"], data
        data = _documented_refusal(client.get("/" + "x" * 5000), 404, "not-found")
        assert len(data["message"]) < 120   # a long path is not echoed back whole
        for method, path, allowed in (("GET", "/refine", "POST"), ("OPTIONS", "/refine", "POST"),
                                      ("PUT", "/search", "POST"), ("POST", "/healthz", "GET, HEAD"),
                                      ("DELETE", "/sessions/x", "GET, HEAD"), ("GET", "/sessions/x/undo", "POST"),
                                      ("POST", "/static/app.js", "GET, HEAD"), ("OPTIONS", "/", "GET, HEAD")):
            answer = client.request(method, path)
            data = _documented_refusal(answer, 405, "method-not-allowed")
            assert answer.headers["allow"] == allowed, (method, path)
            assert (data["message"], data["hint"]) == (f"{path} does not answer {method}", f"it answers {allowed}")
        for path, allowed in (("/refine", "POST"), ("/plan", "POST")):
            head = client.head(path)   # a HEAD answer has no body, but the 405's status and headers
            assert head.status_code == 405 and head.headers["allow"] == allowed, path
            assert head.headers["content-type"] == "application/json" and not head.content
        assert client.head("/static/app.js").status_code == 200


def test_head_answers_as_get_does_without_the_body(client, shop_index):
    """HEAD is a GET without its body (RFC 9110 9.3.2): every GET route answers it with the GET's status and
    headers (content type and length, an ETag, the security headers), a missing product's or session's 404
    too, where FastAPI's GET routes alone would answer 405."""
    product = _products(shop_index)[0]["id"]
    for path, status in (("/", 200), ("/healthz", 200), ("/info", 200), ("/vocabulary", 200),
                         (f"/items/{product}", 200), (f"/images/{product}?size=96", 200), ("/openapi.json", 200),
                         ("/static/app.js", 200), ("/items/no-such-item", 404), ("/images/no-such-item", 404),
                         ("/sessions/nobody", 404)):
        got, head = client.get(path), client.head(path)
        assert (got.status_code, head.status_code) == (status, status), (path, head.text)
        assert got.content and not head.content, path
        assert dict(head.headers) == dict(got.headers), path
    photo = client.get(f"/images/{product}", params={"size": 96})
    again = client.head(f"/images/{product}", params={"size": 96}, headers={"If-None-Match": photo.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == photo.headers["etag"]


def test_answers_carry_security_headers_and_the_page_loads_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in ("/", "/static/app.js", "/static/app.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text, asset


def test_openapi_is_generated_from_the_request_and_answer_models(client):
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    for name in ("RefineRequest", "SearchRequest", "SimilarRequest", "OutfitRequest", "PlanRequest",
                 "RefineDocument", "SearchDocument", "ErrorDocument", "ProfileFields"):
        assert name in components, name
    assert set(components["RefineRequest"]["properties"]) == set(schema.RefineRequest.model_fields)
    refine = document["paths"]["/refine"]["post"]
    assert set(refine["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert refine["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("RefineDocument")
    for path in ("/search", "/similar", "/outfit", "/plan", "/items/{product_id}", "/images/{product_id}",
                 "/info", "/healthz", "/sessions/{name}/undo"):
        assert path in document["paths"], path
    # a GET route answers HEAD too, documented once, as its GET (HEAD is that GET without the body)
    assert {method for methods in document["paths"].values() for method in methods} == {"get", "post"}
    # a parameter FastAPI refuses is a 400 in the error document's shape, as documented: no 422 promised
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert "422" not in operation["responses"], (method, path)
    thumbnail = document["paths"]["/images/{product_id}"]["get"]["responses"]["400"]
    assert thumbnail["content"]["application/json"]["schema"]["$ref"].endswith("ErrorDocument")


def test_a_slow_request_does_not_hold_up_the_others(loaded, monkeypatch):
    """Requests are answered on worker threads: a slow refinement leaves the page and health checks free."""
    import socket
    import threading
    import time
    import urllib.request

    import uvicorn

    from fashrec.serve import create_app
    from fashrec.service import handlers

    real = handlers.search_answer

    def slow(*args, **kwargs):
        time.sleep(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(handlers, "search_answer", slow)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(loaded), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            time.sleep(0.05)
        done = {}

        def ask_slowly():
            request = urllib.request.Request(url + "/search", data=json.dumps({"text": "red"}).encode(),
                                             headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                done["slow"] = answer.status
        slow_thread = threading.Thread(target=ask_slowly)
        slow_thread.start()
        time.sleep(0.3)
        started = time.perf_counter()
        for path in ("/healthz", "/", "/vocabulary"):
            with urllib.request.urlopen(url + path, timeout=30) as answer:
                assert answer.status == 200
        quick = time.perf_counter() - started
        slow_thread.join(30)
        assert done == {"slow": 200} and quick < 2.0, quick
    finally:
        server.should_exit = True
        thread.join(10)


def test_listening_beyond_this_machine_prints_a_warning(fashrec, tmp_path):
    run = fashrec("serve", "--host", "0.0.0.0", "--index", tmp_path / "nowhere", "--port", "1")
    assert run.returncode == 4   # the missing index stops it before it listens
    assert "Warning:" in run.stderr and "anyone who can reach this machine" in run.stderr


def test_serve_refuses_a_trusted_host_that_is_no_bare_name_before_loading(tmp_path, monkeypatch):
    """The real command (in this process, its server replaced, so nothing listens): a bad --trusted-host is a
    usage error naming the option, with a hint, before the index is even looked for (exit 2, not 4); good
    names reach the server's Host check, added to the loopback names."""
    from typer.testing import CliRunner

    import fashrec.serve
    from fashrec.cli.commands import app

    started = []
    monkeypatch.setattr(fashrec.serve, "run", lambda config, **how: started.append(how))
    missing = str(tmp_path / "nowhere")
    terminal = {"NO_COLOR": "1"}
    for bad in ("http://shop.lan", "shop.lan:8000", "*"):
        result = CliRunner().invoke(app, ["serve", "--index", missing, "--trusted-host", "shop.lan",
                                          "--trusted-host", bad], env=terminal)
        assert result.exit_code == 2, result.output
        said = " ".join(result.stderr.split())   # the console wraps at its own width
        assert f"Error: --trusted-host expects a bare host name, got '{bad}'" in said, said
        assert "Hint: a host name or IP address" in said and "loading" not in said
    assert not started
    result = CliRunner().invoke(app, ["serve", "--index", missing, "--port", "8123", "--trusted-host", "Shop.Lan",
                                      "--trusted-host", "*.proxy.test"], env=terminal)
    assert result.exit_code == 0, result.output
    assert started == [{"hosts": ["*.proxy.test", "127.0.0.1", "localhost", "shop.lan"], "host": "127.0.0.1",
                        "port": 8123}]
    result = CliRunner().invoke(app, ["serve", "--index", missing, "--host", "0.0.0.0"], env=terminal)
    assert result.exit_code == 0 and started[-1]["hosts"] is None
    assert "It answers any Host name; --trusted-host NAME limits it to those." in " ".join(result.stderr.split())


def _same_answer(doc: dict) -> dict:
    """An answer without what differs by store by design: timings, and the name of the search method."""
    doc = _without_timing(doc)
    return {**doc, "query": {k: v for k, v in doc["query"].items() if k != "method"}} if "query" in doc else doc


def test_the_server_answers_on_a_lance_store_as_on_the_local_one_from_many_threads(client, shop_index, tiny_model,
                                                                                    tmp_path):
    """`serve --index DIR` on an index built with --store lance: the same answers, requests in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from fashrec.index.build import build_index
    from fashrec.serve import Loaded, ServerConfig, create_app

    catalog, _ = shop_index
    build_index(catalog, tmp_path / "lance-idx", model=str(tiny_model), store="lance")
    lance = Loaded.load(ServerConfig(index=tmp_path / "lance-idx", planner="rules",
                                     allowed_image_dirs=(catalog.parent,), max_upload_bytes=256 * 1024))
    top = next(p for p in _products(shop_index) if p["attributes"]["category"] in ("shirt", "tshirt", "top"))
    requests = [("/refine", {"image": str(_photo(shop_index, 3)), "text": "but in red", "k": 4}),
                ("/search", {"text": "red dress", "k": 3, "where": ["price<60"]}),
                ("/search", {"text": "shoes", "k": 2, "where": {"category": "shoes"}}),
                ("/similar", {"image": str(_photo(shop_index, 1)), "k": 3}),
                ("/outfit", {"id": top["id"], "n": 2})] * 2
    with TestClient(create_app(lance), raise_server_exceptions=False) as other, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda r: other.post(r[0], json=r[1]), requests))
        for (path, body), answer in zip(requests, answers):
            assert answer.status_code == 200, (path, answer.text)
            assert _same_answer(answer.json()) == _same_answer(client.post(path, json=body).json()), path

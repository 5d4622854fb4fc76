"""Multi-turn dialogue: how turns accumulate, revise and release constraints, picks, undo, and storage."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fashrec.dialogue import AnchorRef, Dialogue, SessionStore, Turn
from fashrec.dialogue.session import pick_reference
from fashrec.errors import SessionError, UsageError
from fashrec.planner import Plan
from fashrec.planner.merge import merge_plans


def labels(changes) -> list[str]:
    return [str(c) for c in changes]


# --- merging plans -------------------------------------------------------------------------------

def test_constraints_accumulate_over_turns():
    plan, changes = merge_plans(None, Plan(set={"color": "navy"}, source="rules"))
    assert labels(changes) == ["+ color=navy"]
    plan, changes = merge_plans(plan, Plan(set={"material": "linen"}, price_max=60))
    assert plan.set == {"color": "navy", "material": "linen"} and plan.price_max == 60
    assert labels(changes) == ["+ material=linen", "+ price <= 60"]
    assert plan.describe() == ["color=navy", "material=linen", "price <= 60"]


def test_a_later_request_revises_an_earlier_one():
    plan, _ = merge_plans(None, Plan(set={"color": "navy"}, price_max=60))
    plan, changes = merge_plans(plan, Plan(set={"color": "red"}, price_max=40))
    assert plan.set == {"color": "red"} and plan.price_max == 40
    assert labels(changes) == ["~ color=navy -> color=red", "~ price <= 60 -> price <= 40"]


def test_releasing_an_attribute_and_the_budget():
    plan, _ = merge_plans(None, Plan(set={"color": "navy", "material": "linen"}, exclude={"pattern": ["striped"]},
                                     price_max=60))
    plan, changes = merge_plans(plan, Plan(drop=["color", "price"]))
    assert plan.set == {"material": "linen"} and plan.price_max is None
    assert "color" in plan.drop  # the anchor's colour is released too, not only the stated one
    assert labels(changes) == ["- color=navy", "+ any color", "- price <= 60"]
    # Asking for a colour again ends the release.
    plan, changes = merge_plans(plan, Plan(set={"color": "green"}))
    assert "color" not in plan.drop and plan.set["color"] == "green"
    # A new price after "forget the budget" applies again.
    plan, _ = merge_plans(plan, Plan(price_max=30))
    assert plan.price_max == 30 and "price" not in plan.drop


def test_negation_and_assertion_replace_each_other():
    plan, _ = merge_plans(None, Plan(set={"color": "red"}))
    plan, changes = merge_plans(plan, Plan(exclude={"color": ["red"]}))
    assert plan.set == {} and plan.exclude == {"color": ["red"]}
    assert labels(changes) == ["- color=red", "+ color!=red"]
    plan, changes = merge_plans(plan, Plan(set={"color": "red"}))
    assert plan.exclude == {} and plan.set == {"color": "red"}
    assert labels(changes) == ["+ color=red", "- color!=red"]


def test_relative_wishes_cancel_their_opposite_and_price_bounds_stay_consistent():
    plan, _ = merge_plans(None, Plan(relative=["darker", "cheaper"], price_min=50))
    plan, changes = merge_plans(plan, Plan(relative=["lighter"], price_max=30))
    assert plan.relative == ["cheaper", "lighter"]
    assert plan.price_min is None and plan.price_max == 30  # the new ceiling wins over the older floor
    assert "- darker" in labels(changes) and "+ lighter" in labels(changes)


def test_merging_is_idempotent_and_leaves_inputs_alone():
    first = Plan(set={"color": "navy"}, exclude={"pattern": ["floral"]}, price_max=60, relative=["cheaper"],
                 query="with a hood")
    plan, _ = merge_plans(None, first)
    again, changes = merge_plans(plan, first)  # a planner that returns the whole accumulated plan
    assert changes == [] and again.to_dict() == plan.to_dict()
    merge_plans(plan, Plan(set={"color": "red"}, drop=["pattern"]))
    assert plan.set == {"color": "navy"} and plan.exclude == {"pattern": ["floral"]}


def test_free_words_accumulate_and_stay_short():
    plan = Plan()
    for words in ("with a hood", "oversized", "with pockets", "zip front"):
        plan, _ = merge_plans(plan, Plan(query=words))
    assert plan.query == "oversized; with pockets; zip front"


def test_pick_references_in_words():
    assert pick_reference("more like the third one") == (3, "")
    assert pick_reference("more like #2, but in red") == (2, "but in red")
    assert pick_reference("Similar to number 10") == (10, "")
    assert pick_reference("more like this but in red") is None
    assert pick_reference("in red") is None


# --- storage -------------------------------------------------------------------------------------

def turn(text: str, plan: Plan, ids: list[str], action: str = "refine") -> Turn:
    return Turn(0, action, text, AnchorRef("image", "/x/shirt.jpg"), plan, plan, [], ids, "done")


def test_sessions_survive_reopening(tmp_path):
    path = tmp_path / "sessions.sqlite"
    with SessionStore(path) as store:
        assert store.schema_version == 3 and store.migrations() == MIGRATED
        assert store.append_turn("s1", turn("", Plan(), ["a", "b"], "start"), index="/idx") == 1
        plan, changes = merge_plans(None, Plan(set={"color": "red"}, drop=["price"]))
        t2 = turn("in red", plan, ["c"])
        t2.changes = changes
        assert store.append_turn("s1", t2) == 2
    with SessionStore(path) as store:  # a new process
        session = store.load("s1")
        assert [t.number for t in session.turns] == [1, 2] and session.index == "/idx"
        assert session.plan.set == {"color": "red"} and session.plan.drop == ["price"]
        assert [str(c) for c in session.last.changes] == ["+ color=red"]
        assert session.last.result_ids == ["c"] and session.last.anchor == AnchorRef("image", "/x/shirt.jpg")
        assert store.migrations() == MIGRATED  # not applied twice


MIGRATED = ["0001_sessions_and_turns", "0002_result_titles", "0003_anchor_overrides"]


def old_database(tmp_path, version: int, index_path: str, turn_tail: str):
    """A sessions.sqlite as the fashrec of schema ``version`` wrote it, with one session 'old' (its index
    path an SQL literal) and one turn 'in red' on /x.jpg (``turn_tail``: that schema's last columns)."""
    from fashrec.dialogue.store import MIGRATIONS

    path = tmp_path / "sessions.sqlite"
    conn = sqlite3.connect(path)
    for _, statements in MIGRATIONS[:version]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.executemany("INSERT INTO migrations VALUES (?, 'then')", [(n,) for n, _ in MIGRATIONS[:version]])
    conn.execute(f"INSERT INTO sessions VALUES ('old', 'then', 'then', {index_path})")
    conn.execute("INSERT INTO turns VALUES ('old', 1, 'start', 'in red', 'image', '/x.jpg', ?, ?, '[]', "
                 f"{turn_tail})", (json.dumps(Plan().to_dict()),) * 2)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    return path


def test_a_first_version_database_is_migrated_and_keeps_its_turns(tmp_path):
    """A sessions.sqlite written before result titles were stored: its turns read back, without titles."""
    path = old_database(tmp_path, 1, "NULL", "'[\"a\", \"b\"]', 'done', 'then'")
    with SessionStore(path) as store:
        assert store.schema_version == 3 and store.migrations() == MIGRATED
        old = store.load("old").turns[0]
        assert old.result_ids == ["a", "b"] and old.result_titles == [] and old.text == "in red"
        t = turn("in blue", Plan(), ["c"])
        t.result_titles = ["Blue shirt"]
        store.append_turn("old", t)
        assert store.load("old").turns[1].to_dict()["titles"] == ["Blue shirt"]


def test_a_second_version_database_gains_anchor_corrections(tmp_path):
    """A sessions.sqlite written by the fashrec before corrections were stored (schema 2, with titles):
    its turns read back uncorrected; a new turn keeps what the shopper corrected, across reopening."""
    path = old_database(tmp_path, 2, "'/idx'", "'[\"a\"]', 'done', 'then', '[\"Red shirt\"]'")
    with SessionStore(path) as store:
        assert store.schema_version == 3 and store.migrations() == MIGRATED
        old = store.load("old").last
        assert old.anchor == AnchorRef("image", "/x.jpg") and old.result_titles == ["Red shirt"]
        assert "overrides" not in old.to_dict()["anchor"]
        t = turn("", Plan(), ["b"], "correct")
        t.anchor = old.anchor.corrected({"category": "dresses"}).corrected({"gender": "women"})
        store.append_turn("old", t)
    with SessionStore(path) as store:   # a new process: the correction still holds for that anchor
        last = store.load("old").last
        assert last.anchor.overrides == (("category", "dresses"), ("gender", "women"))
        assert last.anchor.bare == AnchorRef("image", "/x.jpg")
        assert last.to_dict()["anchor"]["overrides"] == {"category": "dresses", "gender": "women"}
        assert store.load("old").turns[0].anchor.overrides == ()


def test_undo_restart_and_remove(tmp_path):
    store = SessionStore(tmp_path / "s.sqlite")
    for i in range(3):
        store.append_turn("s1", turn(f"t{i}", Plan(set={"color": f"c{i}"}), [f"p{i}"]))
    undone = store.pop_turn("s1")
    assert undone.number == 3 and store.load("s1").plan.set == {"color": "c1"}
    # Restarting discards every earlier turn in the same transaction.
    assert store.append_turn("s1", turn("again", Plan(), ["x"], "start"), restart=True) == 1
    assert len(store.load("s1").turns) == 1
    store.append_turn("s2", turn("other", Plan(), []))
    assert set(store.names()) == {"s1", "s2"}
    assert store.remove("s1") and not store.remove("s1")
    assert store.get("s1") is None and store.conn.execute("SELECT COUNT(*) FROM turns WHERE session='s1'").fetchone()[0] == 0
    with pytest.raises(SessionError, match="no session named 's1'"):
        store.load("s1")
    with pytest.raises(UsageError):
        store.append_turn("../evil", turn("", Plan(), []))


def test_newer_or_corrupt_database_is_refused(tmp_path):
    path = tmp_path / "sessions.sqlite"
    SessionStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(SessionError, match="newer fashrec"):
        SessionStore(path)
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SessionError, match="unreadable"):
        SessionStore(bad)


# --- turns against a real index ------------------------------------------------------------------

COLORS = {"navy": (30, 40, 90), "red": (190, 30, 40), "white": (240, 240, 236)}


def make_shop(folder: Path) -> Path:
    """24 shirts: 3 colours x 2 materials x 4 (alternating gender, rising price), each a distinct photo."""
    import json

    import numpy as np
    from PIL import Image

    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    rng = np.random.default_rng(0)
    for color, rgb in COLORS.items():
        for material in ("linen", "cotton"):
            for i in range(4):
                pid = f"{color}-{material}-{i}"
                noise = rng.integers(-60, 60, size=(40, 30, 3))
                pixels = np.clip(np.array(rgb) + noise, 0, 255).astype("uint8")
                Image.fromarray(pixels).save(folder / "img" / f"{pid}.png")
                rows.append({"id": pid, "image": f"img/{pid}.png", "title": f"{color} {material} shirt {i}",
                             "attributes": {"category": "shirt", "color": color, "material": material,
                                            "gender": "men" if i % 2 == 0 else "women"},
                             "brand": "Acme" if i < 2 else "Zed", "price": 30.0 + 15 * i, "in_stock": True})
    path = folder / "shop.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class ScriptedPlanner:
    """A planner that knows a few phrases; records the context it was given, like a real one would see it."""

    name = "scripted"

    def __init__(self, phrases: dict[str, Plan]) -> None:
        self.phrases = phrases
        self.seen: list = []

    def plan(self, text, context):
        self.seen.append((text, context.previous.to_dict() if context.previous else None))
        plan = Plan.from_dict(self.phrases[text].to_dict())
        plan.source = self.name
        return plan


PHRASES = {
    "in navy": Plan(set={"color": "navy"}),
    "in linen": Plan(set={"material": "linen"}),
    "actually in red": Plan(set={"color": "red"}),
    "any colour is fine": Plan(drop=["color"]),
    "under 50": Plan(price_max=50),
    "forget the budget": Plan(drop=["price"]),
}


@pytest.fixture()
def shop_refiner(tmp_path, tiny_model, fashrec_env):
    """A refiner over a 24-shirt index whose planner is the scripted fake, joined through the real registry."""
    from fashrec.ammr.loop import Refiner
    from fashrec.encoder import load_encoder
    from fashrec.index import open_index
    from fashrec.index.build import build_index
    from fashrec.planner import create_planner, register_planner, unregister_planner

    catalog = make_shop(tmp_path / "shop")
    build_index(catalog, model=str(tiny_model))
    index = open_index(tmp_path / "shop" / "shop.fashrec-index")
    register_planner("scripted", lambda: ScriptedPlanner(PHRASES))
    try:
        planner = create_planner("scripted")
        yield Refiner(index, load_encoder(index.encoder_spec), planner), planner, tmp_path / "shop"
    finally:
        unregister_planner("scripted")


def products_of(outcome, refiner):
    return [refiner.index.get(i) for i in outcome.turn.result_ids]


def test_a_conversation_accumulates_revises_drops_picks_and_undoes(shop_refiner, tmp_path):
    from fashrec.ammr.critic import CriticConfig
    from fashrec.ammr.loop import RefineOptions

    refiner, planner, shop = shop_refiner
    options = RefineOptions(k=3, critic=CriticConfig(dedupe_similarity=1.01))  # noise photos may look alike
    store = SessionStore(tmp_path / "sessions.sqlite")
    dialogue = Dialogue(refiner, store, "s1", options=options)
    anchor_image = shop / "img" / "white-cotton-0.png"

    first = dialogue.start(anchor_image, "in navy")
    assert first.turn.number == 1 and first.turn.action == "start"
    assert all(p.first("color") == "navy" for p in products_of(first, refiner)) and first.turn.result_ids

    second = dialogue.say("in linen")
    assert planner.seen[-1] == ("in linen", first.turn.plan.to_dict())  # the planner sees the conversation
    assert second.turn.plan.set == {"color": "navy", "material": "linen"}
    assert all((p.first("color"), p.first("material")) == ("navy", "linen") for p in products_of(second, refiner))

    third = dialogue.say("actually in red")
    assert [str(c) for c in third.turn.changes] == ["~ color=navy -> color=red"]
    assert all((p.first("color"), p.first("material")) == ("red", "linen") for p in products_of(third, refiner))

    fourth = dialogue.say("any colour is fine")
    assert fourth.turn.plan.set == {"material": "linen"} and "color" in fourth.turn.plan.drop
    assert all(p.first("material") == "linen" for p in products_of(fourth, refiner))

    picked_id = fourth.turn.result_ids[1]
    fifth = dialogue.pick(2)
    assert fifth.turn.anchor == AnchorRef("product", picked_id) and fifth.result.anchor.catalog_id == picked_id
    assert picked_id not in fifth.turn.result_ids and fifth.turn.plan.set == {"material": "linen"}
    sixth = dialogue.say("more like the first one")  # words can pick too
    assert sixth.turn.action == "pick" and sixth.turn.anchor.value == fifth.turn.result_ids[0]

    assert dialogue.undo().number == 6
    # Another process (a new store on the same file) continues exactly where this one is now.
    again = Dialogue(refiner, SessionStore(tmp_path / "sessions.sqlite"), "s1", options=options)
    assert again.session.last.number == 5 and again.session.last.anchor.value == picked_id
    data = again.say("under 50").to_dict()
    assert data["session"]["turn"] == 6 and data["session"]["constraints"] == ["material=linen", "price <= 50", "any color"]
    assert all(r["price"] <= 50 for r in data["results"])
    released = again.say("forget the budget")
    assert released.turn.plan.price_max is None and [str(c) for c in released.turn.changes] == ["- price <= 50"]

    # Starting again discards the conversation.
    restart = dialogue.start(anchor_image, "in navy")
    assert restart.turn.number == 1 and len(store.load("s1").turns) == 1


def test_turn_errors_are_clear(shop_refiner, tmp_path):
    refiner, _, shop = shop_refiner
    dialogue = Dialogue(refiner, SessionStore(":memory:"), "empty")
    with pytest.raises(SessionError, match="no turns yet"):
        dialogue.say("in linen")
    dialogue.start(shop / "img" / "white-cotton-0.png", "in navy")
    with pytest.raises(UsageError, match="no result 99"):
        dialogue.pick(99)
    with pytest.raises(UsageError, match="no result 99"):   # the pick alone, checked as pick checks it
        dialogue.pickable(99)
    assert dialogue.pickable(1) == dialogue.session.last
    # corrections given as a mapping are told as one, not as --anchor's attribute=value
    for overrides, given in (({"": "red"}, '{"": "red"}'), ({"color": " "}, '{"color": " "}')):
        with pytest.raises(UsageError) as refused:
            dialogue.checked(overrides)
        assert refused.value.message == f"anchor: attribute names and values must not be empty (got {given})"
    with pytest.raises(UsageError, match="the catalog has no attribute 'color=red'"):
        dialogue.checked({"color=red": "blue"})


def test_the_profile_shapes_every_turn(shop_refiner, tmp_path):
    from fashrec.ammr.critic import CriticConfig
    from fashrec.ammr.loop import RefineOptions
    from fashrec.profile import Profile

    refiner, _, shop = shop_refiner
    profile = Profile(budget=50, prefer=["linen"])
    options = RefineOptions(k=3, critic=CriticConfig(dedupe_similarity=1.01))
    dialogue = Dialogue(refiner, SessionStore(":memory:"), "p", options=options, profile=profile)
    data = dialogue.start(shop / "img" / "white-cotton-0.png", "in navy").to_dict()
    assert all(r["price"] <= 50 for r in data["results"])
    rules = {r["rule"]: r for r in data["profile"]["rules"]}
    assert rules["budget"]["applied"] and rules["budget"]["strength"] == "hard" and rules["prefer"]["applied"]
    assert all("profile: within your budget 50" in r["why"] for r in data["results"])
    assert any("profile: prefers linen" in r["why"] for r in data["results"])
    # The shopper's own price overrides the profile budget for that request.
    data = dialogue.say("forget the budget").to_dict()
    assert not {r["rule"]: r for r in data["profile"]["rules"]}["budget"]["applied"]


# --- the simulated-shopper benchmark -------------------------------------------------------------

def make_eval_shop(folder: Path) -> Path:
    """96 products (2 categories x 3 colours x 2 genders x 2 usages x 4), ~20 % of them evaluation items."""
    import json

    import numpy as np
    from PIL import Image

    (folder / "img").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    for category in ("shirt", "dress"):
        for color, rgb in COLORS.items():
            for gender in ("men", "women"):
                for usage in ("casual", "formal"):
                    for i in range(4):
                        pid = f"{category}-{color}-{gender}-{usage}-{i}"
                        noise = rng.integers(-50, 50, size=(32, 24, 3))
                        Image.fromarray(np.clip(np.array(rgb) + noise, 0, 255).astype("uint8")).save(
                            folder / "img" / f"{pid}.png")
                        rows.append({"id": pid, "image": f"img/{pid}.png", "title": f"{color} {category}",
                                     "attributes": {"category": category, "color": color, "gender": gender,
                                                    "usage": usage}, "price": 20.0 + i, "in_stock": True})
    path = folder / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_shopper_names_one_difference_at_a_time():
    import random

    from fashrec.catalog import Product
    from fashrec.evaluation.dialogue import Shopper

    def product(**attrs):
        return Product(id="x", image="x.jpg", image_path=Path("x.jpg"), attributes={a: [v] for a, v in attrs.items()})

    identity = {"category": "category", "gender": "gender", "color": "color", "usage": "usage"}
    target = product(category="shirts", color="navy blue", gender="women", usage="sports")
    shopper = Shopper(target, identity, random.Random(0))
    role, text = shopper.complaint(product(category="shirts", color="white", gender="men", usage="sports"))
    assert role == "gender" and "women" in text       # gender is checked before colour
    role, text = shopper.complaint(product(category="shirts", color="white", gender="women", usage="sports"))
    assert role == "color" and "navy blue" in text
    role, text = shopper.complaint(product(category="tshirts", color="navy blue", gender="women", usage="sports"))
    assert role == "category" and text.endswith("a shirt")  # the target's category, singular
    assert shopper.satisfied_by(target) and not shopper.satisfied_by(None)


def test_dialogue_benchmark_runs_every_strategy_on_the_same_shoppers(tmp_path, tiny_model, fashrec_env):
    from fashrec.evaluation.dialogue import evaluate_dialogue

    catalog = make_eval_shop(tmp_path / "shop")
    report = evaluate_dialogue(catalog, n=4, max_turns=4, planner="rules", model=str(tiny_model),
                               strategies=("ammr", "ammr-stateless", "fusion"))
    data = report.to_dict()
    assert data["dialogues"] == 4 and data["identity"] == ["category", "gender", "color", "usage"]
    assert [s["strategy"] for s in data["strategies"]] == ["ammr", "ammr-stateless", "fusion"]
    for s in data["strategies"]:
        marks = list(s["success_at"].values())
        assert list(s["success_at"]) == ["1", "3", "4"] and marks == sorted(marks) and marks[-1] == s["success"]
    ammr = data["strategies"][0]
    # Stated constraints accumulate as catalog-checked filters, and the target is indexed: every shopper
    # gets there, one attribute per turn at most.
    assert ammr["success"] == 1.0 and ammr["mean_turns"] <= 4
    assert len(report.traces) == 12 and {t.strategy for t in report.traces} == {"ammr", "ammr-stateless", "fusion"}
    for example in data["examples"]:
        assert example["turns"] and all(t["text"] for t in example["turns"])


# --- corrections and ways forward (issue 11) ------------------------------------------------------

def test_plain_sentences_correct_the_anchor_and_a_way_forward_releases_its_constraints(refiner, small_catalog):
    """ "it is a men's shirt" corrects two readings at once; "it's a bit long" is a request, not a
    correction; taking a price way forward ends the relative wish that set the price as well."""
    from fashrec.dialogue.session import correction_words

    assert correction_words("it's a dress") == "dress" and correction_words("No, it is a men's shirt.") == "men's shirt"
    assert correction_words("in red") is None
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    dress = next(r for r in rows if r["attributes"]["category"] == "dress")
    dialogue = Dialogue(refiner, SessionStore(":memory:"), "c")
    dialogue.start(small_catalog.parent / dress["image"], "cheaper")
    corrected = dialogue.say("it is a men's shirt")
    assert corrected.turn.action == "correct" and corrected.turn.text == "it is a men's shirt"
    assert dict(corrected.turn.anchor.overrides) == {"category": "shirt", "gender": "men"}
    assert {str(c) for c in corrected.turn.changes} >= {"~ anchor category=dress -> anchor category=shirt",
                                                        "~ anchor gender=women -> anchor gender=men"}
    assert corrected.turn.plan.relative == ["cheaper"]                 # the request is answered again
    assert corrected.result.results and all(r.candidate.product.attributes["category"] == ["shirt"]
                                            for r in corrected.result.results)
    request = dialogue.say("it's a bit shorter")                         # a wish, not what the anchor is
    assert request.turn.action == "refine" and "shorter" in request.turn.plan.relative
    taken = dialogue.relax([{"check": "price", "attribute": "price", "label": "price below the anchor's"}])
    assert taken.turn.action == "relax" and "cheaper" not in taken.turn.plan.relative
    assert "- cheaper" in [str(c) for c in taken.turn.changes] and "price" in taken.turn.plan.drop
    assert taken.turn.anchor.overrides == corrected.turn.anchor.overrides   # the correction holds
    with pytest.raises(UsageError, match="did you mean category=dress"):
        dialogue.correct({"category": "dres"})

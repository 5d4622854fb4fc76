"""Planner layer: the output format the LLM is held to: a JSON schema and the GBNF grammar that enforces it.

Both are built per request from a handful of candidate values (all of them catalog values), so the
model can only choose among values the catalog has and the request plausibly means: a 135M model
cannot invent "brand=gucci" or "color=golden-ish" when the grammar has no path that spells them.

The GBNF is written here rather than derived with ``LlamaGrammar.from_json_schema``: a fixed key order
and fixed spacing leave the small model no freedom to wander (no optional whitespace to loop on) and
keep the grammar tiny. :func:`plan_json_schema` describes the same documents for tools and tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fashrec.catalog import normalize_key, normalize_value
from fashrec.planner.plan import RELATIVE_WISHES

# Key order of every plan document the model writes (few-shot examples use the same order).
PLAN_KEYS = ("set", "exclude", "price_min", "price_max", "relative", "drop", "include_out_of_stock")
PRICE_ATTRIBUTE = "price"


@dataclass
class PlanChoices:
    """What the model may put in each field: attribute -> allowed values, wishes, droppable names."""

    values: dict[str, list[str]] = field(default_factory=dict)
    relative: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)  # numbers the shopper typed: the only budgets
    stock: bool = False  # whether the request mentions stock at all (else the flag can only be false)

    def add(self, attribute: str, value: str) -> None:
        values = self.values.setdefault(normalize_key(attribute), [])
        value = normalize_value(value)
        if value not in values:
            values.append(value)

    def normalized(self) -> "PlanChoices":
        return PlanChoices(
            values={a: list(dict.fromkeys(v)) for a, v in sorted(self.values.items()) if v},
            relative=[r for r in dict.fromkeys(self.relative) if r in RELATIVE_WISHES],
            drop=list(dict.fromkeys(self.drop)),
            prices=sorted({float(p) for p in self.prices if p > 0}),
            stock=self.stock,
        )


def plan_json_schema(choices: PlanChoices) -> dict:
    """A JSON schema of the plan document restricted to ``choices`` (every enum is a catalog value)."""
    c = choices.normalized()
    value_enum = {a: {"type": "string", "enum": v} for a, v in c.values.items()}
    array_enum = {a: {"type": "array", "items": {"type": "string", "enum": v}, "uniqueItems": True}
                  for a, v in c.values.items()}
    price = {"enum": [None, *c.prices]}
    return {
        "type": "object",
        "properties": {
            "set": {"type": "object", "properties": value_enum, "additionalProperties": False},
            "exclude": {"type": "object", "properties": array_enum, "additionalProperties": False},
            "price_min": price,
            "price_max": price,
            "relative": {"type": "array", "items": {"type": "string", "enum": c.relative}, "maxItems": 3},
            "drop": {"type": "array", "items": {"type": "string", "enum": c.drop}},
            "include_out_of_stock": {"enum": [False, True] if c.stock else [False]},
        },
        "required": list(PLAN_KEYS),
        "additionalProperties": False,
    }


def gbnf_literal(text: str) -> str:
    """A GBNF string literal matching the JSON encoding of ``text`` exactly."""
    encoded = json.dumps(text, ensure_ascii=True)  # "\"navy blue\"" with JSON escapes
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alternatives(options: list[str]) -> str:
    return " | ".join(gbnf_literal(o) for o in options)


def _list_rule(item: str, max_items: int) -> str:
    more = f' (", " {item}){{0,{max_items - 1}}}' if max_items > 1 else ""
    return f'"[]" | "[" {item}{more} "]"'


def plan_gbnf(choices: PlanChoices) -> str:
    """GBNF for one plan document: keys in :data:`PLAN_KEYS` order, values from ``choices`` only."""
    c = choices.normalized()
    rules: list[str] = []
    attrs = list(c.values)
    for i, attr in enumerate(attrs):
        rules.append(f"v{i} ::= {_alternatives(c.values[attr])}")
    if attrs:
        set_items = " | ".join(f'{gbnf_literal(a)} ": " v{i}' for i, a in enumerate(attrs))
        excl_items = " | ".join(
            f'{gbnf_literal(a)} ": " ({_list_rule(f"v{i}", len(c.values[a]))})' for i, a in enumerate(attrs)
        )
        n = len(attrs)
        more = f' (", " setkv){{0,{n - 1}}}' if n > 1 else ""
        rules.append(f"setkv ::= {set_items}")
        rules.append(f'setobj ::= "{{}}" | "{{" setkv{more} "}}"')
        more = f' (", " exkv){{0,{n - 1}}}' if n > 1 else ""
        rules.append(f"exkv ::= {excl_items}")
        rules.append(f'exobj ::= "{{}}" | "{{" exkv{more} "}}"')
    else:
        rules.append('setobj ::= "{}"')
        rules.append('exobj ::= "{}"')
    # Budgets: null or one of the numbers the shopper typed, nothing else.
    rules.append("price ::= " + " | ".join(['"null"', *(f'"{json_number(p)}"' for p in c.prices)]))
    rules.append(f"rel ::= {_list_rule('relv', min(3, len(c.relative)))}" if c.relative else 'rel ::= "[]"')
    if c.relative:
        rules.append(f"relv ::= {_alternatives(c.relative)}")
    rules.append(f"drop ::= {_list_rule('dropv', len(c.drop))}" if c.drop else 'drop ::= "[]"')
    if c.drop:
        rules.append(f"dropv ::= {_alternatives(c.drop)}")
    root = (
        'root ::= "{\\"set\\": " setobj ", \\"exclude\\": " exobj ", \\"price_min\\": " price '
        '", \\"price_max\\": " price ", \\"relative\\": " rel ", \\"drop\\": " drop '
        '", \\"include_out_of_stock\\": " stock "}"'
    )
    rules.append('stock ::= "false" | "true"' if c.stock else 'stock ::= "false"')
    return "\n".join([root, *rules]) + "\n"


def json_number(value: float) -> str:
    """How a budget is written in the plan document: 40 -> "40", 39.99 -> "39.99"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def choice_gbnf(options: list[str]) -> str:
    """GBNF for exactly one of ``options`` (plain text, no quotes): a multiple-choice answer."""
    if not options:
        raise ValueError("a choice grammar needs at least one option")
    alternatives = " | ".join('"' + o.replace("\\", "\\\\").replace('"', '\\"') + '"' for o in options)
    return f"root ::= {alternatives}\n"


def grammar_literals(gbnf: str) -> set[str]:
    """Every JSON string a grammar can emit (decoded), for checks that nothing outside is reachable."""
    import re

    out = set()
    for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', gbnf):
        unescaped = literal.replace('\\"', '"').replace("\\\\", "\\")
        if unescaped.startswith('"') and unescaped.endswith('"') and len(unescaped) >= 2:
            try:
                out.add(json.loads(unescaped))
            except json.JSONDecodeError:
                continue
    return out

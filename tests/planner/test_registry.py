"""The planner registry: built-ins and fakes are created the same way."""

from __future__ import annotations

import pytest
from planner_support import EXAMPLE

from fashrec.errors import UsageError
from fashrec.planner import (
    Plan,
    PlanContext,
    Planner,
    available_planners,
    create_planner,
    plan_request,
    register_planner,
    unregister_planner,
)


class EchoPlanner:
    name = "echo"

    def __init__(self, colour: str = "red") -> None:
        self.colour = colour

    def plan(self, text: str, context: PlanContext) -> Plan:
        return Plan(set={"color": self.colour}, query=text, source=self.name).validated(context.vocabulary)


def test_builtins_are_registered():
    assert {"rules", "llm", "hybrid"} <= set(available_planners())
    for name in ("rules", "llm", "hybrid"):
        planner = create_planner(name)
        assert isinstance(planner, Planner) and planner.name == name


def test_creating_llm_planners_loads_nothing():
    import sys

    create_planner("llm")
    create_planner("hybrid")
    assert create_planner("rules").plan("in navy", PlanContext(EXAMPLE)).set == {"color": "navy"}
    # llama_cpp may have been imported by another test; the planners themselves must not need it yet.
    planner = create_planner("hybrid")
    assert planner._completion is None and "fashrec.planner" in sys.modules


def test_register_create_and_options():
    register_planner("echo", EchoPlanner)
    try:
        assert "echo" in available_planners()
        assert plan_request("anything", EXAMPLE, planner="echo").set == {"color": "red"}
        assert plan_request("anything", EXAMPLE, planner="echo", colour="navy").set == {"color": "navy"}
        # A fake's invented value is still validated away.
        assert plan_request("x", EXAMPLE, planner="echo", colour="chartreuse").set == {}
        with pytest.raises(ValueError):
            register_planner("echo", EchoPlanner)
        register_planner("echo", lambda **o: EchoPlanner("black"), replace=True)
        assert create_planner("echo").plan("x", PlanContext(EXAMPLE)).set == {"color": "black"}
    finally:
        unregister_planner("echo")
    assert "echo" not in available_planners()


def test_unknown_planner_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        create_planner("gpt-17")
    assert "rules" in info.value.hint


@pytest.mark.parametrize("name", ["", "has space", "semi;colon"])
def test_invalid_names_are_refused(name):
    with pytest.raises(ValueError):
        register_planner(name, EchoPlanner)

"""
Explain scripts show each call's parameters: replay() asks a describe function per call.
"""

from __future__ import annotations

import re

import attrs
import pytest

from modelcfg import FallbackChain, ModelRef, Routes, load_config, replay
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._param_plan import ParamResolver
from modelcfg._config._plan import catalog_for
from modelcfg._core._replay import ReplayScript, render_steps, steps_to_json
from modelcfg.typing import JSONObject

O3 = ModelRef.parse("openai/o3")
OPUS = ModelRef.parse("anthropic/claude-opus-4-5")
ROUTES = Routes(chain=FallbackChain.of(OPUS, O3))
SCRIPT = {
    "request": {"preset": "fast", "params": {"max_tokens": 2000}},
    "session": {"preset": "precise", "params": {"seed": 3}},
    "events": [{"fail": "server", "status": 500}, {"fail": "model_not_found", "status": 404}],
}


@attrs.frozen
class Sends:
    """What a call to one model would send, as the stub describes it."""

    model: ModelRef
    preset: str | None

    def summary(self) -> str:
        return f"{self.model} with {self.preset}"

    def to_json(self) -> JSONObject:
        return {"model": str(self.model), "preset": self.preset}


def stub(model: ModelRef, script: ReplayScript) -> Sends:
    """Describes a call by its model and the preset in force."""
    return Sends(model, script.preset or script.session.preset)


def test_each_call_carries_what_it_sends() -> None:
    """Every call's step has the description of its own model: the retry's, then the fallback's."""
    steps = replay(SCRIPT, ROUTES, describe=stub)

    assert [Sends(OPUS, "fast"), Sends(OPUS, "fast"), Sends(O3, "fast")] == [
        step.params for step in steps
    ]


def test_the_script_reads_params_and_presets_of_the_request_and_the_session() -> None:
    """request.params, request.preset, session.params and session.preset reach the describe function."""
    seen: list[ReplayScript] = []

    def keep(model: ModelRef, script: ReplayScript) -> Sends:
        seen.append(script)
        return stub(model, script)

    replay(SCRIPT, ROUTES, describe=keep)

    assert ({"max_tokens": 2000}, "fast", {"seed": 3}, "precise") == (
        dict(seen[0].params),
        seen[0].preset,
        dict(seen[0].session.params),
        seen[0].session.preset,
    )


def test_text_and_json_show_each_calls_parameters() -> None:
    """render_steps() adds a params line under each call, steps_to_json() a params object."""
    steps = replay({"events": [{"succeed": True}]}, ROUTES, describe=stub)

    assert "   params: anthropic/claude-opus-4-5 with None" in render_steps(steps).splitlines()
    assert {"model": str(OPUS), "preset": None} == steps_to_json(steps)[0]["params"]  # type: ignore[index,call-overload]


def test_without_describe_nothing_changes() -> None:
    """A replay without a describe function has no params lines."""
    steps = replay(SCRIPT, ROUTES)

    assert "params:" not in render_steps(steps)
    assert all("params" not in step for step in steps_to_json(steps))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"request": {"params": [1]}}, "$.request.params: expected an object of parameters"),
        ({"request": {"preset": 3}}, "$.request.preset: expected a string"),
        (
            {"session": {"params": {"x": float("inf")}}},
            "$.session.params.x: expected a finite number",
        ),
        ({"request": {"parms": {}}}, "'parms' is not a known key (did you mean 'params'?)"),
    ],
)
def test_bad_params_in_a_script_are_named_at_their_path(
    script: dict[str, object], message: str
) -> None:
    """A malformed params or preset entry is a ValueError at its JSON path."""
    with pytest.raises(ValueError, match=re.escape(message)):
        replay(script, ROUTES, describe=stub)


def test_a_describe_error_is_placed_at_the_preset() -> None:
    """An unknown preset raised by the describe function is reported at $.request.preset."""
    config = load_config({"agent": {"model": {"primary": "openai/o3"}}})
    params = ParamResolver(config, catalog_for(config, curated=curated_catalog()))

    def describe(model: ModelRef, script: ReplayScript) -> object:
        return params.plan(model, preset=params.preset(script.preset or ""))

    with pytest.raises(ValueError, match=r"\$\.request\.preset: 'fsat' is not a preset"):
        replay({"request": {"preset": "fsat"}}, ROUTES, describe=describe)  # type: ignore[arg-type]

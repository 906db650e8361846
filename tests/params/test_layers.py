"""
Parameter layers: key-by-key overrides, null removal, provenance, and the fold's algebra.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg._config._params import (
    LayerKind,
    Overlay,
    ParamLayer,
    ParamSource,
    Removal,
    Slot,
    combine,
    finish,
    resolve_params,
    value_problem,
)

names = st.sampled_from(["temperature", "top_p", "max_tokens", "seed", "stop", "x"])
values = st.none() | st.integers(-5, 5) | st.floats(0, 2) | st.text(max_size=3)
sources = st.builds(
    ParamSource, kind=st.sampled_from(LayerKind), name=st.none() | st.text(max_size=4)
)
layers = st.builds(ParamLayer, source=sources, values=st.dictionaries(names, values, max_size=4))
layer_lists = st.lists(layers, max_size=8)


EMPTY: Overlay = {}


def folded(group: list[ParamLayer]) -> Overlay:
    """The layers of *group* combined, left to right."""
    return functools.reduce(combine, (layer.overlay() for layer in group), EMPTY)


@given(layer_lists, st.data())
def test_resolution_is_associative_over_layers(
    stack: list[ParamLayer], data: st.DataObject
) -> None:
    """Folding the layers in any grouping gives what resolve_params() gives for the whole list."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stack)), max_size=3)))
    groups = [stack[a:b] for a, b in zip([0, *cuts], [*cuts, len(stack)], strict=True)]
    grouped = functools.reduce(combine, (folded(group) for group in groups), EMPTY)

    assert resolve_params(stack) == finish(grouped)


@given(layers, layers, layers)
def test_combine_is_associative(a: ParamLayer, b: ParamLayer, c: ParamLayer) -> None:
    """(a + b) + c == a + (b + c) for overlays, null markers and what they remove included."""
    left = combine(combine(a.overlay(), b.overlay()), c.overlay())
    right = combine(a.overlay(), combine(b.overlay(), c.overlay()))

    assert left == right


@given(layer_lists, st.integers(0, 7), names)
def test_null_removes_a_key_at_every_layer(stack: list[ParamLayer], where: int, name: str) -> None:
    """A null for a key removes it whatever the layers below set, unless a later layer sets it."""
    at = min(where, len(stack))
    source = ParamSource(kind=LayerKind.SESSION, name="null")
    remover = ParamLayer(source=source, values={name: None})
    above = [layer for layer in stack[at:] if name not in layer.values]
    resolved = resolve_params([*stack[:at], remover, *above])
    below = [layer.values[name] for layer in stack[:at] if layer.values.get(name) is not None]

    assert name not in resolved.values
    if below:
        assert source == resolved.removed[name].by
    else:
        assert name not in resolved.removed


def test_later_layers_override_key_by_key() -> None:
    """Each key takes the value of the latest layer that sets it; the others keep theirs."""
    stack = [
        ParamLayer(
            source=ParamSource(kind=LayerKind.GLOBAL), values={"temperature": 0.7, "seed": 1}
        ),
        ParamLayer(
            source=ParamSource(kind=LayerKind.PRESET, name="precise"), values={"temperature": 0.2}
        ),
    ]
    resolved = resolve_params(stack)

    assert {"temperature": 0.2, "seed": 1} == dict(resolved.values)
    assert "temperature=0.2 from preset precise" == resolved.explain("temperature")
    assert "seed=1 from global" == resolved.explain("seed")


def test_a_removed_key_is_explained_with_what_it_removed() -> None:
    """A null names the layer that removed the key and the value it removed."""
    stack = [
        ParamLayer(
            source=ParamSource(kind=LayerKind.MODEL, name="openai/gpt-4o"), values={"seed": 7}
        ),
        ParamLayer(source=ParamSource(kind=LayerKind.REQUEST), values={"seed": None}),
    ]
    resolved = resolve_params(stack)

    assert {"seed": Removal(7, stack[0].source, stack[1].source)} == dict(resolved.removed)
    assert "seed removed by request (was 7 from model openai/gpt-4o)" == resolved.explain("seed")


def test_a_null_over_nothing_removes_nothing() -> None:
    """A null with no value below it leaves no trace."""
    resolved = resolve_params(
        [ParamLayer(source=ParamSource(kind=LayerKind.GLOBAL), values={"x": None})]
    )

    assert (({}, {})) == (dict(resolved.values), dict(resolved.removed))


def test_other_spellings_are_kept_under_one_name() -> None:
    """max_completion_tokens and stop_sequences are max_tokens and stop, so a later layer overrides them."""
    stack = [
        ParamLayer(
            source=ParamSource(kind=LayerKind.GLOBAL), values={"max_completion_tokens": 100}
        ),
        ParamLayer(source=ParamSource(kind=LayerKind.REQUEST), values={"max_tokens": 50}),
        ParamLayer(source=ParamSource(kind=LayerKind.REQUEST), values={"stop_sequences": ["x"]}),
    ]

    assert {"max_tokens": 50, "stop": ["x"]} == dict(resolve_params(stack).values)


def test_two_spellings_in_one_layer_are_refused() -> None:
    """One layer cannot set a parameter twice under two names."""
    with pytest.raises(ValueError, match="name the same parameter 'max_tokens'"):
        ParamLayer(
            source=ParamSource(kind=LayerKind.GLOBAL),
            values={"max_tokens": 1, "max_completion_tokens": 2},
        )


def test_sources_read_as_explanations_show_them() -> None:
    """A source reads as its kind, its name, and why it applies."""
    source = ParamSource(kind=LayerKind.PRESET, name="precise", via="experiment tone, arm b")

    assert "preset precise (experiment tone, arm b)" == str(source)


def test_layer_kinds_rank_from_global_to_request() -> None:
    """The layers are ordered global, provider, catalog, model, alias, preset, session, request."""
    order = [kind.value for kind in sorted(LayerKind, key=lambda kind: kind.rank)]

    assert [
        "global",
        "provider",
        "catalog",
        "model",
        "alias",
        "preset",
        "session",
        "request",
    ] == order


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("temperature", 0.5, None),
        ("temperature", 2.5, "must be a number from 0 to 2, not 2.5"),
        ("temperature", "hot", 'must be a number from 0 to 2, not "hot"'),
        ("temperature", True, "must be a number from 0 to 2, not true"),
        ("max_tokens", 1.5, "must be a whole number of at least 1, not 1.5"),
        ("max_completion_tokens", 0, "must be a whole number of at least 1, not 0"),
        ("top_p", -0.1, "must be a number from 0 to 1, not -0.1"),
        ("stop", ["a", 1], 'must be a string or a list of strings, not ["a", 1]'),
        ("stop", "END", None),
        (
            "reasoning_effort",
            "extreme",
            "must be one of 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', not 'extreme'",
        ),
        ("logprobs", 1, "must be true or false, not 1"),
        ("thinking", "on", 'must be an object, not "on"'),
        ("seed", 10**30, None),
        ("my_vendor_flag", {"any": "thing"}, None),
        ("temperature", None, None),
    ],
)
def test_values_are_checked_against_the_vocabulary(
    name: str, value: object, problem: str | None
) -> None:
    """A known parameter's value must have its type and range; unknown ones and null pass."""
    assert problem == value_problem(name, value)


def test_a_slot_records_what_a_null_removes() -> None:
    """Combining a null over a value keeps that value as what the null removes."""
    low = ParamSource(kind=LayerKind.GLOBAL)
    high = ParamSource(kind=LayerKind.REQUEST)

    assert {"t": Slot(None, high, (1, low))} == combine(
        {"t": Slot(1, low)}, {"t": Slot(None, high)}
    )

"""
Tests for the legacy configuration migration.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg._config._migrate import (
    PROVIDER_PREFIXES,
    Change,
    ChangeAction,
    legacy_keys,
    migrate_config,
    seed_auth_order,
)
from modelcfg._core._values import ModelRef
from tests import strategies as st

OPUS = "anthropic/claude-opus-4-5"
OPUS41 = "anthropic/claude-opus-4-1"
GPT = "openai/gpt-5.2"
GPT4O = "openai/gpt-4o"
GEMINI = "google/gemini-2.5-pro"

Row = tuple[str, str, str | None]
"""One change as (action, path, target): what the table rows list."""


def rows(changes: tuple[Change, ...]) -> list[Row]:
    return [(change.action.value, change.path, change.target) for change in changes]


def section(config: dict[str, object], *keys: str) -> object:
    """The value at config[k1][k2]..., checking that each step is an object."""
    value: object = config
    for key in keys:
        assert isinstance(value, dict)
        value = value[key]
    return value


def models_key(ref: str) -> str:
    return f"$.agent.models['{ref}']"


# Each case: the legacy input, the exact output, and the exact changes in order.
MIGRATIONS = [
    pytest.param(
        {"agent": {"model": OPUS}},
        {"agent": {"model": {"primary": OPUS, "fallbacks": []}, "models": {OPUS: {}}}},
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("added", "$.agent.model", models_key(OPUS)),
        ],
        id="string model only",
    ),
    pytest.param(
        {"agent": {"model": OPUS, "modelFallbacks": [GPT, GEMINI]}},
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT, GEMINI]},
                "models": {OPUS: {}, GPT: {}, GEMINI: {}},
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("added", "$.agent.model", models_key(OPUS)),
            ("added", "$.agent.modelFallbacks[0]", models_key(GPT)),
            ("added", "$.agent.modelFallbacks[1]", models_key(GEMINI)),
        ],
        id="model plus fallbacks",
    ),
    pytest.param(
        {"agent": {"imageModel": GPT, "imageModelFallbacks": [OPUS]}},
        {
            "agent": {
                "imageModel": {"primary": GPT, "fallbacks": [OPUS]},
                "models": {GPT: {}, OPUS: {}},
            }
        },
        [
            ("converted", "$.agent.imageModel", "$.agent.imageModel.primary"),
            ("moved", "$.agent.imageModelFallbacks", "$.agent.imageModel.fallbacks"),
            ("added", "$.agent.imageModel", models_key(GPT)),
            ("added", "$.agent.imageModelFallbacks[0]", models_key(OPUS)),
        ],
        id="image model string plus fallbacks",
    ),
    pytest.param(
        {"agent": {"model": {"primary": OPUS}, "allowedModels": [OPUS, GPT]}},
        {
            "agent": {
                "model": {"primary": OPUS},
                "allowlist": [OPUS, GPT],
                "models": {OPUS: {}, GPT: {}},
            }
        },
        [
            ("moved", "$.agent.allowedModels", "$.agent.allowlist"),
            ("added", "$.agent.allowedModels[0]", models_key(OPUS)),
            ("added", "$.agent.allowedModels[1]", models_key(GPT)),
        ],
        id="allowedModels becomes its own allowlist",
    ),
    pytest.param(
        {"agent": {"model": "Opus", "modelAliases": {"Opus": OPUS, "gpt52": GPT}}},
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": []},
                "models": {OPUS: {"alias": "Opus"}, GPT: {"alias": "gpt52"}},
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelAliases", "$.agent.models"),
            ("added", "$.agent.model", models_key(OPUS)),
            ("added", "$.agent.modelAliases.gpt52", models_key(GPT)),
        ],
        id="aliases move onto their models and resolve a legacy primary",
    ),
    pytest.param(
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "modelFallbacks": [GEMINI],
                "allowlist": [OPUS],
                "allowedModels": [OPUS],
                "models": {OPUS: {"alias": "Opus"}},
                "modelAliases": {"Big": OPUS},
            }
        },
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "allowlist": [OPUS],
                "models": {OPUS: {"alias": "Opus"}, GEMINI: {}, GPT: {}},
            }
        },
        [
            ("kept-existing", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("removed", "$.agent.allowedModels", "$.agent.allowlist"),
            ("moved", "$.agent.modelAliases", "$.agent.models"),
            ("kept-existing", "$.agent.modelAliases.Big", models_key(OPUS) + ".alias"),
            ("added", "$.agent.modelFallbacks[0]", models_key(GEMINI)),
            ("added", "$.agent.model.fallbacks[0]", models_key(GPT)),
        ],
        id="new-shape keys win over legacy ones",
    ),
    pytest.param(
        {
            "agent": {
                "model": "claude-3-opus",
                "modelFallbacks": ["gpt-4o", "o3-mini", "gemini-2.0-flash", "llama3", "GPT-4o"],
            }
        },
        {
            "agent": {
                "model": {
                    "primary": "anthropic/claude-3-opus",
                    "fallbacks": [
                        GPT4O,
                        "openai/o3-mini",
                        "google/gemini-2.0-flash",
                        "llama3",
                        "GPT-4o",
                    ],
                },
                "models": {
                    "anthropic/claude-3-opus": {},
                    GPT4O: {},
                    "openai/o3-mini": {},
                    "google/gemini-2.0-flash": {},
                },
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("inferred", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("inferred", "$.agent.modelFallbacks[0]", "$.agent.model.fallbacks[0]"),
            ("inferred", "$.agent.modelFallbacks[1]", "$.agent.model.fallbacks[1]"),
            ("inferred", "$.agent.modelFallbacks[2]", "$.agent.model.fallbacks[2]"),
            ("unresolved", "$.agent.modelFallbacks[3]", "$.agent.model.fallbacks[3]"),
            ("unresolved", "$.agent.modelFallbacks[4]", "$.agent.model.fallbacks[4]"),
            ("added", "$.agent.model", models_key("anthropic/claude-3-opus")),
            ("added", "$.agent.modelFallbacks[0]", models_key(GPT4O)),
            ("added", "$.agent.modelFallbacks[1]", models_key("openai/o3-mini")),
            ("added", "$.agent.modelFallbacks[2]", models_key("google/gemini-2.0-flash")),
        ],
        id="provider-less ids are inferred by prefix or kept and reported",
    ),
    pytest.param(
        {"agent": {"modelAliases": {"Opus": OPUS, "opus": OPUS41}}},
        {"agent": {"models": {OPUS: {"alias": "Opus"}, OPUS41: {"alias": "opus"}}}},
        [
            ("moved", "$.agent.modelAliases", "$.agent.models"),
            ("conflict", "$.agent.modelAliases.opus", models_key(OPUS41) + ".alias"),
            ("added", "$.agent.modelAliases.Opus", models_key(OPUS)),
            ("added", "$.agent.modelAliases.opus", models_key(OPUS41)),
        ],
        id="one alias for two models, ignoring case, is kept twice and reported",
    ),
    pytest.param(
        {"agent": {"models": {OPUS: {}}, "modelAliases": {"Opus": OPUS, "Big": OPUS}}},
        {"agent": {"models": {OPUS: {"alias": "Opus"}}}},
        [
            ("moved", "$.agent.modelAliases", "$.agent.models"),
            ("conflict", "$.agent.modelAliases.Big", models_key(OPUS) + ".alias"),
        ],
        id="two aliases for one model keep the first and report the second",
    ),
    pytest.param(
        {"agent": {"model": OPUS, "modelFallbacks": [GPT, GEMINI, GPT, "OpenAI/gpt-5.2"]}},
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT, GEMINI]},
                "models": {OPUS: {}, GPT: {}, GEMINI: {}},
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("removed", "$.agent.modelFallbacks[2]", None),
            ("removed", "$.agent.modelFallbacks[3]", None),
            ("added", "$.agent.model", models_key(OPUS)),
            ("added", "$.agent.modelFallbacks[0]", models_key(GPT)),
            ("added", "$.agent.modelFallbacks[1]", models_key(GEMINI)),
        ],
        id="duplicate fallbacks are removed, the first wins",
    ),
    pytest.param(
        {"agent": {"model": OPUS, "modelFallbacks": [OPUS, GPT]}},
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "models": {OPUS: {}, GPT: {}},
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("removed", "$.agent.modelFallbacks[0]", None),
            ("added", "$.agent.model", models_key(OPUS)),
            ("added", "$.agent.modelFallbacks[1]", models_key(GPT)),
        ],
        id="a fallback equal to the primary is dropped",
    ),
    pytest.param(
        {
            "agent": {
                "model": OPUS,
                "modelFallbacks": [],
                "imageModelFallbacks": [],
                "allowedModels": [],
                "modelAliases": {},
            }
        },
        {"agent": {"model": {"primary": OPUS, "fallbacks": []}, "models": {OPUS: {}}}},
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("removed", "$.agent.imageModelFallbacks", None),
            ("removed", "$.agent.allowedModels", None),
            ("removed", "$.agent.modelAliases", None),
            ("added", "$.agent.model", models_key(OPUS)),
        ],
        id="empty lists set nothing and restrict nothing",
    ),
    pytest.param(
        {"agent": {"model": OPUS, "modelFallbacks": [7, GPT, None, ["x"], {"a": 1}]}},
        {
            "agent": {
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "models": {OPUS: {}, GPT: {}},
            }
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("invalid", "$.agent.modelFallbacks[0]", None),
            ("invalid", "$.agent.modelFallbacks[2]", None),
            ("invalid", "$.agent.modelFallbacks[3]", None),
            ("invalid", "$.agent.modelFallbacks[4]", None),
            ("added", "$.agent.model", models_key(OPUS)),
            ("added", "$.agent.modelFallbacks[1]", models_key(GPT)),
        ],
        id="non-string garbage in a legacy list is reported and dropped",
    ),
    pytest.param(
        {
            "agent": {
                "model": 42,
                "modelFallbacks": None,
                "imageModel": [GPT],
                "allowedModels": {"nested": [1, {"junk": True}]},
                "modelAliases": ["Opus"],
            }
        },
        {"agent": {}},
        [
            ("invalid", "$.agent.model", None),
            ("invalid", "$.agent.modelFallbacks", None),
            ("invalid", "$.agent.imageModel", None),
            ("invalid", "$.agent.allowedModels", None),
            ("invalid", "$.agent.modelAliases", None),
        ],
        id="legacy keys of the wrong type are reported, not raised",
    ),
    pytest.param(
        {"agent": {"modelFallbacks": [GPT]}},
        {"agent": {"model": {"fallbacks": [GPT]}, "models": {GPT: {}}}},
        [
            ("moved", "$.agent.modelFallbacks", "$.agent.model.fallbacks"),
            ("unresolved", "$.agent.model", "$.agent.model.primary"),
            ("added", "$.agent.modelFallbacks[0]", models_key(GPT)),
        ],
        id="fallbacks without a primary are moved and the missing primary reported",
    ),
    pytest.param(
        {
            "auth": {"order": {"anthropic": ["anthropic:work"]}},
            "providers": {"local": {"baseUrl": "http://127.0.0.1:8080/v1"}},
            "agent": {"model": " Anthropic/claude-opus-4-5 ", "thinking": "low"},
        },
        {
            "auth": {"order": {"anthropic": ["anthropic:work"]}},
            "providers": {"local": {"baseUrl": "http://127.0.0.1:8080/v1"}},
            "agent": {
                "model": {"primary": OPUS, "fallbacks": []},
                "thinking": "low",
                "models": {OPUS: {}},
            },
        },
        [
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("converted", "$.agent.model", "$.agent.model.primary"),
            ("added", "$.agent.model", models_key(OPUS)),
        ],
        id="unrelated keys pass through and model ids are normalised",
    ),
    pytest.param(
        {
            "auth": {"profiles": {"anthropic:default": {"provider": "anthropic", "mode": "oauth"}}},
            "agent": {
                "models": {OPUS: {"alias": "Opus"}},
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "imageModel": {"primary": GPT, "fallbacks": []},
                "allowlist": [OPUS, GPT],
            },
        },
        {
            "auth": {"profiles": {"anthropic:default": {"provider": "anthropic", "mode": "oauth"}}},
            "agent": {
                "models": {OPUS: {"alias": "Opus"}},
                "model": {"primary": OPUS, "fallbacks": [GPT]},
                "imageModel": {"primary": GPT, "fallbacks": []},
                "allowlist": [OPUS, GPT],
            },
        },
        [],
        id="an already migrated config is left alone",
    ),
]


@pytest.mark.parametrize(("legacy", "expected", "expected_changes"), MIGRATIONS)
def test_migrate_config_table(
    legacy: dict[str, object], expected: dict[str, object], expected_changes: list[Row]
) -> None:
    """Each legacy shape migrates to exactly the expected config with exactly these changes."""
    actual, changes = migrate_config(legacy)

    assert expected == actual
    assert expected_changes == rows(changes)


@pytest.mark.parametrize(("legacy", "expected", "expected_changes"), MIGRATIONS)
def test_migrate_config_table_is_idempotent(
    legacy: dict[str, object], expected: dict[str, object], expected_changes: list[Row]
) -> None:
    """Migrating each table row's output again changes nothing and reports nothing."""
    once, _ = migrate_config(legacy)

    assert (once, ()) == migrate_config(once)


@pytest.mark.parametrize(("legacy", "expected", "expected_changes"), MIGRATIONS)
def test_change_lines_are_readable(
    legacy: dict[str, object], expected: dict[str, object], expected_changes: list[Row]
) -> None:
    """Every change renders as one line that names the path it is about."""
    _, changes = migrate_config(legacy)
    unreadable = [str(c) for c in changes if c.path not in str(c) or "\n" in str(c)]

    assert not unreadable


def test_messages_say_what_happened() -> None:
    """The messages of a typical migration read as full, specific sentences."""
    expected = [
        "converted $.agent.model from a string to $.agent.model.primary",
        "inferred $.agent.model: 'gpt-4o' names no provider; read it as 'openai/gpt-4o' "
        "because it starts with 'gpt-'",
        "moved $.agent.modelFallbacks to $.agent.model.fallbacks",
        "removed $.agent.modelFallbacks[0]: 'gpt-4o' is the primary model already",
        "invalid $.agent.modelFallbacks[1]: expected a model id, found a number (5); dropped it",
        "unresolved $.agent.modelFallbacks[2]: 'llama3' names no provider and none can be "
        "inferred from its name; kept it as written, rewrite it as 'provider/model'",
        "added $.agent.models['openai/gpt-4o'] for the model referenced at $.agent.model",
    ]

    _, changes = migrate_config(
        {"agent": {"model": "gpt-4o", "modelFallbacks": ["gpt-4o", 5, "llama3"]}}
    )

    assert expected == [str(c) for c in changes]


def test_kept_existing_message_shows_the_dropped_value() -> None:
    """A legacy value that loses to a new-shape one is named, with its value, in the change."""
    expected = (
        "kept existing $.agent.model.fallbacks ['openai/gpt-5.2']; dropped "
        "$.agent.modelFallbacks ['google/gemini-2.5-pro'], which differs from it"
    )

    _, changes = migrate_config(
        {"agent": {"model": {"primary": OPUS, "fallbacks": [GPT]}, "modelFallbacks": [GEMINI]}}
    )

    assert expected == str(changes[0])


def test_alias_clash_message_asks_for_a_choice() -> None:
    """An alias clash names both models and says the config will not load until fixed."""
    expected = (
        "conflict at $.agent.modelAliases.opus: the alias 'opus' now names both "
        "'anthropic/claude-opus-4-1' and 'anthropic/claude-opus-4-5' (aliases ignore case); "
        "both were kept and the configuration will not load until one is renamed"
    )

    _, changes = migrate_config({"agent": {"modelAliases": {"Opus": OPUS, "opus": OPUS41}}})

    assert expected == str(changes[1])


def test_change_action_values_are_the_documented_words() -> None:
    """The change actions are exactly the words the docs and the doctor output use."""
    expected = [
        "moved",
        "converted",
        "inferred",
        "added",
        "removed",
        "kept-existing",
        "conflict",
        "unresolved",
        "invalid",
    ]

    assert expected == [action.value for action in ChangeAction]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpt-4o", "openai/gpt-4o"),
        ("gpt-4.1-mini", "openai/gpt-4.1-mini"),
        ("o1", "openai/o1"),
        ("o1-preview", "openai/o1-preview"),
        ("o3", "openai/o3"),
        ("o4-mini", "openai/o4-mini"),
        ("claude-3-opus", "anthropic/claude-3-opus"),
        ("gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("o1x", "o1x"),
        ("o2-mini", "o2-mini"),
        ("gpt-", "gpt-"),
        ("GPT-4o", "GPT-4o"),
        ("Claude-3-opus", "Claude-3-opus"),
        ("llama3", "llama3"),
        ("mistral-large", "mistral-large"),
        ("gpt-4 o", "gpt-4 o"),
        ("", ""),
    ],
    ids=lambda value: repr(value),
)
def test_provider_prefix_table(text: str, expected: str) -> None:
    """Only the documented lower-case prefixes give a provider; anything else is kept as written."""
    migrated, _ = migrate_config({"agent": {"model": text}})

    assert {"primary": expected, "fallbacks": []} == section(migrated, "agent", "model")


def test_prefix_table_is_conservative() -> None:
    """The prefix table names only the three providers whose ids are unmistakable."""
    expected = {"openai", "anthropic", "google"}

    assert expected == {provider for _, _, provider in PROVIDER_PREFIXES}


def test_alias_in_a_legacy_chain_resolves_through_existing_models() -> None:
    """A legacy fallback written as an alias of the new-shape models becomes its model id."""
    expected_chain = {"primary": OPUS, "fallbacks": [GPT]}
    expected_note = ("converted", "$.agent.modelFallbacks[0]", "$.agent.model.fallbacks[0]")

    migrated, changes = migrate_config(
        {
            "agent": {
                "models": {GPT: {"alias": "gpt52"}},
                "model": {"primary": OPUS},
                "modelFallbacks": ["GPT52"],
            }
        }
    )

    assert expected_chain == section(migrated, "agent", "model")
    assert expected_note == rows(changes)[1]


def test_unresolved_alias_target_keeps_its_alias() -> None:
    """An alias whose model cannot be resolved keeps it as the key so the alias is not lost."""
    expected_agent = {"models": {"llama3": {"alias": "Local"}}}
    expected_changes = [
        ("moved", "$.agent.modelAliases", "$.agent.models"),
        ("unresolved", "$.agent.modelAliases.Local", "$.agent.models.llama3"),
        ("added", "$.agent.modelAliases.Local", "$.agent.models.llama3"),
    ]

    migrated, changes = migrate_config({"agent": {"modelAliases": {"Local": "llama3"}}})

    assert expected_agent == migrated["agent"]
    assert expected_changes == rows(changes)


def test_garbage_models_section_is_reported() -> None:
    """When agent.models is not an object, the entries that could not be added are named."""
    expected = ("invalid", "$.agent.models", None)

    migrated, changes = migrate_config({"agent": {"model": OPUS, "models": 3}})

    assert section(migrated, "agent", "models") == 3
    assert expected == rows(changes)[-1]
    assert OPUS in str(changes[-1])


def test_non_json_keys_do_not_crash() -> None:
    """Values that are not even JSON (tuple keys) are reported like any other garbage."""
    expected = ["removed", "invalid"]

    _, changes = migrate_config({"agent": {"modelFallbacks": [{(1, 2): "x"}]}})

    assert expected == [c.action.value for c in changes]


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _copied_depth(copy: object, original: object) -> int:
    """How many levels of nested lists *copy* has, each a new list equal to the original's."""
    depth = 0
    while isinstance(copy, list) and isinstance(original, list) and copy is not original:
        depth += 1
        if not copy or not original:
            return depth if copy == original else -1
        copy, original = copy[0], original[0]
    return depth


def test_deeply_nested_values_are_copied_and_reported() -> None:
    """Values nested thousands of levels deep are migrated like any other, never a RecursionError."""
    deep = _nested(5000)

    migrated, changes = migrate_config(
        {"agent": {"model": OPUS, "modelFallbacks": [deep]}, "extra": deep}
    )

    assert ["converted", "moved", "invalid", "added"] == [c.action.value for c in changes]
    assert 5000 == _copied_depth(migrated["extra"], deep)


def test_numbers_longer_than_python_prints_are_shown_safely() -> None:
    """A number with more digits than Python prints is described, not printed, in a change."""
    _, changes = migrate_config({"agent": {"model": 10**5000, "modelAliases": {10**5000: OPUS}}})

    assert [
        "invalid $.agent.model: expected a model id or an object, found a number (<a number>); "
        "dropped it",
        "invalid $.agent.modelAliases[a number with 5001 digits]: expected a non-empty alias, "
        "found a number "
        "(<a number>); kept the model without it",
    ] == sorted(str(c) for c in changes if c.action.value == "invalid")


def test_data_that_contains_itself_raises() -> None:
    """A configuration that contains itself cannot be copied: a ValueError says so."""
    loop: dict[str, object] = {}
    loop["again"] = loop

    with pytest.raises(ValueError, match=r"^\$: the configuration contains itself"):
        migrate_config({"agent": {"model": OPUS}, "x": loop})


@pytest.mark.parametrize("data", [[], "agent", 3, None], ids=repr)
def test_non_object_top_level_raises(data: object) -> None:
    """Only a top level that is not an object raises, with a clear ValueError."""
    with pytest.raises(ValueError, match=r"^\$: the configuration must be a JSON object"):
        migrate_config(data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON object"):
        legacy_keys(data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON object"):
        seed_auth_order(data, ["openai"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ()),
        ({"agent": 5}, ()),
        ({"agent": {"model": {"primary": OPUS}, "imageModel": {"primary": GPT}}}, ()),
        ({"agent": {"model": OPUS}}, ("$.agent.model",)),
        ({"agent": {"imageModel": None}}, ("$.agent.imageModel",)),
        (
            {
                "agent": {
                    "modelAliases": {},
                    "allowedModels": [],
                    "imageModelFallbacks": [],
                    "imageModel": GPT,
                    "modelFallbacks": [],
                    "model": OPUS,
                }
            },
            (
                "$.agent.model",
                "$.agent.modelFallbacks",
                "$.agent.imageModel",
                "$.agent.imageModelFallbacks",
                "$.agent.allowedModels",
                "$.agent.modelAliases",
            ),
        ),
    ],
    ids=[
        "empty",
        "agent not an object",
        "new shape",
        "string model",
        "null image model",
        "all six in a fixed order",
    ],
)
def test_legacy_keys(data: dict[str, object], expected: tuple[str, ...]) -> None:
    """legacy_keys lists the paths of the legacy keys present, in a fixed order."""
    actual = legacy_keys(data)

    assert expected == actual


def test_module_is_pure() -> None:
    """The migration module imports nothing that does I/O, reads the clock or draws randomness."""
    source = Path(__file__).parents[2] / "modelcfg" / "_config" / "_migrate.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }

    assert not imported & {"httpx", "anyio", "time", "random", "os", "logging", "pathlib"}


# --- seed_auth_order -----------------------------------------------------------------------------


def test_seed_auth_order_adds_default_orders_and_profiles() -> None:
    """Providers without an order get ["provider:default"], and a profile when a mode is given."""
    data = {"auth": {"order": {"anthropic": ["anthropic:work"]}}, "agent": {}}
    expected = {
        "auth": {
            "order": {
                "anthropic": ["anthropic:work"],
                "openai": ["openai:default"],
                "openrouter": ["openrouter:default"],
            },
            "profiles": {"openai:default": {"provider": "openai", "mode": "oauth"}},
        },
        "agent": {},
    }
    expected_changes = [
        ("added", "$.auth.order.openai", "$.auth.order.openai"),
        ("added", "$.auth.profiles['openai:default']", "$.auth.profiles['openai:default']"),
        ("added", "$.auth.order.openrouter", "$.auth.order.openrouter"),
    ]

    seeded, changes = seed_auth_order(
        data, ["anthropic", "OpenAI", "openrouter"], modes={"openai": "oauth"}
    )

    assert expected == seeded
    assert expected_changes == rows(changes)


def test_seed_auth_order_keeps_existing_profiles() -> None:
    """An existing provider:default profile is never replaced, even with a different mode."""
    profile = {"provider": "openai", "mode": "api_key"}
    expected = {"profiles": {"openai:default": profile}, "order": {"openai": ["openai:default"]}}

    seeded, _ = seed_auth_order(
        {"auth": {"profiles": {"openai:default": profile}}}, ["openai"], modes={"openai": "oauth"}
    )

    assert expected == seeded["auth"]


def test_seed_auth_order_creates_auth_only_when_needed() -> None:
    """With nothing to seed the config comes back equal; with something, auth is created."""
    expected_unchanged: tuple[dict[str, object], tuple[Change, ...]] = ({"agent": {}}, ())
    expected_seeded = {"auth": {"order": {"google": ["google:default"]}}}

    assert expected_unchanged == seed_auth_order({"agent": {}}, [])
    assert expected_seeded == seed_auth_order({}, ["google"])[0]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"auth": 5}, "$.auth"),
        ({"auth": {"order": []}}, "$.auth.order"),
        ({"auth": {"profiles": "x"}}, "$.auth.profiles"),
    ],
    ids=["auth", "order", "profiles"],
)
def test_seed_auth_order_reports_garbage(data: dict[str, object], path: str) -> None:
    """A malformed auth section is reported as invalid at its path and left as it was."""
    seeded, changes = seed_auth_order(data, ["openai"])

    assert data == seeded
    assert [("invalid", path, None)] == rows(changes)


def test_seed_auth_order_rejects_malformed_provider() -> None:
    """A provider id that cannot name a profile is a programming error, raised as ValueError."""
    with pytest.raises(ValueError, match="not a provider id"):
        seed_auth_order({}, ["open ai"])


def test_seed_auth_order_rejects_unknown_mode() -> None:
    """A mode other than api_key, oauth or token is refused with a sentence naming it."""
    with pytest.raises(ValueError, match="the auth mode 'password' given for provider 'openai'"):
        seed_auth_order({}, [], modes={"openai": "password"})  # type: ignore[dict-item]


@settings(max_examples=60)
@given(
    providers=hst.lists(st.provider_ids, max_size=4),
    existing=hst.dictionaries(st.provider_ids, hst.just(["x:work"]), max_size=3),
)
def test_seed_auth_order_is_idempotent_and_existing_orders_win(
    providers: list[str], existing: dict[str, list[str]]
) -> None:
    """Seeding twice changes nothing more, existing orders survive, and the input is untouched."""
    data: dict[str, object] = {"auth": {"order": copy.deepcopy(existing)}}
    before = copy.deepcopy(data)

    once, _ = seed_auth_order(data, providers)
    twice, changes = seed_auth_order(once, providers)

    assert before == data
    assert (once, ()) == (twice, changes)
    order = section(once, "auth", "order")
    assert isinstance(order, dict)
    assert all(order[p] == v for p, v in existing.items())
    assert all(p in order for p in providers)


# --- properties ----------------------------------------------------------------------------------

good_texts = st.model_refs.map(str)
provider_less = hst.sampled_from(
    ["gpt-4o", "o3", "o1-mini", "claude-3-opus", "gemini-2.5-pro", "llama3", "GPT-4o", "o1x", ""]
)
odd_texts = hst.sampled_from(
    ["OpenAI/gpt-4o", " anthropic/claude-opus-4-5 ", "openai/", "open ai/x", "a/b c"]
)
model_texts = hst.one_of(good_texts, provider_less, odd_texts)
garbage = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers()
    | hst.floats(allow_nan=False)
    | hst.text(max_size=4),
    lambda inner: (
        hst.lists(inner, max_size=3) | hst.dictionaries(hst.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
legacy_lists = hst.lists(hst.one_of(model_texts, model_texts, garbage), max_size=5)
alias_names = hst.sampled_from(["Opus", "opus", "Fast", "Big", "mini", ""])
new_chains = hst.fixed_dictionaries(
    {"primary": hst.one_of(good_texts, hst.just("Opus"))},
    optional={"fallbacks": hst.lists(good_texts, max_size=3)},
)


@hst.composite
def legacy_configs(draw: hst.DrawFn) -> dict[str, object]:
    """Configs mixing legacy keys, new-shape keys, unrelated keys and garbage."""
    optional = {
        "model": hst.one_of(model_texts, new_chains, garbage),
        "modelFallbacks": hst.one_of(legacy_lists, legacy_lists, garbage),
        "imageModel": hst.one_of(model_texts, new_chains, garbage),
        "imageModelFallbacks": hst.one_of(legacy_lists, garbage),
        "allowedModels": hst.one_of(legacy_lists, garbage),
        "modelAliases": hst.one_of(
            hst.dictionaries(alias_names, hst.one_of(model_texts, garbage), max_size=4), garbage
        ),
        "allowlist": hst.lists(good_texts, max_size=3),
        "models": hst.dictionaries(
            good_texts,
            hst.one_of(hst.just({}), alias_names.map(lambda a: {"alias": a}), garbage),
            max_size=3,
        ),
        "thinking": hst.just("low"),
    }
    agent = draw(hst.fixed_dictionaries({}, optional=optional))
    config: dict[str, object] = {"agent": agent}
    if draw(hst.booleans()):
        config["auth"] = {"order": {"openai": ["openai:default"]}}
    return config


def inferred(text: str) -> str | None:
    """The reference a provider-less text should become, per the documented prefix table."""
    for _, pattern, provider in PROVIDER_PREFIXES:
        if __import__("re").fullmatch(pattern, text):
            return f"{provider}/{text}"
    return None


def canonical(value: object, *, legacy: bool) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ModelRef.parse(value))
    except ValueError:
        return inferred(value) if legacy and "/" not in value else None


def referenced(agent: object, *, legacy: bool) -> Iterator[str]:
    """Every model reference a config's agent section holds, in any legacy or new key."""
    if not isinstance(agent, dict):
        return
    texts: list[object] = []
    for key in ("model", "imageModel"):
        chain = agent.get(key)
        if isinstance(chain, dict):
            texts.append(chain.get("primary"))
            fallbacks = chain.get("fallbacks")
            texts += fallbacks if isinstance(fallbacks, list) else []
        elif legacy:
            texts.append(chain)
    for key in (
        "allowlist",
        *(("modelFallbacks", "imageModelFallbacks", "allowedModels") if legacy else ()),
    ):
        value = agent.get(key)
        texts += value if isinstance(value, list) else []
    for key in ("models", *(("modelAliases",) if legacy else ())):
        value = agent.get(key)
        if isinstance(value, dict):
            texts += list(value) if key == "models" else list(value.values())
    for text in texts:
        ref = canonical(text, legacy=legacy)
        if ref is not None:
            yield ref


def containers(value: object) -> Iterator[int]:
    if isinstance(value, dict | list):
        yield id(value)
        for item in value.values() if isinstance(value, dict) else value:
            yield from containers(item)


@settings(max_examples=150)
@given(legacy_configs())
def test_migration_is_idempotent(config: dict[str, object]) -> None:
    """migrate(migrate(x)) equals migrate(x), reports no changes and leaves no legacy key."""
    once, _ = migrate_config(config)

    twice, changes = migrate_config(once)

    assert (once, ()) == (twice, changes)
    assert not legacy_keys(once)


@settings(max_examples=150)
@given(legacy_configs())
def test_migration_preserves_every_referenced_model(config: dict[str, object]) -> None:
    """Every model referenced before, in a legacy or new key, is still referenced after."""
    before = set(referenced(config["agent"], legacy=True))

    migrated, _ = migrate_config(config)

    assert not before - set(referenced(migrated["agent"], legacy=False))


@settings(max_examples=100)
@given(legacy_configs())
def test_migration_never_mutates_or_shares_its_input(config: dict[str, object]) -> None:
    """The input is unchanged afterwards and shares no dict or list with the output."""
    before = copy.deepcopy(config)

    migrated, _ = migrate_config(config)

    assert before == config
    assert not set(containers(migrated)) & set(containers(config))


@settings(max_examples=100)
@given(legacy_configs())
def test_every_legacy_key_is_accounted_for(config: dict[str, object]) -> None:
    """There are changes exactly when legacy keys exist, and each legacy key has a change."""
    legacy = legacy_keys(config)

    _, changes = migrate_config(config)

    assert bool(legacy) == bool(changes)
    assert not [p for p in legacy if not any(c.path.startswith(p) for c in changes)]
    assert not [str(c) for c in changes if c.path not in str(c) or "\n" in str(c)]


@settings(max_examples=100)
@given(
    hst.dictionaries(
        hst.sampled_from(
            [
                "model",
                "modelFallbacks",
                "imageModel",
                "imageModelFallbacks",
                "allowedModels",
                "modelAliases",
                "models",
                "allowlist",
            ]
        ),
        garbage,
    )
)
def test_garbage_never_crashes(agent: dict[str, object]) -> None:
    """Arbitrary JSON in any migrated key gives changes, never an exception, and no legacy key."""
    migrated, changes = migrate_config({"agent": agent})

    assert not legacy_keys(migrated)
    assert all(isinstance(change, Change) for change in changes)

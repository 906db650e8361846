"""
Editing config files: validated, atomic, in the file's own format, comments never lost.
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg._config._edit import dumps_toml, edit_config_file, has_toml_comments
from modelcfg.exceptions import ConfigError

CONFIG: dict[str, object] = {
    "agent": {
        "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
        "model": {"primary": "Opus", "fallbacks": []},
    }
}


def add_gpt(data: dict[str, object]) -> dict[str, object]:
    data["agent"]["models"]["openai/gpt-5"] = {"alias": "g5"}  # type: ignore[index]
    data["agent"]["model"]["fallbacks"].append("g5")  # type: ignore[index]
    return data


@pytest.mark.parametrize(
    "indent", [pytest.param(2, id="two"), pytest.param(4, id="four"), pytest.param("\t", id="tab")]
)
def test_json_keeps_its_indentation_and_key_order(tmp_path: Path, indent: int | str) -> None:
    """A JSON file is rewritten with its own indentation and its keys in their order."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG, indent=indent) + "\n", encoding="utf-8")

    result = edit_config_file(path, add_gpt)

    assert json.dumps(add_gpt(json.loads(json.dumps(CONFIG))), indent=indent) + "\n" == (
        path.read_text(encoding="utf-8")
    )
    assert (True, False, path) == (result.changed, result.beside, result.written)


def test_one_line_json_stays_one_line(tmp_path: Path) -> None:
    """A compact JSON file stays on one line."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")

    edit_config_file(path, add_gpt)

    assert 1 == len(path.read_text(encoding="utf-8").splitlines())


def test_toml_stays_toml(tmp_path: Path) -> None:
    """A TOML file without comments is rewritten as TOML that reads back as the edited data."""
    path = tmp_path / "config.toml"
    path.write_text(dumps_toml(CONFIG), encoding="utf-8")

    edit_config_file(path, add_gpt)

    assert add_gpt(json.loads(json.dumps(CONFIG))) == tomllib.loads(
        path.read_text(encoding="utf-8")
    )


def test_toml_comments_are_never_lost(tmp_path: Path) -> None:
    """A TOML file with comments is left alone; the edit is written beside it."""
    path = tmp_path / "config.toml"
    original = "# my models\n" + dumps_toml(CONFIG)
    path.write_text(original, encoding="utf-8")

    result = edit_config_file(path, add_gpt)

    assert original == path.read_text(encoding="utf-8")
    assert (True, tmp_path / "config.toml.new") == (result.beside, result.written)
    assert add_gpt(json.loads(json.dumps(CONFIG))) == tomllib.loads(
        (tmp_path / "config.toml.new").read_text(encoding="utf-8")
    )


def test_an_invalid_edit_writes_nothing(tmp_path: Path) -> None:
    """An edit that breaks the config raises ConfigError with the path, and the file is untouched."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")

    def clash(data: dict[str, object]) -> dict[str, object]:
        data["agent"]["models"]["openai/gpt-5"] = {"alias": "opus"}  # type: ignore[index]
        return data

    with pytest.raises(ConfigError) as raised:
        edit_config_file(path, clash)

    assert json.dumps(CONFIG) == path.read_text(encoding="utf-8")
    assert any("$.agent.models['openai/gpt-5'].alias" in line for line in raised.value.errors)
    assert [] == [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_file_is_created_private(tmp_path: Path) -> None:
    """Editing a file that does not exist creates it, readable by its owner only."""
    path = tmp_path / "new" / "config.json"

    result = edit_config_file(path, lambda data: {**data, **json.loads(json.dumps(CONFIG))})

    assert (True, 0o600) == (result.created, stat.S_IMODE(path.stat().st_mode))
    assert CONFIG == json.loads(path.read_text(encoding="utf-8"))


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    """A rewritten file keeps its permission bits."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")
    path.chmod(0o640)

    edit_config_file(path, add_gpt)

    assert 0o640 == stat.S_IMODE(path.stat().st_mode)


def test_an_edit_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    """When the edit leaves the data as it was, the file is not rewritten."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG, indent=3), encoding="utf-8")
    before = path.stat().st_mtime_ns

    result = edit_config_file(path, lambda data: data)

    assert (False, None, before) == (result.changed, result.written, path.stat().st_mtime_ns)


def test_a_file_with_repeated_keys_is_refused(tmp_path: Path) -> None:
    """A JSON file whose meaning is ambiguous is not rewritten (repeated keys would vanish)."""
    path = tmp_path / "config.json"
    path.write_text('{"agent": {}, "agent": {}}', encoding="utf-8")

    with pytest.raises(ConfigError, match="more than once"):
        edit_config_file(path, lambda data: data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a = 1 # note\n", True, id="trailing"),
        pytest.param("# top\na = 1\n", True, id="line"),
        pytest.param('a = "#not"\n', False, id="in-string"),
        pytest.param("a = '#not'\n", False, id="in-literal"),
        pytest.param('a = """\n# not\n"""\n', False, id="multi-line"),
        pytest.param('a = "x\\"#"\n', False, id="escaped-quote"),
        pytest.param('a = """x""" # yes\n', True, id="after-multi-line"),
    ],
)
def test_toml_comment_detection(text: str, expected: bool) -> None:
    """A comment is a '#' outside every kind of string."""
    tomllib.loads(text)

    assert expected == has_toml_comments(text)


def test_toml_cannot_hold_null() -> None:
    """A null value is refused with its path, never written as something else."""
    with pytest.raises(ValueError, match=r"\$\.agent\.models\['a/b'\]\.alias: TOML has no null"):
        dumps_toml({"agent": {"models": {"a/b": {"alias": None}}}})


keys = hs.text(
    alphabet=hs.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
scalars = (
    hs.booleans()
    | hs.integers(min_value=-(2**63), max_value=2**63 - 1)
    | hs.floats(allow_nan=False)
    | hs.text(alphabet=hs.characters(blacklist_categories=("Cs",)), max_size=12)
)
values = hs.recursive(
    scalars,
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


@given(hs.dictionaries(keys, values, max_size=5))
@settings(max_examples=300)
def test_toml_round_trip(data: dict[str, object]) -> None:
    """Whatever a config can hold, tomllib reads back exactly what dumps_toml() wrote."""

    assert data == tomllib.loads(dumps_toml(data))

"""
``modelcfg catalog refresh | show | promote``, ``models search`` and ``models list --all``,
against the fake listings on 127.0.0.1: the whole flow a user follows, and its edges.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcfg._config._edit import dumps_toml
from modelcfg.testing import FakeModelsServer
from tests.cli.conftest import Cli, assert_one_line_error, isolated_env

KEY = "sk-ant-api03-FAKE-DO-NOT-LEAK-0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeModelsServer]:
    """The fake listings, accepting one key."""
    with FakeModelsServer(api_key=KEY) as server:
        yield server


def config_for(fake: FakeModelsServer) -> dict[str, object]:
    """A config whose OpenRouter and Anthropic providers point at the fake listings."""
    return {
        "providers": {
            "openrouter": {"api": "openrouter", "baseUrl": fake.openrouter_base_url},
            "anthropic": {"api": "anthropic", "baseUrl": fake.anthropic_base_url},
            "local": {"api": "openai", "baseUrl": fake.openai_base_url},
        },
        "agent": {
            "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
            "model": {"primary": "Opus"},
        },
    }


@pytest.fixture
def cli(tmp_path: Path, fake: FakeModelsServer) -> Cli:
    """An isolated home whose config points at the fake listings, with Anthropic's key set."""
    home = tmp_path / "home"
    home.mkdir()
    runner = Cli(home=home, env={**isolated_env(tmp_path), "ANTHROPIC_API_KEY": KEY})
    runner.write_config(config_for(fake))
    return runner


def test_refresh_search_promote_list_end_to_end(cli: Cli, fake: FakeModelsServer) -> None:
    """Refresh from the fake listings, search, promote the find, and see it in models list."""
    refreshed = cli.run("catalog", "refresh")
    searched = cli.run("models", "search", "sonnet", "--input", "image", "--max-input-price", "5")
    found = cli.run(
        "models", "search", "sonnet", "--input", "image", "--max-input-price", "5", "--json"
    ).json()["results"]
    discovered = [r for r in found if r["source"] == "discovered"]
    pick = discovered[0]
    promoted = cli.run("catalog", "promote", pick["id"], "--alias", "Pick", "--fallback")
    listed = cli.run("models", "list", "--wide")

    assert (0, "") == (refreshed.code, refreshed.stderr)
    assert refreshed.stdout.splitlines()[0].startswith("openrouter: 159 models (159 added")
    assert refreshed.stdout.splitlines()[1].startswith("anthropic: 9 models (9 added")
    assert (
        "Summary: 168 added, 0 changed, 0 removed, 0 unchanged in 2 listings." in refreshed.stdout
    )
    assert 0 == searched.code
    assert max(len(line) for line in searched.stdout.splitlines()) <= 80
    assert all("image" in r["input"] and r["pricing"]["input"] <= 5 for r in found)
    assert "openrouter/anthropic/" in pick["id"]
    assert 0 == promoted.code
    assert "appended it to agent.model.fallbacks (fallback #1)" in promoted.stdout
    row = next(line for line in listed.stdout.splitlines() if line.startswith(pick["id"]))
    assert ["Pick", "openrouter", ",".join(pick["input"]), f"{pick['contextWindow']:,}"] == (
        row.split()[1:5]
    )
    assert row.endswith("fallback#1,configured")
    assert KEY not in refreshed.output + searched.output + promoted.output + listed.output


def test_a_second_refresh_is_fresh_then_not_modified(cli: Cli) -> None:
    """Within a day nothing is fetched; --force asks with the ETag and hears 304."""
    cli.call("catalog", "refresh")

    fresh = cli.call("catalog", "refresh")
    forced = cli.call("catalog", "refresh", "--force", "--source", "openrouter")

    assert re.search(
        r"openrouter: 159 models, still fresh, fetched \d+ s ago; not fetched \(use --force\)",
        fresh.stdout,
    )
    assert "openrouter: 159 models, not modified since the last fetch (ETag)" in forced.stdout


def test_a_failed_refresh_exits_1_and_keeps_the_snapshot(cli: Cli, fake: FakeModelsServer) -> None:
    """An outage is reported with the age of the snapshot kept, and the models stay searchable."""
    cli.call("catalog", "refresh")
    fake.fail("openrouter", 503)

    failed = cli.call("catalog", "refresh", "--force", "--source", "openrouter")
    still = cli.call("models", "search", "grok 4 fast", "--json").json()["results"]

    assert 1 == failed.code
    assert "openrouter: failed: HTTP 503 from" in failed.stdout
    assert re.search(r"kept the snapshot of 159 models from \d+ s ago", failed.stdout)
    assert "openrouter/x-ai/grok-4-fast" == still[0]["id"]


def test_refresh_json(cli: Cli) -> None:
    """--json gives each listing's outcome, counts and changes, and the cache's path."""
    data = cli.call("catalog", "refresh", "--json").json()

    assert ["openrouter", "anthropic"] == [s["source"] for s in data["sources"]]
    assert ["updated", "updated"] == [s["outcome"] for s in data["sources"]]
    assert 159 == len(data["sources"][0]["added"])
    assert 3 == len(data["sources"][0]["skippedEntries"])
    assert data["ok"]
    assert data["cache"].endswith("/.cache/modelcfg/catalog.json")


def test_a_local_server_is_refreshed_when_named(cli: Cli) -> None:
    """A keyless local server is left out by default and read when named with --source."""
    default = cli.call("catalog", "refresh", "--json").json()
    named = cli.call("catalog", "refresh", "--source", "local", "--json").json()

    assert "local" not in [s["source"] for s in default["sources"]]
    assert ("local", "failed") == (named["sources"][0]["source"], named["sources"][0]["outcome"])
    assert "needs a credential" in named["sources"][0]["error"]


@pytest.mark.parametrize(
    ("source", "code", "fragment"),
    [
        pytest.param("nosuch", 4, "neither a built-in provider", id="unknown"),
        pytest.param("mine", 2, "has no models listing", id="custom"),
    ],
)
def test_refresh_refuses_unknown_sources(
    cli: Cli, fake: FakeModelsServer, source: str, code: int, fragment: str
) -> None:
    """A --source that names nothing, or a provider without a listing, is one error line."""
    config = config_for(fake)
    config["providers"]["mine"] = {"api": "custom"}  # type: ignore[index]
    cli.write_config(config)

    result = cli.call("catalog", "refresh", "--source", source)

    assert_one_line_error(result, code, fragment)


def test_show_tells_where_each_fact_came_from(cli: Cli) -> None:
    """catalog show lists a record's facts, its provenance and its other providers."""
    cli.call("catalog", "refresh")

    shown = cli.call("catalog", "show", "openrouter/x-ai/grok-4.1-fast")
    data = cli.call("catalog", "show", "claude-3-5-haiku-20241022", "--json").json()

    lines = shown.stdout.splitlines()
    assert "openrouter/x-ai/grok-4.1-fast" == lines[0]
    assert any(line.split() == ["context:", "2,000,000", "tokens"] for line in lines)
    assert any(
        line.split()[:4] == ["source:", "discovered", "from", "openrouter"] for line in lines
    )
    assert any("pricing:" in line and "input $0.2, output $0.5" in line for line in lines)
    assert ("anthropic/claude-3-5-haiku-20241022", "discovered") == (data["id"], data["source"])
    assert "anthropic/claude-3-5-haiku-latest" in data["servedAs"]


def test_show_an_unknown_model_suggests(cli: Cli) -> None:
    """An unknown id exits 4 with the closest models."""
    result = cli.call("catalog", "show", "openai/gpt-5-nanoo")

    assert_one_line_error(result, 4, "not in the catalog", "Did you mean 'openai/gpt-5-nano'")


def test_promote_keeps_toml_comments(cli: Cli, fake: FakeModelsServer) -> None:
    """Promoting into a TOML config with comments writes the result beside it and exits 1."""
    (cli.home / "config.json").unlink()
    path = cli.home / "config.toml"
    original = "# my setup\n" + dumps_toml(config_for(fake))
    path.write_text(original, encoding="utf-8")
    cli.call("catalog", "refresh")

    result = cli.call("catalog", "promote", "openrouter/qwen/qwen3-coder", "--alias", "coder")

    beside = tomllib.loads((cli.home / "config.toml.new").read_text(encoding="utf-8"))
    assert 1 == result.code
    assert original == path.read_text(encoding="utf-8")
    assert "coder" == beside["agent"]["models"]["openrouter/qwen/qwen3-coder"]["alias"]
    assert "merge it by hand" in result.stdout


def test_promote_into_plain_toml_stays_toml(cli: Cli, fake: FakeModelsServer) -> None:
    """A TOML config without comments is promoted into in place, as TOML."""
    (cli.home / "config.json").unlink()
    path = cli.home / "config.toml"
    path.write_text(dumps_toml(config_for(fake)), encoding="utf-8")
    cli.call("catalog", "refresh")

    result = cli.call("catalog", "promote", "openrouter/qwen/qwen3-32b", "--json")

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert (0, str(path)) == (result.code, result.json()["written"])
    assert 40_960 == data["agent"]["models"]["openrouter/qwen/qwen3-32b"]["contextWindow"]


def test_promote_refuses_an_alias_clash(cli: Cli) -> None:
    """An alias another model has is a config error with its path; the file is untouched."""
    cli.call("catalog", "refresh")
    before = (cli.home / "config.json").read_text(encoding="utf-8")

    result = cli.call("catalog", "promote", "openrouter/qwen/qwen3-coder", "--alias", "opus")

    assert 3 == result.code
    assert "$.agent.models['openrouter/qwen/qwen3-coder'].alias" in result.stderr
    assert before == (cli.home / "config.json").read_text(encoding="utf-8")


def test_promote_creates_a_config_on_a_fresh_machine(tmp_path: Path) -> None:
    """With no config file, promote creates one holding just the promoted curated model."""
    home = tmp_path / "home"
    home.mkdir()
    cli = Cli(home=home, env=isolated_env(tmp_path))

    result = cli.call("catalog", "promote", "openai/gpt-5", "--alias", "g5")

    assert 0 == result.code
    assert {"agent": {"models": {"openai/gpt-5": {"alias": "g5"}}}} == json.loads(
        (home / "config.json").read_text(encoding="utf-8")
    )


@pytest.mark.parametrize(
    ("args", "check"),
    [
        pytest.param(("--free", "--sort", "price"), lambda r: all(x["free"] for x in r), id="free"),
        pytest.param(
            ("--sort", "context", "--limit", "3"),
            lambda r: [x["contextWindow"] for x in r] == [2_000_000] * 3,
            id="context",
        ),
        pytest.param(
            ("--provider", "anthropic", "--source", "discovered"),
            lambda r: len(r) == 8 and {x["provider"] for x in r} == {"anthropic"},
            id="provider",
        ),
        pytest.param(
            ("--status", "deprecated"),
            lambda r: {x["status"] for x in r} == {"deprecated"} and len(r) >= 2,
            id="status",
        ),
        pytest.param(
            ("grokk", "--limit", "1"),
            lambda r: (
                r[0]["match"]["kind"] == "typo" and "'grokk' for 'grok'" in r[0]["match"]["why"]
            ),
            id="typo",
        ),
        pytest.param(
            ("--tools", "--structured", "--reasoning", "--min-context", "1000000"),
            lambda r: r and all(x["contextWindow"] >= 1_000_000 and x["tools"] for x in r),
            id="capabilities",
        ),
    ],
)
def test_search_filters_and_sorts(cli: Cli, args: tuple[str, ...], check: object) -> None:
    """Each filter and sort of models search narrows and orders what it finds."""
    cli.call("catalog", "refresh")

    results = cli.call("models", "search", *args, "--json").json()["results"]

    assert callable(check)
    assert check(results)


def test_search_refuses_a_bad_filter(cli: Cli) -> None:
    """An impossible filter is a usage error, exit 2, one line."""
    result = cli.call("models", "search", "x", "--max-output-price", "nan")

    assert_one_line_error(result, 2, "max_output_price")


def test_models_list_all_adds_the_discovered_section(cli: Cli) -> None:
    """--all ends with the discovered models the curated section does not show."""
    before = cli.call("models", "list", "--all")
    cli.call("catalog", "refresh")

    text = cli.call("models", "list", "--all")
    data = cli.call("models", "list", "--all", "--json").json()

    assert "Discovered models: none cached yet; run `modelcfg catalog refresh`." in before.stdout
    assert "Discovered models (" in text.stdout
    assert "openrouter/x-ai/grok-4.1-fast" in {m["id"] for m in data["discovered"]}
    assert not {m["id"] for m in data["discovered"]} & {m["id"] for m in data["catalog"]}


def test_an_unreadable_cache_is_a_warning(cli: Cli, tmp_path: Path) -> None:
    """A corrupt cache makes search warn once and use the curated data."""
    cache = tmp_path / "bad.json"
    cache.write_text("{", encoding="utf-8")

    result = cli.with_env(MODELCFG_CATALOG_CACHE=str(cache)).call("models", "search", "gpt-5")

    assert 0 == result.code
    assert 1 == result.stderr.count("warning: ignoring the catalog cache")
    assert "openai/gpt-5" in result.stdout

"""
``modelcfg auth order get | set | clear`` and ``modelcfg auth status``.
"""

from __future__ import annotations

import json

import pytest

from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    OAuthCredential,
    TokenCredential,
)
from tests.cli.conftest import CANARY, Cli, assert_one_line_error, example_config, keys_for


@pytest.fixture
def configured(cli: Cli) -> Cli:
    """
    The isolated home with the small example config written.
    """
    cli.write_config(example_config())
    return cli


def test_order_set_get_clear_round_trip(configured: Cli) -> None:
    """Set stores an override that get shows and clear removes, in real processes."""
    AuthStore(path=configured.store_path).put("anthropic:work", ApiKeyCredential(key=CANARY))

    before = configured.run("auth", "order", "get", "anthropic", "--json").json()
    put = configured.run("auth", "order", "set", "anthropic", "work", "anthropic:default")
    during = configured.run("auth", "order", "get", "anthropic", "--json").json()
    cleared = configured.run("auth", "order", "clear", "anthropic")
    after = configured.call("auth", "order", "get", "anthropic").stdout

    assert ("config auth.order", None) == (before["from"], before["override"])
    assert 0 == put.code
    assert "anthropic:default is not in the auth store yet" in put.stderr
    assert ["anthropic:work", "anthropic:default"] == during["override"]
    assert "Cleared the order override of anthropic" in cleared.stdout
    assert "anthropic: anthropic:default -> anthropic:work  (config auth.order)\n" == after


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        pytest.param(
            ["anthropic", "openai:default"], 2, "belongs to provider 'openai'", id="other-provider"
        ),
        pytest.param(
            ["anthropic", "work", "anthropic:work"], 2, "names a profile twice", id="twice"
        ),
        pytest.param(["nosuch", "x"], 4, "'nosuch' is neither built in", id="unknown-provider"),
        pytest.param(
            ["antropic", "x"], 4, "(did you mean 'anthropic'?)", id="unknown-provider-suggested"
        ),
        pytest.param(
            ["open ai", "x"],
            2,
            "'open ai' is not a provider: provider 'open ai' is not a provider id",
            id="not-a-provider-id",
        ),
        pytest.param(["anthropic", "bad name"], 2, "is not a profile", id="malformed"),
    ],
)
def test_order_set_refuses_bad_profiles(
    configured: Cli, args: list[str], code: int, fragment: str
) -> None:
    """A profile of another provider, a repeat or an unknown provider is refused in one line."""
    result = configured.call("auth", "order", "set", *args)

    assert_one_line_error(result, code, fragment)
    assert not configured.store_path.exists()


def test_order_clear_without_override_is_fine(configured: Cli) -> None:
    """Clearing when there is no override says so and exits 0."""
    result = configured.call("auth", "order", "clear", "openai")

    assert 0 == result.code
    assert "There was no order override of openai" in result.stdout


def test_status_exits_1_when_a_chain_provider_has_no_credential(configured: Cli) -> None:
    """Missing credentials for a chain provider exit 1 and say what to set."""
    result = configured.run("auth", "status")

    assert 1 == result.code
    assert "No credentials for openai: set OPENAI_API_KEY" in result.stdout


def test_status_exits_0_when_everything_resolves(configured: Cli) -> None:
    """With keys in the environment and the store, status is 0 and shows masked keys only."""
    AuthStore(path=configured.store_path).put("anthropic:work", ApiKeyCredential(key=CANARY))

    result = configured.with_env(**keys_for("openai")).call("auth", "status", "--json")

    data = result.json()
    by_provider = {p["provider"]: p for p in data["providers"]}
    work = by_provider["anthropic"]["profiles"][1]
    assert (0, 0) == (result.code, data["exitCode"])
    assert ("anthropic:work", "ok", "sk-…6789") == (work["profile"], work["state"], work["masked"])
    assert "environment variable OPENAI_API_KEY" == by_provider["openai"]["source"]
    assert CANARY not in result.output


def test_status_exits_2_when_a_token_expires_soon(configured: Cli) -> None:
    """A token expiring within --expiring-within exits 2 and is labelled expiring soon."""
    store = AuthStore(path=configured.store_path)
    store.put("anthropic:default", TokenCredential(token=CANARY, expires_at=4_000_000_000.0))
    env = configured.with_env(**keys_for("openai"))

    soon = env.run("auth", "status", "--expiring-within", "9999999999")
    later = env.run("auth", "status")

    assert 2 == soon.code
    assert "expiring soon" in soon.stdout
    assert 0 == later.code


def test_status_exits_1_for_an_expired_stored_token(configured: Cli) -> None:
    """An expired token in a chain provider's order exits 1 even when another key works."""
    store = AuthStore(path=configured.store_path)
    store.put("anthropic:default", TokenCredential(token=CANARY, expires_at=1.0))
    store.put("anthropic:work", ApiKeyCredential(key=CANARY))

    result = configured.with_env(**keys_for("openai")).call("auth", "status")

    assert 1 == result.code
    assert "expired" in result.stdout
    assert "ago (1970-01-01" in result.stdout


def test_status_counts_a_refreshable_oauth_token_as_ok(configured: Cli) -> None:
    """An expired OAuth access token with a refresh token and endpoints is ok: it refreshes on use."""
    config = example_config()
    config["providers"] = {
        "anthropic": {
            "api": "anthropic",
            "oauth": {
                "authorizeUrl": "https://login.example.com/authorize",
                "tokenUrl": "https://login.example.com/token",
                "clientId": "c",
            },
        }
    }
    configured.write_config(config)
    AuthStore(path=configured.store_path).put(
        "anthropic:default",
        OAuthCredential(
            access=CANARY, refresh=CANARY + "r", expires_at=1.0, email="me@example.com"
        ),
    )

    result = configured.with_env(**keys_for("openai")).call("auth", "status", "--json")

    profile = result.json()["providers"][0]["profiles"][0]
    assert 0 == result.code
    assert ("ok", "oauth") == (profile["state"], profile["kind"])
    assert "refreshed on next use" in profile["detail"]
    assert "me@example.com" in profile["detail"]


def _unrefreshable(cli: Cli) -> None:
    """
    An expired OAuth token for openai:default (as doctor imports it), on built-in openai.
    """
    AuthStore(path=cli.store_path).put(
        "openai:default", OAuthCredential(access=CANARY, refresh=CANARY + "r", expires_at=1.0)
    )


def test_status_reports_an_oauth_token_nothing_can_refresh_as_expired(configured: Cli) -> None:
    """Without OAuth endpoints an expired access token is expired (exit 1), with what to do."""
    _unrefreshable(configured)

    result = configured.with_env(**keys_for("anthropic")).run("auth", "status")

    row = next(line for line in result.stdout.splitlines() if "openai:default" in line)
    assert 1 == result.code
    assert "expired" in row.split()
    assert "refreshed on next use" not in result.stdout
    assert (
        "openai:default: its OAuth access token expired and nothing can refresh it, since openai "
        "has no OAuth endpoints; run `modelcfg login openai` to store an API key instead, or add "
        "OAuth endpoints under $.providers.openai.oauth in the config."
    ) in result.stdout
    assert CANARY not in result.output


def test_validate_reports_an_oauth_token_nothing_can_refresh(configured: Cli) -> None:
    """validate: a problem (exit 1) when nothing else works, a warning when the environment does."""
    _unrefreshable(configured)
    env = configured.with_env(**keys_for("anthropic"))

    alone = env.run("validate", "--json")
    covered = env.with_env(**keys_for("openai")).call("validate", "--json")

    problem = [f["message"] for f in alone.json()["findings"] if f["subject"] == "openai"]
    warning = [f for f in covered.json()["findings"] if f["level"] == "warning"]
    assert (1, 0) == (alone.code, covered.code)
    assert problem[0].startswith("openai:default skipped: its OAuth access token expired at 1970")
    assert "nothing can refresh it, since openai has no OAuth endpoints" in problem[0]
    assert "No credentials for openai: set OPENAI_API_KEY" in problem[0]
    assert ["openai"] == [w["subject"] for w in warning]
    assert "add OAuth endpoints under $.providers.openai.oauth" in warning[0]["message"]


def test_status_lists_stored_profiles_outside_the_order(configured: Cli) -> None:
    """Stored profiles routing never uses are listed as not in auth.order; exit codes ignore them."""
    config = example_config()
    config["auth"]["order"]["openai"] = ["openai:default"]  # type: ignore[index]
    configured.write_config(config)
    store = AuthStore(path=configured.store_path)
    store.put("openai:work", TokenCredential(token=CANARY, expires_at=1.0))
    store.put("groq:default", ApiKeyCredential(key=CANARY))

    result = configured.with_env(**keys_for("anthropic", "openai")).run("auth", "status")
    data = configured.with_env(**keys_for("anthropic", "openai")).call("auth", "status", "--json")

    profiles = {p["profile"]: p for e in data.json()["providers"] for p in e["profiles"]}
    assert (0, 0) == (result.code, data.code)
    assert (False, "expired") == (
        profiles["openai:work"]["inOrder"],
        profiles["openai:work"]["state"],
    )
    assert "not in auth.order" in profiles["openai:work"]["detail"]
    assert (
        "openai:work is stored but not in the auth order, so calls never use it; to use it "
        "first, run `modelcfg auth order set openai openai:work openai:default`."
    ) in result.stdout
    assert "groq (not used by the config)" in result.stdout
    assert False is profiles["groq:default"]["inOrder"]


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_status_refuses_an_expiring_within_that_is_not_positive_and_finite(
    configured: Cli, value: str
) -> None:
    """--expiring-within nan (or inf, 0, below) is a usage error, not "never expiring soon"."""
    result = configured.call("auth", "status", f"--expiring-within={value}")

    assert_one_line_error(result, 2, "--expiring-within must be a positive, finite number")


def test_status_refuses_nan_as_the_console_script(configured: Cli) -> None:
    """The console script refuses --expiring-within nan with exit 2 and one line."""
    result = configured.run("auth", "status", "--expiring-within", "nan")

    assert_one_line_error(result, 2, "--expiring-within")
    assert "" == result.stdout


def test_status_reports_a_corrupt_store_with_exit_5(configured: Cli) -> None:
    """A store that is not JSON is reported in one line with exit 5, never overwritten."""
    configured.store_path.write_text("{not json", encoding="utf-8")

    result = configured.run("auth", "status")

    assert_one_line_error(result, 5, str(configured.store_path))
    assert "{not json" == configured.store_path.read_text(encoding="utf-8")


def test_status_reports_a_newer_store_version_with_exit_5(configured: Cli) -> None:
    """A store written by a newer modelcfg is refused with exit 5."""
    configured.store_path.write_text(json.dumps({"version": 99, "profiles": {}}), encoding="utf-8")

    result = configured.call("models", "resolve", "Opus")

    assert_one_line_error(result, 5)


def test_status_reports_a_deeply_nested_store_with_exit_5(configured: Cli) -> None:
    """A store nested too deeply for the JSON reader is one line with exit 5, not a crash."""
    configured.store_path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    result = configured.call("auth", "status")

    assert_one_line_error(result, 5, "nested too deeply", str(configured.store_path))


def test_status_json_exit_code_tells_expiring_soon_from_a_usage_error(configured: Cli) -> None:
    """--json carries exitCode 2 for "expiring soon"; a usage error (also 2) prints no JSON."""
    store = AuthStore(path=configured.store_path)
    store.put("anthropic:default", TokenCredential(token=CANARY, expires_at=4_000_000_000.0))
    env = configured.with_env(**keys_for("openai"))

    soon = env.call("auth", "status", "--json", "--expiring-within", "9999999999")
    usage = env.call("auth", "status", "--json", "--no-such-option")

    assert (2, 2) == (soon.code, soon.json()["exitCode"])
    assert (2, "") == (usage.code, usage.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ["auth", "order", "get", "Open AI"],
        ["auth", "order", "set", "Open AI", "work"],
        ["login", "Open AI", "--stdin"],
        ["logout", "Open AI"],
    ],
)
def test_every_command_reads_a_provider_one_way(configured: Cli, command: list[str]) -> None:
    """auth order, login and logout refuse a text that is no provider id with the same words."""
    result = configured.call(*command, stdin="k")

    assert_one_line_error(
        result, 2, "'Open AI' is not a provider: provider 'open ai' is not a provider id"
    )


def test_a_provider_in_any_case_is_the_same_provider(configured: Cli) -> None:
    """auth order get ANTHROPIC shows the order of anthropic."""
    result = configured.call("auth", "order", "get", "ANTHROPIC", "--json")

    assert ("anthropic", ["anthropic:default", "anthropic:work"]) == (
        result.json()["provider"],
        result.json()["effective"],
    )


def test_status_marks_a_credential_its_declared_mode_refuses(cli: Cli) -> None:
    """A profile declared token holding an OAuth login is 'wrong kind', with the fix, not 'ok'."""
    cli.write_config(
        {
            "auth": {
                "profiles": {"anthropic:work": {"provider": "anthropic", "mode": "token"}},
                "order": {"anthropic": ["anthropic:work"]},
            },
            "agent": {"model": {"primary": "anthropic/claude-opus-4-5"}},
        }
    )
    AuthStore(path=cli.store_path).put(
        "anthropic:work", OAuthCredential(access=CANARY, expires_at=4_000_000_000.0)
    )
    result = cli.call("auth", "status", "--json")
    anthropic = json.loads(result.stdout)["providers"][0]
    row = anthropic["profiles"][0]

    assert (1, "none") == (result.code, anthropic["source"])
    assert ("wrong kind", "declared token") == (row["state"], row["detail"])
    assert row["advice"].startswith(
        "anthropic:work skipped: the config declares mode token for it, but the auth store "
        "holds an OAuth login; run `modelcfg login anthropic --profile work`"
    )
    assert CANARY not in result.output

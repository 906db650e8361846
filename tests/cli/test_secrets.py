"""
No secret reaches any output: a canary stored through every path is searched for in every command.

Keys arrive through ``login --stdin``, the environment, a legacy file imported by
``doctor --fix`` and an OAuth login against the fake server, whose tokens are then
refreshed; every command (each subcommand, its ``--json`` form, its errors and
its ``--help``) runs as the real console script, and once more in-process with
logging captured at DEBUG.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx
import pytest

from modelcfg._cli._main import build_parser
from modelcfg.auth import AuthStore, OAuthCredential, OAuthRefresher, credential_for
from modelcfg.testing._oauth import FakeOAuthServer
from tests.cli.conftest import LEAK_MARK, Cli, Result, command_paths, leaf_commands
from tests.cli.test_login import approve_in_browser, oauth_config

STDIN_KEY = f"sk-stdin-{LEAK_MARK}-0123456789"
ENV_KEY = f"sk-env-{LEAK_MARK}-0123456789"
LEGACY_KEY = f"sk-legacy-{LEAK_MARK}-0123456789"


class _Models(BaseHTTPRequestHandler):
    """
    Answers every GET with 200 and remembers the headers it was sent.
    """

    seen: list[str] = []  # noqa: RUF012 - one server per test, read after it stops

    def do_GET(self) -> None:
        self.seen.append(str(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def models_server() -> Iterator[tuple[str, list[str]]]:
    """
    A loopback server for `validate --network`; yields its base URL and the headers it saw.
    """

    class Handler(_Models):
        seen: list[str] = []  # noqa: RUF012 - a fresh list for each server

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", Handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _run_many(cli: Cli, commands: Sequence[Sequence[str]]) -> list[Result]:
    """
    Run read-only commands as console-script processes, a few at a time.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda command: cli.run(*command), commands))


def _refresh(store: AuthStore, server: FakeOAuthServer) -> None:
    """
    Refresh anthropic:default's tokens through the fake server, as the executor would.
    """
    stored = store.get("anthropic:default")
    assert stored is not None
    assert isinstance(stored.credential, OAuthCredential)
    soon = (stored.credential.expires_at or 0) - 30  # within the refresh skew

    async def refresh() -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            refresher = OAuthRefresher(endpoints={"anthropic": server.endpoints()}, client=client)
            await credential_for(
                "anthropic:default", store=store, environ={}, refresher=refresher, now=soon
            )

    anyio.run(refresh)


def test_no_command_ever_prints_a_stored_secret(
    cli: Cli,
    tmp_path: Path,
    models_server: tuple[str, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Keys from stdin, the environment, a legacy file and refreshed OAuth tokens never appear."""
    base_url, network_headers = models_server
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    with FakeOAuthServer(email="me@example.com", token_prefix=f"oauth-{LEAK_MARK}-") as server:
        config = oauth_config(server)
        config["providers"]["anthropic"]["baseUrl"] = base_url  # type: ignore[index]
        config["providers"]["openai"] = {"api": "openai", "baseUrl": base_url}  # type: ignore[index]
        config["providers"]["openrouter"] = {"api": "openrouter", "baseUrl": base_url}  # type: ignore[index]
        config["agent"]["model"]["fallbacks"] = ["openai/gpt-5.2", "openrouter/x/y"]  # type: ignore[index]
        cli.write_config(config)
        process = cli.popen("login", "anthropic", "--timeout", "30")
        outputs += approve_in_browser(process)
        outputs += process.communicate(timeout=30)
        assert 0 == process.returncode
        store = AuthStore(path=cli.store_path)
        first = store.get("anthropic:default")
        _refresh(store, server)
        refreshed = store.get("anthropic:default")
        assert 1 == server.refreshes
    assert first is not None
    assert refreshed is not None
    assert first.credential != refreshed.credential
    assert LEAK_MARK in refreshed.credential.secret.reveal()

    old = tmp_path / "old"
    old.mkdir()
    (old / "auth.json").write_text(
        json.dumps({"openrouter": {"apiKey": LEGACY_KEY}}), encoding="utf-8"
    )
    env = cli.with_env(OPENAI_API_KEY=ENV_KEY)
    script = cli.home / "script.json"
    script.write_text(json.dumps({"events": [{"fail": "auth", "status": 401}]}), encoding="utf-8")

    # Commands that change the store or the config run one after the other.
    ordered = [
        ["login", "openai", "--profile", "stdin", "--stdin"],
        ["doctor", "--auth-dir", str(old)],
        ["doctor", "--auth-dir", str(old), "--json"],
        ["doctor", "--auth-dir", str(old), "--fix", "--json"],
        ["doctor", "--auth-dir", str(old), "--fix"],
        ["auth", "order", "set", "openai", "stdin", "default"],
    ]
    results = [env.run(*command, stdin=STDIN_KEY) for command in ordered]
    # Read-only commands, in text and JSON, with their errors.
    reads = [
        ["auth", "order", "get", "openai"],
        ["auth", "order", "get", "openai", "--json"],
        ["models", "list"],
        ["models", "list", "--all"],
        ["models", "list", "--json"],
        ["models", "list", "--all", "--json"],
        ["models", "resolve", "Opus@anthropic:default"],
        ["models", "resolve", "gpt52@stdin", "--strict"],
        ["models", "resolve", "Opus@openai:stdin", "--strict", "--json"],
        ["models", "resolve", "nosuch"],
        ["models", "search", "gpt"],
        ["models", "search", "gpt", "--json"],
        ["catalog", "refresh", "--source", "openrouter"],
        ["catalog", "refresh", "--source", "openrouter", "--json"],
        ["catalog", "show", "openai/gpt-5.2"],
        ["catalog", "show", "nosuch", "--json"],
        ["catalog", "promote", "openai/gpt-5.2", "--json"],
        ["auth", "status"],
        ["auth", "status", "--json"],
        ["auth", "status", "--expiring-within", "999999999"],
        ["validate"],
        ["validate", "--json"],
        ["validate", "--network", "--timeout", "5"],
        ["validate", "--network", "--timeout", "5", "--json"],
        ["explain", str(script)],
        ["explain", str(script), "--json"],
        ["simulate", str(script)],
        # Read only: `health --check` sends each provider its key (see tests/routing).
        ["health", "--state", str(cli.home / "state.db")],
        ["health", "--json", "--state", str(cli.home / "state.json")],
        ["params", "explain", "Opus", "--param", "user=me"],
        ["params", "explain", "gpt52+precise", "--json"],
        ["params", "presets"],
        ["params", "presets", "--json"],
        ["experiments", "show"],
        ["experiments", "assign", "s-1", "--json"],
        ["experiments", "report", "no-such-tally.json"],
        ["demo"],
        ["demo", "--json"],
        ["usage", "--chart"],
        ["usage", "--json"],
        ["login", "openai", "--oauth"],
        ["logout", "openai:nosuch"],
        ["completion", "bash"],
        ["completion", "zsh"],
    ]
    paths = command_paths(build_parser())
    helps = [["--help"], *([*path, "--help"] for path in paths)]
    results += _run_many(env, [*reads, *helps])
    # Config edits, last of the reads since they change the config.
    edits = [
        ["models", "fallbacks", "list"],
        ["models", "aliases", "list", "--json"],
        ["models", "set", "Opus"],
        ["models", "fallbacks", "add", "no-such-model"],
        ["models", "fallbacks", "remove", "no-such-model"],
        ["models", "fallbacks", "clear"],
        ["models", "aliases", "add", "o", "anthropic/claude-opus-4-5"],
        ["models", "aliases", "remove", "o"],
        ["models", "image", "set", "Opus"],
        ["init"],
    ]
    results += [env.run(*command) for command in edits]
    # The rest change the store again.
    closing = [["auth", "order", "clear", "openai"], ["logout", "openai:stdin"]]
    cleared, logged_out = (env.run(*command) for command in closing)
    results += [cleared, logged_out]
    # The same commands in-process, so that every log record is captured too.
    for command in [*reads, *closing[:1]]:
        results.append(env.call(*command))
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)

    kinds = {str(p.profile): p.kind for p in AuthStore(path=cli.store_path).profiles()}
    everything = "".join(
        [
            *outputs,
            *(r.output for r in results),
            logged,
            *network_headers,
            repr(store),
            repr(refreshed),
        ]
    )
    leaves = leaf_commands(paths)
    every = [*ordered, *reads, *edits, *closing]
    covered = {leaf for leaf in leaves if any(tuple(c[: len(leaf)]) == leaf for c in every)}
    assert {
        "anthropic:default": "oauth",
        "openai:default": "api_key",
        "openrouter:default": "api_key",
    } == kinds
    assert leaves == covered
    assert 70 not in [r.code for r in results]
    assert (0, 0) == (cleared.code, logged_out.code)
    assert 2 <= len(network_headers)
    assert "sk-…6789" in everything
    assert "Traceback" not in everything
    assert LEAK_MARK not in everything


def test_command_paths_cover_every_command() -> None:
    """The canary's command walk finds every command the parser has."""
    paths = command_paths(build_parser())

    assert {
        ("models", "list"),
        ("models", "resolve"),
        ("models", "search"),
        ("catalog", "refresh"),
        ("catalog", "show"),
        ("catalog", "promote"),
        ("auth", "order", "get"),
        ("auth", "order", "set"),
        ("auth", "order", "clear"),
        ("auth", "status"),
        ("login",),
        ("logout",),
        ("doctor",),
        ("validate",),
        ("explain",),
        ("simulate",),
        ("params", "explain"),
        ("params", "presets"),
        ("experiments", "show"),
        ("experiments", "assign"),
        ("experiments", "report"),
        ("usage",),
        ("health",),
        ("demo",),
        ("completion",),
        ("models", "set"),
        ("models", "fallbacks", "list"),
        ("models", "fallbacks", "add"),
        ("models", "fallbacks", "remove"),
        ("models", "fallbacks", "clear"),
        ("models", "aliases", "list"),
        ("models", "aliases", "add"),
        ("models", "aliases", "remove"),
        ("models", "image", "set"),
        ("init",),
    } == leaf_commands(paths)

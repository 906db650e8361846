"""
No secret reaches any output: a canary stored through every path is searched for in every command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modelcfg._fakeoauth import FakeOAuthServer
from modelcfg.auth import AuthStore
from tests.cli.conftest import LEAK_MARK, Cli
from tests.cli.test_login import approve_in_browser, oauth_config

STDIN_KEY = f"sk-stdin-{LEAK_MARK}-0123456789"
ENV_KEY = f"sk-env-{LEAK_MARK}-0123456789"
LEGACY_KEY = f"sk-legacy-{LEAK_MARK}-0123456789"


def test_no_command_ever_prints_a_stored_secret(cli: Cli, tmp_path: Path) -> None:
    """Keys from stdin, the environment, a legacy file and OAuth tokens never appear in any output."""
    outputs: list[str] = []
    with FakeOAuthServer(email="me@example.com", token_prefix=f"oauth-{LEAK_MARK}-") as server:
        config = oauth_config(server)
        config["providers"]["openrouter"] = {  # type: ignore[index]
            "api": "openrouter",
            "baseUrl": "https://openrouter.ai/api/v1",
        }
        config["agent"]["model"]["fallbacks"] = ["openai/gpt-5.2", "openrouter/x/y"]  # type: ignore[index]
        cli.write_config(config)
        process = subprocess.Popen(
            [sys.executable, "-m", "modelcfg", "login", "anthropic", "--timeout", "30"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli.env,
        )
        outputs += approve_in_browser(process)
        outputs += process.communicate(timeout=30)
        assert 0 == process.returncode
    old = tmp_path / "old"
    old.mkdir()
    (old / "auth.json").write_text(
        json.dumps({"openrouter": {"apiKey": LEGACY_KEY}}), encoding="utf-8"
    )
    env = cli.with_env(OPENAI_API_KEY=ENV_KEY)
    script = cli.home / "script.json"
    script.write_text(json.dumps({"events": [{"fail": "auth", "status": 401}]}), encoding="utf-8")

    login = env.run("login", "openai", "--profile", "stdin", "--stdin", stdin=STDIN_KEY)
    commands = [
        ["doctor", "--auth-dir", str(old)],
        ["doctor", "--auth-dir", str(old), "--fix"],
        ["doctor", "--auth-dir", str(old), "--json"],
        ["auth", "order", "set", "openai", "stdin", "default"],
        ["auth", "order", "get", "openai"],
        ["models", "list", "--all"],
        ["models", "resolve", "Opus@anthropic:default"],
        ["models", "resolve", "nosuch"],
        ["models", "search", "gpt"],
        ["auth", "status"],
        ["auth", "status", "--expiring-within", "999999999"],
        ["validate"],
        ["explain", str(script)],
        ["login", "openai", "--oauth"],
        ["logout", "openai:nosuch"],
    ]
    results = [env.call(*command) for command in commands]
    results += [
        env.call(*command, "--json")
        for command in commands
        if "--json" not in command and command[0] in {"models", "validate", "explain"}
    ]
    results += [
        env.call("auth", "status", "--json"),
        env.call("auth", "order", "get", "openai", "--json"),
    ]
    results += [env.run("models", "list", "--json"), env.run("auth", "status", "--json")]

    store = AuthStore(path=cli.store_path)
    kinds = {str(p.profile): p.kind for p in store.profiles()}
    everything = "".join([*outputs, login.output, *(r.output for r in results)])
    assert {
        "anthropic:default": "oauth",
        "openai:stdin": "api_key",
        "openai:default": "api_key",
        "openrouter:default": "api_key",
    } == kinds
    assert "sk-…6789" in everything
    assert LEAK_MARK not in everything
    assert "Traceback" not in everything

"""
``modelcfg login`` (API key and OAuth) and ``modelcfg logout``.
"""

from __future__ import annotations

import getpass
import os
import select
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from modelcfg._cli import _login
from modelcfg.auth import ApiKeyCredential, AuthStore, OAuthCredential
from modelcfg.testing._oauth import FakeOAuthServer
from tests.cli.conftest import CANARY, LEAK_MARK, Cli, assert_one_line_error, example_config


def test_login_stdin_stores_the_key_and_never_prints_it(cli: Cli) -> None:
    """--stdin stores provider:default from stdin; the output names the profile, not the key."""
    result = cli.run("login", "openai", "--stdin", stdin=CANARY + "\n")

    stored = AuthStore(path=cli.store_path).get("openai:default")
    assert 0 == result.code
    assert "Stored an API key as openai:default" in result.stdout
    assert ApiKeyCredential(key=CANARY) == (stored.credential if stored else None)
    assert CANARY not in result.output


def test_the_key_login_stores_for_an_oauth_profile_is_the_one_status_reports(cli: Cli) -> None:
    """On the bundled config, whose anthropic:default is declared oauth, the key login stores is used."""
    import json

    login = cli.call("login", "anthropic", "--stdin", stdin=CANARY + "\n")
    status = cli.call("auth", "status", "--json")
    anthropic = next(
        p for p in json.loads(status.stdout)["providers"] if p["provider"] == "anthropic"
    )

    assert 0 == login.code
    assert "storing an API key instead" in login.stderr
    assert ("profile anthropic:default (auth store)", "ok") == (
        anthropic["source"],
        anthropic["profiles"][0]["state"],
    )


def test_login_with_profile_replaces_that_profile(cli: Cli) -> None:
    """--profile NAME creates or replaces provider:NAME only."""
    first = cli.call(
        "login", "anthropic", "--profile", "work", "--stdin", stdin="sk-old-DO-NOT-LEAK-x"
    )
    second = cli.call("login", "anthropic", "--profile", "work", "--stdin", stdin=CANARY)

    store = AuthStore(path=cli.store_path)
    assert (0, 0) == (first.code, second.code)
    assert ["anthropic:work"] == [str(p.profile) for p in store.profiles()]
    assert ApiKeyCredential(key=CANARY) == store.get("anthropic:work").credential  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "fragment"),
    [
        pytest.param(["openai", "--stdin"], "  \n", 2, "is empty", id="empty-key"),
        pytest.param(["openai"], "", 2, "pipe it in with --stdin", id="no-terminal"),
        pytest.param(
            ["nosuch", "--stdin"], "k", 4, "'nosuch' is neither built in", id="unknown-provider"
        ),
        pytest.param(
            ["openai", "--oauth"], "", 3, "has no OAuth endpoints", id="oauth-unconfigured"
        ),
        pytest.param(
            ["openai", "--profile", "a b", "--stdin"], "k", 2, "is not a profile", id="bad-profile"
        ),
    ],
)
def test_login_refuses_bad_input(
    cli: Cli, args: list[str], stdin: str, code: int, fragment: str
) -> None:
    """Bad login input exits with its code and one line; nothing is stored."""
    result = cli.call("login", *args, stdin=stdin)

    assert_one_line_error(result, code, fragment)
    assert not cli.store_path.exists()


def test_logout_deletes_the_profile_and_a_second_logout_exits_4(cli: Cli) -> None:
    """Logout removes provider:default (or provider:NAME); a missing profile exits 4."""
    store = AuthStore(path=cli.store_path)
    store.put("openai:default", ApiKeyCredential(key=CANARY))
    store.put("anthropic:work", ApiKeyCredential(key=CANARY))

    plain = cli.run("logout", "openai")
    named = cli.call("logout", "anthropic:work")
    again = cli.call("logout", "anthropic:work")

    assert (0, 0) == (plain.code, named.code)
    assert "Logged out openai:default" in plain.stdout
    assert () == store.profiles()
    assert_one_line_error(again, 4, "anthropic:work is not in the auth store")


@pytest.fixture
def oauth_server() -> Iterator[FakeOAuthServer]:
    """
    A fake OAuth server whose tokens carry the leak mark.
    """
    with FakeOAuthServer(email="me@example.com", token_prefix=f"oauth-{LEAK_MARK}-") as server:
        yield server


def oauth_config(server: FakeOAuthServer, *, mode: str = "oauth") -> dict[str, object]:
    """
    The example config with anthropic's OAuth endpoints on the fake server.
    """
    config = example_config()
    config["providers"] = {
        "anthropic": {
            "api": "anthropic",
            "baseUrl": "https://api.anthropic.com",
            "oauth": {
                "authorizeUrl": server.authorize_url,
                "tokenUrl": server.token_url,
                "clientId": server.client_id,
                "scopes": ["api"],
            },
        }
    }
    config["auth"] = {"profiles": {"anthropic:default": {"provider": "anthropic", "mode": mode}}}
    return config


def approve_in_browser(process: subprocess.Popen[str]) -> list[str]:
    """
    Read the CLI's stderr up to the login URL and open it as a browser would.
    """
    seen: list[str] = []
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.strip().startswith("http://127.0.0.1"):
            with httpx.Client(trust_env=False, timeout=10) as client:
                client.get(line.strip(), follow_redirects=True)
            return seen
    raise AssertionError(f"no login URL on stderr: {seen}")


def test_oauth_login_end_to_end_against_the_fake_server(
    cli: Cli, oauth_server: FakeOAuthServer
) -> None:
    """A profile declared oauth logs in with PKCE on a loopback redirect; tokens go to the store only."""
    cli.write_config(oauth_config(oauth_server))

    process = cli.popen("login", "anthropic", "--timeout", "30")
    seen = approve_in_browser(process)
    stdout, stderr = process.communicate(timeout=30)

    stored = AuthStore(path=cli.store_path).get("anthropic:default")
    assert 0 == process.returncode, stderr
    assert isinstance(stored.credential if stored else None, OAuthCredential)
    assert 1 == oauth_server.verified_pkce
    assert "Logged in as me@example.com; stored OAuth tokens as anthropic:default" in stdout
    assert LEAK_MARK not in stdout + stderr + "".join(seen)


def test_oauth_login_denied_is_one_line_exit_1(cli: Cli, oauth_server: FakeOAuthServer) -> None:
    """A refused approval exits 1 with one error line and stores nothing."""
    oauth_server.deny = True
    cli.write_config(oauth_config(oauth_server, mode="api_key"))

    process = cli.popen("login", "anthropic", "--oauth", "--timeout", "30")
    approve_in_browser(process)
    _stdout, stderr = process.communicate(timeout=30)

    errors = [line for line in stderr.splitlines() if ": error:" in line]
    assert (1, 1) == (process.returncode, len(errors)), stderr
    assert "was not approved (access_denied)" in errors[0]
    assert "Traceback" not in stderr
    assert AuthStore(path=cli.store_path).get("anthropic:default") is None


def static_oauth_config(authorize_url: str, token_url: str) -> dict[str, object]:
    """
    The example config with anthropic OAuth endpoints that nothing serves.
    """
    config = example_config()
    config["providers"] = {
        "anthropic": {
            "api": "anthropic",
            "baseUrl": "https://api.anthropic.com",
            "oauth": {"authorizeUrl": authorize_url, "tokenUrl": token_url, "clientId": "c"},
        }
    }
    return config


def bad_oauth_config() -> dict[str, object]:
    """
    Endpoints the config loader lets through but no OAuth flow can use (bad port, fragment).
    """
    return static_oauth_config(
        "https://login.example.com:99999/authorize", "https://login.example.com/token#x"
    )


def test_oauth_login_with_bad_endpoints_is_a_config_error(cli: Cli) -> None:
    """Malformed OAuth endpoints make the config invalid: exit 3 naming each bad path, nothing stored."""
    cli.write_config(bad_oauth_config())

    result = cli.call("login", "anthropic", "--oauth", "--timeout", "5")

    assert 3 == result.code
    assert (
        "$.providers.anthropic.oauth.authorizeUrl: must be an absolute http(s) URL" in result.stderr
    )
    assert "$.providers.anthropic.oauth.tokenUrl: must not have a '#' fragment" in result.stderr
    assert "Traceback" not in result.stderr
    assert not cli.store_path.exists()


def test_validate_reports_bad_oauth_endpoints(cli: Cli) -> None:
    """validate refuses a config whose OAuth endpoints no login could use (exit 3), naming both."""
    cli.write_config(bad_oauth_config())

    result = cli.call("validate")

    assert 3 == result.code
    assert "$.providers.anthropic.oauth.authorizeUrl:" in result.stderr
    assert "$.providers.anthropic.oauth.tokenUrl:" in result.stderr


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "0", "-1"])
@pytest.mark.parametrize("command", ["login", "validate"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_a_usage_error(
    cli: Cli, command: str, timeout: str
) -> None:
    """--timeout nan, inf, 0 or below is refused in one line with exit 2."""
    cli.write_config(
        static_oauth_config("https://login.example.com/a", "https://login.example.com/t")
    )
    args = ["anthropic", "--oauth"] if command == "login" else []

    result = cli.call(command, *args, f"--timeout={timeout}")

    assert_one_line_error(result, 2, "--timeout must be a positive, finite number of seconds")


def test_ctrl_d_at_the_hidden_key_prompt_is_a_usage_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End of input at the hidden prompt exits 2 saying nothing was stored."""

    def eof(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(_login, "is_tty", lambda stream: True)
    monkeypatch.setattr(getpass, "getpass", eof)

    result = cli.call("login", "openai")

    assert_one_line_error(result, 2, "no API key was entered; nothing was stored")
    assert not cli.store_path.exists()


def test_login_warns_when_the_profile_is_outside_the_auth_order(cli: Cli) -> None:
    """A profile routing never uses is stored with a warning naming the command that adds it."""
    outside = cli.run("login", "openai", "--profile", "work", "--stdin", stdin=CANARY)
    inside = cli.run("login", "anthropic", "--profile", "work", "--stdin", stdin=CANARY)

    warnings = [line for line in outside.stderr.splitlines() if "warning:" in line]
    assert (0, 0) == (outside.code, inside.code)
    assert [
        "modelcfg: warning: openai:work is not in the auth order of openai (openai:default), so "
        "calls do not use it; to use it first, run `modelcfg auth order set openai openai:work "
        "openai:default` (or add it to auth.order.openai in the config)"
    ] == warnings
    assert "warning:" not in inside.stderr
    assert CANARY not in outside.output + inside.output


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        pytest.param(b"sk-abc\xff\xfedef0123456789\n", "is not valid UTF-8 text", id="not-utf-8"),
        pytest.param(b"k" * (16 * 1024 + 1), "longer than 16 KiB", id="too-long"),
        pytest.param("\u201csk-0123456789\u201d".encode(), "printable ASCII", id="curly-quotes"),
    ],
)
def test_login_stdin_refuses_input_that_is_not_a_key(cli: Cli, stdin: bytes, fragment: str) -> None:
    """Undecodable, oversized or non-ASCII input exits 2 with one clear line; nothing is stored."""
    result = cli.run("login", "openai", "--stdin", stdin=stdin)

    assert_one_line_error(result, 2, fragment, "nothing was stored")
    assert "codec" not in result.stderr
    assert not cli.store_path.exists()


def _read_until(fd: int, marker: bytes, timeout_s: float = 30.0) -> bytes:
    """
    Read a pty's output until *marker* appears (or the other side closes).
    """
    seen = b""
    deadline = time.monotonic() + timeout_s
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_a_key_typed_at_the_hidden_prompt_is_stored_without_echo(cli: Cli) -> None:
    """On a real terminal (a pty) the key typed at the getpass prompt is stored and never echoed."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [*cli.command(), "login", "openai", "--profile", "typed"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=cli.env,
        cwd=cli.home,
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
    )
    os.close(terminal)
    try:
        prompt = _read_until(controller, b"(input is hidden): ")
        os.write(controller, CANARY.encode() + b"\n")
        rest = _read_until(controller, b"auth.json.")
        code = process.wait(timeout=30)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()

    stored = AuthStore(path=cli.store_path).get("openai:typed")
    assert 0 == code, (prompt + rest).decode(errors="replace")
    assert b"API key for openai:typed (input is hidden): " in prompt
    assert b"Stored an API key as openai:typed" in rest
    assert ApiKeyCredential(key=CANARY) == (stored.credential if stored else None)
    assert CANARY.encode() not in prompt + rest

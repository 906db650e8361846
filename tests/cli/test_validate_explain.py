"""
``modelcfg validate`` and ``modelcfg explain``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_one_line_error, example_config, keys_for


def test_validate_reports_missing_credentials_with_exit_1(cli: Cli) -> None:
    """A chain provider without credentials is a problem: exit 1, with the hint."""
    cli.write_config(example_config())

    result = cli.run("validate")

    assert 1 == result.code
    assert "valid." in result.stdout
    assert "problem  openai: No credentials for openai" in result.stdout


def test_validate_passes_with_credentials_and_warns_on_image_models(cli: Cli) -> None:
    """With keys it exits 0; an image-chain model that takes no images is only a warning."""
    config = example_config()
    config["agent"]["models"]["openai/gpt-text"] = {"input": ["text"]}  # type: ignore[index]
    config["agent"]["imageModel"] = {"primary": "openai/gpt-text"}  # type: ignore[index]
    cli.write_config(config)

    result = cli.with_env(**keys_for("anthropic", "openai")).call("validate", "--json")

    levels = {(f["level"], f["subject"]) for f in result.json()["findings"]}
    assert 0 == result.code
    assert ("warning", "openai/gpt-text (agent.imageModel)") in levels
    assert ("ok", "anthropic") in levels


def test_validate_prints_every_config_problem_and_exits_3(cli: Cli) -> None:
    """An invalid config exits 3 and lists each problem with its JSON path."""
    cli.write_config({"agent": {"model": {"primary": "gpt5"}}, "agnet": {}})

    result = cli.run("validate")

    assert 3 == result.code
    assert "modelcfg: error: the configuration in" in result.stderr
    assert "$.agnet: unknown key (did you mean 'agent'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_explicit_missing_config_exits_3(cli: Cli, tmp_path: Path) -> None:
    """--config naming a missing file exits 3 in one line."""
    result = cli.call("validate", "--config", str(tmp_path / "missing.json"))

    assert_one_line_error(result, 3, "does not exist")


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def models_server() -> Iterator[str]:
    """
    A loopback server answering GET /v1/models; yields its base URL.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_validate_network_checks_each_base_url(cli: Cli, models_server: str) -> None:
    """--network GETs BASE/models: a live server is ok, a closed port is a problem."""
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    dead_port = closed.server_address[1]
    closed.server_close()
    cli.write_config(
        {
            "providers": {
                "live": {"baseUrl": models_server, "apiKeyEnv": ["LIVE_KEY"]},
                "dead": {"baseUrl": f"http://127.0.0.1:{dead_port}/v1", "apiKeyEnv": ["DEAD_KEY"]},
            },
            "agent": {"model": {"primary": "live/m1", "fallbacks": ["dead/m2"]}},
        }
    )

    result = cli.with_env(LIVE_KEY="k" * 24, DEAD_KEY="k" * 24).run(
        "validate", "--network", "--timeout", "2", "--json"
    )

    findings = {(f["subject"], f["level"]): f["message"] for f in result.json()["findings"]}
    assert 1 == result.code
    assert f"{models_server}/models answered HTTP 200" == findings[("live", "ok")]
    assert "did not answer (ConnectError)" in findings[("dead", "problem")]


SUCCESS = {
    "events": [
        {"fail": "rate_limited", "status": 429},
        {"fail": "server", "status": 500},
        {"succeed": True},
    ]
}


def test_explain_prints_each_decision_and_exits_0_on_success(cli: Cli) -> None:
    """A replay that ends in success prints the decisions with reasons, exit 0."""
    cli.write_config(example_config())
    script = cli.home / "script.json"
    script.write_text(json.dumps(SUCCESS), encoding="utf-8")

    result = cli.run("explain", str(script))

    assert (0, "") == (result.code, result.stderr)
    assert result.stdout.startswith("0. [00:00:00 +0.00 s] start -> call anthropic/claude-opus-4-5")
    assert "rotate_profile" in result.stdout
    assert "-> done with" in result.stdout


def test_explain_json_and_toml_scripts_and_give_up_exit_6(cli: Cli) -> None:
    """A TOML script that gives up exits 6; --json lists the steps with actions."""
    cli.write_config(example_config())
    script = cli.home / "script.toml"
    script.write_text(
        '[[events]]\nfail = "content_filter"\nmessage = "blocked"\n', encoding="utf-8"
    )

    result = cli.call("explain", str(script), "--json")

    steps = result.json()["steps"]
    assert 6 == result.code
    assert ["call", "give_up"] == [s["action"] for s in steps]
    assert "not_retryable" == steps[-1]["reason"]["code"]


def test_explain_uses_store_order_overrides(cli: Cli) -> None:
    """The replay routes with the auth store's order override."""
    cli.write_config(example_config())
    cli.call("auth", "order", "set", "anthropic", "work", "default")

    result = cli.call("explain", "-", "--json", stdin=json.dumps({"events": []}))

    assert "anthropic:work" == result.json()["steps"][0]["target"]["profile"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(
            '{"events": [{"fail": "ratelimit"}]}', "did you mean 'rate_limited'", id="bad-kind"
        ),
        pytest.param('{"evnts": []}', "did you mean 'events'", id="bad-key"),
        pytest.param("{", "is not valid JSON", id="not-json"),
        pytest.param("[]", "must hold an object", id="not-object"),
        pytest.param(
            '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "is nested too deeply",
            id="deeply-nested",
        ),
    ],
)
def test_explain_bad_script_exits_2(cli: Cli, content: str, fragment: str) -> None:
    """A malformed script exits 2 with one line naming the problem."""
    script = cli.home / "bad.json"
    script.write_text(content, encoding="utf-8")

    result = cli.run("explain", str(script))

    assert_one_line_error(result, 2, fragment)


def test_explain_missing_script_exits_2(cli: Cli) -> None:
    """A script file that does not exist exits 2."""
    result = cli.call("explain", str(cli.home / "nope.json"))

    assert_one_line_error(result, 2, "cannot read the script")


def test_explain_without_a_chain_exits_3(cli: Cli) -> None:
    """A config without agent.model cannot route: a config error, exit 3."""
    cli.write_config({"agent": {"models": {"openai/gpt-5.2": {}}}})
    script = cli.home / "s.json"
    script.write_text("{}", encoding="utf-8")

    result = cli.call("explain", str(script))

    assert 3 == result.code
    assert "$.agent.model: is required" in result.stderr

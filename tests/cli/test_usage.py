"""
Tests for ``modelcfg usage``: tables, JSON, charts and errors, over a real SQLite ledger.
"""

from __future__ import annotations

import datetime
import io
import re
import shlex
from pathlib import Path

import pytest

from modelcfg import FailureKind, ModelRef, ProfileId, Usage
from modelcfg._cli._demo import demo
from modelcfg.usage import Rates, SQLiteLedger, UsageRecord, cost_of
from tests.cli.conftest import Cli, assert_one_line_error

CLI_DOC = Path(__file__).parents[2] / "docs" / "cli.md"
JUNE_14 = datetime.datetime(2025, 6, 14, tzinfo=datetime.UTC).timestamp()
RATES = {
    "openai/gpt-5": Rates(input="1.25", output="10", cache_read="0.125"),
    "anthropic/claude-sonnet-4-5": Rates(input="3", output="15", cache_read="0.3"),
    "ollama/llama3.3": Rates(),
}
SPAN = "--since 2025-06-14 --until 2025-06-16"


def fill(path: Path) -> Path:
    """The ledger docs/cli.md shows: two days of a chat app's requests, one of them failing over."""
    attempts = [
        # (hours after June 14, request, attempt, model, answered, input, output, cache read)
        (1, "r1", 1, "anthropic/claude-sonnet-4-5", False, 12_000, 150, 0),
        (1, "r1", 2, "openai/gpt-5", True, 12_000, 900, 0),
        (9, "r2", 1, "openai/gpt-5", True, 3_000, 1_200, 8_000),
        (20, "r3", 1, "ollama/llama3.3", True, 2_000, 400, 0),
        (26, "r4", 1, "anthropic/claude-sonnet-4-5", True, 40_000, 2_500, 30_000),
        (30, "r5", 1, "openai/gpt-5", True, 5_000, 700, 0),
    ]
    with SQLiteLedger(path, retention_s=None) as ledger:
        for hours, request, attempt, model, answered, input_, output, cached in attempts:
            usage = Usage(input_tokens=input_, output_tokens=output, cache_read_tokens=cached)
            ref = ModelRef.parse(model)
            ledger.record(
                UsageRecord(
                    at=JUNE_14 + hours * 3600,
                    request_id=request,
                    attempt=attempt,
                    model=ref,
                    profile=ProfileId(provider=ref.provider, name="default"),
                    session="chat-1" if hours < 24 else "chat-2",
                    usage=usage,
                    cost=cost_of(usage, RATES[model]),
                    answered=answered,
                    failure=None if answered else FailureKind.OVERLOADED,
                )
            )
    return path


@pytest.fixture
def ledger_cli(cli: Cli) -> Cli:
    """A runner whose MODELCFG_LEDGER names the documented ledger."""
    return cli.with_env(MODELCFG_LEDGER=str(fill(cli.home / "usage.db")))


def _documented() -> list[tuple[str, list[str]]]:
    blocks = re.findall(r"```text\n(.*?)```", CLI_DOC.read_text(encoding="utf-8"), flags=re.S)
    found = []
    for block in blocks:
        if block.startswith("$ modelcfg usage"):
            command, *output = block.rstrip("\n").split("\n")
            found.append((command[2:], output))
    return found


@pytest.mark.parametrize(("command", "expected"), _documented(), ids=lambda v: str(v)[:40])
def test_the_documented_examples_are_what_usage_prints(
    ledger_cli: Cli, command: str, expected: list[str]
) -> None:
    """Each `modelcfg usage` example of docs/cli.md prints exactly what is shown."""
    result = ledger_cli.call(*shlex.split(command)[1:])

    assert (0, expected) == (result.code, result.stdout.rstrip("\n").split("\n"))


def test_the_documented_examples_are_found() -> None:
    """docs/cli.md has a table example and a chart example of `modelcfg usage`."""

    assert 2 <= len(_documented())


def test_json_gives_exact_decimal_costs_and_every_count(ledger_cli: Cli) -> None:
    """--json prints costs as decimal strings and splits failures from answers."""
    result = ledger_cli.call("usage", *shlex.split(SPAN), "--by", "provider", "--json")
    data = result.json()
    anthropic = next(row for row in data["rows"] if row["key"] == "anthropic")

    assert (0, "2025-06-14T00:00:00Z", "2025-06-16T00:00:00Z") == (
        result.code,
        data["since"],
        data["until"],
    )
    assert {
        "key": "anthropic",
        "requests": 2,
        "attempts": 2,
        "failures": 1,
        "input_tokens": 52_000,
        "output_tokens": 2_650,
        "cache_read_tokens": 30_000,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": "0.20475",
        "failure_cost_usd": "0.03825",
        "unpriced_attempts": 0,
        "cost_known": True,
    } == anthropic
    assert ("0.25875", 1) == (data["total"]["cost_usd"], data["total"]["unpriced_attempts"])


def test_top_keeps_the_costliest_rows_and_sums_the_rest(ledger_cli: Cli) -> None:
    """--top N shows N rows and one line for the others; the total is unchanged."""
    result = ledger_cli.call("usage", *shlex.split(SPAN), "--by", "model", "--top", "1")
    lines = result.stdout.splitlines()

    assert lines[4].startswith("anthropic/claude-sonnet-4-5")
    assert lines[5].startswith("(2 more)")
    assert lines[6].startswith("total")


def test_without_a_ledger_the_report_is_empty_and_says_where_it_looked(cli: Cli) -> None:
    """No ledger file: a note naming the path, an empty table, exit 0."""
    result = cli.call("usage")

    assert 0 == result.code
    assert f"no usage ledger at {cli.home / 'usage.db'} yet" in result.stderr
    assert "(no attempts recorded in this range)" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--since", "last tuesday"], "--since: 'last tuesday' is not a time"),
        (["--until", "2025-13-01"], "--until: '2025-13-01' is not a time"),
        (["--since", "1d", "--until", "2d"], "must come before --until"),
    ],
)
def test_bad_times_are_usage_errors(ledger_cli: Cli, args: list[str], fragment: str) -> None:
    """A time that cannot be read, or a range that ends before it starts, exits 2 in one line."""
    assert_one_line_error(ledger_cli.call("usage", *args), 2, fragment)


def test_a_file_that_is_not_a_ledger_is_an_error_and_is_left_alone(cli: Cli) -> None:
    """A corrupt ledger is reported in one line (exit 1) and never overwritten."""
    path = cli.home / "broken.db"
    path.write_bytes(b"garbage " * 64)

    result = cli.call("usage", "--ledger", str(path))

    assert_one_line_error(result, 1, "could not be opened", str(path))
    assert b"garbage " * 64 == path.read_bytes()


def test_the_console_script_prints_the_report(ledger_cli: Cli) -> None:
    """The installed `modelcfg usage` command prints the same table as main()."""
    result = ledger_cli.run("usage", *shlex.split(SPAN), "--by", "day")

    assert (0, ledger_cli.call("usage", *shlex.split(SPAN), "--by", "day").stdout) == (
        result.code,
        result.stdout,
    )


def test_the_demo_prints_the_cost_of_each_request_and_the_readmes_usage_table() -> None:
    """`modelcfg demo` prices each answer and ends with the usage table the README shows."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("```text\nmodel ", 1)[1].split("```", 1)[0]
    out = io.StringIO()
    demo(out)
    printed = out.getvalue()

    assert [] == [line for line in f"model {table}".splitlines() if line not in printed]
    assert 2 == printed.count("ok    answered (12 input + 11 output tokens, $0.000175)")

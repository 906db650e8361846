"""
The command line in a real terminal and in a pipe: widths, ``--wide``, colour, ``--version``, completion.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelcfg
from modelcfg._cli import main
from modelcfg._cli._common import fit_table, no_config_note
from tests.cli.conftest import Cli

ANSI = "\033["


@attrs.frozen
class Terminal:
    """A pseudo-terminal: *stream* writes to it as an interactive stdout does; read() gets it back."""

    stream: TextIO
    leader: int

    def read(self) -> str:
        """Everything written so far (the terminal turns each newline into CR LF)."""
        self.stream.flush()
        chunks = []
        while select.select([self.leader], [], [], 0)[0]:
            chunks.append(os.read(self.leader, 65536))
        return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A fresh pseudo-terminal."""
    leader, follower = os.openpty()
    stream = os.fdopen(follower, "w", encoding="utf-8")
    try:
        yield Terminal(stream, leader)
    finally:
        stream.close()
        os.close(leader)


def test_tables_fit_80_columns_in_a_pipe(cli: Cli) -> None:
    """Without a terminal, models list fits 80 columns and keeps every model id whole."""
    result = cli.call("models", "list")
    wide = cli.call("models", "list", "--wide")

    lines = result.stdout.splitlines()
    assert 0 == result.code
    assert 80 >= max(len(line) for line in lines)
    assert ["MODEL", "ALIAS", "AUTH", "TAGS"] == lines[0].split()
    assert "openrouter/meta-llama/llama-3.3-70b-instruct" == lines[5].split()[0]
    assert 80 < max(len(line) for line in wide.stdout.splitlines())
    assert "AUTH ORDER" in wide.stdout.splitlines()[0]


def test_columns_sets_the_width(cli: Cli) -> None:
    """$COLUMNS, when set, is the width tables fit."""
    result = cli.with_env(COLUMNS="120").call("models", "list")

    assert 120 >= max(len(line) for line in result.stdout.splitlines())
    assert 80 < max(len(line) for line in result.stdout.splitlines())


def test_a_terminal_hears_which_columns_were_left_out(cli: Cli, terminal: Terminal) -> None:
    """On a terminal, the columns dropped to fit are named on stderr, with --wide as the way back."""
    out = io.StringIO()

    code = main(
        ["models", "list"], environ={**cli.env, "COLUMNS": "80"}, stdout=out, stderr=terminal.stream
    )

    assert 0 == code
    assert 80 >= max(len(line) for line in out.getvalue().splitlines())
    assert (
        "modelcfg: left out PROVIDER, AUTH ORDER, INPUT, CONTEXT to fit 80 columns "
        "(--wide shows every column)"
    ) in terminal.read().splitlines()


@given(
    headers=st.lists(st.text("ABC", min_size=1, max_size=6), min_size=1, max_size=6),
    data=st.data(),
    width=st.integers(min_value=40, max_value=120),
)
def test_a_fitted_table_is_never_wider_than_it_can_be(
    headers: list[str], data: st.DataObject, width: int
) -> None:
    """Any table fits the width whenever its headers alone (at four characters or more) would."""
    cells = st.text("xyz …", max_size=60)
    rows = data.draw(st.lists(st.lists(cells, min_size=len(headers), max_size=len(headers))))

    text, dropped = fit_table(headers, rows, width=width)

    floor = sum(max(len(h), 4) for h in headers) + 2 * (len(headers) - 1)
    assert [] == dropped
    assert width >= max(len(line) for line in text.splitlines()) or floor > width


def test_version_prints_the_package_version(cli: Cli) -> None:
    """--version prints `modelcfg VERSION` and exits 0."""
    result = cli.call("--version")

    assert (0, f"modelcfg {modelcfg.__version__}\n") == (result.code, result.stdout)


def test_colour_only_on_a_terminal_without_no_color(cli: Cli, terminal: Terminal) -> None:
    """A terminal gets a bold header; NO_COLOR, --color=never and a pipe get none; --color=always does."""
    env = {**cli.env, "TERM": "xterm", "COLUMNS": "80"}

    def first_line(*args: str, environ: dict[str, str], tty: bool) -> str:
        out: TextIO = terminal.stream if tty else io.StringIO()
        main(["models", "list", *args], environ=environ, stdout=out, stderr=io.StringIO())
        text = terminal.read() if tty else out.getvalue()  # type: ignore[attr-defined]
        return text.splitlines()[0]

    assert first_line(environ=env, tty=True).startswith(f"{ANSI}1mMODEL")
    assert ANSI not in first_line(environ={**env, "NO_COLOR": "1"}, tty=True)
    assert ANSI not in first_line("--color=never", environ=env, tty=True)
    assert ANSI not in first_line(environ={**env, "TERM": "dumb"}, tty=True)
    assert ANSI not in first_line(environ=env, tty=False)
    assert first_line("--color=always", environ={**env, "NO_COLOR": "1"}, tty=False).startswith(
        ANSI
    )


def test_bash_completion_offers_commands_subcommands_and_options(cli: Cli, tmp_path: Path) -> None:
    """The bash script, sourced in a real bash, completes commands, subcommands, options and files."""
    script = tmp_path / "modelcfg.bash"
    script.write_text(cli.call("completion", "bash").stdout)
    (tmp_path / "conf.json").write_text("{}")

    def complete(*words: str) -> list[str]:
        line = " ".join(["modelcfg", *words])
        probe = (
            f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; "
            "_modelcfg; printf '%s\\n' \"${COMPREPLY[@]}\""
        )
        done = subprocess.run(
            ["bash", "--norc", "-c", probe],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
            check=True,
        )
        return sorted(done.stdout.split())

    assert ["models"] == complete("mod")
    assert ["list"] == complete("models", "li")
    assert ["--all"] == complete("models", "list", "--al")
    assert ["resolve"] == complete("--wide", "models", "res")
    assert ["fallbacks"] == complete("--wide", "models", "fallb")
    assert ["add"] == complete("models", "fallbacks", "ad")
    assert ["conf.json"] == complete("--config", "co")
    assert ["bash", "zsh"] == [w for w in complete("completion", "") if not w.startswith("-")]


def test_zsh_completion_is_a_compdef_function_naming_every_command(cli: Cli) -> None:
    """The zsh script is a #compdef function that knows every command and subcommand."""
    text = cli.call("completion", "zsh").stdout

    assert text.startswith("#compdef modelcfg\n")
    assert '"models fallbacks add"' in text
    assert "offered=" in text


def test_doctor_says_when_there_are_no_credentials(cli: Cli) -> None:
    """On a machine with no stored profile and no key variable, doctor says so."""
    bare = cli.call("doctor")
    keyed = cli.with_env(OPENAI_API_KEY="sk-terminal-0123456789").call("doctor")
    data = cli.call("doctor", "--json").json()

    assert "No credentials: the auth store" in bare.stdout
    assert "No credentials" not in keyed.stdout
    assert {"stored": 0, "envSet": []} == data["credentials"]
    assert "sk-terminal" not in keyed.output


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"MODELCFG_HOME": "/srv/m"},
            "run `modelcfg init`, create $MODELCFG_HOME/config.json or pass --config",
            id="home-set",
        ),
        pytest.param(
            {"HOME": "/home/me"},
            "run `modelcfg init`, create /home/me/.config/modelcfg/config.json or pass --config",
            id="only-home",
        ),
        pytest.param({}, "pass --config", id="nothing"),
    ],
)
def test_the_no_config_note_names_only_variables_that_are_set(
    environ: dict[str, str], expected: str
) -> None:
    """The note about the bundled config names $MODELCFG_HOME only when it is set."""
    assert f"no config file found; using the bundled example config ({expected})" == no_config_note(
        environ
    )

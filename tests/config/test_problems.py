"""
Tests for how mapping keys are written in JSON paths.
"""

from __future__ import annotations

import pytest

from modelcfg._config._migrate import migrate_config
from modelcfg._config._problems import quoted


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("openai/gpt-5.2", "'openai/gpt-5.2'"),
        ("it's", "'it\\'s'"),
        ("a\\b", "'a\\\\b'"),
        ("line\nbreak", "'line\\nbreak'"),
        ("\x00\t", "'\\x00\\t'"),
        ("caf\u00e9", "'caf\u00e9'"),
    ],
    ids=["plain", "quote", "backslash", "newline", "control", "non-ascii letter"],
)
def test_a_key_is_quoted_on_one_line(key: str, expected: str) -> None:
    """quoted() escapes quotes, backslashes and control characters, and keeps printable text."""

    assert expected == quoted(key)


def test_a_migration_change_about_a_key_with_a_newline_is_one_line() -> None:
    """A legacy alias named with a newline is reported in a one-line change."""
    _, changes = migrate_config({"agent": {"modelAliases": {"\n": None}}})

    assert all("\n" not in str(change) for change in changes)

"""
Tests for the total JSON readers the adapters parse provider answers with.
"""

from __future__ import annotations

import pytest

from modelcfg.adapters._json import loads_object


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}', {"a": 1}),
        ('{"a": "\u00e9"}'.encode("utf-16"), {"a": "\u00e9"}),
        ('{"a": 1}', {"a": 1}),
        (b"[1, 2]", None),
        (b"not json", None),
        (b"\xff\xfe\xfa", None),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, None),
    ],
    ids=["utf-8 bytes", "utf-16 bytes", "text", "a list", "not json", "not unicode", "too deep"],
)
def test_loads_object_reads_objects_and_never_raises(data: str | bytes, expected: object) -> None:
    """loads_object() returns the object of JSON bytes or text, and None for anything else."""

    assert expected == loads_object(data)

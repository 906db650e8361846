"""
Build frozen attrs records from values the decision core already trusts.

A frozen attrs class sets each field in ``__init__`` through
``object.__setattr__`` by name, after its converters and validators. Every
decision builds a handful of small records (a window, a counter, a health
snapshot, a skip, a reason, a call, the next state), and setting their slots
through the member descriptors directly costs about half as much.

Only values that ``__init__`` would store unchanged may be passed this way: each
builder is a private fast path beside the public constructor, never a way round
its checks. ``tests/test_slots.py`` checks every builder against ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["slot_setters"]

Setter = Callable[[object, object], None]


def slot_setters(cls: type) -> tuple[Setter, ...]:
    """
    The slot setters of *cls*'s attrs fields, in field order.

    Unpack them into module-level names next to the builder that uses them, so a
    field added to *cls* breaks the unpacking at import time rather than leaving
    a slot unset.

    Raises:
        TypeError: *cls* is not a slotted attrs class.
    """
    setters = []
    for field in attrs.fields(cls):
        descriptor = cls.__dict__.get(field.name)
        if descriptor is None or not hasattr(descriptor, "__set__"):
            raise TypeError(f"{cls.__name__}.{field.name} is not a slot")
        setters.append(descriptor.__set__)
    return tuple(setters)

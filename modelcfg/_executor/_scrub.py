"""
Keeping secrets out of chained exceptions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Final

import httpx

from modelcfg._core._redact import redact
from modelcfg.adapters._classify import duck_status
from modelcfg.exceptions import (
    RedactedError,
)

# --- keeping secrets out of chained exceptions ------------------------------------------------

_SCAN_DEPTH: Final = 6
_SCAN_NODES: Final = 5_000


def chainable(exc: BaseException, credential: str | None) -> BaseException:
    """
    What to chain as ``__cause__`` of the error the caller sees, for *exc* that an
    attempt raised after sending *credential*.

    Providers and SDKs echo keys back, and not only in messages: an SDK exception
    keeps the error body, the response and the request (whose headers hold the key),
    and chains further exceptions. *exc* is chained as it is when none of that holds
    the credential. Otherwise a stand-in is chained and *exc* itself is left alone
    (never mutated: it belongs to the host's SDK): an httpx transport error becomes
    a copy of its own class with the key masked and no request attached; anything
    else becomes a :class:`~modelcfg.exceptions.RedactedError` naming the original
    class, its status and its masked message. Causes and contexts are treated the
    same way; the traceback is kept.
    """
    if not credential or len(credential) < 4 or not _holds(exc, credential):
        return exc
    return _stand_in(exc, credential, set())


def _stand_in(exc: BaseException, secret: str, seen: set[int]) -> BaseException:
    seen.add(id(exc))
    try:
        text = str(exc)
    except Exception:  # a broken __str__ says nothing
        text = ""
    message = redact(text, secret)
    replacement: BaseException
    if isinstance(exc, httpx.RequestError) and type(exc).__init__ is httpx.RequestError.__init__:
        replacement = type(exc)(message)
    else:
        replacement = RedactedError(
            f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__,
            type_name=f"{type(exc).__module__}.{type(exc).__qualname__}",
            status=duck_status(exc),
        )

    def link(other: BaseException | None) -> BaseException | None:
        if other is None or id(other) in seen:
            return None
        if not _holds(other, secret):
            return other
        return _stand_in(other, secret, seen)

    replacement.__cause__ = link(exc.__cause__)
    replacement.__context__ = link(exc.__context__)
    replacement.__suppress_context__ = exc.__suppress_context__
    return replacement.with_traceback(exc.__traceback__)


def _holds(root: object, secret: str) -> bool:
    """
    Whether *secret* appears anywhere in *root*: its text, arguments, attributes,
    bodies, headers, requests and responses, and the exceptions chained to it.

    Fails closed: a scan cut short (more than ``_SCAN_NODES`` values, or something
    deeper than ``_SCAN_DEPTH`` left unread) counts as holding the secret, so the
    caller chains a masked stand-in rather than what it could not check.
    """
    needle = secret.encode()
    stack: list[tuple[object, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack:
        if len(seen) >= _SCAN_NODES:
            return True
        value, depth = stack.pop()
        if value is None or isinstance(value, bool | int | float) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, str):
            if secret in value:
                return True
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            if needle in bytes(value):
                return True
            continue
        children: list[object] = []
        if isinstance(value, BaseException):
            with contextlib.suppress(Exception):
                children.append(str(value))
            children += [value.args, getattr(value, "__notes__", None)]
            children += [value.__cause__, value.__context__]
        if isinstance(value, httpx.Request | httpx.Response):
            children += [str(value.url) if isinstance(value, httpx.Request) else None]
            children.append(list(value.headers.raw))
            with contextlib.suppress(Exception):
                children.append(value.content)  # only when read
            children.append(getattr(value, "_request", None))
        elif isinstance(value, Mapping):
            with contextlib.suppress(Exception):
                children += [item for pair in value.items() for item in pair]
        elif isinstance(value, list | tuple | set | frozenset):
            children += list(value)
        with contextlib.suppress(Exception):
            children += list(vars(value).values())
        for name in getattr(type(value), "__slots__", ()):
            with contextlib.suppress(Exception):
                children.append(getattr(value, name))
        if depth >= _SCAN_DEPTH:
            # Texts at the limit are still read; anything that would need a deeper walk
            # is left unread, so the scan cannot say the secret is absent.
            terminal = [child for child in children if _is_terminal(child)]
            if len(terminal) < len(children):
                return True
            children = terminal
        stack.extend((child, depth + 1) for child in children)
    return False


def _is_terminal(value: object) -> bool:
    """
    Whether the scan reads *value* without walking into it: ``None``, a number, a text.
    """
    return value is None or isinstance(value, bool | int | float | str | bytes | bytearray)

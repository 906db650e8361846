"""
Small, total readers for provider JSON: they never raise on a wrong shape.
"""

from __future__ import annotations

import json

from modelcfg.typing import JSON, JSONObject

__all__ = ["as_int", "as_list", "as_object", "as_str", "dumps", "loads_object"]


def as_object(value: object) -> JSONObject:
    """
    The value if it is a JSON object, else an empty one.
    """
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[JSON]:
    """
    The value if it is a JSON array, else an empty one.
    """
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    """
    The value if it is a string, else ``None``.
    """
    return value if isinstance(value, str) else None


def as_int(value: object) -> int:
    """
    The value if it is a non-negative integer (or an integral float), else 0.
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and value.is_integer():
        return max(int(value), 0)
    return 0


def dumps(value: JSON) -> str:
    """
    Compact JSON text.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads_object(text: str | bytes) -> JSONObject | None:
    """
    Parse JSON that must be an object; ``None`` when it is not, or cannot be read.

    Bytes are decoded as JSON itself says (UTF-8, or UTF-16/32 by their first
    bytes), without the charset sniffing of ``httpx.Response.text``.
    """
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or not Unicode); nested too deeply
        return None
    return value if isinstance(value, dict) else None

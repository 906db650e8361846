"""
The curated catalog shipped with modelcfg as data.

``modelcfg/_catalog/data/curated.json`` lists model families (OpenAI, Anthropic, Google
and OpenRouter-served models); :func:`curated_catalog` reads it on first use,
expands the families with :func:`modelcfg._catalog._families.build_catalog` and caches the
result for the life of the process. Importing this module reads nothing.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Final

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._families import build_catalog
from modelcfg._catalog._records import CatalogSource

__all__ = ["curated_catalog", "curated_data"]

_DATA_FILE: Final = "curated.json"


def curated_data() -> dict[str, object]:
    """
    Return the curated catalog's raw data, freshly parsed (callers may change it).

    Raises:
        ValueError: The shipped file is not a JSON object.
    """
    text = (
        resources.files("modelcfg._catalog")
        .joinpath("data", _DATA_FILE)
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"the curated catalog {_DATA_FILE} must hold a JSON object")
    return data


@functools.cache
def curated_catalog() -> ModelCatalog:
    """
    Return the curated catalog, built from the shipped data on the first call.

    Raises:
        ValueError: The shipped data is invalid (a packaging bug; the tests load it).

    .. versionadded:: 0.1.0
    """
    return build_catalog(curated_data(), source=CatalogSource.CURATED)

"""
The loggers of modelcfg's modules, under a ``modelcfg`` logger with a ``NullHandler``.

modelcfg logs through ``logging`` and never configures it. A host that has not
configured logging would still see warnings ("request gave up: ...") on stderr,
through ``logging.lastResort``; the ``NullHandler`` on the ``modelcfg`` logger
keeps them out, as the logging HOWTO asks of libraries. A host that configures
logging sees every record as usual.

It is set up here, on the first import of a module that logs, and not in
``modelcfg/__init__.py``: ``import modelcfg`` does not load ``logging``.
"""

from __future__ import annotations

import logging

__all__ = ["logger_for"]

_PACKAGE = logging.getLogger("modelcfg")
if not any(isinstance(handler, logging.NullHandler) for handler in _PACKAGE.handlers):
    _PACKAGE.addHandler(logging.NullHandler())


def logger_for(name: str) -> logging.Logger:
    """
    The logger of the modelcfg module *name* (pass ``__name__``).
    """
    return logging.getLogger(name)

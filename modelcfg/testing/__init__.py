"""
Fakes for host applications' own tests: real local servers that misbehave on purpose.

- :class:`FakeProvider`: an HTTP server on 127.0.0.1 speaking the OpenAI and
  Anthropic wire formats, where the requested model name picks the behaviour
  (``ok``, ``429-once``, ``503``, ``reset``, ``silent``, ``cut``, ``stall``, ...).
- :class:`FakeOAuthServer`: an OAuth 2 authorization server on 127.0.0.1 with PKCE.

Both are context managers and never listen on anything but loopback.
"""

from __future__ import annotations

from modelcfg.testing._models import FakeModelsServer
from modelcfg.testing._oauth import FakeOAuthServer
from modelcfg.testing._provider import BEHAVIOURS, FakeProvider, Flap, RecordedRequest

__all__ = ["BEHAVIOURS", "FakeOAuthServer", "FakeProvider", "Flap", "RecordedRequest"]
__all__ += ["FakeModelsServer"]

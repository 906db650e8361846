"""
Test doubles for host applications' own tests (and modelcfg's).

- :class:`FakeProvider`: a real HTTP server on 127.0.0.1 speaking the OpenAI and
  Anthropic wire formats, where the requested model name picks the behaviour
  (``ok``, ``429-once``, ``503``, ``reset``, ``silent``, ``cut``, ``stall``, ...;
  see :data:`BEHAVIOURS`).
- :class:`FakeOAuthServer`: an OAuth 2 authorization server on 127.0.0.1 with PKCE.
- :class:`FakeModelsServer`: OpenRouter's, an OpenAI-compatible and Anthropic's model
  listings on 127.0.0.1, for catalog discovery.
- :class:`ScriptedTransport`: an ``httpx.MockTransport`` that answers from a list of
  responses and exceptions and records every request, for tests without a socket.
- :class:`FakeClock`: a clock and a sleep that never wait, recording every delay.

The servers are context managers and never listen on anything but loopback.
"""

from __future__ import annotations

from modelcfg.testing._clock import FakeClock
from modelcfg.testing._models import FakeModelsServer
from modelcfg.testing._oauth import FakeOAuthServer
from modelcfg.testing._provider import BEHAVIOURS, FakeProvider, Flap, RecordedRequest
from modelcfg.testing._transport import ScriptedTransport, ScriptExhaustedError, Step

__all__ = [
    "BEHAVIOURS",
    "FakeClock",
    "FakeModelsServer",
    "FakeOAuthServer",
    "FakeProvider",
    "Flap",
    "RecordedRequest",
    "ScriptExhaustedError",
    "ScriptedTransport",
    "Step",
]

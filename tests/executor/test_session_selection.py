"""
Choosing the default model with ``/model`` clears the session's choice.
"""

from __future__ import annotations

import json

import httpx
import pytest

from modelcfg import (
    ChatRequest,
    Message,
    ModelRef,
    ProfileId,
    Selection,
    SessionState,
    StaticCredentials,
    load_config,
    resolve_model,
)
from modelcfg._executor._executor import Executor
from modelcfg.stores import MemoryStateStore

pytestmark = pytest.mark.anyio

HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
CONFIG = load_config(
    {
        "agent": {
            "models": {"openai/gpt-5.2": {"alias": "main"}, "openai/gpt-5-mini": {"alias": "mini"}},
            "model": {"primary": "main", "fallbacks": ["mini"]},
        }
    }
)
PRIMARY = ModelRef.parse("openai/gpt-5.2")
MINI = ModelRef.parse("openai/gpt-5-mini")


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        pytest.param(Selection(model=PRIMARY), None, id="the-default-clears"),
        pytest.param(Selection(model=MINI), Selection(model=MINI), id="another-model-is-kept"),
        pytest.param(
            Selection(model=PRIMARY, profile=ProfileId.parse("openai:work")),
            Selection(model=PRIMARY, profile=ProfileId.parse("openai:work")),
            id="the-default-with-a-profile-is-kept",
        ),
        pytest.param(None, None, id="none-clears"),
    ],
)
def test_choosing_the_default_clears_the_override(
    chosen: Selection | None, expected: Selection | None
) -> None:
    """Only the chain's primary without a profile goes back to the chain; other choices stay."""
    session = SessionState(override=Selection(model=MINI))

    assert expected == session.with_selection(chosen, default=PRIMARY).override


async def test_the_executor_clears_the_session_choice_for_the_default() -> None:
    """After /model mini then /model main, the stored session has no choice and main answers."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        name = str(json.loads(request.content)["model"])
        seen.append(name)
        return httpx.Response(
            200,
            json={
                "id": "c",
                "model": name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": name},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
        )

    store = MemoryStateStore()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        executor = Executor.from_config(
            CONFIG,
            client=client,
            credentials=StaticCredentials({"openai:default": "sk-fake-0123456789abcdef"}),
            store=store,
        )
        await executor.complete(HELLO, session_id="s", selection=resolve_model("mini", CONFIG))
        chosen = (await store.load_session("s")).override
        await executor.complete(HELLO, session_id="s", selection=resolve_model("main", CONFIG))
        cleared = (await store.load_session("s")).override

    assert (["gpt-5-mini", "gpt-5.2"], Selection(model=MINI), None) == (seen, chosen, cleared)

"""
What the fleet, fault and load tests share: an executor over one store, and a worker process.

Run as ``python -m tests.stores._fleet SPEC`` (SPEC is JSON), it is one worker of a
fleet: it sends its requests through an executor whose store it shares with the
other workers, writes what it saw to a file, waits for the others, and then reads
the sessions another worker wrote.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import attrs
import httpx

from modelcfg import (
    AttemptsExhaustedError,
    AttemptStarted,
    ChatRequest,
    Config,
    Executor,
    ExecutorEvent,
    FailureKind,
    KindRule,
    Message,
    Policy,
    Selection,
    StaticCredentials,
    load_config,
)
from modelcfg._core._state import dump_state
from modelcfg.stores import MemoryStateStore, RedisStateStore, SqliteStateStore

HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
KEY = "sk-fleet-test-key-0123456789"
WINDOW_S = 0.1
"""How long the dead primary cools down after each failure (never longer)."""

POLICY = Policy(
    max_target_retries=0,
    deadline_s=10.0,
    rules={
        FailureKind.OVERLOADED: KindRule(
            mark="cooldown",
            scope="profile_model",
            window_s=WINDOW_S,
            max_window_s=WINDOW_S,
            fall_back=True,
        )
    },
)
"""A dead primary (503 overloaded) cools down for WINDOW_S, then gets one probe."""


def config_for(base_url: str) -> Config:
    """
    One OpenAI-compatible provider at *base_url*, serving the chain ``primary`` then ``backup``.
    """
    data = {
        "providers": {"oai": {"api": "openai", "baseUrl": base_url}},
        "agent": {"model": {"primary": "oai/primary", "fallbacks": ["oai/backup"]}},
    }
    return attrs.evolve(load_config(data), policy=POLICY)


def executor_for(
    store: object,
    client: httpx.AsyncClient,
    base_url: str = "http://127.0.0.1:9/v1",
    observers: list[Callable[[ExecutorEvent], None]] | None = None,
) -> Executor:
    """
    An executor over *client* that shares health and sessions through *store*.
    """
    return Executor.from_config(
        config_for(base_url),
        client=client,
        credentials=StaticCredentials({"oai:default": KEY}),
        store=store,  # type: ignore[arg-type]
        observers=observers or [],
        clock=time.time,
    )


def healthy_provider(dead: frozenset[str] = frozenset()) -> httpx.MockTransport:
    """
    An in-process OpenAI-compatible provider: models in *dead* answer 503 overloaded.
    """

    def reply(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        if model in dead:
            error = {"error": {"message": "overloaded", "type": "overloaded_error"}}
            return httpx.Response(503, json=error)
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "hi"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3},
            },
        )

    return httpx.MockTransport(reply)


def store_from(spec: dict[str, object]) -> MemoryStateStore | SqliteStateStore | RedisStateStore:
    """
    The store a worker's *spec* names: ``{"kind": "sqlite", "path": ...}`` or Redis's URL
    and prefix (its password comes from the environment, as in production).
    """
    if spec["kind"] == "sqlite":
        return SqliteStateStore(str(spec["path"]))
    if spec["kind"] == "redis":
        # A busy test machine must not look like a slow server: the fault tests use 50 ms.
        return RedisStateStore(str(spec["url"]), prefix=str(spec["prefix"]), timeout_s=1.0)
    return MemoryStateStore()


async def work(spec: dict[str, object]) -> None:
    """
    One worker: send the requests, report, wait for the fleet, read a peer's sessions.
    """
    me, workers = int(str(spec["worker"])), int(str(spec["workers"]))
    requests, lanes = int(str(spec["requests"])), int(str(spec["lanes"]))
    out = Path(str(spec["out"]))
    store = store_from(spec)
    started: list[tuple[float, str, bool]] = []
    failed: list[str] = []
    sessions: dict[str, object] = {}

    def observe(event: ExecutorEvent) -> None:
        if isinstance(event, AttemptStarted):
            started.append((time.time(), event.target.model.model, event.probe))

    async with httpx.AsyncClient() as client:
        executor = executor_for(store, client, str(spec["base_url"]), [observe])

        async def lane(number: int) -> None:
            for i in range(number, requests, lanes):
                session_id = f"w{me}-s{i % 10}"
                selection = Selection.parse("oai/backup") if me % 2 else None
                try:
                    done = await executor.complete(
                        HELLO, session_id=session_id, selection=selection
                    )
                except AttemptsExhaustedError as exc:
                    failed.append(str(exc))
                else:
                    sessions[session_id] = dump_state(done.state.session)
                await anyio.sleep(float(str(spec["pause_s"])))

        async with anyio.create_task_group() as tg:
            for number in range(lanes):
                tg.start_soon(lane, number)

    (out / f"done-{me}").write_text(
        json.dumps({"started": started, "failed": failed, "sessions": sessions})
    )
    deadline = time.monotonic() + 30
    while not all((out / f"done-{w}").exists() for w in range(workers)):
        if time.monotonic() > deadline:
            sys.exit("the other workers never finished")
        await anyio.sleep(0.01)
    peer = (me + 1) % workers
    read = {}
    for i in range(10):
        session = await store.load_session(f"w{peer}-s{i}")
        read[f"w{peer}-s{i}"] = None if session is None else dump_state(session)
    (out / f"read-{me}").write_text(json.dumps(read))
    if not isinstance(store, MemoryStateStore):
        await store.aclose()


if __name__ == "__main__":
    anyio.run(work, json.loads(sys.argv[1]))

"""
The blocking facade, modelcfg.Client, against the real misbehaving provider on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from modelcfg import (
    AttemptsExhaustedError,
    ChatRequest,
    Client,
    Config,
    Executor,
    ExecutorEvent,
    Message,
    ModelcfgError,
    ReasonCode,
    Selection,
    StaticCredentials,
    StreamEnd,
    TextDelta,
    UnknownModelError,
    load_config,
)
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeProvider

HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
KEYS = StaticCredentials(
    {
        "local:default": "sk-fake-sync-0123456789",
        "local:a": "sk-fake-sync-a-0123456789",
        "local:b": "sk-fake-sync-b-0123456789",
        "backup:default": "sk-fake-sync-backup-0123456789",
    }
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def local_config(fake: FakeProvider, primary: str, *fallbacks: str) -> Config:
    """
    Providers ``local`` (profiles ``local:a`` then ``local:b``) and ``backup`` on *fake*.
    """
    return load_config(
        {
            "providers": {
                "local": {"api": "openai", "baseUrl": fake.base_url},
                "backup": {"api": "openai", "baseUrl": fake.base_url},
            },
            "auth": {
                "profiles": {
                    "local:a": {"provider": "local", "mode": "api_key"},
                    "local:b": {"provider": "local", "mode": "api_key"},
                },
                "order": {"local": ["local:a", "local:b"]},
            },
            "agent": {"model": {"primary": primary, "fallbacks": list(fallbacks)}},
            "policy": {
                "backoffBaseSeconds": 0.001,
                "backoffMaxSeconds": 0.002,
                "deadlineSeconds": 10,
            },
        }
    )


def client_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "modelcfg-client"]


def test_complete_fails_over_and_returns_the_completion(fake: FakeProvider) -> None:
    """A blocking complete() retries a failing primary, then the fallback answers."""
    with Client(local_config(fake, "local/503", "local/ok"), credentials=KEYS) as client:
        answer = client.complete(HELLO)

    assert "Hello from ok" == answer.text
    assert "local/ok" == str(answer.model)
    assert ReasonCode.FALLBACK_MODEL == answer.attempts[-1].reason.code


def test_one_store_and_one_http_client_serve_every_call(fake: FakeProvider) -> None:
    """Health learned by one call is seen by the next: the rate-limited primary is skipped."""
    store = MemoryStateStore()
    with Client(
        local_config(fake, "local/429", "backup/ok"), credentials=KEYS, store=store
    ) as client:
        http = client.executor.client
        first = client.complete(HELLO)
        second = client.complete(HELLO)

        assert http is client.executor.client
    assert [
        "local/429 with local:a",
        "local/429 with local:b",
        "backup/ok with backup:default",
    ] == [str(a.target) for a in first.attempts]
    assert ["backup/ok with backup:default"] == [str(a.target) for a in second.attempts]
    assert store is client.executor.store


def test_model_text_picks_the_first_model(fake: FakeProvider) -> None:
    """/model text given to complete() resolves against the config and leads the chain."""
    config = load_config(
        {
            "providers": {"local": {"api": "openai", "baseUrl": fake.base_url}},
            "agent": {
                "models": {"local/ok": {"alias": "Good"}},
                "model": {"primary": "local/503", "fallbacks": ["local/ok"]},
            },
        }
    )
    with Client(config, credentials=KEYS) as client:
        answer = client.complete(HELLO, model="good")
        selected = client.complete(HELLO, model=Selection.parse("local/ok"))

    assert ["local/ok"] == [str(a.target.model) for a in answer.attempts]
    assert ["local/ok"] == [str(a.target.model) for a in selected.attempts]


def test_unknown_model_text_is_refused_before_any_call(fake: FakeProvider) -> None:
    """Unknown /model text raises UnknownModelError; a provider the client cannot reach says so."""
    with Client(local_config(fake, "local/ok"), credentials=KEYS) as client:
        with pytest.raises(UnknownModelError):
            client.complete(HELLO, model="gpt-nonexistent")
        with pytest.raises(ModelcfgError, match="provider 'openai'"):
            client.complete(HELLO, model="openai/gpt-5.2")


def test_concurrent_threads_share_the_client(fake: FakeProvider) -> None:
    """Eight threads calling one client at once all get answers, recorded in one store."""
    answers: list[str] = []
    errors: list[BaseException] = []
    with Client(local_config(fake, "local/ok"), credentials=KEYS) as client:

        def ask() -> None:
            try:
                for _ in range(5):
                    answers.append(client.complete(HELLO).text)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert [] == errors
    assert ["Hello from ok"] * 40 == answers


def test_a_give_up_raises_in_the_calling_thread(fake: FakeProvider) -> None:
    """When every candidate fails, complete() raises AttemptsExhaustedError with the failures."""
    with (
        Client(local_config(fake, "local/content-filter"), credentials=KEYS) as client,
        pytest.raises(AttemptsExhaustedError) as raised,
    ):
        client.complete(HELLO)

    assert ["content_filter"] == [f.kind.value for f in raised.value.failures]


def test_stream_yields_events_and_sets_the_completion(fake: FakeProvider) -> None:
    """A sync stream yields the text deltas then the end, and records the completion."""
    with Client(local_config(fake, "local/503", "local/ok"), credentials=KEYS) as client:
        with client.stream(HELLO) as answer:
            events = list(answer)

        assert "Hello from ok" == "".join(e.text for e in events if isinstance(e, TextDelta))
        assert isinstance(events[-1], StreamEnd)
        assert answer.completion is not None
        assert "local/ok" == str(answer.completion.model)


def test_stream_text_reads_the_whole_answer(fake: FakeProvider) -> None:
    """SyncStream.text() returns the streamed text."""
    with (
        Client(local_config(fake, "local/ok"), credentials=KEYS) as client,
        client.stream(HELLO) as answer,
    ):
        text = answer.text()

    assert "Hello from ok" == text


def test_a_stream_that_gives_up_raises_from_the_iteration(fake: FakeProvider) -> None:
    """A stream whose every candidate fails raises AttemptsExhaustedError while iterated."""
    with Client(local_config(fake, "local/context-length"), credentials=KEYS) as client:
        with client.stream(HELLO) as answer, pytest.raises(AttemptsExhaustedError):
            next(iter(answer))
        with pytest.raises(StopIteration):
            next(answer)


def test_a_stream_left_early_is_ended(fake: FakeProvider) -> None:
    """Leaving the with block after the first event ends the stream, and the client closes at once."""
    slow = FakeProvider(chunk_delay_s=0.05)
    with slow, Client(local_config(slow, "local/ok"), credentials=KEYS) as client:
        with client.stream(HELLO) as answer:
            first = next(answer)
        after = client.complete(HELLO, model="local/ok")

    assert isinstance(first, TextDelta)
    assert answer.completion is None
    assert "Hello from ok" == after.text


def test_close_ends_open_streams_and_the_thread(fake: FakeProvider) -> None:
    """close() ends a stream nobody reads, stops the loop thread, and later calls are refused."""
    before = client_threads()
    client = Client(local_config(fake, "local/ok"), credentials=KEYS)
    unread = client.stream(HELLO)
    next(unread)
    client.close()
    client.close()

    assert before == client_threads()
    with pytest.raises(ModelcfgError, match="closed"):
        client.complete(HELLO)
    with pytest.raises(ModelcfgError, match="closed"):
        client.stream(HELLO)
    assert [] == list(unread)


def test_from_executor_runs_a_host_built_executor(fake: FakeProvider) -> None:
    """from_executor() runs the executor a host builds around the client's httpx client."""
    events: list[ExecutorEvent] = []
    config = local_config(fake, "local/ok")

    def build(http: httpx.AsyncClient) -> Executor:
        return Executor.from_config(
            config, client=http, credentials=KEYS, observers=[events.append]
        )

    with Client.from_executor(build) as client:
        answer = client.complete(HELLO)
        with pytest.raises(ModelcfgError, match="without a configuration"):
            client.complete(HELLO, model="local/ok")

    assert "Hello from ok" == answer.text
    assert ["AttemptStarted", "AttemptSucceeded"] == [type(e).__name__ for e in events]


def test_the_trio_backend_answers_too(fake: FakeProvider) -> None:
    """A client whose loop thread runs trio answers and streams like the asyncio one."""
    with Client(local_config(fake, "local/ok"), credentials=KEYS, backend="trio") as client:
        answer = client.complete(HELLO)
        with client.stream(HELLO) as streamed:
            text = streamed.text()

    assert ("Hello from ok", "Hello from ok") == (answer.text, text)


def test_a_failing_executor_build_leaves_no_thread(fake: FakeProvider) -> None:
    """A config the executor cannot serve raises from Client() and leaves no loop thread behind."""
    before = client_threads()
    config = load_config(
        {
            "providers": {"local": {"api": "custom"}},
            "agent": {"model": {"primary": "local/ok"}},
        }
    )
    with pytest.raises(ModelcfgError, match="custom"):
        Client(config, credentials=KEYS)

    assert before == client_threads()


def test_close_ends_calls_in_flight_in_other_threads() -> None:
    """A call still waiting on a silent provider raises ModelcfgError in its thread when the client closes."""
    raised: list[BaseException] = []
    with FakeProvider() as silent:
        client = Client(local_config(silent, "local/silent"), credentials=KEYS)

        def ask() -> None:
            try:
                client.complete(HELLO)
            except BaseException as exc:  # reported below
                raised.append(exc)

        thread = threading.Thread(target=ask)
        thread.start()
        while not silent.requests:
            threading.Event().wait(0.01)
        client.close()
        thread.join()

    assert [ModelcfgError] == [type(e) for e in raised]
    assert "closed" in str(raised[0])

"""
State files, fuzzed: reading one gives its health and sessions or a ``StateFileError``, nothing else.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import modelcfg
from modelcfg.stores import FileStateStore
from modelcfg.stores._file import StateFileError
from tests.auth.json_fuzz import fuzzed_json

pytestmark = pytest.mark.anyio

STATE = {
    "version": 1,
    "health": {
        "cooldowns": {
            "openai:default": {
                "kind": "rate_limited",
                "until_at": 1_800_000_030.0,
                "last_failure_at": 1_800_000_000.0,
            }
        }
    },
    "sessions": {"s1": {"last_good": {"openai": "openai:default"}}},
}
DEEP = b'{"version": 1, "health": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@settings(max_examples=150, deadline=None)
@given(data=hst.data())
def test_a_fuzzed_state_file_reads_or_raises_state_file_error(
    data: hst.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any state file gives health and a session, or StateFileError naming the file; its bytes stay."""
    path = tmp_path_factory.mktemp("state") / "state.json"
    content = fuzzed_json(data, STATE)
    path.write_bytes(content)
    store = FileStateStore(path)

    async def read() -> None:
        await store.load_health()
        await store.load_session("s1")

    message = str(path)
    try:
        anyio.run(read)
    except StateFileError as exc:
        message = str(exc)

    assert str(path) in message
    assert content == path.read_bytes()


async def test_a_deeply_nested_state_file_is_a_state_file_error(tmp_path: Path) -> None:
    """A state file nested far too deeply is refused as a StateFileError, not a RecursionError."""
    path = tmp_path / "state.json"
    path.write_bytes(DEEP)

    with pytest.raises(StateFileError, match="cannot be read"):
        await FileStateStore(path).load_health()


async def test_a_deeply_nested_state_file_never_escapes_the_executor_as_recursion(
    tmp_path: Path,
) -> None:
    """Executor.complete() on a state file nested far too deeply raises the documented StateFileError."""
    path = tmp_path / "state.json"
    path.write_bytes(DEEP)
    config = modelcfg.load_config(
        {
            "providers": {"p": {"api": "openai", "baseUrl": "http://127.0.0.1:9/v1"}},
            "agent": {"model": {"primary": "p/m"}},
        }
    )

    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call is made before the state is read")

    async with httpx.AsyncClient(transport=httpx.MockTransport(never)) as client:
        executor = modelcfg.Executor.from_config(
            config, client=client, store=FileStateStore(path), environ={}
        )
        with pytest.raises(StateFileError):
            await executor.complete(
                modelcfg.ChatRequest(messages=[modelcfg.Message(role="user", content="hi")])
            )

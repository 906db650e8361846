"""
Tests for UseRecorder: profile uses reach the auth store in batches, never on the caller's path.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from modelcfg import ProfileId
from modelcfg.auth import ApiKeyCredential, AuthStore, MemoryAuthStore
from modelcfg.auth._uses import UseRecorder

WORK = ProfileId.parse("openai:work")
SPARE = ProfileId.parse("openai:spare")


class GatedStore(AuthStore):
    """
    A file store whose record_use() waits for a gate, as a store locked by another
    process would, and says when a write has started.
    """

    gate: threading.Event
    entered: threading.Event
    writes: list[tuple[ProfileId, float | None]]

    def record_use(
        self,
        profile: ProfileId | str,
        *,
        used_at: float | None = None,
        failed_at: float | None = None,
    ) -> None:
        self.entered.set()
        self.gate.wait(10)
        self.writes.append((ProfileId.parse(str(profile)), used_at))
        super().record_use(profile, used_at=used_at, failed_at=failed_at)


def gated(path: Path) -> GatedStore:
    store = GatedStore(path=path)
    object.__setattr__(store, "gate", threading.Event())
    object.__setattr__(store, "entered", threading.Event())
    object.__setattr__(store, "writes", [])
    store.put(WORK, ApiKeyCredential(key="sk-work-fake-0123456789abcdef"))
    store.put(SPARE, ApiKeyCredential(key="sk-spare-fake-0123456789abcdef"))
    return store


def test_recording_never_waits_for_the_store_and_batches_the_latest_use(tmp_path: Path) -> None:
    """record() returns while the store is busy, and the uses that arrive meanwhile are written once each, latest time kept."""
    store = gated(tmp_path / "auth.json")
    recorder = UseRecorder(store, flush_interval_s=60)

    recorder.record(WORK, 1.0)
    assert store.entered.wait(10)  # the writer thread holds the first use, blocked
    for at in (2.0, 4.0, 3.0):
        recorder.record(WORK, at)
    recorder.record(SPARE, 5.0)
    waiting = recorder.pending
    store.gate.set()
    recorder.flush()

    assert 2 == waiting
    assert [(WORK, 1.0), (WORK, 4.0), (SPARE, 5.0)] == store.writes
    stored = AuthStore(path=tmp_path / "auth.json")
    assert (4.0, 5.0) == tuple(getattr(stored.get(p), "last_used_at", None) for p in (WORK, SPARE))


def test_a_memory_store_is_updated_at_once() -> None:
    """A memory store answers at once, so a use is recorded in it directly."""
    store = MemoryAuthStore.of({WORK: ApiKeyCredential(key="sk-work-fake-0123456789abcdef")})

    UseRecorder(store).record(WORK, 7.0)

    assert 7.0 == getattr(store.get(WORK), "last_used_at", None)


def test_a_store_that_fails_loses_only_the_statistic(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that cannot be written is logged and the recorder goes on."""
    store = gated(tmp_path / "auth.json")
    store.gate.set()
    (tmp_path / "auth.json").write_text("not json")
    recorder = UseRecorder(store)
    recorder.record(WORK, 1.0)
    recorder.flush()

    assert 0 == recorder.pending
    assert any("Could not record the use of openai:work" in r.message for r in caplog.records)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_the_interval_must_be_positive(bad: float) -> None:
    """A flush interval that is not positive is refused, naming it."""
    with pytest.raises(ValueError, match="flush_interval_s"):
        UseRecorder(MemoryAuthStore(), flush_interval_s=bad)

"""
Outcomes per arm: ExperimentTally counts them from real requests, and the report compares them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from modelcfg import (
    AttemptStarted,
    ChatRequest,
    Executor,
    ExperimentTally,
    Message,
    ModelRef,
    Reason,
    ReasonCode,
    StaticCredentials,
    Target,
    Usage,
    load_config,
)
from modelcfg._cli import main
from modelcfg._executor._tally import merged
from modelcfg.testing import ScriptedTransport
from modelcfg.usage import GroupBy, MemoryLedger

HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
CONFIG = {
    "agent": {"model": {"primary": "openai/gpt-4o", "fallbacks": ["openai/gpt-4o-mini"]}},
    "experiments": {
        "tone": {"arms": {"control": {"weight": 1}, "precise": {"weight": 1, "preset": "precise"}}}
    },
}


def answer(request: httpx.Request) -> httpx.Response:
    """gpt-4o at temperature 0.2 is overloaded (503); every other call answers with 10 + 5 tokens."""
    body = json.loads(request.content)
    if body["model"] == "gpt-4o" and body.get("temperature") == 0.2:
        return httpx.Response(
            503, json={"error": {"message": "overloaded", "type": "server_error"}}
        )
    return httpx.Response(
        200,
        json={
            "id": "c",
            "model": body["model"],
            "choices": [
                {"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        },
    )


async def tallied(sessions: list[str]) -> ExperimentTally:
    """A tally of one request per session, through the executor with the experiment above."""
    tally = ExperimentTally()
    transport = ScriptedTransport([answer], repeat_last=True)

    async def no_wait(_delay: float) -> None:
        """Returns at once."""

    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            load_config(CONFIG),
            client=client,
            credentials=StaticCredentials({"openai:default": "sk-test"}),
            observers=[tally],
            sleep=no_wait,
        )
        for session in sessions:
            await executor.complete(HELLO, session_id=session)
    return tally


SESSIONS = [f"s-{i}" for i in range(12)]


@pytest.mark.anyio
async def test_the_tally_counts_requests_attempts_failures_and_tokens_per_arm() -> None:
    """Each arm's requests all answer; the precise arm's overloaded primary shows as failed attempts."""
    stats = {s.arm: s for s in (await tallied(SESSIONS)).stats()}
    control, precise = stats["tone:control"], stats["tone:precise"]

    assert control.requests + precise.requests == len(SESSIONS)
    assert (control.requests, control.requests, {}) == (
        control.answered,
        control.attempts,
        dict(control.failures),
    )
    assert precise.answered == precise.requests
    assert precise.attempts > precise.requests
    assert {"overloaded": precise.attempts - precise.requests} == dict(precise.failures)
    assert {
        ModelRef.parse("openai/gpt-4o-mini"): Usage(
            input_tokens=10 * precise.answered, output_tokens=5 * precise.answered
        )
    } == dict(precise.usage)


@pytest.mark.anyio
async def test_the_json_form_round_trips_and_merges() -> None:
    """to_json() reads back equal, and merging two processes' tallies adds them up."""
    tally = await tallied(SESSIONS)
    data = json.loads(json.dumps(tally.to_json()))
    back = ExperimentTally.from_json(data)
    twice = {s.arm: s for s in merged([*back, *back])}

    assert tally.stats() == back
    assert all(twice[s.arm].requests == 2 * s.requests for s in back)
    assert all(twice[s.arm].tokens.output_tokens == 2 * s.tokens.output_tokens for s in back)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "$: not an experiment tally"),
        ({"format": 1, "arms": []}, "$.arms: expected an object"),
        (
            {"format": 1, "arms": {"a": {"requests": -1}}},
            "$.arms.a.requests: expected a whole number",
        ),
        ({"format": 1, "arms": {"a": {"usage": {"x": {}}}}}, "$.arms.a.usage.x:"),
    ],
)
def test_a_malformed_tally_is_named_at_its_path(data: object, message: str) -> None:
    """A file that is not a tally is refused with the JSON path of what is wrong."""
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("[", r"\[")):
        ExperimentTally.from_json(data)  # type: ignore[arg-type]


def test_events_without_an_arm_are_ignored() -> None:
    """A request outside any experiment leaves the tally empty."""
    tally = ExperimentTally()
    tally(
        AttemptStarted(
            number=1,
            target=Target.parse("openai/x with openai:default"),
            reason=Reason(code=ReasonCode.FIRST_ATTEMPT, message="first"),
            delay_s=0.0,
            probe=False,
        )
    )

    assert () == tally.stats()


@pytest.mark.anyio
async def test_the_report_compares_the_arms(tmp_path: Path) -> None:
    """modelcfg experiments report reads tally files and prints each arm's outcomes and cost."""
    tally = await tallied(SESSIONS)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(tally.to_json()), encoding="utf-8")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "--config",
            str(config),
            "experiments",
            "report",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "--json",
        ],
        environ={"MODELCFG_HOME": str(tmp_path)},
        stdout=out,
        stderr=err,
    )
    rows = {row["arm"]: row for row in json.loads(out.getvalue())["arms"]}
    stats = {s.arm: s for s in tally.stats()}

    assert (0, "") == (code, err.getvalue())
    assert {arm: 2 * s.requests for arm, s in stats.items()} == {
        a: r["requests"] for a, r in rows.items()
    }
    assert 1.0 == rows["tone:precise"]["successRate"]
    assert rows["tone:control"]["costUsd"] is not None


@pytest.mark.anyio
async def test_the_usage_ledger_records_the_arm_of_every_attempt() -> None:
    """With a ledger, every attempt's record names its arm, so `modelcfg usage --by arm` compares them."""
    ledger = MemoryLedger()
    transport = ScriptedTransport([answer], repeat_last=True)

    async def no_wait(_delay: float) -> None:
        """Returns at once."""

    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            load_config(CONFIG),
            client=client,
            credentials=StaticCredentials({"openai:default": "sk-test"}),
            ledger=ledger,
            sleep=no_wait,
            clock=lambda: 1_800_000_000.0,
        )
        completions = {s: await executor.complete(HELLO, session_id=s) for s in SESSIONS}
    arms = {s: c.arm for s, c in completions.items()}
    records = ledger.records()
    report = ledger.report(since_at=0, until_at=2e9, by=GroupBy.ARM)

    assert {(r.session, r.arm) for r in records} == set(arms.items())
    assert {False, True} == {r.answered for r in records}  # failed attempts name their arm too
    assert all(a.arm == c.arm for c in completions.values() for a in c.attempts)
    assert {arm: list(arms.values()).count(arm) for arm in set(arms.values())} == {
        row.key: row.requests for row in report.rows
    }

"""
Tests for replaying scripted failure sequences.
"""

from __future__ import annotations

import json

import pytest

from modelcfg import FallbackChain, ProfileId, Selection
from modelcfg._core._actions import Call, GiveUp
from modelcfg._core._reasons import ReasonCode
from modelcfg._core._replay import render_steps, replay, steps_to_json
from modelcfg._core._state import Routes

ROUTES = Routes(
    chain=FallbackChain.of("anthropic/opus", "openai/gpt-5"),
    auth_order={"anthropic": (ProfileId.parse("anthropic:a"), ProfileId.parse("anthropic:b"))},
)
SCRIPT: dict[str, object] = {
    "start": 1_700_000_000,
    "seed": 1,
    "events": [
        {"after": 0.5, "fail": "rate_limited", "status": 429, "retryAfter": 10},
        {"fail": "auth", "status": 401, "message": "invalid x-api-key"},
        {"fail": "server"},
        {"succeed": True, "after": 2},
    ],
}


def test_replay_gives_one_step_per_decision() -> None:
    """Each event yields the decision it leads to; a success ends the replay."""
    steps = replay(SCRIPT, ROUTES)
    codes = [s.action.reason.code if s.action is not None else None for s in steps]

    expected = [
        ReasonCode.FIRST_ATTEMPT,
        ReasonCode.ROTATE_PROFILE,
        ReasonCode.FALLBACK_MODEL,
        ReasonCode.RETRY_SAME_TARGET,
        None,
    ]
    assert expected == codes
    assert steps[-1].state.finished


def test_event_time_counts_from_the_call() -> None:
    """An event's 'after' is measured from when its call went out (decision plus delay)."""
    steps = replay(SCRIPT, ROUTES)
    retry = steps[3].action
    assert isinstance(retry, Call)

    assert steps[3].at + retry.delay_s + 2 == steps[4].at


def test_rendered_text_names_targets_and_reasons() -> None:
    """render_steps() prints every decision with its target and reason code."""
    text = render_steps(replay(SCRIPT, ROUTES))

    assert "-> call anthropic/opus with anthropic:b" in text
    assert "rotate_profile:" in text
    assert "-> done with openai/gpt-5 with openai:default" in text


def test_json_form_is_plain_json() -> None:
    """steps_to_json() gives values json.dumps accepts, one per step."""
    out = steps_to_json(replay(SCRIPT, ROUTES))

    step = out[2]
    assert isinstance(step, dict)

    expected = (5, {"model": "openai/gpt-5", "profile": "openai:default"})
    assert expected == (len(json.loads(json.dumps(out))), step["target"])


def test_give_up_ends_the_replay() -> None:
    """A content filter makes the core give up, and the last step says why."""
    steps = replay({"events": [{"fail": "content_filter", "message": "unsafe"}]}, ROUTES)

    assert isinstance(steps[-1].action, GiveUp)
    assert "unsafe" in steps[-1].action.reason.message


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            {"events": [{"fail": "ratelimit"}]},
            "$.events[0].fail: 'ratelimit' is not a failure kind (did you mean 'rate_limited'?)",
        ),
        ({"evnts": []}, "$.evnts: 'evnts' is not a known key (did you mean 'events'?)"),
        (
            {"events": [{"fail": "auth", "retryAfter": -1}]},
            "$.events[0].retryAfter: expected a number >= 0",
        ),
        ({"events": [{"after": 1}]}, "$.events[0]: an event needs either 'fail'"),
        (
            {"events": [{"succeed": True}, {"fail": "auth"}]},
            "$.events[1]: the request already succeeded",
        ),
        (
            {"events": [{"fail": "content_filter"}, {"fail": "auth"}]},
            "$.events[1]: the request already gave up",
        ),
        ({"request": {"hasImages": "yes"}}, "$.request.hasImages: expected true or false"),
        (
            {"session": {"select": "nonsense"}},
            "$.session.select: 'nonsense' is not a model reference",
        ),
        ({"events": {"fail": "auth"}}, "$.events: expected a list of events"),
        (
            {"start": 1_700_000_000_000},
            "$.start: the start must be seconds since the epoch within the years 1 to 9999, "
            "not 1700000000000 (was it given in milliseconds?)",
        ),
        (
            {"start": 253_402_300_000, "events": [{"fail": "server", "after": 1_000}]},
            "$.events[0].after: the time of this outcome must be seconds since the epoch",
        ),
    ],
    ids=[
        "misspelt kind",
        "misspelt key",
        "negative retry-after",
        "neither fail nor succeed",
        "event after success",
        "event after give-up",
        "non-boolean images",
        "bad selection",
        "events not a list",
        "start in milliseconds",
        "outcome after the year 9999",
    ],
)
def test_bad_scripts_name_the_path(script: dict[str, object], message: str) -> None:
    """Malformed scripts raise ValueError starting with the JSON path of the problem."""
    with pytest.raises(ValueError, match=r"^\$") as caught:
        replay(script, ROUTES)

    assert str(caught.value).startswith(message)


def test_session_pin_is_applied() -> None:
    """A strict session selection pins the profile for its model."""
    script = {"session": {"select": "anthropic/opus@anthropic:b", "strict": True}}
    first = replay(script, ROUTES)[0].action

    assert isinstance(first, Call)
    expected = (ReasonCode.PINNED_PROFILE, "anthropic:b")
    assert expected == (
        first.reason.code,
        str(first.target.profile),
    )


def test_event_messages_are_redacted_in_text_and_json() -> None:
    """A key pasted into an event's message never shows in the rendered text or the JSON form."""
    secret = "sk-ant-api03-FAKESECRETSECRET"
    script = {"events": [{"fail": "auth", "message": f"bad key {secret}"}]}
    steps = replay(script, ROUTES)
    shown = render_steps(steps) + json.dumps(steps_to_json(steps)) + repr(steps)

    assert secret not in shown
    assert "SECRETSECRET" not in shown
    assert "bad key sk-ant-[REDACTED]" in shown


def test_a_script_can_start_from_a_given_health() -> None:
    """A 'health' object (as dump_state gives it) is the shared health at the start: a cooling profile is skipped."""
    health = {
        "cooldowns": {
            "anthropic:a": {
                "kind": "rate_limited",
                "until_at": 1_700_000_020,
                "last_failure_at": 1_700_000_000,
            }
        }
    }
    first = replay({"start": 1_700_000_000, "health": health}, ROUTES)[0].action
    assert isinstance(first, Call)

    expected = ("anthropic:b", ["anthropic:a skipped: cooling down until 22:13:40 (rate limited)"])
    assert expected == (str(first.target.profile), [s.message for s in first.skipped])


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ([], "$.health: expected an object (a dumped HealthState), not []"),
        (
            {"cooldowns": {"anthropic:a": {"kind": "bored"}}},
            "$.health.cooldowns['anthropic:a'].kind: 'bored' is not a valid FailureKind",
        ),
        (
            {
                "cooldowns": {
                    "anthropic:a": {"kind": "auth", "until_at": 1e15, "last_failure_at": 0}
                }
            },
            "$.health: a window's times must be seconds since the epoch",
        ),
    ],
    ids=["not an object", "bad window", "window in microseconds"],
)
def test_a_bad_health_names_its_path(health: object, message: str) -> None:
    """A malformed starting health is a ValueError at $.health."""
    with pytest.raises(ValueError, match=r"^\$\.health") as caught:
        replay({"health": health}, ROUTES)

    assert str(caught.value).startswith(message)


def test_session_select_goes_through_the_given_resolver() -> None:
    """replay(select=...) turns session.select into a selection, so hosts can resolve aliases; its errors get the path."""
    chosen = Selection.parse("openai/gpt-5")

    def select(text: str, strict: bool) -> Selection:
        if text != "GPT":
            raise LookupError(f"{text!r} is not a known alias")
        return chosen

    first = replay({"session": {"select": "GPT"}}, ROUTES, select=select)[0].action
    with pytest.raises(ValueError, match=r"^\$\.session\.select: 'Opsu' is not a known alias"):
        replay({"session": {"select": "Opsu"}}, ROUTES, select=select)

    assert isinstance(first, Call)
    assert "openai/gpt-5" == str(first.target.model)

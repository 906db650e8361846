"""
Tests for the policy table and knobs.
"""

from __future__ import annotations

import importlib.util
import pathlib
from types import ModuleType

import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import FailureKind
from modelcfg._core._policy import DEFAULT_RULES, KindRule, Mark, Policy, Scope

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def gen_decisions() -> ModuleType:
    """docs/gen_decisions.py, loaded from its file (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_decisions", DOCS / "gen_decisions.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_kind_has_a_default_rule() -> None:
    """DEFAULT_RULES covers the closed set of failure kinds exactly."""

    assert set(FailureKind) == set(DEFAULT_RULES)


@pytest.mark.parametrize(
    ("kind", "gives_up"),
    [
        (kind, kind in (FailureKind.CONTENT_FILTER, FailureKind.INVALID_REQUEST))
        for kind in FailureKind
    ],
    ids=[kind.value for kind in FailureKind],
)
def test_only_filters_and_invalid_requests_give_up_at_once(
    kind: FailureKind, gives_up: bool
) -> None:
    """Only content_filter and invalid_request end a request at once by default."""

    assert gives_up == DEFAULT_RULES[kind].gives_up


def test_partial_rules_keep_the_defaults_for_other_kinds() -> None:
    """Overriding one kind's rule leaves every other kind on its default."""
    custom = KindRule(mark=Mark.COOLDOWN, window_s=5.0, rotate_profile=True)
    policy = Policy(rules={FailureKind.AUTH: custom})

    assert custom == policy.rule_for(FailureKind.AUTH)
    assert DEFAULT_RULES[FailureKind.SERVER] == policy.rule_for(FailureKind.SERVER)


def test_retry_timeout_same_target_gives_timeouts_the_retry_budget() -> None:
    """With retry_timeout_same_target the timeout rule retries max_target_retries times."""
    policy = Policy(retry_timeout_same_target=True, max_target_retries=3)

    expected = 3
    assert expected == policy.rule_for(FailureKind.TIMEOUT).retries
    expected = 0
    assert expected == Policy().rule_for(FailureKind.TIMEOUT).retries


def test_billing_window_doubles_up_to_its_cap() -> None:
    """The billing disable doubles per strike: 5 min, 10, 20, 40, then the 1 h cap."""
    rule = DEFAULT_RULES[FailureKind.BILLING]

    expected = [300.0, 600.0, 1200.0, 2400.0, 3600.0, 3600.0]
    assert expected == [rule.window_for(n) for n in range(1, 7)]


@given(hst.integers(min_value=1, max_value=100), hst.floats(min_value=0, max_value=0.999))
def test_backoff_stays_within_its_bounds(retry: int, unit: float) -> None:
    """Every backoff lies in ((1 - jitter) * exact, min(exact, backoff_max_s)] and is positive."""
    policy = Policy()
    exact = min(
        policy.backoff_base_s * policy.backoff_multiplier ** min(retry - 1, 64),
        policy.backoff_max_s,
    )
    delay = policy.backoff_s(retry, unit)

    assert 0 < delay <= exact
    assert delay >= exact * (1 - policy.jitter_fraction) - 1e-12


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("deadline_s", 0.0),
        ("backoff_base_s", -1.0),
        ("jitter_fraction", 1.0),
        ("circuit_failure_rate", 0.0),
        ("retry_after_cap_s", float("nan")),
    ],
    ids=["no attempts", "no deadline", "negative backoff", "jitter of one", "zero rate", "nan cap"],
)
def test_policy_rejects_nonsense(field: str, value: float) -> None:
    """Out-of-range knobs are rejected with a message naming the knob."""
    with pytest.raises(ValueError, match=field):
        Policy(**{field: value})  # type: ignore[arg-type]


rules = hst.builds(
    KindRule,
    mark=hst.sampled_from(Mark),
    scope=hst.sampled_from(Scope),
    window_s=hst.floats(min_value=0, max_value=1e6),
    escalation=hst.floats(min_value=1, max_value=10),
    retries=hst.integers(min_value=0, max_value=5),
    rotate_profile=hst.booleans(),
    fall_back=hst.booleans(),
)


@settings(max_examples=50)
@given(
    hst.dictionaries(hst.sampled_from(FailureKind), rules, max_size=4),
    hst.integers(min_value=1, max_value=20),
    hst.booleans(),
)
def test_policy_round_trips_through_cattrs(
    overrides: dict[FailureKind, KindRule], attempts: int, retry_timeouts: bool
) -> None:
    """A Policy unstructured and structured by a plain cattrs Converter is equal to itself."""
    policy = Policy(
        rules=overrides, max_attempts=attempts, retry_timeout_same_target=retry_timeouts
    )
    converter = cattrs.Converter(forbid_extra_keys=True)

    assert policy == converter.structure(converter.unstructure(policy), Policy)


def test_rendered_table_has_a_row_per_kind() -> None:
    """The docs' policy table lists every kind once."""
    text = gen_decisions().render_policy_markdown()

    assert all(text.count(f"| `{kind.value}` |") == 1 for kind in FailureKind)


def test_committed_decisions_page_is_up_to_date() -> None:
    """docs/decisions.md holds exactly the table generated from the current data."""
    text = (DOCS / "decisions.md").read_text(encoding="utf-8")

    assert gen_decisions().regenerate(text) == text


positive_seconds = hst.floats(min_value=0, max_value=1e308, exclude_min=True)


@settings(max_examples=200)
@given(
    base=positive_seconds,
    multiplier=hst.floats(min_value=1, max_value=1e308),
    cap=positive_seconds,
    jitter=hst.floats(min_value=0, max_value=1, exclude_max=True),
    retry=hst.integers(min_value=1, max_value=10_000),
    unit=hst.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_never_overflows_over_the_allowed_ranges(
    base: float, multiplier: float, cap: float, jitter: float, retry: int, unit: float
) -> None:
    """Any policy the validators accept gives a finite backoff in [0, backoff_max_s]."""
    policy = Policy(
        backoff_base_s=base,
        backoff_multiplier=multiplier,
        backoff_max_s=cap,
        jitter_fraction=jitter,
    )
    delay = policy.backoff_s(retry, unit)

    assert 0 <= delay <= cap


def test_huge_backoff_multiplier_gives_the_cap() -> None:
    """A multiplier of a million reaches backoff_max_s instead of overflowing."""
    policy = Policy(backoff_multiplier=1e6)

    expected = 30.0
    assert expected == policy.backoff_s(60, 0.0)


@settings(max_examples=200)
@given(
    window=hst.floats(min_value=0, max_value=1e308),
    escalation=hst.floats(min_value=1, max_value=1e308),
    cap=hst.floats(min_value=0, max_value=1e308),
    strikes=hst.integers(min_value=1, max_value=10_000),
)
def test_escalated_windows_never_overflow(
    window: float, escalation: float, cap: float, strikes: int
) -> None:
    """Any rule the validators accept gives a window between window_s and its cap."""
    rule = KindRule(window_s=window, escalation=escalation, max_window_s=cap)
    length = rule.window_for(strikes)

    assert window <= length <= max(window, cap)
    assert length > 0 or window == 0
    assert window > 0 or length == 0


@pytest.mark.parametrize(
    "kind", [FailureKind.SERVER, FailureKind.UNKNOWN], ids=["server", "unknown"]
)
def test_server_errors_honour_retry_after(kind: FailureKind) -> None:
    """Server and unknown failures wait at least the provider's capped Retry-After before a retry."""

    assert DEFAULT_RULES[kind].honour_retry_after

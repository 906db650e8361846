"""
A fleet of four worker processes sharing one store, against a real provider on loopback.

The primary is dead (503 overloaded); every failure cools it down for a short
window, after which one request in the whole fleet may probe it.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelcfg.testing import FakeProvider
from tests.stores._fleet import WINDOW_S
from tests.stores.conftest import PASSWORD_ENV, unique_prefix

WORKERS = 4
REQUESTS = 250
LANES = 5
ROOT = Path(__file__).resolve().parents[2]


def run_fleet(spec: dict[str, object], out: Path, env: dict[str, str]) -> list[dict[str, object]]:
    """
    Run the workers at once and return what each one reported.
    """
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.stores._fleet",
                json.dumps({**spec, "worker": w, "workers": WORKERS, "out": str(out)}),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        for w in range(WORKERS)
    ]
    codes = [process.wait(timeout=120) for process in processes]
    assert [0] * WORKERS == codes
    reports = [json.loads((out / f"done-{w}").read_text()) for w in range(WORKERS)]
    for w, report in enumerate(reports):
        report["read"] = json.loads((out / f"read-{w}").read_text())
    return reports


@pytest.fixture(params=["sqlite", "redis"])
def shared(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[dict[str, object], dict[str, str]]:
    """
    The store the fleet shares, as a worker spec, and the environment it needs.
    """
    if request.param == "sqlite":
        return {"kind": "sqlite", "path": str(tmp_path / "state.db")}, {}
    redis = request.getfixturevalue("redis_server")
    spec = {"kind": "redis", "url": redis.url, "prefix": unique_prefix()}
    return spec, {PASSWORD_ENV: redis.password}


@pytest.mark.slow
def test_a_fleet_probes_a_dead_primary_once_per_window_and_shares_sessions(
    shared: tuple[dict[str, object], dict[str, str]], tmp_path: Path
) -> None:
    """4 workers x 250 requests: none fails, the dead primary gets one probe per window fleet-wide, and sessions cross workers."""
    spec, env = shared
    with FakeProvider(behaviours={"primary": "overloaded"}) as provider:
        spec = {**spec, "base_url": provider.base_url, "requests": REQUESTS, "lanes": LANES}
        reports = run_fleet({**spec, "pause_s": 0.0}, tmp_path, env)
        hits = len(provider.requests_for("primary"))
        answered = len(provider.requests_for("backup"))
    on_primary = sorted(
        (at, probe)
        for report in reports
        for at, model, probe in report["started"]
        if model == "primary"  # type: ignore[attr-defined]
    )
    probes = [at for at, probe in on_primary if probe]
    first_probe = probes[0] if probes else float("inf")
    before_any_window = [at for at, probe in on_primary if not probe]
    gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]

    assert [[]] * WORKERS == [report["failed"] for report in reports]
    assert WORKERS * REQUESTS == answered
    assert len(probes) >= 2, "the run should span several cooldown windows"
    # Only requests that started before any cooldown existed called it without a claim...
    assert all(at < first_probe for at in before_any_window)
    assert len(before_any_window) <= WORKERS * LANES
    # ...and after that, one probe per window across the fleet: never two within one.
    assert [] == [gap for gap in gaps if gap < WINDOW_S - 0.01]
    assert hits == len(on_primary)
    # Every worker reads the sessions another worker wrote, as that worker last saw them.
    for w, report in enumerate(reports):
        peer = reports[(w + 1) % WORKERS]
        assert peer["sessions"] == report["read"]

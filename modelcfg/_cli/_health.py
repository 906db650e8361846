"""
``modelcfg health``: what the shared health says of each target, from the state store.

Reads the configured state store (``--state``, ``$MODELCFG_STATE``, else
``state.db`` in modelcfg's directory; a ``.json`` file is the portable JSON state
file). With ``--check`` it first checks every model of the chains once with a
cheap request and records what it found. Exit 0, or 1 when a target is degraded
or a check failed, 3 for a bad config.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    data_file,
    emit_json,
    nonempty_path,
)
from modelcfg._core._health import HealthState, circuit_phase
from modelcfg._core._metrics import TargetMetrics
from modelcfg.typing import JSON, JSONObject, StateStore

__all__ = ["default_state_path", "register"]

STATE_NAME = "state.db"


def default_state_path(environ: Mapping[str, str]) -> Path | None:
    """
    The state store's file: ``$MODELCFG_STATE``, else ``state.db`` in modelcfg's directory.
    """
    return data_file(environ, "MODELCFG_STATE", STATE_NAME)


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``health``.
    """
    health = subparsers.add_parser(
        "health",
        parents=[common],
        help="show each target's health (state, score, success rate, latency) from the state store",
        description=(
            "One row per model and per profile the state store has measured: its circuit "
            "state, health score (0 to 1), recent success rate, p50 and p95 latency, "
            "time to first token and last failure. --check first sends one cheap request "
            "to every model of the chains (a models listing where the provider has one)."
        ),
    )
    health.add_argument(
        "--state",
        metavar="PATH",
        type=nonempty_path,
        help="the state store: SQLite, or a .json state file (default: $MODELCFG_STATE, "
        "else state.db in $MODELCFG_HOME, $XDG_CONFIG_HOME/modelcfg or ~/.config/modelcfg)",
    )
    health.add_argument(
        "--check",
        action="store_true",
        help="check every model of the chains once before reading the health",
    )
    add_json_flag(health)
    health.set_defaults(run=run_health)


def _open_store(path: Path) -> StateStore:
    from modelcfg.stores import FileStateStore, SqliteStateStore

    if path.suffix.lower() == ".json":
        return FileStateStore(path)
    return SqliteStateStore(path)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def _row(key: str, kind: str, metrics: TargetMetrics, state: str) -> JSONObject:
    rate = metrics.success_rate
    return {
        "target": key,
        "kind": kind,
        "state": state,
        "score": round(metrics.score, 3),
        "degraded": metrics.degraded,
        "successRate": None if rate is None else round(rate, 3),
        "p50Seconds": metrics.latency.percentile(0.5),
        "p95Seconds": metrics.latency.percentile(0.95),
        "ttftSeconds": metrics.ttft.percentile(0.5),
        "lastFailure": None if metrics.last_failure is None else metrics.last_failure.value,
        "lastFailureAt": metrics.last_failure_at,
    }


def health_rows(health: HealthState, now: float) -> list[JSONObject]:
    """
    One row per measured model, then per measured profile, each in name order.
    """
    rows: list[JSONObject] = []
    for model in sorted(health.model_metrics, key=str):
        phase = circuit_phase(health.circuits.get(model), now).value
        rows.append(_row(str(model), "model", health.model_metrics[model], phase))
    for profile in sorted(health.profile_metrics, key=str):
        blocked = profile in health.cooldowns or profile in health.disables
        state = "cooling down" if blocked else "usable"
        rows.append(_row(str(profile), "profile", health.profile_metrics[profile], state))
    return rows


def _table(rows: list[JSONObject]) -> tuple[tuple[str, ...], list[list[str]]]:
    """
    The health table's titles and cells: one row per model and per profile.
    """

    def cell(row: JSONObject, key: str) -> str:
        value = row[key]
        if key.endswith("Seconds"):
            return _seconds(value if isinstance(value, float) else None)
        if key == "successRate":
            return "-" if not isinstance(value, float | int) else f"{value:.0%}"
        if key == "score":
            return f"{value:.2f}" + (" degraded" if row["degraded"] else "")
        return "-" if value is None else str(value)

    headers = ("target", "state", "score", "success", "p50", "p95", "ttft", "last failure")
    keys = ("target", "state", "score", "successRate", "p50Seconds", "p95Seconds")
    table = [
        [*(cell(r, k) for k in keys), cell(r, "ttftSeconds"), cell(r, "lastFailure")] for r in rows
    ]
    return headers, table


async def _check(context: Context, store: StateStore) -> list[JSON]:
    import httpx

    from modelcfg._executor._executor import Executor

    config = context.config()
    async with httpx.AsyncClient() as client:
        executor = Executor.from_config(
            config,
            client=client,
            auth_store=context.store(),
            environ=context.environ,
            store=store,
            clock=context.clock,
        )
        checks = await executor.check_health()
    return [
        {
            "target": str(check.target),
            "via": check.via,
            "ok": check.ok,
            "sent": check.sent,
            "latencySeconds": check.latency_s,
            "failure": None if check.failure is None else check.failure.kind.value,
        }
        for check in checks
    ]


def run_health(context: Context) -> int:
    """
    ``health``: print the health table (or its JSON with ``--json``).
    """
    import anyio

    args = context.args
    path = Path(args.state).expanduser() if args.state else default_state_path(context.environ)
    if path is None:
        raise CliError("no state store: pass --state PATH or set MODELCFG_STATE", Exit.USAGE)
    checks: list[JSON] = []
    if args.check:
        context.config()  # a bad config is reported before anything is sent
        store = _open_store(path)
        checks = anyio.run(_check, context, store)
    elif not path.exists():
        raise CliError(
            f"no state store at {path} yet: hosts write one with SqliteStateStore "
            "(or run 'modelcfg health --check')",
            Exit.FAILURE,
        )
    else:
        store = _open_store(path)
    health = anyio.run(store.load_health)
    rows = health_rows(health, context.now())
    failed = any(r["degraded"] for r in rows) or any(
        isinstance(c, dict) and not c["ok"] for c in checks
    )
    if args.json:
        emit_json(context.out, {"state": str(path), "checks": checks, "targets": list(rows)})
    else:
        for check in checks:
            if isinstance(check, dict):
                if not check["sent"]:
                    context.out.line(f"not checked {check['target']}: no usable credential")
                    continue
                verdict = "ok" if check["ok"] else f"failed ({check['failure']})"
                context.out.line(f"checked {check['target']} via {check['via']}: {verdict}")
        if rows:
            headers, table = _table(rows)
            # p95, time to first token and success rate give way first; targets are cut last.
            context.out.table(headers, table, droppable=[5, 6, 3], shrinkable=[7, 0])
        else:
            context.out.line(f"nothing measured yet in {path}")
    return Exit.FAILURE if failed else Exit.OK

"""
``modelcfg validate [--network]``: the config checks plus a dry run of every chain entry.

Problems (exit 1): a chain model whose provider has no base URL or no usable
credential, a configured provider whose OAuth endpoints ``login --oauth`` could not
use, or (with ``--network``) a base URL that does not answer.
Warnings (exit unchanged): an image-chain model not known to take images, a
model the catalog does not know.
"""

from __future__ import annotations

import argparse

import attrs

from modelcfg._catalog._curated import curated_catalog
from modelcfg._cli._common import (
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    emit_json,
    positive_seconds,
)
from modelcfg._cli._creds import auth_order, can_refresh, keyless, login_command, resolve
from modelcfg._config._param_plan import ParamResolver
from modelcfg._config._params import ParamsPolicy
from modelcfg._config._plan import catalog_for
from modelcfg._config._schema import Config, WireFormat
from modelcfg._config._wire_params import ParamProblemKind
from modelcfg._core._values import ModelRef
from modelcfg.auth import StoredProfile
from modelcfg.auth._resolve import unusable_reason
from modelcfg.typing import JSON

__all__ = ["register"]

DEFAULT_NETWORK_TIMEOUT_S = 5.0
"""How long ``validate --network`` waits for each base URL."""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``validate``.
    """
    validate = subparsers.add_parser(
        "validate", parents=[common], help="check the config and dry-run every chain entry"
    )
    validate.add_argument(
        "--network",
        action="store_true",
        help="also check that each provider's base URL answers (GET BASE/models)",
    )
    validate.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_NETWORK_TIMEOUT_S,
        metavar="SECONDS",
        help="per-request timeout of --network (default: 5)",
    )
    add_json_flag(validate)
    validate.set_defaults(run=run_validate)


@attrs.frozen(kw_only=True)
class Finding:
    """
    One result of the dry run.

    Attributes:
        level: ``ok``, ``warning`` or ``problem``.
        subject: What it is about (a model, a provider).
        message: One sentence.
    """

    level: str
    subject: str
    message: str


def _chain_members(config: Config) -> list[tuple[ModelRef, str]]:
    members: list[tuple[ModelRef, str]] = []
    for key, chain in (
        ("agent.model", config.text_chain()),
        ("agent.imageModel", config.image_chain()),
    ):
        if chain is None:
            continue
        members += [(ref, key) for ref in chain.models]
    return members


def _dry_run(context: Context, config: Config) -> list[Finding]:
    findings: list[Finding] = []
    if config.text_chain() is None:
        findings.append(
            Finding(
                level="problem",
                subject="agent.model",
                message="no text chain is configured: set agent.model.primary",
            )
        )
    catalog = catalog_for(config, curated=curated_catalog())
    params = ParamResolver(config, catalog)
    checked: dict[str, list[Finding]] = {}
    for ref, where in _chain_members(config):
        subject = f"{ref} ({where})"
        if ref.provider not in checked:
            checked[ref.provider] = _provider_findings(context, config, ref.provider)
            findings += checked[ref.provider]
        info = catalog.get(ref)
        if info is None:
            findings.append(
                Finding(
                    level="warning",
                    subject=subject,
                    message="the catalog does not know this model: it counts as text-only with "
                    "an unknown context window (describe it under agent.models)",
                )
            )
        if where == "agent.imageModel" and (info is None or not info.image_input):
            findings.append(
                Finding(
                    level="warning",
                    subject=subject,
                    message="this image-chain model is not known to take image input",
                )
            )
        findings += _params_findings(params, ref, subject)
    return findings


def _params_findings(params: ParamResolver, ref: ModelRef, subject: str) -> list[Finding]:
    """
    What the configured parameters come to on *ref*: each one it does not take is a
    warning (dropped or passed), or a problem under ``paramsPolicy: "error"``.
    """
    plan = params.plan(ref)
    found = [p for p in plan.problems if p.kind is not ParamProblemKind.SUPERSEDED]
    if not found:
        return []
    verb = {
        ParamsPolicy.DROP: "dropped",
        ParamsPolicy.ERROR: "refused",
        ParamsPolicy.PASS: "sent although not taken",
    }[plan.policy]
    return [
        Finding(
            level="problem" if plan.refused else "warning",
            subject=subject,
            message=f"parameter {p.line()} ({verb}; see `modelcfg params explain {ref}`)",
        )
        for p in found
    ]


def _provider_findings(context: Context, config: Config, provider: str) -> list[Finding]:
    settings = config.provider(provider)
    findings: list[Finding] = []
    if settings is None:  # pragma: no cover - the config checks refuse unknown providers
        return [Finding(level="problem", subject=provider, message="unknown provider")]
    if settings.base_url is None and settings.api is not WireFormat.CUSTOM:
        findings.append(
            Finding(
                level="problem",
                subject=provider,
                message=f"no base URL: set $.providers.{provider}.baseUrl",
            )
        )
    resolved = resolve(context, config, provider)
    store, now = context.store(), context.now()
    stale = [
        f"{reason}; {_fix(stored, now)}"
        for profile in auth_order(context, config, provider)
        if (stored := store.get(profile)) is not None
        and (reason := unusable_reason(stored, now, can_refresh=can_refresh(config, provider)))
    ]
    if resolved.found:
        findings.append(
            Finding(
                level="ok",
                subject=provider,
                message=f"credentials from {resolved.source}",
            )
        )
        findings += [Finding(level="warning", subject=provider, message=m) for m in stale]
    elif keyless(config, provider):
        findings.append(
            Finding(level="ok", subject=provider, message="a local server: no key needed")
        )
    else:
        hint = resolved.hint or f"No credentials for {provider}."
        findings.append(
            Finding(
                level="problem",
                subject=provider,
                message=" ".join(f"{m}." for m in stale) + (" " if stale else "") + hint,
            )
        )
    return findings


def _fix(stored: StoredProfile, now: float) -> str:
    """
    What to do about a stored profile that cannot be used at *now*.
    """
    fix = f"run {login_command(stored.profile)}"
    if unusable_reason(stored, now) is None:  # refreshable, but the provider has no endpoints
        fix += f", or add OAuth endpoints under $.providers.{stored.profile.provider}.oauth"
    return fix


def _network(context: Context, config: Config, timeout_s: float) -> list[Finding]:
    import httpx

    urls: dict[str, str] = {}
    for ref, _where in _chain_members(config):
        settings = config.provider(ref.provider)
        if settings is not None and settings.base_url:
            urls.setdefault(ref.provider, settings.base_url.rstrip("/") + "/models")
    findings: list[Finding] = []
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        for provider, url in urls.items():
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                findings.append(
                    Finding(
                        level="problem",
                        subject=provider,
                        message=f"{url} did not answer ({type(exc).__name__})",
                    )
                )
                continue
            findings.append(
                Finding(
                    level="ok",
                    subject=provider,
                    message=f"{url} answered HTTP {response.status_code}",
                )
            )
    return findings


def run_validate(context: Context) -> int:
    """
    ``validate``: exit 3 for an invalid config, 1 when the dry run finds a problem, else 0.
    """
    timeout_s = positive_seconds(context.args.timeout, "--timeout")
    config = context.config()
    findings = _dry_run(context, config)
    if context.args.network:
        findings += _network(context, config, timeout_s)
    problems = [f for f in findings if f.level == "problem"]
    code = Exit.FAILURE if problems else Exit.OK
    if context.args.json:
        items: list[JSON] = [
            {"level": f.level, "subject": f.subject, "message": f.message} for f in findings
        ]
        emit_json(
            context.out,
            {"config": context.config_source(), "findings": items, "exitCode": int(code)},
        )
        return code
    out = context.out
    out.line(f"Config {context.config_source()}: valid.")
    for finding in findings:
        out.line(f"  {finding.level:<8} {finding.subject}: {finding.message}")
    warnings = sum(f.level == "warning" for f in findings)
    out.line(f"{len(problems)} problem(s), {warnings} warning(s).")
    return code

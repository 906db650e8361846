"""
``modelcfg auth order get | set | clear`` and ``modelcfg auth status``.
"""

from __future__ import annotations

import argparse

import attrs

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    chain_providers,
    emit_json,
    format_expiry,
    known_provider,
    parse_profile,
    positive_seconds,
    render_table,
    used_providers,
)
from modelcfg._cli._creds import (
    auth_order,
    can_refresh,
    env_names,
    keyless,
    login_command,
    order_set_command,
    resolve,
    short_source,
)
from modelcfg._config._schema import Config
from modelcfg._core._values import ProfileId
from modelcfg.auth import OAuthCredential, StoredProfile
from modelcfg.auth._resolve import mode_mismatch
from modelcfg.typing import JSON, JSONObject

__all__ = ["register"]

DEFAULT_EXPIRING_WITHIN_S = 86400.0
"""``auth status`` calls a credential "expiring soon" within this many seconds (one day)."""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``auth`` and its subcommands.
    """
    auth = subparsers.add_parser("auth", parents=[common], help="auth profiles and their order")
    sub = auth.add_subparsers(dest="auth_command", metavar="SUBCOMMAND", required=True)

    order = sub.add_parser("order", parents=[common], help="the auth store's per-provider order")
    order_sub = order.add_subparsers(dest="order_command", metavar="ACTION", required=True)
    get = order_sub.add_parser("get", parents=[common], help="show a provider's order")
    get.add_argument("provider", metavar="PROVIDER")
    add_json_flag(get)
    get.set_defaults(run=run_order_get)
    put = order_sub.add_parser("set", parents=[common], help="override a provider's order")
    put.add_argument("provider", metavar="PROVIDER")
    put.add_argument("profiles", metavar="PROFILE", nargs="+", help="provider:name, or just name")
    put.set_defaults(run=run_order_set)
    clear = order_sub.add_parser("clear", parents=[common], help="drop a provider's override")
    clear.add_argument("provider", metavar="PROVIDER")
    clear.set_defaults(run=run_order_clear)

    status = sub.add_parser(
        "status", parents=[common], help="expired, expiring and missing credentials"
    )
    status.add_argument(
        "--expiring-within",
        type=float,
        default=DEFAULT_EXPIRING_WITHIN_S,
        metavar="SECONDS",
        help="call a credential expiring soon within this many seconds (default: 86400)",
    )
    add_json_flag(status)
    status.set_defaults(run=run_status)


def _provider(context: Context, config: Config) -> str:
    return known_provider(config, str(context.args.provider))[0]


# --- order ---------------------------------------------------------------------------------------


def run_order_get(context: Context) -> int:
    """
    ``auth order get PROVIDER``: the store's override, and the order routing uses.
    """
    config = context.config()
    provider = _provider(context, config)
    override = context.store().order(provider)
    effective = auth_order(context, config, provider)
    declared = [p for p in config.auth.profiles if p.provider == provider]
    stored = [
        p for p in context.stored_profiles((provider,)).get(provider, ()) if p not in declared
    ]
    if override:
        origin = "auth store override"
    elif config.auth_order(provider):
        origin = "config auth.order"
    elif declared and stored:
        origin = "config auth.profiles, then auth store profiles"
    elif declared:
        origin = "config auth.profiles"
    elif stored:
        origin = "auth store profiles"
    else:
        origin = "default"
    if context.args.json:
        emit_json(
            context.out,
            {
                "provider": provider,
                "override": [str(p) for p in override] if override else None,
                "effective": [str(p) for p in effective],
                "from": origin,
            },
        )
        return Exit.OK
    context.out.line(f"{provider}: {' -> '.join(str(p) for p in effective)}  ({origin})")
    return Exit.OK


def run_order_set(context: Context) -> int:
    """
    ``auth order set PROVIDER PROFILE...``: store an order override.

    Every profile must belong to the provider and appear once. Profiles that are not
    in the auth store yet are accepted with a warning: resolution skips them until
    they are logged in.
    """
    config = context.config()
    provider = _provider(context, config)
    profiles = [parse_profile(str(text), provider) for text in context.args.profiles]
    for profile in profiles:
        if profile.provider != provider:
            raise CliError(
                f"profile {profile} belongs to provider {profile.provider!r}, so it cannot be "
                f"in the order of {provider!r}",
                Exit.USAGE,
            )
    if len(set(profiles)) != len(profiles):
        raise CliError(f"the order for {provider!r} names a profile twice", Exit.USAGE)
    store = context.store()
    for profile in profiles:
        if store.get(profile) is None:
            flag = "" if profile.name == "default" else f" --profile {profile.name}"
            context.out.warn(
                f"{profile} is not in the auth store yet; it is skipped until you run "
                f"`modelcfg login {provider}{flag}`"
            )
    store.set_order(provider, profiles)
    context.out.line(f"{provider}: {' -> '.join(str(p) for p in profiles)}  (auth store override)")
    return Exit.OK


def run_order_clear(context: Context) -> int:
    """
    ``auth order clear PROVIDER``: drop the store's override (the config's order applies again).
    """
    config = context.config()
    provider = _provider(context, config)
    existed = context.store().clear_order(provider)
    effective = auth_order(context, config, provider)
    what = "Cleared the order override" if existed else "There was no order override"
    context.out.line(
        f"{what} of {provider}; the order is now {' -> '.join(str(p) for p in effective)}."
    )
    return Exit.OK


# --- status --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProfileStatus:
    """
    One profile's line in ``auth status``.

    Attributes:
        profile: The profile.
        kind: ``api_key``, ``token`` or ``oauth``; ``None`` when not stored.
        expires_at: When its credential expires, if it does.
        state: ``ok``, ``expiring soon``, ``expired`` or ``missing``.
        detail: A few words more (``refreshable``, ``declared oauth``, ``not in auth.order``...).
        masked: A masked hint of the secret (``sk-…6789``), never the secret.
        in_order: Whether the profile is in the provider's auth order (routing uses it).
        advice: For an expired credential, a sentence saying what to do.
    """

    profile: ProfileId
    kind: str | None
    expires_at: float | None
    state: str
    detail: str
    masked: str | None
    in_order: bool = True
    advice: str | None = None


def _profile_status(
    profile: ProfileId,
    stored: StoredProfile | None,
    config: Config,
    *,
    now: float,
    within_s: float,
    refreshes: bool,
    in_order: bool = True,
) -> ProfileStatus:
    if stored is None:
        declared = config.auth.profiles.get(profile)
        detail = f"declared {declared.mode.value}" if declared else "not logged in"
        return ProfileStatus(
            profile=profile, kind=None, expires_at=None, state="missing", detail=detail, masked=None
        )
    credential = stored.credential
    expires_at = getattr(credential, "expires_at", None)
    declared = config.auth.profiles.get(profile)
    mismatch = mode_mismatch(stored, declared.mode.value if declared else None)
    if mismatch is not None:
        # Special case: routing skips a credential its profile's declared mode refuses.
        assert declared is not None
        return ProfileStatus(
            profile=profile,
            kind=stored.kind,
            expires_at=expires_at,
            state="wrong kind",
            detail=f"declared {declared.mode.value}",
            masked=credential.secret.masked(),
            in_order=in_order,
            advice=(
                f"{mismatch}; run {login_command(profile)} to store what it declares, or "
                f'declare the mode of what is stored under $.auth.profiles["{profile}"].mode.'
            ),
        )
    has_refresh = isinstance(credential, OAuthCredential) and credential.refreshable
    refreshable = has_refresh and refreshes
    detail = "refreshable" if refreshable else ""
    advice = None
    if credential.expired(now):
        state = "ok" if refreshable else "expired"
        if refreshable:
            detail = "access token expired; refreshed on next use"
        elif has_refresh:
            detail = f"cannot be refreshed: {profile.provider} has no OAuth endpoints"
            advice = (
                f"{profile}: its OAuth access token expired and nothing can refresh it, since "
                f"{profile.provider} has no OAuth endpoints; run {login_command(profile)} to "
                f"store an API key instead, or add OAuth endpoints under "
                f"$.providers.{profile.provider}.oauth in the config."
            )
        else:
            advice = f"{profile}: its credential expired; run {login_command(profile)} again."
    elif credential.expired(now, skew_s=within_s) and not refreshable:
        state = "expiring soon"
    else:
        state = "ok"
    if isinstance(credential, OAuthCredential) and credential.email:
        detail = ", ".join(filter(None, (detail, credential.email)))
    if not in_order:
        detail = ", ".join(filter(None, ("not in auth.order", detail)))
    return ProfileStatus(
        profile=profile,
        kind=stored.kind,
        expires_at=expires_at,
        state=state,
        detail=detail,
        masked=credential.secret.masked(),
        in_order=in_order,
        advice=advice,
    )


def run_status(context: Context) -> int:
    """
    ``auth status``: every provider of the config, each profile's state, the env fallback.

    Exit 1 when a provider a chain needs has no usable credential or a stored
    credential in its order has expired; 2 when one only expires soon; else 0.
    Stored profiles outside the order (which routing never uses) are listed,
    marked ``not in auth.order``, and never change the exit code.
    """
    within_s = positive_seconds(context.args.expiring_within, "--expiring-within")
    config = context.config()
    store = context.store()
    now = context.now()
    needed = set(chain_providers(config))
    used = used_providers(config)
    stored_by_provider: dict[str, list[StoredProfile]] = {}
    for stored in store.profiles():
        stored_by_provider.setdefault(stored.profile.provider, []).append(stored)
    worst = Exit.OK
    report: list[JSON] = []
    blocks: list[str] = []
    for provider in (*used, *(p for p in stored_by_provider if p not in used)):
        in_config = provider in used
        order = auth_order(context, config, provider) if in_config else ()
        refreshes = can_refresh(config, provider)
        statuses = [
            _profile_status(
                p, store.get(p), config, now=now, within_s=within_s, refreshes=refreshes
            )
            for p in order
        ]
        outside = [
            _profile_status(
                s.profile,
                s,
                config,
                now=now,
                within_s=within_s,
                refreshes=refreshes,
                in_order=False,
            )
            for s in stored_by_provider.get(provider, [])
            if s.profile not in order
        ]
        resolved = resolve(context, config, provider) if in_config else None
        names = env_names(config, provider)
        env_set = [n for n in names if context.environ.get(n, "").strip()]
        local = keyless(config, provider)
        if provider in needed and resolved is not None:
            if not (resolved.found or local) or any(s.state == "expired" for s in statuses):
                worst = Exit.FAILURE
            elif worst is Exit.OK and any(s.state == "expiring soon" for s in statuses):
                worst = Exit.EXPIRING_SOON
        report.append(
            {
                "provider": provider,
                "usedByConfig": in_config,
                "neededByChain": provider in needed,
                "source": resolved.source if resolved else None,
                "keyless": local,
                "hint": resolved.hint if resolved else None,
                "env": [{"name": n, "set": n in env_set} for n in names],
                "profiles": [_status_json(s, now) for s in (*statuses, *outside)],
            }
        )
        blocks.append(
            _status_block(
                provider,
                role=_role(in_config, provider in needed),
                statuses=[*statuses, *outside],
                order=order,
                names=names,
                env_set=env_set,
                source=short_source(resolved, local=local) if resolved else None,
                hint=resolved.hint if resolved and provider in needed else None,
                now=now,
                width=context.out.width,
            )
        )
    if context.args.json:
        emit_json(context.out, {"providers": report, "exitCode": int(worst)})
    else:
        context.out.line("\n\n".join(blocks))
    return worst


def _role(in_config: bool, needed: bool) -> str:
    if needed:
        return "used by a chain"
    return "not in a chain" if in_config else "not used by the config"


def _status_json(status: ProfileStatus, now: float) -> JSONObject:
    return {
        "profile": str(status.profile),
        "kind": status.kind,
        "expiresAt": status.expires_at,
        "expires": None if status.kind is None else format_expiry(status.expires_at, now),
        "state": status.state,
        "detail": status.detail,
        "masked": status.masked,
        "inOrder": status.in_order,
        "advice": status.advice,
    }


def _status_block(
    provider: str,
    *,
    role: str,
    statuses: list[ProfileStatus],
    order: tuple[ProfileId, ...],
    names: tuple[str, ...],
    env_set: list[str],
    source: str | None,
    hint: str | None,
    now: float,
    width: int | None = None,
) -> str:
    head = f"{provider} ({role})" + (f": auth {source}" if source is not None else "")
    rows = [
        [
            str(s.profile),
            s.kind or "-",
            "-" if s.kind is None else format_expiry(s.expires_at, now),
            s.state,
            s.masked or "",
            s.detail,
        ]
        for s in statuses
    ]
    table = render_table(
        ("PROFILE", "KIND", "EXPIRES", "STATE", "KEY", "NOTE"),
        rows,
        width=None if width is None else width - 2,
        droppable=[1],
    )
    env = ", ".join(f"{n} ({'set' if n in env_set else 'unset'})" for n in names) or "none"
    lines = [head, *("  " + line for line in table.splitlines()), f"  env fallback: {env}"]
    lines += [f"  {s.advice}" for s in statuses if s.advice and s.in_order]
    outside = [s.profile for s in statuses if not s.in_order]
    if outside and order:
        lines += [
            f"  {p} is stored but not in the auth order, so calls never use it; "
            f"to use it first, run {order_set_command(order, p)}."
            for p in outside
        ]
    elif outside:
        lines.append(
            f"  the config does not use {provider}, so calls never use these profiles; "
            f"add a {provider}/... model to a chain to use them."
        )
    if hint:
        lines.append(f"  {hint}")
    return "\n".join(lines)

"""
``modelcfg login PROVIDER`` and ``modelcfg logout PROVIDER[:NAME]``.
"""

from __future__ import annotations

import argparse
import getpass

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    is_tty,
    known_provider,
    parse_profile,
    parse_provider,
    positive_seconds,
)
from modelcfg._cli._creds import auth_order, order_set_command
from modelcfg._config._schema import AuthMode, Config
from modelcfg._config._schema import OAuthEndpoints as ConfigOAuthEndpoints
from modelcfg._core._values import ProfileId
from modelcfg.auth import login_api_key, logout
from modelcfg.auth._store import MAX_API_KEY_BYTES

__all__ = ["register_login", "register_logout"]

DEFAULT_OAUTH_TIMEOUT_S = 300.0
"""How long ``login --oauth`` waits for the browser's approval."""


def register_login(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``login``.
    """
    login = subparsers.add_parser(
        "login", parents=[common], help="store an API key or OAuth tokens for a provider"
    )
    login.add_argument("provider", metavar="PROVIDER")
    login.add_argument(
        "--profile", metavar="NAME", default="default", help="the profile name (default: default)"
    )
    login.add_argument(
        "--oauth", action="store_true", help="log in with OAuth (authorization code + PKCE)"
    )
    login.add_argument(
        "--stdin", action="store_true", help="read the API key from stdin (for scripts)"
    )
    login.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_OAUTH_TIMEOUT_S,
        metavar="SECONDS",
        help="how long an OAuth login waits for approval (default: 300)",
    )
    login.set_defaults(run=run_login)


def register_logout(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``logout``.
    """
    out = subparsers.add_parser(
        "logout", parents=[common], help="delete a profile's credentials from the auth store"
    )
    out.add_argument("profile", metavar="PROVIDER[:NAME]")
    out.set_defaults(run=run_logout)


def run_login(context: Context) -> int:
    """
    ``login PROVIDER``: create or replace ``PROVIDER:default`` (or ``PROVIDER:NAME``).

    OAuth is used with ``--oauth``, or when the profile is declared with mode
    ``oauth`` and the provider has OAuth endpoints; otherwise an API key is read
    without echo (or from stdin with ``--stdin``).
    """
    config = context.config()
    provider, settings = known_provider(config, str(context.args.provider))
    profile = parse_profile(str(context.args.profile), provider)
    if profile.provider != provider:
        raise CliError(
            f"--profile {context.args.profile} belongs to provider {profile.provider!r}, "
            f"not to {provider!r}",
            Exit.USAGE,
        )
    declared = config.auth.profiles.get(profile)
    wants_oauth = bool(context.args.oauth) or (
        declared is not None and declared.mode is AuthMode.OAUTH and settings.oauth is not None
    )
    if wants_oauth:
        if settings.oauth is None:
            raise CliError(
                f"provider {provider!r} has no OAuth endpoints: add them under "
                f"$.providers.{provider}.oauth in the config, or log in with an API key",
                Exit.CONFIG,
            )
        if context.args.stdin:
            raise CliError("--stdin reads an API key; it cannot be used with --oauth", Exit.USAGE)
        timeout_s = positive_seconds(context.args.timeout, "--timeout")
        return _login_oauth(context, profile, settings.oauth, timeout_s)
    if declared is not None and declared.mode is AuthMode.OAUTH:
        context.out.note(
            f"{profile} is declared with mode oauth, but {provider!r} has no OAuth endpoints; "
            "storing an API key instead"
        )
    key = _read_key(context, profile)
    try:
        stored = login_api_key(context.store(), provider, key=key, profile_name=profile.name)
    except ValueError as exc:
        raise CliError(str(exc), Exit.USAGE) from None
    context.out.line(f"Stored an API key as {stored} in {context.store_path()}.")
    _warn_outside_order(context, config, stored)
    return Exit.OK


def _warn_outside_order(context: Context, config: Config, profile: ProfileId) -> None:
    """
    Warn when routing never uses *profile*: it is not in its provider's auth order.
    """
    order = auth_order(context, config, profile.provider)
    if profile in order:
        return
    context.out.warn(
        f"{profile} is not in the auth order of {profile.provider} "
        f"({', '.join(str(p) for p in order)}), so calls do not use it; to use it first, "
        f"run {order_set_command(order, profile)} (or add it to "
        f"auth.order.{profile.provider} in the config)"
    )


def _read_key(context: Context, profile: ProfileId) -> str:
    if context.args.stdin:
        # Read one character more than the limit, so that a huge input is never read whole.
        key = context.stdin.read(MAX_API_KEY_BYTES + 1)
        if len(key) > MAX_API_KEY_BYTES:
            raise CliError(
                f"the input on stdin is longer than {MAX_API_KEY_BYTES // 1024} KiB, so it is "
                "not an API key; nothing was stored",
                Exit.USAGE,
            )
        return key
    if not is_tty(context.stdin):
        raise CliError(
            "no terminal to read the key from without echo; pipe it in with --stdin",
            Exit.USAGE,
        )
    try:
        return getpass.getpass(f"API key for {profile} (input is hidden): ")
    except EOFError:
        # Ctrl-D at the prompt, or a terminal that closed.
        raise CliError("no API key was entered; nothing was stored", Exit.USAGE) from None


def _login_oauth(
    context: Context, profile: ProfileId, endpoints: ConfigOAuthEndpoints, timeout_s: float
) -> int:
    import anyio
    import httpx

    from modelcfg.auth._oauth import OAuthEndpoints, login_oauth

    try:
        converted = OAuthEndpoints(
            authorize_url=endpoints.authorize_url,
            token_url=endpoints.token_url,
            client_id=endpoints.client_id,
            scopes=endpoints.scopes,
        )
    except ValueError as exc:  # the config's checks passed, so this is a rare case
        raise CliError(
            f"cannot log in to {profile.provider!r} with OAuth: "
            f"$.providers.{profile.provider}.oauth is invalid: {exc}",
            Exit.CONFIG,
        ) from None
    out = context.out

    async def show(url: str) -> None:
        print(f"Open this URL in your browser to log in to {profile.provider}:", file=out.stderr)
        print(f"  {url}", file=out.stderr, flush=True)
        print(f"Waiting up to {timeout_s:g} s for the approval...", file=out.stderr, flush=True)

    async def flow() -> ProfileId:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await login_oauth(
                context.store(),
                profile.provider,
                endpoints=converted,
                client=client,
                profile_name=profile.name,
                open_url=show,
                clock=context.clock,
                timeout_s=timeout_s,
            )

    stored = anyio.run(flow)
    credential = context.store().get(stored)
    email = getattr(credential.credential, "email", None) if credential else None
    who = f" as {email}" if email else ""
    out.line(f"Logged in{who}; stored OAuth tokens as {stored} in {context.store_path()}.")
    _warn_outside_order(context, context.config(), stored)
    return Exit.OK


def run_logout(context: Context) -> int:
    """
    ``logout PROVIDER[:NAME]``: delete the profile (``PROVIDER:default`` without a name).

    Exit 4 when the profile was not in the auth store.
    """
    text = str(context.args.profile)
    profile = parse_profile(text) if ":" in text else ProfileId.default_for(parse_provider(text))
    if logout(context.store(), profile):
        context.out.line(f"Logged out {profile}: its credentials were deleted.")
        return Exit.OK
    raise CliError(f"{profile} is not in the auth store {context.store_path()}", Exit.NOT_FOUND)

"""
OAuth 2 login (authorization code + PKCE on a loopback redirect) and token refresh.

The flow, as :func:`authorize` runs it:

1. make a PKCE pair (S256) and a random ``state``;
2. listen on ``127.0.0.1`` on a random port;
3. hand the authorize URL to an injected ``open_url`` callable (the default prints it);
4. wait for the browser's redirect to ``http://127.0.0.1:PORT/callback?code=...&state=...``,
   check ``state`` and answer with a short page;
5. exchange the code, with the PKCE verifier, at the token endpoint.

Everything goes through an injected :class:`httpx.AsyncClient`. Tokens, codes and
verifiers are never logged; errors name the provider and the OAuth error code only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Final
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import anyio.abc
import attrs
import httpx
from anyio.abc import SocketAttribute

from modelcfg._config._endpoints import http_url_problem
from modelcfg._core._failures import FailureKind
from modelcfg._core._redact import redact
from modelcfg._core._values import ProfileId
from modelcfg._log import logger_for
from modelcfg.auth._credentials import (
    OAuthCredential,
    OAuthError,
    RefreshFailedError,
    Secret,
)
from modelcfg.auth._store import AuthStoreProtocol
from modelcfg.typing import Clock

__all__ = [
    "OAuthEndpoints",
    "OAuthRefresher",
    "PkcePair",
    "authorize",
    "authorize_url",
    "login_oauth",
    "pkce_challenge",
    "print_url",
    "refresh_oauth",
]

logger = logger_for(__name__)

LOOPBACK_HOST: Final = "127.0.0.1"
_MAX_REQUEST_BYTES: Final = 16 * 1024
_ERROR_CODE_RE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
_PAGE_OK: Final = (
    b"<!doctype html><title>Logged in</title><p>Login complete. You can close this tab."
)
_PAGE_FAILED: Final = (
    b"<!doctype html><title>Login failed</title><p>Login failed. Return to the terminal."
)


def _check_http_url(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    reason = http_url_problem(value)
    if reason is not None:
        raise ValueError(f"{attribute.name} {reason}")


def _check_client_id(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string without surrounding space")


def _check_path(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith("/") or "?" in value or "#" in value:
        raise ValueError(f"{attribute.name} {value!r} must be a path starting with '/'")


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _pairs(values: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class OAuthEndpoints:
    """
    Where and as whom to log in to a provider; the config supplies it.

    Attributes:
        authorize_url: The authorization endpoint the browser opens.
        token_url: The token endpoint for code exchange and refresh.
        client_id: The public client id registered with the provider.
        scopes: The scopes to ask for.
        redirect_path: The path of the loopback redirect URI.
        extra_params: Additional authorize-URL parameters, as pairs.

    .. versionadded:: 0.1.0
    """

    authorize_url: str = attrs.field(validator=_check_http_url)
    token_url: str = attrs.field(validator=_check_http_url)
    client_id: str = attrs.field(validator=_check_client_id)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    redirect_path: str = attrs.field(default="/callback", validator=_check_path)
    extra_params: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)


def pkce_challenge(verifier: str) -> str:
    """
    Return the S256 code challenge of *verifier*: base64url(SHA-256), unpadded.
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@attrs.frozen(kw_only=True)
class PkcePair:
    """
    A PKCE code verifier (secret) and its S256 challenge (public).

    .. versionadded:: 0.1.0
    """

    verifier: Secret
    challenge: str

    @classmethod
    def generate(cls) -> PkcePair:
        """
        Make a fresh pair with a 64-byte random verifier (86 URL-safe characters).
        """
        verifier = secrets.token_urlsafe(64)
        return cls(verifier=Secret(value=verifier), challenge=pkce_challenge(verifier))


def authorize_url(
    endpoints: OAuthEndpoints, *, redirect_uri: str, state: str, challenge: str
) -> str:
    """
    Return the URL the user opens to approve the login.
    """
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", endpoints.client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
    ]
    if endpoints.scopes:
        params.append(("scope", " ".join(endpoints.scopes)))
    params.extend(endpoints.extra_params)
    separator = "&" if urlsplit(endpoints.authorize_url).query else "?"
    return f"{endpoints.authorize_url}{separator}{urlencode(params)}"


async def print_url(url: str) -> None:
    """
    The default way to "open the browser": print the URL for the user to open.
    """
    print(f"Open this URL in your browser to log in:\n  {url}")


def _hidden(value: str) -> str | Secret:
    """
    *value* as a :class:`Secret`, or as it is when a secret cannot hold it (empty, padded).
    """
    try:
        return Secret(value=value)
    except ValueError:
        return value


def _error_code(payload: object) -> str | None:
    if isinstance(payload, dict):
        code = payload.get("error")
        if isinstance(code, str) and _ERROR_CODE_RE.match(code):
            return code
    return None


def _email_from_id_token(id_token: object) -> str | None:
    """
    Read the ``email`` claim of an ID token without verifying it (it is only a label).
    """
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return None
    body = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) and email else None


def _credential_from_tokens(
    payload: object, *, now: float, previous: OAuthCredential | None
) -> OAuthCredential | None:
    """
    Build a credential from a token endpoint's JSON, or ``None`` when it is unusable.
    """
    if not isinstance(payload, dict):
        return None
    access = payload.get("access_token")
    if not isinstance(access, str) or not access.strip():
        return None
    refresh = payload.get("refresh_token")
    if not isinstance(refresh, str) or not refresh.strip():
        # A refresh answer may omit the refresh token: the old one stays valid.
        refresh_secret = previous.refresh if previous is not None else None
    else:
        refresh_secret = Secret(value=refresh.strip())
    expires_in = payload.get("expires_in")
    expires_at: float | None = None
    if (
        isinstance(expires_in, int | float)
        and not isinstance(expires_in, bool)
        and math.isfinite(expires_in)
        and expires_in >= 0
    ):
        expires_at = now + float(expires_in)
    email = payload.get("email")
    if not isinstance(email, str) or not email:
        email = _email_from_id_token(payload.get("id_token"))
    if email is None and previous is not None:
        email = previous.email
    return OAuthCredential(
        access=access.strip(), refresh=refresh_secret, expires_at=expires_at, email=email
    )


@attrs.frozen(kw_only=True)
class _Refusal:
    """
    Why a token request failed, as plain words: the error it becomes holds nothing else.
    """

    message: str
    kind: FailureKind
    error: str | None = None
    status: int | None = None


async def _token_request(
    client: httpx.AsyncClient,
    endpoints: OAuthEndpoints,
    form: Mapping[str, str | Secret],
    *,
    provider: str,
    what: str,
    now: float,
    previous: OAuthCredential | None,
    refreshing: bool,
    profile: ProfileId | None = None,
) -> OAuthCredential:
    """
    Post *form* (its secrets as :class:`Secret`) to the token endpoint and return the tokens.

    Raises:
        RefreshFailedError: *refreshing*, and the request failed.
        OAuthError: Not *refreshing*, and the request failed.
    """
    logger.debug("Requesting %s from the token endpoint of %s.", what, provider)
    outcome = await _exchange(
        client, endpoints.token_url, form, provider=provider, what=what, now=now, previous=previous
    )
    if isinstance(outcome, OAuthCredential):
        return outcome
    # Raised here, outside any handler and from a frame that holds no raw secret:
    # the error has no cause or context that could keep the request (whose body
    # holds the refresh token or the code), and error trackers that record frame
    # locals find only masked values.
    if refreshing:
        raise RefreshFailedError(
            outcome.message,
            provider=provider,
            profile=profile,
            error=outcome.error,
            status=outcome.status,
            kind=outcome.kind,
        )
    raise OAuthError(
        outcome.message,
        provider=provider,
        error=outcome.error,
        status=outcome.status,
        kind=outcome.kind,
    )


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    form: Mapping[str, str | Secret],
    *,
    provider: str,
    what: str,
    now: float,
    previous: OAuthCredential | None,
) -> OAuthCredential | _Refusal:
    """
    Post *form* to the token endpoint *url*: the new tokens, or why there are none.

    Failures are returned, not raised, so the request and the answer (both may
    hold secrets) stay in this frame, which no traceback keeps.
    """
    try:
        response = await client.post(
            url,
            data={k: v.reveal() if isinstance(v, Secret) else v for k, v in form.items()},
            headers={"Accept": "application/json"},
        )
    except httpx.TimeoutException:
        return _Refusal(
            message=f"The token endpoint of {provider} did not answer in time during {what}.",
            kind=FailureKind.TIMEOUT,
        )
    except httpx.HTTPError as exc:
        return _Refusal(
            message=f"Could not reach the token endpoint of {provider} during {what} "
            f"({type(exc).__name__}).",
            kind=FailureKind.CONNECTION,
        )
    try:
        payload: object = response.json()
    except (ValueError, RecursionError):
        payload = None
    if response.status_code >= 400:
        code = _error_code(payload)
        description = ""
        if isinstance(payload, dict) and isinstance(payload.get("error_description"), str):
            sent = (v.reveal() for v in form.values() if isinstance(v, Secret))
            text = redact(str(payload["error_description"]), *sent)[:200].strip()
            # The message adds its own full stop: "... is invalid." must not end "..".
            description = ": " + text.rstrip(".") if text.rstrip(".") else ""
        return _Refusal(
            message=f"The token endpoint of {provider} refused {what} with HTTP "
            f"{response.status_code}{f' ({code})' if code else ''}{description}.",
            kind=FailureKind.SERVER if response.status_code >= 500 else FailureKind.AUTH,
            error=code,
            status=response.status_code,
        )
    credential = _credential_from_tokens(payload, now=now, previous=previous)
    if credential is None:
        return _Refusal(
            message=f"The token endpoint of {provider} answered {what} without an access token.",
            kind=FailureKind.AUTH,
            status=response.status_code,
        )
    return credential


async def refresh_oauth(
    credential: OAuthCredential,
    *,
    provider: str,
    endpoints: OAuthEndpoints,
    client: httpx.AsyncClient,
    clock: Clock = time.time,
    profile: ProfileId | None = None,
) -> OAuthCredential:
    """
    Use the refresh token of *credential* to get a new access token.

    Args:
        credential: The tokens to refresh; it must have a refresh token.
        provider: The provider, for messages.
        endpoints: The provider's OAuth endpoints.
        client: The HTTP client to use.
        clock: Seconds since the epoch, to turn ``expires_in`` into ``expires_at``.
        profile: The profile being refreshed, recorded on errors.

    Returns:
        The new tokens; the old refresh token is kept when the server sends none.

    Raises:
        RefreshFailedError: The server refused (kind ``AUTH``), or could not be reached.

    .. versionadded:: 0.1.0
    """
    if credential.refresh is None:
        raise RefreshFailedError(
            f"The OAuth tokens of {profile or provider} have no refresh token; log in again.",
            provider=provider,
            profile=profile,
        )
    form: dict[str, str | Secret] = {
        "grant_type": "refresh_token",
        "refresh_token": credential.refresh,
        "client_id": endpoints.client_id,
    }
    return await _token_request(
        client,
        endpoints,
        form,
        provider=provider,
        what="a token refresh",
        now=clock(),
        previous=credential,
        refreshing=True,
        profile=profile,
    )


@attrs.frozen(kw_only=True)
class _Callback:
    params: Mapping[str, str]


async def _read_request_target(stream: anyio.abc.ByteStream) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST_BYTES:
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "GET":
        return None
    return parts[1]


async def _respond(stream: anyio.abc.ByteStream, status: str, body: bytes) -> None:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stream.send(head + body)


async def _show(open_url: Callable[[str], Coroutine[object, object, None]], url: str) -> None:
    """
    Run *open_url*; if it fails, log the URL so the user can still open it by hand.
    """
    try:
        await open_url(url)
    except Exception as exc:
        logger.warning(
            "Could not open the login URL (%s); open it by hand: %s", type(exc).__name__, url
        )


async def authorize(
    endpoints: OAuthEndpoints,
    *,
    provider: str,
    client: httpx.AsyncClient,
    open_url: Callable[[str], Coroutine[object, object, None]] = print_url,
    clock: Clock = time.time,
    timeout_s: float = 300.0,
) -> OAuthCredential:
    """
    Run the authorization-code + PKCE login on a loopback redirect and return the tokens.

    Args:
        endpoints: The provider's OAuth endpoints.
        provider: The provider, for messages.
        client: The HTTP client used for the token exchange.
        open_url: Shows the authorize URL to the user (opens a browser, prints it);
            it runs concurrently with the loopback listener.
        clock: Seconds since the epoch, to turn ``expires_in`` into ``expires_at``.
        timeout_s: How long to wait for the user to approve.

    Raises:
        OAuthError: The user denied access, ``state`` did not match, nothing arrived
            within *timeout_s*, or the code exchange failed.

    .. versionadded:: 0.1.0
    """
    pkce = PkcePair.generate()
    state = secrets.token_urlsafe(24)
    callback: list[_Callback] = []
    arrived = anyio.Event()

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            try:
                target = await _read_request_target(stream)
                parts = urlsplit(target or "")
                if target is None or parts.path != endpoints.redirect_path or arrived.is_set():
                    await _respond(stream, "404 Not Found", b"Not found.")
                    return
                query = parse_qs(parts.query, keep_blank_values=True)
                params = {k: v[0] for k, v in query.items() if v}
                ok = "code" in params and params.get("state") == state
                await _respond(
                    stream, "200 OK" if ok else "400 Bad Request", _PAGE_OK if ok else _PAGE_FAILED
                )
                callback.append(_Callback(params=params))
                arrived.set()
            except Exception:  # a stray client must not break the login
                logger.debug("Ignored a malformed request on the loopback listener.")

    listener = await anyio.create_tcp_listener(local_host=LOOPBACK_HOST, local_port=0)
    try:
        async with listener:
            port = listener.extra(SocketAttribute.local_port)
            redirect_uri = f"http://{LOOPBACK_HOST}:{port}{endpoints.redirect_path}"
            url = authorize_url(
                endpoints, redirect_uri=redirect_uri, state=state, challenge=pkce.challenge
            )
            logger.debug("Waiting for the %s login redirect on %s.", provider, redirect_uri)
            with anyio.fail_after(timeout_s):
                async with anyio.create_task_group() as tg:
                    serving = anyio.CancelScope()

                    async def serve() -> None:
                        with serving:
                            await listener.serve(handle)

                    tg.start_soon(serve)
                    tg.start_soon(_show, open_url, url)
                    await arrived.wait()
                    serving.cancel()
    except TimeoutError:
        raise OAuthError(
            f"No login approval for {provider} arrived within {timeout_s:g} s.",
            provider=provider,
        ) from None
    params = callback[0].params
    if params.get("state") != state:
        raise OAuthError(
            f"The login redirect for {provider} carried a wrong 'state'; "
            "it was rejected (possible cross-site request).",
            provider=provider,
        )
    if "code" not in params:
        code = params.get("error", "")
        shown = f" ({code})" if _ERROR_CODE_RE.match(code) else ""
        raise OAuthError(
            f"The login for {provider} was not approved{shown}.",
            provider=provider,
            error=code or None,
        )
    form: dict[str, str | Secret] = {
        "grant_type": "authorization_code",
        "code": _hidden(params["code"]),
        "redirect_uri": redirect_uri,
        "client_id": endpoints.client_id,
        "code_verifier": pkce.verifier,
    }
    return await _token_request(
        client,
        endpoints,
        form,
        provider=provider,
        what="the authorization code",
        now=clock(),
        previous=None,
        refreshing=False,
    )


async def login_oauth(
    store: AuthStoreProtocol,
    provider: str,
    *,
    endpoints: OAuthEndpoints,
    client: httpx.AsyncClient,
    profile_name: str = "default",
    open_url: Callable[[str], Coroutine[object, object, None]] = print_url,
    clock: Clock = time.time,
    timeout_s: float = 300.0,
) -> ProfileId:
    """
    Log in with OAuth and create or replace ``provider:default`` (or ``provider:NAME``).

    Returns:
        The profile that now holds the tokens.

    Raises:
        OAuthError: The login failed; nothing was stored.

    .. versionadded:: 0.1.0
    """
    profile = ProfileId(provider=provider, name=profile_name)
    credential = await authorize(
        endpoints,
        provider=profile.provider,
        client=client,
        open_url=open_url,
        clock=clock,
        timeout_s=timeout_s,
    )
    store.put(profile, credential)
    logger.info("Logged in to %s as %s.", profile.provider, profile)
    return profile


@attrs.frozen(kw_only=True)
class OAuthRefresher:
    """
    Refreshes OAuth tokens for :func:`~modelcfg.auth.credential_for`, one endpoint set per provider.

    Attributes:
        endpoints: The OAuth endpoints of each provider, by provider id.
        client: The HTTP client to use.
        clock: Seconds since the epoch.

    .. versionadded:: 0.1.0
    """

    endpoints: Mapping[str, OAuthEndpoints]
    client: httpx.AsyncClient = attrs.field(eq=False, repr=False)
    clock: Clock = attrs.field(default=time.time, eq=False, repr=False)

    def can_refresh(self, provider: str) -> bool:
        """
        Whether OAuth endpoints are configured for *provider*.

        :func:`~modelcfg.auth.credential_for` asks before relying on a refresh: an
        expired access token of a provider without endpoints counts as unusable.

        .. versionadded:: 0.1.0
        """
        return provider in self.endpoints

    async def __call__(self, profile: ProfileId, credential: OAuthCredential) -> OAuthCredential:
        """
        Return fresh tokens for *profile*.

        Raises:
            RefreshFailedError: No endpoints are configured for the provider, or the refresh failed.
        """
        endpoints = self.endpoints.get(profile.provider)
        if endpoints is None:
            raise RefreshFailedError(
                f"Cannot refresh the tokens of {profile}: no OAuth endpoints are configured "
                f"for provider {profile.provider!r}.",
                provider=profile.provider,
                profile=profile,
            )
        return await refresh_oauth(
            credential,
            provider=profile.provider,
            endpoints=endpoints,
            client=self.client,
            clock=self.clock,
            profile=profile,
        )

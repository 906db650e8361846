"""
A fake OAuth 2 authorization server on 127.0.0.1, for tests of login and refresh.

It is a context manager running a threaded ``http.server`` on a random loopback
port (standard library only)::

    with FakeOAuthServer() as server:
        endpoints = server.endpoints()
        ...  # open_url = an HTTP GET of the authorize URL, following redirects

- ``GET /authorize`` plays the user approving: it checks the client id, the
  loopback ``redirect_uri`` and an S256 ``code_challenge``, then redirects (302)
  to ``redirect_uri?code=...&state=...``. With ``deny = True`` it redirects with
  ``error=access_denied`` instead.
- ``POST /token`` with ``grant_type=authorization_code`` checks the code (single
  use), the ``redirect_uri`` and the PKCE ``code_verifier`` against the challenge;
  with ``grant_type=refresh_token`` it checks the refresh token, or fails with
  400 ``invalid_grant`` while ``fail_refresh`` is true. It answers
  ``access_token``, ``refresh_token`` (rotated on each refresh), ``expires_in``
  and, when ``email`` is set, an unsigned ``id_token`` carrying it.

Tokens start with ``token_prefix``, so tests can use a canary prefix and check
that no token leaks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs

if TYPE_CHECKING:
    from modelcfg.auth._oauth import OAuthEndpoints

__all__ = ["FakeOAuthServer"]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@attrs.frozen(kw_only=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str


@attrs.define(kw_only=True)
class FakeOAuthServer:
    """
    A local OAuth 2 server with PKCE, token refresh and switchable failures.

    The settings below may be changed while the server runs (each is read per request).

    Attributes:
        client_id: The only client id accepted.
        expires_in: Lifetime of issued access tokens, in seconds.
        email: When set, an ``id_token`` with this ``email`` claim is issued.
        token_prefix: The start of every issued token.
        fail_refresh: Answer every refresh with 400 ``invalid_grant``.
        deny: Play the user refusing the login.
        rotate_refresh: Issue a new refresh token on each refresh (and revoke the old one).
        token_requests: How many requests reached the token endpoint.
        refreshes: How many refreshes succeeded.
        verified_pkce: How many code exchanges passed the PKCE check.

    .. versionadded:: 0.1.0
    """

    client_id: str = "modelcfg-test-client"
    expires_in: int = 3600
    email: str | None = None
    token_prefix: str = "fake-"
    fail_refresh: bool = False
    deny: bool = False
    rotate_refresh: bool = True
    token_requests: int = attrs.field(default=0, init=False)
    refreshes: int = attrs.field(default=0, init=False)
    verified_pkce: int = attrs.field(default=0, init=False)
    _codes: dict[str, _Grant] = attrs.field(factory=dict, init=False, repr=False)
    _refresh_tokens: set[str] = attrs.field(factory=set, init=False, repr=False)
    _access_tokens: set[str] = attrs.field(factory=set, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _httpd: ThreadingHTTPServer | None = attrs.field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        """
        ``http://127.0.0.1:PORT``, once started.
        """
        if self._httpd is None:
            raise RuntimeError("The fake OAuth server is not running; use it in a with block.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def authorize_url(self) -> str:
        """
        The authorization endpoint.
        """
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        """
        The token endpoint.
        """
        return f"{self.base_url}/token"

    def endpoints(self, *, scopes: tuple[str, ...] = ("api",)) -> OAuthEndpoints:
        """
        Return :class:`~modelcfg.auth.OAuthEndpoints` pointing at this server.
        """
        from modelcfg.auth._oauth import OAuthEndpoints

        return OAuthEndpoints(
            authorize_url=self.authorize_url,
            token_url=self.token_url,
            client_id=self.client_id,
            scopes=scopes,
        )

    def is_valid_access_token(self, token: str) -> bool:
        """
        Whether *token* is an access token this server issued.
        """
        with self._lock:
            return token in self._access_tokens

    def issue_refresh_token(self) -> str:
        """
        Register and return a refresh token, as if from an earlier login.
        """
        token = self._new_token("refresh")
        with self._lock:
            self._refresh_tokens.add(token)
        return token

    def start(self) -> FakeOAuthServer:
        """
        Start serving on a random port of 127.0.0.1 in a daemon thread.
        """
        handler = type("_Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-oauth",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """
        Stop serving and release the port.
        """
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOAuthServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _new_token(self, what: str) -> str:
        return f"{self.token_prefix}{what}-{secrets.token_urlsafe(24)}"

    # The handlers below run on server threads; they return (status, headers, body).

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        redirect_uri = query.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            return 400, {}, b"redirect_uri must be a loopback http URI"
        if query.get("client_id") != self.client_id:
            return 400, {}, b"unknown client_id"
        if query.get("response_type") != "code":
            return 400, {}, b"response_type must be code"
        challenge = query.get("code_challenge", "")
        if query.get("code_challenge_method") != "S256" or len(challenge) != 43:
            return 400, {}, b"an S256 code_challenge is required"
        params: dict[str, str] = {}
        if self.deny:
            params["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self._codes[code] = _Grant(
                    client_id=self.client_id, redirect_uri=redirect_uri, challenge=challenge
                )
            params["code"] = code
        if "state" in query:
            params["state"] = query["state"]
        return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, b""

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.token_requests += 1
        grant_type = form.get("grant_type")
        if form.get("client_id") != self.client_id:
            return _oauth_error(401, "invalid_client")
        if grant_type == "authorization_code":
            with self._lock:
                grant = self._codes.pop(form.get("code", ""), None)
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                return _oauth_error(400, "invalid_grant")
            if _s256(form.get("code_verifier", "")) != grant.challenge:
                return _oauth_error(400, "invalid_grant", "PKCE verification failed")
            with self._lock:
                self.verified_pkce += 1
            return self._issue(refresh=None)
        if grant_type == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self._lock:
                known = refresh in self._refresh_tokens
            if self.fail_refresh or not known:
                return _oauth_error(400, "invalid_grant", "The refresh token is invalid.")
            with self._lock:
                self.refreshes += 1
            return self._issue(refresh=refresh)
        return _oauth_error(400, "unsupported_grant_type")

    def _issue(self, *, refresh: str | None) -> tuple[int, dict[str, str], bytes]:
        access = self._new_token("access")
        payload: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        with self._lock:
            self._access_tokens.add(access)
            if refresh is None or self.rotate_refresh:
                if refresh is not None:
                    self._refresh_tokens.discard(refresh)
                new_refresh = self._new_token("refresh")
                self._refresh_tokens.add(new_refresh)
                payload["refresh_token"] = new_refresh
        if self.email is not None:
            claims = base64.urlsafe_b64encode(json.dumps({"email": self.email}).encode())
            payload["id_token"] = f"e30.{claims.rstrip(b'=').decode()}.sig"
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _oauth_error(
    status: int, error: str, description: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = description
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeOAuthServer]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """
        Stay silent: request lines carry codes.
        """

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/authorize":
            self._send(HTTPStatus.NOT_FOUND, {}, b"not found")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self._send(*self.fake._authorize(query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if urlsplit(self.path).path != "/token":
            self._send(HTTPStatus.NOT_FOUND, {}, b"not found")
            return
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        self._send(*self.fake._token(form))

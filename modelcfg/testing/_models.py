"""
Fake model listings on 127.0.0.1: OpenRouter's, an OpenAI-compatible one and Anthropic's.

:class:`FakeModelsServer` is a small threaded HTTP server (standard library
only) that answers ``GET`` on three listings, each under its own base URL:

- ``/openrouter/api/v1/models``: OpenRouter's public list (no key needed),
  with an ``ETag`` and ``304 Not Modified`` for a matching ``If-None-Match``;
- ``/openai/v1/models``: an OpenAI-compatible list that needs
  ``Authorization: Bearer KEY``, with an ``ETag`` too;
- ``/anthropic/v1/models``: Anthropic's, which needs ``x-api-key`` (or an
  OAuth bearer token with the OAuth beta flag) and ``anthropic-version``, and
  pages with ``limit`` (1 to 1000, 20 by default), ``after_id`` and
  ``before_id``, answering ``has_more``, ``first_id`` and ``last_id``.

It is as strict as the real services: a missing or wrong credential is a 401
in the provider's error shape (echoing the key it got, so tests can prove a
client never repeats it), a missing ``anthropic-version`` or a bad ``limit``
a 400, an unknown path a 404, another method a 405. Tests can make a listing
fail (:meth:`~FakeModelsServer.fail`), answer garbage
(:meth:`~FakeModelsServer.answer_raw`) or change its models (the ``openrouter``,
``openai`` and ``anthropic`` lists may be replaced at any time). Every request
is recorded. It only ever listens on loopback.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Literal, Self

import attrs

from modelcfg.testing._listings import anthropic_models, openai_models, openrouter_models
from modelcfg.typing import JSON, JSONObject

__all__ = ["FakeModelsServer", "Listing", "ModelsRequest"]

Listing = Literal["openrouter", "openai", "anthropic"]
"""One of the three listings a :class:`FakeModelsServer` serves."""

_PATHS: Final[Mapping[str, Listing]] = {
    "/openrouter/api/v1/models": "openrouter",
    "/openai/v1/models": "openai",
    "/anthropic/v1/models": "anthropic",
}
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1"})
_ANTHROPIC_OAUTH_BETA: Final = "oauth-2025-04-20"


def _check_loopback(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _LOOPBACK:
        raise ValueError(f"the fake models server only binds to loopback, not to {value!r}")


@attrs.frozen(kw_only=True)
class ModelsRequest:
    """
    One request the fake models server received.

    Attributes:
        method: The HTTP method.
        path: The path, without the query.
        query: The query parameters (the last value of each).
        listing: Which listing the path belongs to, or ``None``.
        status: The status it was answered with.
        headers: The request headers, lower-cased (hidden from reprs: they may hold a key).
    """

    method: str
    path: str
    query: Mapping[str, str]
    listing: Listing | None
    status: int
    headers: Mapping[str, str] = attrs.field(repr=False, hash=False)


@attrs.frozen
class _Failure:
    status: int
    times: int | None


@attrs.define
class _State:
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    log: list[ModelsRequest] = attrs.field(factory=list)
    failures: dict[str, _Failure] = attrs.field(factory=dict)
    raw: dict[str, bytes] = attrs.field(factory=dict)
    server: http.server.ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None


@attrs.define(kw_only=True)
class FakeModelsServer:
    """
    Model listings on a loopback port; use it as a context manager.

    Attributes:
        openrouter: The ``data`` of OpenRouter's list (by default about 160 realistic models).
        openai: The ``data`` of the OpenAI-compatible list.
        anthropic: Anthropic's models, in the order listed (newest first).
        api_key: The key the OpenAI-compatible and Anthropic listings accept;
            ``None`` accepts any non-empty key.
        etags: Whether the OpenRouter and OpenAI-compatible listings send ``ETag``
            and honour ``If-None-Match``.
        host: The loopback address to bind.
    """

    openrouter: list[JSONObject] = attrs.field(factory=openrouter_models)
    openai: list[JSONObject] = attrs.field(factory=openai_models)
    anthropic: list[JSONObject] = attrs.field(factory=anthropic_models)
    api_key: str | None = attrs.field(default=None, repr=False)
    etags: bool = True
    host: str = attrs.field(default="127.0.0.1", validator=_check_loopback)
    _state: _State = attrs.field(factory=_State, init=False, repr=False, eq=False)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """
        Bind a free loopback port and serve in a background thread.

        Raises:
            RuntimeError: The server is already running.
        """
        if self._state.server is not None:
            raise RuntimeError("the fake models server is already running")
        handler = _handler_for(self)
        server_class = _IPv6Server if ":" in self.host else http.server.ThreadingHTTPServer
        server = server_class((self.host, 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="fake-models", daemon=True)
        self._state.server, self._state.thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """
        Stop serving and wait for the server thread.
        """
        server, thread = self._state.server, self._state.thread
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._state.server = self._state.thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- info

    @property
    def port(self) -> int:
        """
        The port it listens on.

        Raises:
            RuntimeError: The server is not running.
        """
        if self._state.server is None:
            raise RuntimeError("the fake models server is not running: call start() or use 'with'")
        port: int = self._state.server.server_address[1]
        return port

    @property
    def root(self) -> str:
        """
        ``http://127.0.0.1:PORT``.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openrouter_base_url(self) -> str:
        """
        The base URL of the OpenRouter listing (``.../openrouter/api/v1``).
        """
        return f"{self.root}/openrouter/api/v1"

    @property
    def openai_base_url(self) -> str:
        """
        The base URL of the OpenAI-compatible listing (``.../openai/v1``).
        """
        return f"{self.root}/openai/v1"

    @property
    def anthropic_base_url(self) -> str:
        """
        The base URL of the Anthropic listing (``.../anthropic/v1``).
        """
        return f"{self.root}/anthropic/v1"

    @property
    def requests(self) -> tuple[ModelsRequest, ...]:
        """
        Every request received so far, in order.
        """
        with self._state.lock:
            return tuple(self._state.log)

    def requests_to(self, listing: Listing) -> tuple[ModelsRequest, ...]:
        """
        The requests received so far by one listing.
        """
        return tuple(r for r in self.requests if r.listing == listing)

    # -------------------------------------------------------------- control

    def fail(self, listing: Listing, status: int = 503, *, times: int | None = None) -> None:
        """
        Answer *listing*'s next *times* requests (``None``: all, until :meth:`heal`) with *status*.
        """
        with self._state.lock:
            self._state.failures[listing] = _Failure(status=status, times=times)

    def answer_raw(self, listing: Listing, body: bytes | None) -> None:
        """
        Answer *listing* with ``200`` and *body* as it is (``None`` goes back to the models).
        """
        with self._state.lock:
            if body is None:
                self._state.raw.pop(listing, None)
            else:
                self._state.raw[listing] = body

    def heal(self) -> None:
        """
        Forget every failure and raw answer set with :meth:`fail` and :meth:`answer_raw`.
        """
        with self._state.lock:
            self._state.failures.clear()
            self._state.raw.clear()

    def reset(self) -> None:
        """
        Forget the recorded requests (failures and raw answers stay).
        """
        with self._state.lock:
            self._state.log.clear()

    # --------------------------------------------------------------- answers

    def _take_failure(self, listing: Listing) -> int | None:
        with self._state.lock:
            failure = self._state.failures.get(listing)
            if failure is None:
                return None
            if failure.times is not None:
                if failure.times <= 1:
                    del self._state.failures[listing]
                else:
                    self._state.failures[listing] = _Failure(failure.status, failure.times - 1)
            return failure.status

    def answer(
        self, method: str, target: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """
        The status, headers and body for one request (what the server sends).
        """
        parts = urllib.parse.urlsplit(target)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        listing = _PATHS.get(parts.path.rstrip("/"))
        status, extra, body = self._answer(method, listing, query, headers)
        with self._state.lock:
            self._state.log.append(
                ModelsRequest(
                    method=method,
                    path=parts.path,
                    query=query,
                    listing=listing,
                    status=status,
                    headers=dict(headers),
                )
            )
        return status, extra, body

    def _answer(
        self,
        method: str,
        listing: Listing | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> tuple[int, dict[str, str], bytes]:
        if listing is None:
            return _error(404, listing, "not_found_error", "no such route")
        if method != "GET":
            return _error(405, listing, "invalid_request_error", f"{method} is not allowed here")
        refused = self._refuse(listing, headers)
        if refused is not None:
            return refused
        failing = self._take_failure(listing)
        if failing is not None:
            return _error(failing, listing, "api_error", "the listing is unavailable right now")
        with self._state.lock:
            raw = self._state.raw.get(listing)
        if raw is not None:
            return 200, {"content-type": "application/json"}, raw
        if listing == "anthropic":
            return self._anthropic_page(query)
        data: list[JSON] = list(self.openrouter if listing == "openrouter" else self.openai)
        payload: JSONObject = {"data": data}
        if listing == "openai":
            payload = {"object": "list", "data": data}
        body = json.dumps(payload).encode()
        extra = {"content-type": "application/json"}
        if self.etags:
            etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            extra["etag"] = etag
            wanted = {tag.strip() for tag in headers.get("if-none-match", "").split(",")}
            if etag in wanted or "*" in wanted:
                return 304, {"etag": etag}, b""
        return 200, extra, body

    def _refuse(
        self, listing: Listing, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes] | None:
        """
        The error for a request the listing would refuse (credentials, version), or ``None``.
        """
        if listing == "openrouter":
            return None
        if listing == "openai":
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
                return _error(
                    401,
                    listing,
                    "invalid_request_error",
                    "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.",
                )
            key = auth.removeprefix("Bearer ").strip()
            if self.api_key is not None and key != self.api_key:
                return _error(
                    401, listing, "invalid_api_key", f"Incorrect API key provided: {key}."
                )
            return None
        if not headers.get("anthropic-version"):
            return _error(
                400, listing, "invalid_request_error", "anthropic-version: header is required"
            )
        key = headers.get("x-api-key", "")
        bearer = headers.get("authorization", "")
        if not key and bearer.startswith("Bearer "):
            if _ANTHROPIC_OAUTH_BETA not in headers.get("anthropic-beta", ""):
                return _error(
                    401,
                    listing,
                    "authentication_error",
                    "OAuth authentication is currently not supported without the OAuth beta",
                )
            key = bearer.removeprefix("Bearer ").strip()
        if not key:
            return _error(401, listing, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return _error(401, listing, "authentication_error", f"invalid x-api-key: {key}")
        return None

    def _anthropic_page(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        limit_text = query.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            return _error(
                400,
                "anthropic",
                "invalid_request_error",
                f"limit: Input should be between 1 and 1000, got {limit_text!r}",
            )
        limit = int(limit_text)
        models = list(self.anthropic)
        ids = [str(m.get("id")) for m in models]
        after, before = query.get("after_id"), query.get("before_id")
        if after is not None and before is not None:
            return _error(
                400, "anthropic", "invalid_request_error", "Use either after_id or before_id"
            )
        cursor = after if after is not None else before
        if cursor is not None and cursor not in ids:
            return _error(404, "anthropic", "not_found_error", f"model: {cursor}")
        if after is not None:
            start = ids.index(after) + 1
            page = models[start : start + limit]
            has_more = start + limit < len(models)
        elif before is not None:
            end = ids.index(before)
            page = models[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = models[:limit]
            has_more = limit < len(models)
        payload: JSONObject = {
            "data": list[JSON](page),
            "has_more": has_more,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
        return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


def _error(
    status: int, listing: Listing | None, kind: str, message: str
) -> tuple[int, dict[str, str], bytes]:
    """
    An error in the listing's own shape (Anthropic's ``{"type": "error", ...}``, else OpenAI's).
    """
    body: JSONObject
    if listing == "anthropic":
        body = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        body = {"error": {"message": message, "type": kind, "code": status}}
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


class _IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(fake: FakeModelsServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length", "0") or 0)
            if length:
                self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra, body = fake.answer(self.command, self.path, headers)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the tests read fake.requests instead

    return Handler

"""
A real, misbehaving LLM provider on 127.0.0.1, for tests (yours and ours).

:class:`FakeProvider` runs a small threaded HTTP/1.1 server (standard library
only) on a free loopback port, so it works under any async library. It speaks
both wire formats: ``POST /v1/chat/completions`` (OpenAI-compatible),
``POST /v1/messages`` (Anthropic) and ``GET /v1/models`` (under another root
with *api_root*). The **model name picks the behaviour**, so one server can play
a healthy primary and a broken fallback::

    with FakeProvider(behaviours={"primary": Flap(down_requests=2)}) as fake:
        endpoint = Endpoint(model="429-once", base_url=fake.base_url, credential="k")
        ...
        assert len(fake.requests_for("429-once")) == 2

Behaviours (see :data:`BEHAVIOURS`): ``ok``; ``429-once`` (429 with
``Retry-After``, then success); ``429`` (always, no ``Retry-After``);
``500-once``; ``503`` (always); ``overloaded`` (529 on the Anthropic wire, 503
"overloaded" on OpenAI's); ``reset`` (TCP reset before any header); ``silent``
(never answers); ``slow-first-token`` (headers and a keep-alive at once, the
first token after *first_token_delay_s*); ``cut`` (a stream that stops
mid-answer and closes the connection); ``stall`` (a stream that stops
mid-answer and keeps the connection open); ``malformed`` (a garbage event in
the stream; a garbage body when not streaming); ``no-done`` (no ``[DONE]`` /
``message_stop``, but a finish reason and usage, then the connection closes);
``no-done-open`` (the same, but the connection stays open, as some servers and
proxies do: the client must finish on its own); ``endless-body`` (a success
body that never ends); ``gzip-bomb`` (a small gzip body that inflates to 64 MiB);
``endless-sse`` (a valid stream whose text never ends); ``sse-no-dispatch``
(``data:`` lines forever, never a blank line); ``context-length`` and
``content-filter`` (400 with each provider's error shape); ``flap`` (503 while
down, then healthy; see :class:`Flap`); ``auth`` (401, echoing the key it got,
to test redaction); ``billing`` (402); ``200-error`` (HTTP 200 whose body is
an error object, as OpenRouter sends: a 429 in its numeric code); ``not-found``
(404 model). Any other
model name behaves like ``ok``. Answers are deterministic:
``"Hello from <model>"``, 12 input and 4 output tokens.

It is as strict as the real services about the request itself, before any
behaviour: a path it does not serve answers 404 with a proxy's HTML page (no
provider's error shape, as a wrong base URL gets in the real world); a missing
credential answers 401 (``Authorization: Bearer`` on the OpenAI wire; ``x-api-key``,
or a bearer token with the OAuth beta flag, on Anthropic's) unless the provider
is *keyless*; a missing ``anthropic-version``, a ``content-type`` other than JSON,
a body that is not a JSON object, or a missing or malformed required field
(``model`` and ``messages``; Anthropic's ``max_tokens``, its two roles and no
unknown top-level fields; OpenAI's ``stream_options`` only with ``stream``)
answers 400, each in the provider's error shape.

Every request is recorded with its arrival time (:func:`time.monotonic`), so
tests can assert counts and spacing. The server only ever binds to loopback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Final, Literal, Self

import attrs

from modelcfg.typing import JSON, JSONObject

__all__ = ["BEHAVIOURS", "FakeProvider", "Flap", "RecordedRequest"]

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_INPUT_TOKENS: Final = 12
_OUTPUT_TOKENS: Final = 4
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    529: "Overloaded",
}

Wire = Literal["openai", "anthropic", "other"]


def _check_loopback(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _LOOPBACK:
        raise ValueError(f"the fake provider only binds to loopback, not to {value!r}")


def _check_root(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith("/") or value.endswith("/") or "?" in value or "#" in value:
        raise ValueError(
            f"api_root must be a path such as '/v1' or '/api/v1' (a leading '/', "
            f"no trailing one), not {value!r}"
        )


@attrs.frozen(kw_only=True)
class Flap:
    """
    A provider that is down (503) for a while, then recovers.

    It is down while fewer than *down_requests* requests for the model have been
    answered, or while less than *down_s* seconds passed since the first one.

    Attributes:
        down_requests: How many requests fail first, or ``None``.
        down_s: How long it stays down after the first request, or ``None``.
    """

    down_requests: int | None = 2
    down_s: float | None = None


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """
    One request the fake provider received.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The request path, such as ``/v1/messages``.
        wire: Which wire format the path belongs to.
        model: The requested model, when the body named one.
        behaviour: The behaviour the model picked.
        stream: Whether the body asked for a stream.
        arrived_at: When the request arrived, from :func:`time.monotonic`.
        headers: The request headers, lower-cased (hidden from reprs: they hold the key).
        body: The JSON body, or ``None``.
    """

    method: str
    path: str
    wire: Wire
    model: str | None
    behaviour: str
    stream: bool
    arrived_at: float
    headers: Mapping[str, str] = attrs.field(repr=False, hash=False)
    body: JSON = attrs.field(default=None, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class _Runtime:
    """
    The server's moving parts; frozen itself, its containers change under *lock*.
    """

    lock: threading.Lock = attrs.field(factory=threading.Lock)
    stopping: threading.Event = attrs.field(factory=threading.Event)
    log: list[RecordedRequest] = attrs.field(factory=list)
    counts: dict[str, int] = attrs.field(factory=dict)
    first_seen: dict[str, float] = attrs.field(factory=dict)
    connections: set[socket.socket] = attrs.field(factory=set)
    threads: list[threading.Thread] = attrs.field(factory=list)
    listener: list[socket.socket] = attrs.field(factory=list)


class _Closed(Exception):
    """
    The client went away, or the server is stopping.
    """


@attrs.frozen(kw_only=True)
class FakeProvider:
    """
    A misbehaving provider on a loopback port; use it as a context manager.

    Attributes:
        behaviours: Model name -> behaviour name (or a :class:`Flap`), for models
            whose name is not itself a behaviour.
        retry_after_s: The ``Retry-After`` that ``429-once`` sends.
        first_token_delay_s: How long ``slow-first-token`` waits.
        chunk_delay_s: A pause between stream events.
        flap: The default :class:`Flap` for the ``flap`` behaviour.
        api_key: If set, requests with another key get 401.
        keyless: Whether requests need no credential, as local servers (Ollama,
            LM Studio, vLLM) take none; by default a request without one gets 401.
        api_root: The path both wire formats are served under: ``/v1`` (so the
            Anthropic wire is at its real ``/v1/messages``), or for example
            ``/api/v1`` or ``/v1beta/openai`` to play a provider whose API lives there.
        host: The loopback address to bind.
    """

    behaviours: Mapping[str, str | Flap] = attrs.field(factory=dict, hash=False)
    retry_after_s: float = 1.0
    first_token_delay_s: float = 0.5
    chunk_delay_s: float = 0.0
    flap: Flap = attrs.field(factory=Flap)
    api_key: str | None = attrs.field(default=None, repr=False)
    keyless: bool = False
    api_root: str = attrs.field(default="/v1", validator=_check_root)
    host: str = attrs.field(default="127.0.0.1", validator=_check_loopback)
    _runtime: _Runtime = attrs.field(factory=_Runtime, init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        for model, spec in self.behaviours.items():
            if isinstance(spec, str) and spec not in BEHAVIOURS:
                raise ValueError(
                    f"behaviour {spec!r} for model {model!r} is not one of: {', '.join(BEHAVIOURS)}"
                )

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """
        Bind a free loopback port and start serving in a background thread.

        Raises:
            RuntimeError: The server is already running.
        """
        if self._runtime.listener:
            raise RuntimeError("the fake provider is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(64)
        listener.settimeout(0.05)
        self._runtime.stopping.clear()
        self._runtime.listener.append(listener)
        thread = threading.Thread(target=self._accept_loop, name="fake-provider", daemon=True)
        self._runtime.threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        """
        Stop serving, drop open connections (silent and stalled ones too) and wait.
        """
        runtime = self._runtime
        runtime.stopping.set()
        if runtime.listener:
            # Wake the accept loop at once instead of at its next poll.
            try:
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                with socket.socket(family, socket.SOCK_STREAM) as poke:
                    poke.settimeout(1)
                    poke.connect(runtime.listener[0].getsockname()[:2])
            except OSError:
                pass
        with runtime.lock:
            connections = list(runtime.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in list(runtime.threads):
            thread.join(timeout=5)
        runtime.threads.clear()
        for listener in runtime.listener:
            listener.close()
        runtime.listener.clear()

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
        The port the server listens on.

        Raises:
            RuntimeError: The server is not running.
        """
        if not self._runtime.listener:
            raise RuntimeError("the fake provider is not running: call start() or use 'with'")
        port: int = self._runtime.listener[0].getsockname()[1]
        return port

    @property
    def root_url(self) -> str:
        """
        The server's root, such as ``http://127.0.0.1:PORT``: an Anthropic base URL
        as Anthropic's SDKs take it (with the default *api_root*).
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """
        The API root for both wire formats, such as ``http://127.0.0.1:PORT/v1``
        (the root URL and *api_root*): an OpenAI-compatible base URL.
        """
        return self.root_url + self.api_root

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """
        Every request received so far, in arrival order.
        """
        with self._runtime.lock:
            return tuple(self._runtime.log)

    def requests_for(self, model: str) -> tuple[RecordedRequest, ...]:
        """
        The requests received so far for *model*.
        """
        return tuple(request for request in self.requests if request.model == model)

    def reset(self) -> None:
        """
        Forget the recorded requests and the per-model counters (flaps restart).
        """
        with self._runtime.lock:
            self._runtime.log.clear()
            self._runtime.counts.clear()
            self._runtime.first_seen.clear()

    # --------------------------------------------------------------- server

    def _accept_loop(self) -> None:
        runtime = self._runtime
        listener = runtime.listener[0]
        while not runtime.stopping.is_set():
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if runtime.stopping.is_set():
                conn.close()
                return
            conn.settimeout(None)
            with runtime.lock:
                runtime.connections.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            runtime.threads[:] = [known for known in runtime.threads if known.is_alive()]
            runtime.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is not None:
                self._answer(conn, *request)
        except (_Closed, OSError):
            pass
        finally:
            with self._runtime.lock:
                self._runtime.connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _wait(self, seconds: float) -> None:
        """
        Sleep, unless the server stops first.
        """
        if seconds > 0 and self._runtime.stopping.wait(seconds):
            raise _Closed

    def _behaviour(self, model: str | None) -> tuple[str, Flap]:
        spec = self.behaviours.get(model or "")
        if isinstance(spec, Flap):
            return "flap", spec
        if spec is not None:
            return spec, self.flap
        if model in BEHAVIOURS:
            return str(model), self.flap
        return "ok", self.flap

    def _route(self, method: str, path: str) -> Wire:
        """
        The wire format a request's method and exact path belong to, or ``"other"``.
        """
        if method == "POST" and path == f"{self.api_root}/chat/completions":
            return "openai"
        if method == "POST" and path == f"{self.api_root}/messages":
            return "anthropic"
        return "other"

    def _record(
        self, method: str, path: str, headers: dict[str, str], body: JSON
    ) -> tuple[RecordedRequest, int, float]:
        wire = self._route(method, path)
        payload = body if isinstance(body, dict) else {}
        model = payload.get("model")
        model = model if isinstance(model, str) else None
        behaviour, _flap = self._behaviour(model)
        now = time.monotonic()
        record = RecordedRequest(
            method=method,
            path=path,
            wire=wire,
            model=model,
            behaviour=behaviour if wire != "other" else "",
            stream=payload.get("stream") is True,
            arrived_at=now,
            headers=headers,
            body=body,
        )
        key = model or ""
        with self._runtime.lock:
            self._runtime.log.append(record)
            count = self._runtime.counts.get(key, 0) + 1
            self._runtime.counts[key] = count
            first = self._runtime.first_seen.setdefault(key, now)
        return record, count, now - first

    def _answer(
        self, conn: socket.socket, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> None:
        try:
            body: JSON = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record, count, elapsed_s = self._record(method, path, headers, body)
        refusal = _refusal(
            record.wire,
            method,
            path,
            headers,
            body,
            keyless=self.keyless,
            models_path=f"{self.api_root}/models",
        )
        if refusal is not None:
            refusal.send(conn)
            return
        if record.wire == "other":  # the only other route the refusals let through
            _send_json(conn, 200, _models(anthropic="anthropic-version" in headers))
            return
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        behaviour, flap = self._behaviour(record.model)
        if self.api_key is not None and key != self.api_key:
            behaviour = "auth"
        _Exchange(
            provider=self,
            conn=conn,
            wire="anthropic" if record.wire == "anthropic" else "openai",
            model=record.model or "unknown",
            stream=record.stream,
            usage=bool(_get(body, "stream_options", "include_usage")),
            key=key,
            count=count,
        ).run(behaviour, flap, elapsed_s)


# ------------------------------------------------------------ strictness
#
# What the real services refuse before any model answers, checked before a
# behaviour is dispatched. References: OpenAI's chat completions API
# (https://platform.openai.com/docs/api-reference/chat/create: POST
# {base}/chat/completions, "Authorization: Bearer", model and messages required),
# Anthropic's Messages API (https://docs.anthropic.com/en/api/messages and
# /en/api/overview: POST /v1/messages, x-api-key, anthropic-version and
# content-type: application/json required; model, max_tokens and messages
# required; roles are user and assistant; the system prompt is a top-level field).

_NOT_FOUND_PAGE: Final = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
"""What a reverse proxy answers for a path nothing behind it serves: no provider's shape."""

_OAUTH_BETA: Final = "oauth-2025-04-20"
_ANTHROPIC_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_k",
        "top_p",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
        "cache_control",
        "inference_geo",
    }
)
"""The Messages API's top-level request fields; any other is refused."""
_OPENAI_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


@attrs.frozen(kw_only=True)
class _Refusal:
    """
    An answer to a request the real service would refuse before any model ran.
    """

    status: int
    payload: bytes
    content_type: str = "application/json"

    @classmethod
    def error(
        cls, wire: Wire, status: int, kind: str, message: str, param: str | None = None
    ) -> Self:
        """
        A refusal in the wire format's error shape.
        """
        body: JSON
        if wire == "anthropic":
            body = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
        return cls(status=status, payload=json.dumps(body).encode())

    def send(self, conn: socket.socket) -> None:
        head = {
            "content-type": self.content_type,
            "content-length": str(len(self.payload)),
            "connection": "close",
        }
        conn.sendall(_head(self.status, head) + self.payload)


def _refusal(
    wire: Wire,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: JSON,
    *,
    keyless: bool,
    models_path: str,
) -> _Refusal | None:
    """
    Why the real service would refuse this request before any model ran, or ``None``.
    """
    if wire == "other":
        if method == "GET" and path.rstrip("/") == models_path:
            listing: Wire = "anthropic" if "anthropic-version" in headers else "openai"
            return None if keyless else _auth_refusal(listing, headers)
        return _Refusal(status=404, payload=_NOT_FOUND_PAGE, content_type="text/html")
    if not keyless and (refusal := _auth_refusal(wire, headers)) is not None:
        return refusal
    if wire == "anthropic" and not headers.get("anthropic-version"):
        return _Refusal.error(
            wire, 400, "invalid_request_error", "The anthropic-version header is required."
        )
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return _Refusal.error(
            wire,
            400,
            "invalid_request_error",
            f"The content-type must be application/json, not {content_type or 'missing'}.",
        )
    if not isinstance(body, dict):
        return _Refusal.error(
            wire, 400, "invalid_request_error", "The request body is not a JSON object."
        )
    problem = _anthropic_problem(body) if wire == "anthropic" else _openai_problem(body)
    if problem is None:
        return None
    return _Refusal.error(wire, 400, "invalid_request_error", problem[1], problem[0])


def _auth_refusal(wire: Wire, headers: Mapping[str, str]) -> _Refusal | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    bearer = scheme.lower() == "bearer" and bool(token.strip())
    if wire == "anthropic":
        if headers.get("x-api-key"):
            return None
        if not bearer:
            return _Refusal.error(
                wire, 401, "authentication_error", "An x-api-key header is required."
            )
        betas = {b.strip() for b in headers.get("anthropic-beta", "").split(",")}
        if _OAUTH_BETA in betas:
            return None
        return _Refusal.error(
            wire,
            401,
            "authentication_error",
            f"A bearer token needs the anthropic-beta flag {_OAUTH_BETA}; "
            "send an API key in x-api-key instead.",
        )
    if bearer:
        return None
    return _Refusal.error(
        wire,
        401,
        "invalid_request_error",
        "No API key was given: send it in an Authorization header as 'Bearer <key>'.",
    )


def _openai_problem(body: JSONObject) -> tuple[str, str] | None:
    """
    The parameter at fault and what is wrong with it, for a chat completions body.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model", "The model parameter is required and must be a string."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages", "The messages parameter is required and must be a non-empty list."
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _OPENAI_ROLES:
            return f"messages[{index}]", f"messages[{index}] has no valid role."
    if "stream_options" in body and body.get("stream") is not True:
        return "stream_options", "stream_options is only allowed when stream is true."
    return None


def _anthropic_problem(body: JSONObject) -> tuple[str, str] | None:
    """
    The field at fault and what is wrong with it, for a Messages body.
    """
    for field in sorted(set(body) - _ANTHROPIC_FIELDS):
        return field, f"{field}: Extra inputs are not permitted."
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model", "model: Field required (a string)."
    tokens = body.get("max_tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        return "max_tokens", "max_tokens: Field required (a whole number)."
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages", "messages: Field required (a list)."
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return (
                f"messages.{index}.role",
                f"messages.{index}.role: {role!r} is not 'user' or 'assistant'; a system "
                "prompt goes in the top-level system field.",
            )
    return None


def _get(value: JSON, *keys: str) -> JSON:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _read_request(conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = ([*lines[0].split(" "), "", ""])[:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, path.split("?", 1)[0], headers, rest[:length]


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send_json(
    conn: socket.socket, status: int, body: JSON, headers: Mapping[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    all_headers = {
        "content-type": "application/json",
        "content-length": str(len(payload)),
        "connection": "close",
        "x-request-id": "req_fake",
        "request-id": "req_fake",
        **(headers or {}),
    }
    conn.sendall(_head(status, all_headers) + payload)


def _models(*, anthropic: bool) -> JSONObject:
    if anthropic:
        data: list[JSON] = [
            {
                "type": "model",
                "id": name,
                "display_name": name,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for name in BEHAVIOURS
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": BEHAVIOURS[0],
            "last_id": BEHAVIOURS[-1],
        }
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in BEHAVIOURS
        ],
    }


@attrs.frozen(kw_only=True)
class _Exchange:
    """
    One answer being written, in one wire format.
    """

    provider: FakeProvider
    conn: socket.socket
    wire: Literal["openai", "anthropic"]
    model: str
    stream: bool
    usage: bool
    key: str
    count: int

    @property
    def text(self) -> str:
        return f"Hello from {self.model}"

    def pieces(self) -> tuple[str, ...]:
        return ("Hello", " from", " ", self.model)

    def run(self, behaviour: str, flap: Flap, elapsed_s: float) -> None:
        """
        Answer as *behaviour* says: its error while its condition holds, else its
        action, else a normal answer.
        """
        row = _TABLE.get(behaviour, _TABLE["ok"])
        if row.error is not None and row.when(self, flap, elapsed_s):
            self.send_error(row.error.anthropic if self.wire == "anthropic" else row.error.openai)
        elif row.action is not None:
            row.action(self)
        else:
            self.answer()

    def send_error(self, error: _WireError) -> None:
        """
        Send *error*, in this exchange's wire format.
        """
        message = error.message.format(model=self.model, key=self.key)
        headers = {"retry-after": f"{self.provider.retry_after_s:g}"} if error.retry_after else {}
        body: JSON
        if error.body is not None:
            body = error.body
        elif self.wire == "anthropic":
            body = {"type": "error", "error": {"type": error.type, "message": message}}
        else:
            body = {
                "error": {"message": message, "type": error.type, "param": None, "code": error.code}
            }
        _send_json(self.conn, error.status, body, headers)

    # -- answers

    def answer(self, *, delay_s: float = 0.0, fault: str | None = None) -> None:
        if not self.stream:
            self.answer_whole(delay_s, fault)
            return
        self.conn.sendall(
            _head(
                200,
                {
                    "content-type": "text/event-stream",
                    "cache-control": "no-cache",
                    "transfer-encoding": "chunked",
                    "connection": "close",
                    "x-request-id": "req_fake",
                    "request-id": "req_fake",
                },
            )
        )
        send = self.chunk
        if delay_s:
            send(b": keep-alive\n\n")
            self.provider._wait(delay_s)
        events = self.anthropic_events() if self.wire == "anthropic" else self.openai_events()
        for position, (kind, event) in enumerate(events):
            if fault in ("cut", "stall") and kind == "after-text":
                if fault == "stall":
                    self.provider._runtime.stopping.wait()
                return  # closed without the final chunk: the stream was cut
            if fault == "malformed" and position == 2:
                send(b'data: {"choices": [{"delta": {"content": "GARB\n\n')
            if fault == "no-done" and kind == "end":
                break
            if fault == "no-done-open" and kind == "end":
                self.provider._runtime.stopping.wait()  # the connection stays open
                return
            if kind in ("data", "end"):
                send(event)
                self.provider._wait(self.provider.chunk_delay_s)
        send(b"", last=True)

    def chunk(self, data: bytes, *, last: bool = False) -> None:
        if data:
            self.conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        if last:
            self.conn.sendall(b"0\r\n\r\n")

    def openai_events(self) -> list[tuple[str, bytes]]:
        def chunk(choices: list[JSON], usage: JSON = None) -> bytes:
            body: JSONObject = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": choices,
            }
            if usage is not None:
                body["usage"] = usage
            return b"data: " + json.dumps(body).encode() + b"\n\n"

        out = [
            (
                "data",
                chunk(
                    [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ]
                ),
            )
        ]
        for position, piece in enumerate(self.pieces()):
            out.append(
                ("data", chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]))
            )
            if position == 1:
                out.append(("after-text", b""))
        out.append(("data", chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])))
        if self.usage:
            out.append(("data", chunk([], self.openai_usage())))
        out.append(("end", b"data: [DONE]\n\n"))
        return out

    def anthropic_events(self) -> list[tuple[str, bytes]]:
        def event(name: str, body: JSONObject) -> bytes:
            return (
                f"event: {name}\ndata: ".encode()
                + json.dumps({"type": name, **body}).encode()
                + b"\n\n"
            )

        out = [
            (
                "data",
                event(
                    "message_start",
                    {
                        "message": {
                            "id": "msg_fake",
                            "type": "message",
                            "role": "assistant",
                            "model": self.model,
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {**self.anthropic_usage(), "output_tokens": 1},
                        }
                    },
                ),
            ),
            (
                "data",
                event(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "text", "text": ""}},
                ),
            ),
            ("data", event("ping", {})),
        ]
        for position, piece in enumerate(self.pieces()):
            out.append(
                (
                    "data",
                    event(
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": piece}},
                    ),
                )
            )
            if position == 1:
                out.append(("after-text", b""))
        out.append(("data", event("content_block_stop", {"index": 0})))
        out.append(
            (
                "data",
                event(
                    "message_delta",
                    {
                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": _OUTPUT_TOKENS},
                    },
                ),
            )
        )
        out.append(("end", event("message_stop", {})))
        return out

    def openai_usage(self) -> JSONObject:
        return {
            "prompt_tokens": _INPUT_TOKENS,
            "completion_tokens": _OUTPUT_TOKENS,
            "total_tokens": _INPUT_TOKENS + _OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": 0},
        }

    def anthropic_usage(self) -> JSONObject:
        return {
            "input_tokens": _INPUT_TOKENS,
            "output_tokens": _OUTPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }

    def answer_whole(self, delay_s: float, fault: str | None) -> None:
        self.provider._wait(delay_s)
        if self.wire == "anthropic":
            body: JSON = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": self.text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": self.anthropic_usage(),
            }
        else:
            body = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": self.openai_usage(),
            }
        payload = json.dumps(body).encode()
        if fault == "malformed":
            payload = b"{this is not json" + payload[:20]
        head = {
            "content-type": "application/json",
            "content-length": str(len(payload)),
            "connection": "close",
            "x-request-id": "req_fake",
            "request-id": "req_fake",
        }
        if fault in ("cut", "stall"):
            self.conn.sendall(_head(200, head) + payload[: len(payload) // 2])
            if fault == "stall":
                self.provider._runtime.stopping.wait()
            return
        self.conn.sendall(_head(200, head) + payload)


# --- the behaviours ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _WireError:
    """
    One error answer in one wire format.

    Attributes:
        status: The HTTP status.
        type: The error's ``type``.
        message: Its message; ``{model}`` and ``{key}`` are filled in.
        code: The OpenAI-style ``code``.
        retry_after: Send ``Retry-After`` (the provider's *retry_after_s*).
        body: A whole body to send instead (a provider with another error shape).
    """

    status: int
    type: str
    message: str
    code: JSON = None
    retry_after: bool = False
    body: JSON = None


@attrs.frozen(kw_only=True)
class _Error:
    """
    An error answer, as each wire format words it.
    """

    anthropic: _WireError
    openai: _WireError


Condition = Callable[["_Exchange", Flap, float], bool]
"""Whether a behaviour's error applies to this request: (exchange, flap, seconds since first)."""


def _always(_exchange: _Exchange, _flap: Flap, _elapsed_s: float) -> bool:
    return True


def _first(exchange: _Exchange, _flap: Flap, _elapsed_s: float) -> bool:
    return exchange.count == 1


def _down(exchange: _Exchange, flap: Flap, elapsed_s: float) -> bool:
    return (flap.down_requests is not None and exchange.count <= flap.down_requests) or (
        flap.down_s is not None and elapsed_s < flap.down_s
    )


@attrs.frozen(kw_only=True)
class _Row:
    """
    What one behaviour does.

    Attributes:
        error: The error it answers with while *when* holds (then it answers normally).
        when: When the error applies.
        action: What it does instead of a normal answer, for behaviours that are not
            an error (a reset, silence, a faulty stream).
    """

    error: _Error | None = None
    when: Condition = _always
    action: Callable[[_Exchange], None] | None = None


def _reset(exchange: _Exchange) -> None:
    # A zero linger time makes close() send a TCP reset instead of a clean FIN.
    exchange.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _silent(exchange: _Exchange) -> None:
    exchange.provider._runtime.stopping.wait()


def _slow_first_token(exchange: _Exchange) -> None:
    exchange.answer(delay_s=exchange.provider.first_token_delay_s)


def _faulty(fault: str) -> Callable[[_Exchange], None]:
    return lambda exchange: exchange.answer(fault=fault)


_HOSTILE_PIECE: Final = 65_536
"""How many bytes a hostile behaviour writes at a time."""


def _hostile_head(exchange: _Exchange, content_type: str, **extra: str) -> None:
    exchange.conn.sendall(
        _head(
            200,
            {
                "content-type": content_type,
                "transfer-encoding": "chunked",
                "connection": "close",
                "x-request-id": "req_fake",
                "request-id": "req_fake",
                **extra,
            },
        )
    )


def _forever(exchange: _Exchange, piece: bytes) -> None:
    # Ends when the client goes away (sendall raises) or the server stops.
    while not exchange.provider._runtime.stopping.is_set():
        exchange.chunk(piece)


def _endless_body(exchange: _Exchange) -> None:
    _hostile_head(exchange, "application/json")
    exchange.chunk(b'{"id":"chatcmpl-fake","choices":[{"index":0,"message":{"content":"')
    _forever(exchange, b"a" * _HOSTILE_PIECE)


_BOMB_BYTES: Final = 64 * 1024 * 1024
"""What the gzip bomb inflates to: twice the default body cap."""


@functools.cache
def _bomb() -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = b" " * (1024 * 1024)
    return b"".join(
        [*(squeeze.compress(block) for _ in range(_BOMB_BYTES // len(block))), squeeze.flush()]
    )


def _gzip_bomb(exchange: _Exchange) -> None:
    _hostile_head(exchange, "application/json", **{"content-encoding": "gzip"})
    bomb = _bomb()
    for start in range(0, len(bomb), _HOSTILE_PIECE):
        exchange.chunk(bomb[start : start + _HOSTILE_PIECE])
    exchange.chunk(b"", last=True)


def _endless_sse(exchange: _Exchange) -> None:
    if not exchange.stream:
        _endless_body(exchange)
        return
    _hostile_head(exchange, "text/event-stream")
    events = (
        exchange.anthropic_events() if exchange.wire == "anthropic" else exchange.openai_events()
    )
    opening = [event for kind, event in events[: [k for k, _ in events].index("after-text")]]
    for event in opening:
        exchange.chunk(event)
    # The last event before the cut point is a text delta: repeated, a valid answer never ends.
    _forever(exchange, opening[-1] * max(_HOSTILE_PIECE // len(opening[-1]), 1))


def _sse_no_dispatch(exchange: _Exchange) -> None:
    if not exchange.stream:
        _endless_body(exchange)
        return
    _hostile_head(exchange, "text/event-stream")
    line = b"data: " + b"x" * 58 + b"\n"
    _forever(exchange, line * (_HOSTILE_PIECE // len(line)))


_RATE_LIMITED = (429, "Rate limit reached for requests", "rate_limit_exceeded")
_UNAVAILABLE: Final = _Error(
    anthropic=_WireError(
        status=503, type="api_error", message="The service is temporarily unavailable."
    ),
    openai=_WireError(
        status=503, type="server_error", message="The service is temporarily unavailable."
    ),
)


def _rate_limited(*, retry_after: bool) -> _Error:
    status, message, code = _RATE_LIMITED
    return _Error(
        anthropic=_WireError(
            status=status, type="rate_limit_error", message=message, retry_after=retry_after
        ),
        openai=_WireError(
            status=status, type="requests", message=message, code=code, retry_after=retry_after
        ),
    )


_TABLE: Final[Mapping[str, _Row]] = {
    "ok": _Row(),
    "429-once": _Row(error=_rate_limited(retry_after=True), when=_first),
    "429": _Row(error=_rate_limited(retry_after=False)),
    "500-once": _Row(
        error=_Error(
            anthropic=_WireError(
                status=500,
                type="api_error",
                message="The server had an error while processing your request.",
            ),
            openai=_WireError(
                status=500,
                type="server_error",
                message="The server had an error while processing your request.",
            ),
        ),
        when=_first,
    ),
    "503": _Row(error=_UNAVAILABLE),
    # Anthropic's own overload status; OpenAI-compatible servers say 503.
    "overloaded": _Row(
        error=_Error(
            anthropic=_WireError(status=529, type="overloaded_error", message="Overloaded"),
            openai=_WireError(
                status=503, type="server_error", message="The engine is currently overloaded."
            ),
        )
    ),
    "reset": _Row(action=_reset),
    "silent": _Row(action=_silent),
    "slow-first-token": _Row(action=_slow_first_token),
    "cut": _Row(action=_faulty("cut")),
    "stall": _Row(action=_faulty("stall")),
    "malformed": _Row(action=_faulty("malformed")),
    "no-done": _Row(action=_faulty("no-done")),
    "no-done-open": _Row(action=_faulty("no-done-open")),
    "endless-body": _Row(action=_endless_body),
    "gzip-bomb": _Row(action=_gzip_bomb),
    "endless-sse": _Row(action=_endless_sse),
    "sse-no-dispatch": _Row(action=_sse_no_dispatch),
    "context-length": _Row(
        error=_Error(
            anthropic=_WireError(
                status=400,
                type="invalid_request_error",
                message="prompt is too long: 210000 tokens > 200000 maximum",
            ),
            openai=_WireError(
                status=400,
                type="invalid_request_error",
                message="This model's maximum context length is 8192 tokens. However, your "
                "messages resulted in 9000 tokens.",
                code="context_length_exceeded",
            ),
        )
    ),
    "content-filter": _Row(
        error=_Error(
            anthropic=_WireError(
                status=400,
                type="invalid_request_error",
                message="Output blocked by content filtering policy",
            ),
            openai=_WireError(
                status=400,
                type="invalid_request_error",
                message="Your request was rejected as a result of our safety system.",
                code="content_policy_violation",
            ),
        )
    ),
    "flap": _Row(error=_UNAVAILABLE, when=_down),
    # The key is echoed, as real providers partly do, so tests can check redaction.
    "auth": _Row(
        error=_Error(
            anthropic=_WireError(
                status=401, type="authentication_error", message="invalid x-api-key: {key}"
            ),
            openai=_WireError(
                status=401,
                type="invalid_request_error",
                message="Incorrect API key provided: {key}.",
                code="invalid_api_key",
            ),
        )
    ),
    # OpenAI-compatible billing errors come in OpenRouter's shape: a numeric code.
    "billing": _Row(
        error=_Error(
            anthropic=_WireError(
                status=402,
                type="billing_error",
                message="Your credit balance is too low to access the Anthropic API.",
            ),
            openai=_WireError(
                status=402,
                type="",
                message="",
                body={
                    "error": {
                        "code": 402,
                        "message": "Insufficient credits. Add more credits to continue.",
                    }
                },
            ),
        )
    ),
    # OpenRouter answers some failures with HTTP 200 and an error object for a body,
    # the status it means in a numeric code; the Anthropic wire gets the same.
    "200-error": _Row(
        error=_Error(
            anthropic=_WireError(
                status=200,
                type="",
                message="",
                body={
                    "type": "error",
                    "error": {"type": "rate_limit_error", "message": "Rate limit reached"},
                },
            ),
            openai=_WireError(
                status=200,
                type="",
                message="",
                body={
                    "error": {
                        "code": 429,
                        "message": "Provider returned error",
                        "metadata": {"raw": "upstream rate limit", "provider_name": "Fake"},
                    }
                },
            ),
        )
    ),
    "not-found": _Row(
        error=_Error(
            anthropic=_WireError(status=404, type="not_found_error", message="model: {model}"),
            openai=_WireError(
                status=404,
                type="invalid_request_error",
                message="The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            ),
        )
    ),
}
"""Every behaviour a model name can pick, and what it does; any other name behaves like ``ok``."""

BEHAVIOURS: Final = tuple(_TABLE)
"""Every behaviour a model name can pick."""

"""
The Anthropic Messages wire format (``POST {base}/v1/messages``).

The base URL is the API root, as Anthropic's SDKs take it (``ANTHROPIC_BASE_URL``):
``https://api.anthropic.com``, or an Anthropic-compatible server's root such as
``http://127.0.0.1:11434``. A base URL that already ends in ``/v1`` is accepted
too, and the version is not doubled.

The credential goes in ``x-api-key``, or, for OAuth access tokens, in an
``Authorization: Bearer`` header with the OAuth beta flag; nowhere else. The
system prompt is a top-level field; images are ``base64`` or ``url`` source
blocks; tool calls and results are ``tool_use`` and ``tool_result`` blocks
(consecutive tool results travel in one user message).

A stream is complete once ``message_delta`` carried a stop reason (with the
final usage): the ``message_stop`` that normally follows carries nothing, so it
is not waited for, and a server that never sends it or keeps the connection
open does not hold the answer back. An ``error`` event
(such as ``overloaded_error``) fails the stream with
:class:`~modelcfg.adapters.ProviderStreamError`; an event that is not JSON fails
it as ``stream_interrupted`` (reason ``malformed``). ``ping`` and event types
this adapter does not know (thinking blocks included) are skipped.
"""

from __future__ import annotations

import json
from typing import Final, Literal, Self

import attrs
import httpx

from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from modelcfg.adapters._classify import ERROR_TABLE, ErrorTable
from modelcfg.adapters._errors import (
    MalformedResponseError,
    ProviderStreamError,
    StreamInterruptedError,
    UnsupportedRequestError,
    error_info,
)
from modelcfg.adapters._http import HTTPAdapter
from modelcfg.adapters._json import as_int, as_list, as_object, as_str, dumps, loads_object
from modelcfg.adapters._protocol import Endpoint
from modelcfg.adapters._sse import SSEEvent
from modelcfg.typing import JSON, JSONObject

__all__ = ["AnthropicAdapter", "AnthropicStreamParser", "anthropic_usage"]

API_VERSION: Final = "2023-06-01"
OAUTH_BETA: Final = "oauth-2025-04-20"
_STOP: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_RENAMED: Final = {"stop": "stop_sequences", "max_completion_tokens": "max_tokens"}


def messages_url(base_url: str) -> str:
    """
    The Messages endpoint under *base_url*: ``{base}/v1/messages``, or
    ``{base}/messages`` when the base already ends in ``/v1``.
    """
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _stop(reason: object) -> str | None:
    text = as_str(reason)
    return None if text is None else _STOP.get(text, text)


def anthropic_usage(payload: object, base: Usage | None = None) -> Usage:
    """
    Read an Anthropic ``usage`` object; fields it lacks keep their *base* values.
    """
    usage = as_object(payload)
    base = base or Usage()

    def pick(key: str, old: int) -> int:
        return as_int(usage[key]) if key in usage and usage[key] is not None else old

    return Usage(
        input_tokens=pick("input_tokens", base.input_tokens),
        output_tokens=pick("output_tokens", base.output_tokens),
        cache_read_tokens=pick("cache_read_input_tokens", base.cache_read_tokens),
        cache_write_tokens=pick("cache_creation_input_tokens", base.cache_write_tokens),
    )


def _image(part: ImagePart) -> JSONObject:
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": part.media_type, "data": part.data},
    }


def _blocks(message: Message) -> list[JSON]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if message.content else []
    blocks: list[JSON] = []
    for part in message.content:
        match part:
            case TextPart(text=text):
                blocks.append({"type": "text", "text": text})
            case ImagePart():
                blocks.append(_image(part))
    return blocks


def _arguments(text: str) -> JSON:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _messages(request: ChatRequest) -> tuple[list[str], list[JSON]]:
    systems = [request.system] if request.system else []
    out: list[JSON] = []
    for message in request.messages:
        if message.role == "system":
            systems.append(message.text)
            continue
        if message.role == "tool":
            result: JSONObject = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": _blocks(message),
            }
            last = out[-1] if out else None
            if (
                isinstance(last, dict)
                and last.get("role") == "user"
                and isinstance(last.get("content"), list)
                and all(
                    isinstance(block, dict) and block.get("type") == "tool_result"
                    for block in as_list(last.get("content"))
                )
            ):
                as_list(last["content"]).append(result)
            else:
                out.append({"role": "user", "content": [result]})
            continue
        if isinstance(message.content, str) and not message.tool_calls:
            out.append({"role": message.role, "content": message.content})
            continue
        blocks = _blocks(message)
        blocks.extend(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": _arguments(call.arguments),
            }
            for call in message.tool_calls
        )
        out.append({"role": message.role, "content": blocks})
    return systems, out


@attrs.frozen(kw_only=True)
class AnthropicStreamParser:
    """
    Reads an Anthropic Messages stream, one event at a time (a frozen value).

    Attributes:
        provider: The adapter's name, for messages.
        model: The model the provider reported.
        request_id: The message id the provider reported.
        usage: The usage so far (``message_start``, then ``message_delta``).
        stop_reason: The normalised stop reason, once seen.
        tool_blocks: Content block index -> tool call ordinal, for tool blocks.
        finished: Whether the end was emitted.
        started: Whether content was emitted.
    """

    provider: str = "anthropic"
    model: str | None = None
    request_id: str | None = None
    usage: Usage = attrs.field(factory=Usage)
    stop_reason: str | None = None
    tool_blocks: tuple[tuple[int, int], ...] = ()
    finished: bool = False
    started: bool = False

    @property
    def finishable(self) -> bool:
        """
        Whether a stop reason was seen, so the answer is complete.
        """
        return self.stop_reason is not None

    @property
    def reported_usage(self) -> Usage | None:
        """
        The usage so far: the input tokens from ``message_start``, later the output too.
        """
        return None if self.usage.is_empty else self.usage

    def _end(self) -> StreamEnd:
        return StreamEnd(
            finish_reason=self.stop_reason,
            usage=self.usage,
            model=self.model,
            provider_request_id=self.request_id,
        )

    def _malformed(self, what: str) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"the {self.provider} stream for model {self.model or '?'} sent {what}",
            provider=self.provider,
            model=self.model,
            reason="malformed",
            started=self.started,
        )

    def feed(self, event: SSEEvent) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one SSE event.

        Raises:
            StreamInterruptedError: The event's data is not a JSON object.
            ProviderStreamError: The event is an ``error`` event.
        """
        if self.finished:
            return self, ()
        payload = loads_object(event.data)
        if payload is None:
            raise self._malformed("an event that is not a JSON object")
        if "type" not in payload and event.event != "message":
            payload = {**payload, "type": event.event}
        return self.feed_json(payload)

    def feed_json(self, payload: JSON) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one decoded event (it carries its own ``type``).

        Raises:
            StreamInterruptedError: The event has the wrong shape.
            ProviderStreamError: The event is an ``error`` event.
        """
        if not isinstance(payload, dict):
            raise self._malformed("an event that is not a JSON object")
        kind = payload.get("type")
        match kind:
            case "message_start":
                message = as_object(payload.get("message"))
                return attrs.evolve(
                    self,
                    model=as_str(message.get("model")) or self.model,
                    request_id=as_str(message.get("id")) or self.request_id,
                    usage=anthropic_usage(message.get("usage"), self.usage),
                ), ()
            case "content_block_start":
                index = as_int(payload.get("index"))
                block = as_object(payload.get("content_block"))
                if block.get("type") == "tool_use":
                    ordinal = len(self.tool_blocks)
                    arguments = block.get("input")
                    delta = ToolCallDelta(
                        index=ordinal,
                        id=as_str(block.get("id")),
                        name=as_str(block.get("name")),
                        arguments=dumps(arguments) if arguments else "",
                    )
                    return attrs.evolve(
                        self, tool_blocks=(*self.tool_blocks, (index, ordinal)), started=True
                    ), (delta,)
                text = as_str(block.get("text")) if block.get("type") == "text" else None
                if text:
                    return attrs.evolve(self, started=True), (TextDelta(text=text),)
                return self, ()
            case "content_block_delta":
                index = as_int(payload.get("index"))
                delta_body = payload.get("delta")
                if not isinstance(delta_body, dict):
                    raise self._malformed("a content_block_delta without a delta object")
                match delta_body.get("type"):
                    case "text_delta":
                        text = as_str(delta_body.get("text")) or ""
                        if not text:
                            return self, ()
                        # A successor only for the first content: later deltas change nothing.
                        parser = self if self.started else attrs.evolve(self, started=True)
                        return parser, (TextDelta(text=text),)
                    case "input_json_delta":
                        found = dict(self.tool_blocks).get(index)
                        if found is None:
                            raise self._malformed("a tool input delta for an unknown block")
                        piece = as_str(delta_body.get("partial_json")) or ""
                        return self, (ToolCallDelta(index=found, arguments=piece),)
                return self, ()
            case "message_delta":
                delta_body = as_object(payload.get("delta"))
                parser = attrs.evolve(
                    self,
                    stop_reason=_stop(delta_body.get("stop_reason")) or self.stop_reason,
                    usage=anthropic_usage(payload.get("usage"), self.usage),
                )
                if parser.stop_reason is None:
                    return parser, ()
                # The stop reason comes with the final usage: only message_stop, which
                # carries nothing, may follow, so the answer is complete here.
                return attrs.evolve(parser, finished=True), (parser._end(),)
            case "message_stop":
                return attrs.evolve(self, finished=True), (self._end(),)
            case "error":
                info = error_info(payload)
                raise ProviderStreamError(
                    f"the {self.provider} stream reported an error: {info.message or info.codes}",
                    provider=self.provider,
                    model=self.model,
                    code=info.codes[0] if info.codes else None,
                    detail=info.message,
                    started=self.started,
                )
        return self, ()

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        """
        End the stream: the closing event if a stop reason was seen.

        Raises:
            StreamInterruptedError: No stop reason arrived: the answer may be truncated.
        """
        if self.finished:
            return ()
        if self.finishable:
            return (self._end(),)
        verb = "was cut" if reason == "cut" else "stalled"
        raise StreamInterruptedError(
            f"the {self.provider} stream for model {self.model or '?'} {verb} before a stop reason",
            provider=self.provider,
            model=self.model,
            reason=reason,
            started=self.started,
        )


@attrs.frozen(kw_only=True)
class AnthropicAdapter(HTTPAdapter):
    """
    The Anthropic Messages adapter.

    Attributes:
        name: The adapter's name in messages.
        version: The ``anthropic-version`` header.
        auth: ``"api_key"`` sends ``x-api-key``; ``"bearer"`` sends an OAuth bearer
            token with the OAuth beta flag; ``"auto"`` picks bearer for OAuth access
            tokens (``sk-ant-oat...``) and ``x-api-key`` otherwise.
        betas: Extra ``anthropic-beta`` flags.
        default_max_tokens: ``max_tokens`` when the request does not set it (the
            API requires one).
        error_table: The classification rules.
    """

    name: str = "anthropic"
    version: str = API_VERSION
    auth: Literal["auto", "api_key", "bearer"] = "auto"
    betas: tuple[str, ...] = ()
    default_max_tokens: int = 4096
    error_table: ErrorTable = attrs.field(default=ERROR_TABLE, repr=False)

    def build_body(self, request: ChatRequest, model: str) -> JSONObject:
        """
        The JSON body for *request* sent to *model*.

        Raises:
            UnsupportedRequestError: The request asks for JSON output, which this
                wire format has no switch for.
        """
        if request.wants_json:
            raise UnsupportedRequestError(
                f"the {self.name} Messages API has no JSON output mode, so model {model} "
                "cannot serve a request that requires JSON output",
                provider=self.name,
                model=model,
            )
        systems, messages = _messages(request)
        body: JSONObject = {"model": model, "max_tokens": self.default_max_tokens}
        for key, value in request.params.items():
            key = _RENAMED.get(key, key)
            if key == "stop_sequences" and isinstance(value, str):
                value = [value]
            body[key] = value
        body["messages"] = messages
        if systems:
            body["system"] = "\n\n".join(systems)
        if request.tools:
            body["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in request.tools
            ]
        match request.tool_choice:
            case None:
                pass
            case "auto" | "none":
                body["tool_choice"] = {"type": request.tool_choice}
            case "required":
                body["tool_choice"] = {"type": "any"}
            case name:
                body["tool_choice"] = {"type": "tool", "name": name}
        if request.stream:
            body["stream"] = True
        return body

    def _bearer(self, credential: str) -> bool:
        if self.auth == "auto":
            return credential.startswith("sk-ant-oat")
        return self.auth == "bearer"

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> httpx.Request:
        """
        The HTTP request for *request* to *endpoint*; pure (no I/O, no environment).

        Raises:
            UnsupportedRequestError: See :meth:`build_body`.
        """
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if request.stream else "application/json",
            "anthropic-version": self.version,
        }
        betas = list(self.betas)
        headers.update({key.lower(): value for key, value in endpoint.headers.items()})
        if endpoint.credential:
            if self._bearer(endpoint.credential):
                headers["authorization"] = f"Bearer {endpoint.credential}"
                betas.append(OAUTH_BETA)
            else:
                headers["x-api-key"] = endpoint.credential
        if betas:
            headers["anthropic-beta"] = ",".join(dict.fromkeys(betas))
        content = dumps(self.build_body(request, endpoint.model)).encode()
        return httpx.Request(
            "POST", messages_url(endpoint.base_url), headers=headers, content=content
        )

    def parse_json(self, payload: object, *, request_id: str | None = None) -> ChatResponse:
        """
        Read a ``message`` object.

        Raises:
            MalformedResponseError: The object is not a message.
        """
        body = as_object(payload)
        content = body.get("content")
        if not isinstance(content, list):
            raise MalformedResponseError(
                f"{self.name} answered without message content", provider=self.name
            )
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in map(as_object, content):
            if block.get("type") == "text":
                texts.append(as_str(block.get("text")) or "")
            elif block.get("type") == "tool_use":
                calls.append(
                    ToolCall(
                        id=as_str(block.get("id")) or "",
                        name=as_str(block.get("name")) or "",
                        arguments=dumps(block.get("input") or {}),
                    )
                )
        return ChatResponse(
            text="".join(texts),
            tool_calls=tuple(calls),
            finish_reason=_stop(body.get("stop_reason")),
            usage=anthropic_usage(body.get("usage")),
            model=as_str(body.get("model")),
            provider_request_id=request_id or as_str(body.get("id")),
        )

    def parse_response(self, response: httpx.Response) -> ChatResponse:
        """
        Read a successful (read) response.

        Raises:
            MalformedResponseError: The body is not a message.
        """
        payload = loads_object(response.content)
        if payload is None:
            raise MalformedResponseError(
                f"{self.name} answered HTTP {response.status_code} with a body that is not JSON",
                provider=self.name,
            )
        return self.parse_json(payload, request_id=response.headers.get("request-id"))

    def stream_parser(self, request: ChatRequest) -> AnthropicStreamParser:
        """
        A fresh parser for the stream answering *request*.
        """
        return AnthropicStreamParser(provider=self.name)

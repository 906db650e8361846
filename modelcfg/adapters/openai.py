"""
The OpenAI-compatible chat completions wire format (``POST {base}/chat/completions``).

It serves OpenAI itself, OpenRouter (with its optional ``HTTP-Referer`` and
``X-Title`` headers), and the many compatible servers: vLLM, Ollama, LM Studio,
Groq, Together, DeepSeek, Mistral, ... The credential goes in an
``Authorization: Bearer`` header and nowhere else.

Streams ask for usage (``stream_options.include_usage``) unless the adapter is
told not to, end at ``data: [DONE]``, and are also complete once a finish
reason and the usage arrived: a missing ``[DONE]`` after them is fine. When the
usage chunk does not follow the finish reason, the stream still counts as
complete when the connection ends, or after the short
:attr:`~modelcfg.adapters.CallLimits.end_grace_s` (never the whole idle limit),
with the usage it reported. A stream without a finish reason is interrupted,
never a success. A chunk that is not
JSON fails the stream (``stream_interrupted``, reason ``malformed``) rather than
dropping a piece of the answer silently.
"""

from __future__ import annotations

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
    error_info,
)
from modelcfg.adapters._http import HTTPAdapter
from modelcfg.adapters._json import as_int, as_list, as_object, as_str, dumps, loads_object
from modelcfg.adapters._protocol import Endpoint
from modelcfg.adapters._sse import SSEEvent
from modelcfg.typing import JSON, JSONObject

__all__ = ["OpenAIAdapter", "OpenAIStreamParser", "openai_usage"]

_FINISH: Final = {"function_call": "tool_calls", "eos": "stop", "end_turn": "stop"}


def _finish(reason: object) -> str | None:
    text = as_str(reason)
    return None if text is None else _FINISH.get(text, text)


def openai_usage(payload: object) -> Usage:
    """
    Read an OpenAI ``usage`` object; cached prompt tokens are counted apart, and
    reasoning tokens (``completion_tokens_details``) as the part of the output they are.
    """
    usage = as_object(payload)
    details = as_object(usage.get("prompt_tokens_details"))
    cached = as_int(details.get("cached_tokens"))
    written = as_int(details.get("cache_write_tokens"))
    prompt = as_int(usage.get("prompt_tokens"))
    output = as_int(usage.get("completion_tokens"))
    reasoning = as_int(as_object(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    return Usage(
        input_tokens=max(prompt - cached - written, 0),
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=min(reasoning, output),
    )


def _content(message: Message) -> JSON:
    if isinstance(message.content, str):
        return message.content
    parts: list[JSON] = []
    for part in message.content:
        match part:
            case TextPart(text=text):
                parts.append({"type": "text", "text": text})
            case ImagePart():
                parts.append({"type": "image_url", "image_url": {"url": part.data_url}})
    return parts


def _message(message: Message) -> JSONObject:
    out: JSONObject = {"role": message.role, "content": _content(message)}
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
        if out["content"] == "":
            out["content"] = None
    return out


def _text_only(
    payload: JSONObject, choices: list[JSON], model: str | None, request_id: str | None
) -> str | None:
    """
    The text of a chunk that carries only text for choice 0 (no finish reason, tool
    call or usage) and names the model and id seen before; ``None`` for any other.
    """
    if len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("index") != 0 or choice.get("finish_reason"):
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or "tool_calls" in delta:
        return None
    text = delta.get("content")
    if type(text) is not str or isinstance(payload.get("usage"), dict):
        return None
    name = payload.get("model")
    if name and name != model and type(name) is str:
        return None
    chunk_id = payload.get("id")
    if chunk_id and chunk_id != request_id and type(chunk_id) is str:
        return None
    return text


@attrs.frozen(kw_only=True)
class OpenAIStreamParser:
    """
    Reads an OpenAI chat completions stream, one chunk at a time (a frozen value).

    Attributes:
        provider: The adapter's name, for messages.
        expect_usage: Whether a usage chunk is expected after the finish reason.
        model: The model the provider reported.
        request_id: The completion id the provider reported.
        finish_reason: The normalised finish reason, once seen.
        usage: The usage, once seen.
        finished: Whether the end was emitted.
        started: Whether content was emitted.
    """

    provider: str = "openai"
    expect_usage: bool = True
    model: str | None = None
    request_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    finished: bool = False
    started: bool = False

    @property
    def finishable(self) -> bool:
        """
        Whether a finish reason was seen, so the answer is complete.
        """
        return self.finish_reason is not None

    @property
    def reported_usage(self) -> Usage | None:
        """
        The usage chunk's usage, once it came (OpenAI sends it last).
        """
        return self.usage

    def _end(self) -> tuple[Self, tuple[StreamEvent, ...]]:
        end = StreamEnd(
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
            model=self.model,
            provider_request_id=self.request_id,
        )
        return attrs.evolve(self, finished=True), (end,)

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
            ProviderStreamError: The event reports an error.
        """
        if self.finished:
            return self, ()
        if event.data.strip() == "[DONE]":
            return self._end()
        payload = loads_object(event.data)
        if payload is None:
            raise self._malformed("an event that is not a JSON object")
        return self.feed_json(payload)

    def feed_json(self, payload: JSON) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one decoded chunk (a ``chat.completion.chunk`` object).

        Raises:
            StreamInterruptedError: The chunk has the wrong shape.
            ProviderStreamError: The chunk reports an error.
        """
        if not isinstance(payload, dict):
            raise self._malformed("a chunk that is not a JSON object")
        if payload.get("error") is not None:
            info = error_info(payload)
            raise ProviderStreamError(
                f"the {self.provider} stream reported an error: {info.message or info.codes}",
                provider=self.provider,
                model=self.model,
                code=info.codes[0] if info.codes else None,
                detail=info.message,
                started=self.started,
            )
        choices = payload.get("choices")
        if self.started and self.finish_reason is None and type(choices) is list:
            text = _text_only(payload, choices, self.model, self.request_id)
            if text:  # the usual chunk: some text, and nothing else changes
                return self, (TextDelta(text=text),)
        events: list[StreamEvent] = []
        finish_reason = self.finish_reason
        if choices is not None and not isinstance(choices, list):
            raise self._malformed("a chunk whose choices are not a list")
        for choice in as_list(choices):
            if not isinstance(choice, dict) or as_int(choice.get("index")) != 0:
                continue
            delta = choice.get("delta")
            if delta is not None and not isinstance(delta, dict):
                raise self._malformed("a chunk whose delta is not an object")
            delta = as_object(delta)
            text = as_str(delta.get("content"))
            if text:
                events.append(TextDelta(text=text))
            for position, raw in enumerate(as_list(delta.get("tool_calls"))):
                call = as_object(raw)
                function = as_object(call.get("function"))
                index = call.get("index")
                events.append(
                    ToolCallDelta(
                        index=index if isinstance(index, int) else position,
                        id=as_str(call.get("id")),
                        name=as_str(function.get("name")),
                        arguments=as_str(function.get("arguments")) or "",
                    )
                )
            finish_reason = _finish(choice.get("finish_reason")) or finish_reason
        usage = self.usage
        if isinstance(payload.get("usage"), dict):
            usage = openai_usage(payload["usage"])
        model = as_str(payload.get("model")) or self.model
        request_id = as_str(payload.get("id")) or self.request_id
        started = self.started or bool(events)
        parser = self
        if (
            model != self.model
            or request_id != self.request_id
            or finish_reason != self.finish_reason
            or usage is not self.usage
            or started != self.started
        ):
            # A successor only when something changed: a content chunk usually changes nothing.
            parser = attrs.evolve(
                self,
                model=model,
                request_id=request_id,
                finish_reason=finish_reason,
                usage=usage,
                started=started,
            )
        if finish_reason is not None and (usage is not None or not self.expect_usage):
            parser, end = parser._end()
            return parser, (*events, *end)
        return parser, tuple(events)

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        """
        End the stream: the closing event if a finish reason was seen.

        Raises:
            StreamInterruptedError: No finish reason arrived: the answer may be truncated.
        """
        if self.finished:
            return ()
        if self.finishable:
            return self._end()[1]
        verb = "was cut" if reason == "cut" else "stalled"
        raise StreamInterruptedError(
            f"the {self.provider} stream for model {self.model or '?'} {verb} "
            "before a finish reason",
            provider=self.provider,
            model=self.model,
            reason=reason,
            started=self.started,
        )


@attrs.frozen(kw_only=True)
class OpenAIAdapter(HTTPAdapter):
    """
    The OpenAI-compatible chat completions adapter.

    Attributes:
        name: The adapter's name in messages (``openai``, ``openrouter``, ``ollama``, ...).
        include_usage: Whether streams ask for a final usage chunk
            (``stream_options.include_usage``); turn off for servers that reject it.
        referer: OpenRouter's optional ``HTTP-Referer`` header (your app's URL).
        title: OpenRouter's optional ``X-Title`` header (your app's name).
        error_table: The classification rules.
    """

    name: str = "openai"
    include_usage: bool = True
    referer: str | None = None
    title: str | None = None
    error_table: ErrorTable = attrs.field(default=ERROR_TABLE, repr=False)

    @classmethod
    def openrouter(cls, *, referer: str | None = None, title: str | None = None) -> Self:
        """
        An adapter for OpenRouter (``https://openrouter.ai/api/v1``).
        """
        return cls(name="openrouter", referer=referer, title=title)

    def build_body(self, request: ChatRequest, model: str) -> JSONObject:
        """
        The JSON body for *request* sent to *model*.
        """
        messages: list[JSON] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend(_message(message) for message in request.messages)
        body: JSONObject = {"model": model, "messages": messages}
        body.update(request.params)
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
        if request.tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = request.tool_choice
        elif request.tool_choice:
            body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema},
            }
        elif request.json_output:
            body["response_format"] = {"type": "json_object"}
        if request.stream:
            body["stream"] = True
            if self.include_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> httpx.Request:
        """
        The HTTP request for *request* to *endpoint*; pure (no I/O, no environment).
        """
        headers = {"content-type": "application/json", "accept": "application/json"}
        if request.stream:
            headers["accept"] = "text/event-stream"
        if self.referer:
            headers["http-referer"] = self.referer
        if self.title:
            headers["x-title"] = self.title
        headers.update({key.lower(): value for key, value in endpoint.headers.items()})
        if endpoint.credential:
            headers["authorization"] = f"Bearer {endpoint.credential}"
        content = dumps(self.build_body(request, endpoint.model)).encode()
        return httpx.Request(
            "POST", endpoint.url("/chat/completions"), headers=headers, content=content
        )

    def parse_json(self, payload: object, *, request_id: str | None = None) -> ChatResponse:
        """
        Read a ``chat.completion`` object.

        Raises:
            MalformedResponseError: The object has no choices.
        """
        body = as_object(payload)
        choices = as_list(body.get("choices"))
        if not choices or not isinstance(choices[0], dict):
            raise MalformedResponseError(
                f"{self.name} answered without choices", provider=self.name
            )
        choice = choices[0]
        message = as_object(choice.get("message"))
        calls = tuple(
            ToolCall(
                id=as_str(call.get("id")) or "",
                name=as_str(as_object(call.get("function")).get("name")) or "",
                arguments=as_str(as_object(call.get("function")).get("arguments")) or "{}",
            )
            for call in map(as_object, as_list(message.get("tool_calls")))
        )
        return ChatResponse(
            text=as_str(message.get("content")) or "",
            tool_calls=calls,
            finish_reason=_finish(choice.get("finish_reason")),
            usage=openai_usage(body.get("usage")),
            model=as_str(body.get("model")),
            provider_request_id=request_id or as_str(body.get("id")),
        )

    def parse_response(self, response: httpx.Response) -> ChatResponse:
        """
        Read a successful (read) response.

        Raises:
            MalformedResponseError: The body is not a chat completion.
        """
        payload = loads_object(response.content)
        if payload is None:
            raise MalformedResponseError(
                f"{self.name} answered HTTP {response.status_code} with a body that is not JSON",
                provider=self.name,
            )
        return self.parse_json(payload, request_id=response.headers.get("x-request-id"))

    def stream_parser(self, request: ChatRequest) -> OpenAIStreamParser:
        """
        A fresh parser for the stream answering *request*.
        """
        return OpenAIStreamParser(provider=self.name, expect_usage=self.include_usage)

"""
Chat requests, responses and stream events, independent of any wire format.

Adapters translate these values to and from a provider's JSON; nothing here
knows about HTTP. Finish reasons are normalised to a small vocabulary:
``"stop"`` (the model ended its turn or hit a stop sequence), ``"length"``
(the output limit), ``"tool_calls"`` (the model asks for tools) and
``"content_filter"``; any other reason a provider reports is kept as it came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, TypeAlias

import attrs

from modelcfg._core._cost import Cost
from modelcfg.typing import JSON, JSONObject

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "ImagePart",
    "Message",
    "Role",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "collect_stream",
]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
"""Who wrote a message."""

_ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})


def _calls(values: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(values)


def _messages(values: Iterable[Message | Mapping[str, object]]) -> tuple[Message, ...]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise TypeError(
            f"ChatRequest.messages must be a list of Message values or message dicts, "
            f"not {type(values).__name__}"
        )
    messages: list[Message] = []
    for index, value in enumerate(values):
        if isinstance(value, Message):
            messages.append(value)
        elif isinstance(value, Mapping):
            messages.append(Message.from_dict(value, where=f"messages[{index}]"))
        else:
            raise TypeError(
                f"messages[{index}] is a {type(value).__name__}: a message is a Message "
                "or a dict such as {'role': 'user', 'content': 'Hello'}"
            )
    return tuple(messages)


def _tools(values: Iterable[ToolSpec]) -> tuple[ToolSpec, ...]:
    return tuple(values)


def _check_role(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _ROLES:
        raise ValueError(f"message role {value!r} is not one of system, user, assistant or tool")


def _check_non_negative_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative number of tokens, not {value!r}")


@attrs.frozen(kw_only=True)
class TextPart:
    """
    A piece of text inside a message.

    Attributes:
        text: The text.
    """

    text: str


@attrs.frozen(kw_only=True)
class ImagePart:
    """
    An image inside a message, given either by URL or as base64 data.

    Attributes:
        url: Where the provider can fetch the image (``https:`` or ``data:``).
        data: The image bytes, base64-encoded, when there is no URL.
        media_type: The image's media type (``image/png``); required with *data*.
    """

    url: str | None = None
    data: str | None = attrs.field(default=None, repr=False)
    media_type: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ValueError("an image part needs exactly one of url or data")
        if self.data is not None and not self.media_type:
            raise ValueError("an image part with base64 data needs a media_type such as image/png")

    @property
    def data_url(self) -> str:
        """
        The image as one URL: the given URL, or a ``data:`` URL built from the data.
        """
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


ContentPart: TypeAlias = TextPart | ImagePart
"""One part of a message's content."""


@attrs.frozen(kw_only=True)
class ToolCall:
    """
    A call to a tool that the model asked for.

    Attributes:
        id: The provider's id for the call; a tool result answers it by this id.
        name: The tool's name.
        arguments: The arguments as JSON text, exactly as the model wrote them.
    """

    id: str
    name: str
    arguments: str = "{}"


@attrs.frozen(kw_only=True)
class Message:
    """
    One message of a conversation.

    Attributes:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: Plain text, or a tuple of text and image parts.
        tool_calls: For an assistant message, the tools it called.
        tool_call_id: For a tool message, the id of the call it answers.
    """

    role: Role = attrs.field(validator=_check_role)
    content: str | tuple[ContentPart, ...] = ""
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_calls)
    tool_call_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id of the call it answers")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages carry tool calls, not {self.role} messages")

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, where: str = "message") -> Message:
        """
        A message from its OpenAI chat completions form, as users write it:
        ``{"role": "user", "content": "Hello"}``.

        Content is text or a list of parts (``{"type": "text", "text": ...}`` and
        ``{"type": "image_url", "image_url": {"url": ...}}``); an assistant message
        may carry ``tool_calls`` (``{"id", "type": "function", "function": {"name",
        "arguments"}}``) and a tool message its ``tool_call_id``. The ``developer``
        role counts as ``system``; ``name`` and an empty ``refusal`` are ignored.
        :class:`ChatRequest` converts dict messages with this.

        Args:
            data: The message dict.
            where: How errors name the message (``messages[2]``).

        Raises:
            ValueError: A key, role or part is not understood; the error names it.
            TypeError: A value has the wrong type; the error names it.

        .. versionadded:: 0.2.0
        """
        return _message_from_dict(data, where)

    @property
    def text(self) -> str:
        """
        The message's text: the content itself, or its text parts joined.
        """
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    @property
    def has_images(self) -> bool:
        """
        Whether the message carries at least one image.
        """
        return not isinstance(self.content, str) and any(
            isinstance(part, ImagePart) for part in self.content
        )


_SIMPLE_ROLES: frozenset[object] = frozenset({"system", "user", "assistant"})

_MESSAGE_KEYS: frozenset[str] = frozenset(
    {"role", "content", "tool_calls", "tool_call_id", "name", "refusal"}
)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a string, not {type(value).__name__}")
    return value


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be an object (a dict), not {type(value).__name__}")
    return value


def _part_from_dict(data: Mapping[str, object], where: str) -> ContentPart:
    kind = data.get("type")
    if kind == "text":
        return TextPart(text=_text(data.get("text"), f"{where}.text"))
    if kind == "image_url":
        image = data.get("image_url")
        url = image if isinstance(image, str) else _mapping(image, f"{where}.image_url").get("url")
        return ImagePart(url=_text(url, f"{where}.image_url.url"))
    raise ValueError(f"{where}.type is {kind!r}: a content part is of type 'text' or 'image_url'")


def _call_from_dict(data: Mapping[str, object], where: str) -> ToolCall:
    function = _mapping(data.get("function"), f"{where}.function")
    arguments = function.get("arguments", "{}")
    return ToolCall(
        id=_text(data.get("id"), f"{where}.id"),
        name=_text(function.get("name"), f"{where}.function.name"),
        arguments=_text(arguments, f"{where}.function.arguments"),
    )


def _message_from_dict(data: Mapping[str, object], where: str) -> Message:
    data = _mapping(data, where)
    role, text = data.get("role"), data.get("content")
    if len(data) == 2 and role in _SIMPLE_ROLES and type(text) is str:
        # The common case, {"role": "user", "content": "..."}, without the general walk.
        return Message(role=role, content=text)  # type: ignore[arg-type]  # checked
    unknown = sorted(set(data) - _MESSAGE_KEYS)
    if unknown:
        raise ValueError(
            f"{where} has {', '.join(map(repr, unknown))}: a message dict takes "
            f"{', '.join(sorted(_MESSAGE_KEYS))}"
        )
    if data.get("refusal"):
        raise ValueError(f"{where}.refusal is set: a refusal cannot be sent back as a message")
    role = data.get("role")
    role = "system" if role == "developer" else role
    if role not in _ROLES:
        raise ValueError(
            f"{where}.role is {role!r}: one of system (or developer), user, assistant or tool"
        )
    raw = data.get("content")
    content: str | tuple[ContentPart, ...]
    if raw is None:
        content = ""
    elif isinstance(raw, str):
        content = raw
    elif isinstance(raw, list | tuple):
        content = tuple(
            _part_from_dict(_mapping(part, f"{where}.content[{i}]"), f"{where}.content[{i}]")
            for i, part in enumerate(raw)
        )
    else:
        raise TypeError(
            f"{where}.content must be a string or a list of parts, not {type(raw).__name__}"
        )
    calls = data.get("tool_calls") or ()
    if not isinstance(calls, list | tuple):
        raise TypeError(f"{where}.tool_calls must be a list, not {type(calls).__name__}")
    call_id = data.get("tool_call_id")
    try:
        return Message(
            role=role,  # type: ignore[arg-type]  # checked against _ROLES above
            content=content,
            tool_calls=tuple(
                _call_from_dict(_mapping(c, f"{where}.tool_calls[{i}]"), f"{where}.tool_calls[{i}]")
                for i, c in enumerate(calls)
            ),
            tool_call_id=None if call_id is None else _text(call_id, f"{where}.tool_call_id"),
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


@attrs.frozen(kw_only=True)
class ToolSpec:
    """
    A tool the model may call.

    Attributes:
        name: The tool's name.
        description: What the tool does, for the model.
        parameters: The JSON Schema of the tool's arguments.
    """

    name: str
    description: str = ""
    parameters: JSONObject = attrs.field(
        factory=lambda: {"type": "object", "properties": {}}, hash=False
    )


_RESERVED_PARAMS: frozenset[str] = frozenset(
    {
        "model",
        "messages",
        "system",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "response_format",
    }
)


def _check_params(
    _instance: object, _attribute: attrs.Attribute[Mapping[str, JSON]], value: Mapping[str, JSON]
) -> None:
    reserved = sorted(_RESERVED_PARAMS.intersection(value))
    if reserved:
        raise ValueError(
            f"params may not set {', '.join(map(repr, reserved))}: the model comes from routing "
            "and the rest from ChatRequest's own fields (messages, system, stream, tools, "
            "tool_choice, json_output, json_schema)"
        )


@attrs.frozen(kw_only=True)
class ChatRequest:
    """
    One chat request, as the host asks for it, before any provider sees it.

    Attributes:
        messages: The conversation, oldest first: :class:`Message` values, or dicts
            in the OpenAI form, converted by :meth:`Message.from_dict`; anything
            else raises :class:`TypeError` here.
        system: A system prompt, sent before the messages.
        tools: Tools the model may call.
        tool_choice: ``"auto"``, ``"none"``, ``"required"``, or a tool's name to force it.
        params: Sampling and length parameters passed to the provider as they are
            (``temperature``, ``max_tokens``, ``top_p``, ``stop``, ...).
        stream: Whether the answer should be streamed.
        json_output: Whether the answer must be a JSON object.
        json_schema: A JSON Schema the answer must follow (implies *json_output*).
    """

    messages: tuple[Message, ...] = attrs.field(converter=_messages)  # dicts: Message.from_dict
    system: str | None = None
    tools: tuple[ToolSpec, ...] = attrs.field(default=(), converter=_tools)
    tool_choice: str | None = None
    params: Mapping[str, JSON] = attrs.field(factory=dict, hash=False, validator=_check_params)
    stream: bool = False
    json_output: bool = False
    json_schema: JSONObject | None = attrs.field(default=None, hash=False)

    @property
    def has_images(self) -> bool:
        """
        Whether any message carries an image (image routing looks at this).
        """
        return any(message.has_images for message in self.messages)

    @property
    def wants_json(self) -> bool:
        """
        Whether the answer must be JSON, with or without a schema.
        """
        return self.json_output or self.json_schema is not None


@attrs.frozen(kw_only=True)
class Usage:
    """
    Tokens one attempt used, as its provider reported them.

    ``input_tokens`` counts only uncached input, so the four counts add up to
    everything billed: OpenAI's ``prompt_tokens`` includes cached tokens, and the
    OpenAI adapter subtracts them. Usages add up with ``+``.

    Attributes:
        input_tokens: Input tokens read without a cache.
        output_tokens: Tokens the model wrote, reasoning included.
        cache_read_tokens: Input tokens read from the provider's prompt cache.
        cache_write_tokens: Input tokens written to the provider's prompt cache.
        reasoning_tokens: Of the output tokens, those the model spent thinking.

    .. versionchanged:: 0.2.0
       Added *reasoning_tokens* and ``+``.
    """

    input_tokens: int = attrs.field(default=0, validator=_check_non_negative_int)
    output_tokens: int = attrs.field(default=0, validator=_check_non_negative_int)
    cache_read_tokens: int = attrs.field(default=0, validator=_check_non_negative_int)
    cache_write_tokens: int = attrs.field(default=0, validator=_check_non_negative_int)
    reasoning_tokens: int = attrs.field(default=0, validator=_check_non_negative_int)

    def __attrs_post_init__(self) -> None:
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError(
                f"reasoning_tokens ({self.reasoning_tokens}) are part of output_tokens "
                f"({self.output_tokens}) and cannot exceed them"
            )

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    @property
    def is_empty(self) -> bool:
        """
        Whether no token at all was reported.
        """
        return not (
            self.input_tokens
            or self.output_tokens
            or self.cache_read_tokens
            or self.cache_write_tokens
        )

    @property
    def total_input_tokens(self) -> int:
        """
        All input tokens, cached or not.
        """
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        """
        All tokens, input and output.
        """
        return self.total_input_tokens + self.output_tokens


@attrs.frozen(kw_only=True)
class ChatResponse:
    """
    A complete answer from a provider.

    Attributes:
        text: The answer's text (empty when the model only called tools).
        tool_calls: The tools the model called, in order.
        finish_reason: Why the model stopped, normalised (see the module docs).
        usage: The tokens the attempt used.
        model: The model that answered, as the provider reported it.
        provider_request_id: The provider's id for the request or response, for support.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_calls)
    finish_reason: str | None = None
    usage: Usage = attrs.field(factory=Usage)
    model: str | None = None
    provider_request_id: str | None = None


@attrs.frozen(kw_only=True)
class TextDelta:
    """
    The next piece of the answer's text.

    Attributes:
        text: The new text.
    """

    text: str


@attrs.frozen(kw_only=True)
class ToolCallDelta:
    """
    The next piece of a tool call; pieces with the same *index* belong together.

    Attributes:
        index: Which tool call of the answer this piece belongs to (0, 1, ...).
        id: The call's id, on the first piece.
        name: The tool's name, on the first piece.
        arguments: The next piece of the arguments' JSON text.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@attrs.frozen(kw_only=True)
class StreamEnd:
    """
    The stream finished properly; always the last event of a good stream.

    Attributes:
        finish_reason: Why the model stopped, normalised, when the provider said.
        usage: The tokens the attempt used (zero when the provider did not report them).
        model: The model that answered, as the provider reported it.
        provider_request_id: The provider's id for the request or response.
        cost: What *usage* cost at the catalog's prices; the executor sets it on
            the end it yields (adapters leave it ``None``).
    """

    finish_reason: str | None = None
    usage: Usage = attrs.field(factory=Usage)
    model: str | None = None
    provider_request_id: str | None = None
    cost: Cost | None = None


StreamEvent: TypeAlias = TextDelta | ToolCallDelta | StreamEnd
"""What a streamed answer yields."""


def collect_stream(events: Iterable[StreamEvent]) -> ChatResponse:
    """
    Assemble stream events into the complete answer they make up.

    Args:
        events: The events of one stream, in order, ending with a :class:`StreamEnd`.

    Returns:
        The answer, with text joined and tool call pieces merged by index.

    Raises:
        ValueError: The events do not end with a :class:`StreamEnd`, so the answer
            may be truncated.
    """
    texts: list[str] = []
    calls: dict[int, tuple[str, str, list[str]]] = {}
    end: StreamEnd | None = None
    for event in events:
        match event:
            case TextDelta(text=text):
                texts.append(text)
            case ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments):
                old_id, old_name, pieces = calls.get(index, ("", "", []))
                calls[index] = (old_id or call_id or "", old_name or name or "", pieces)
                pieces.append(arguments)
            case StreamEnd():
                end = event
    if end is None:
        raise ValueError("the stream has no end event, so its answer may be truncated")
    tool_calls = tuple(
        ToolCall(id=call_id, name=name, arguments="".join(pieces) or "{}")
        for _, (call_id, name, pieces) in sorted(calls.items())
    )
    return ChatResponse(
        text="".join(texts),
        tool_calls=tool_calls,
        finish_reason=end.finish_reason,
        usage=end.usage,
        model=end.model,
        provider_request_id=end.provider_request_id,
    )

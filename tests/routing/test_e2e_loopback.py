"""
Routing by need end to end, over a real HTTP server on 127.0.0.1: a primary known
to lack tools is never called, and a primary's "unsupported parameter" 400 falls
back to the next model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from modelcfg import ChatRequest, Message, ToolSpec, load_config
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor

pytestmark = pytest.mark.anyio

TOOLS = ChatRequest(
    messages=[Message(role="user", content="weather in Paris?")],
    tools=[ToolSpec(name="weather", description="Current weather")],
)
# OpenAI's answer to a parameter the model does not take (its documented error shape).
UNSUPPORTED = {
    "error": {
        "message": "Unsupported parameter: 'tools' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "tools",
        "code": "unsupported_parameter",
    }
}


class Server(ThreadingHTTPServer):
    """An OpenAI-compatible server: ``picky`` turns tools down, every other model answers."""

    daemon_threads = True
    models: list[str]


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        model = body["model"]
        self.server.models.append(model)
        if self.path != "/v1/chat/completions" or not self.headers.get("authorization"):
            self._send(404, {"error": {"message": "not found"}})
        elif model == "picky" and "tools" in body:
            self._send(400, UNSUPPORTED)
        else:
            self._send(
                200,
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "sunny"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
                },
            )

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    """A loopback server on a free port, stopped after the test."""
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.models = []
    thread = threading.Thread(target=lambda: httpd.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def executor(server: Server, primary: str, client: httpx.AsyncClient, traits: object) -> Executor:
    port = server.server_address[1]
    config = load_config(
        {
            "providers": {"openai": {"api": "openai", "baseUrl": f"http://127.0.0.1:{port}/v1"}},
            "agent": {
                "models": {f"openai/{primary}": traits, "openai/big": {"tools": True}},
                "model": {"primary": f"openai/{primary}", "fallbacks": ["openai/big"]},
            },
        }
    )
    return Executor.from_config(
        config, client=client, credentials=StaticCredentials({"openai:default": "sk-test"})
    )


async def test_a_tools_request_never_calls_a_primary_without_tools(server: Server) -> None:
    """The primary is known to lack tools: the fallback answers and the primary sees no request."""
    async with httpx.AsyncClient() as client:
        done = await executor(server, "small", client, {"tools": False}).complete(TOOLS)

    assert ("openai/big", ["big"]) == (str(done.target.model), server.models)


async def test_an_unsupported_parameter_400_falls_back(server: Server) -> None:
    """The primary turns tools down with a 400: the request falls back and the next one skips it."""
    async with httpx.AsyncClient() as client:
        ex = executor(server, "picky", client, {})
        first = await ex.complete(TOOLS)
        second = await ex.complete(TOOLS)

    assert ("openai/big", "openai/big", ["picky", "big", "big"]) == (
        str(first.target.model),
        str(second.target.model),
        server.models,
    )
    assert "unsupported" == first.attempts[0].failure.kind.value  # type: ignore[union-attr]

"""
modelcfg side by side with what a user would write instead, against one loopback server.

Run: ``python benchmarks/bench_compare.py`` (add ``--no-callgrind`` to skip the
instruction counts, which need ``valgrind``; ``--quick`` for fewer rounds).

Columns, all against one server on 127.0.0.1 started by this script:

- ``modelcfg``: an :class:`~modelcfg.Executor` over a 2-model config (a primary and a fallback);
- ``hand-written``: an httpx retry/fallback loop over the same two models, retried with
  ``tenacity`` when it is installed (``pip install tenacity``; a bench-only dependency),
  otherwise a plain ``for`` loop (the header says which);
- ``raw httpx``: one ``client.post()`` + ``response.json()`` (or ``client.stream()`` +
  ``aiter_lines()`` + ``json.loads`` per event): the floor;
- ``PydanticAI`` (``FallbackModel``) and ``LiteLLM`` (``Router``): only where importable, run
  in a child process that refuses every non-loopback connection (see ``bench_litellm.py``).

Rows:

- CPU overhead per non-streamed request at concurrency 1: process CPU time per request minus
  raw httpx's, in paired, interleaved rounds;
- client instructions per non-streamed request (callgrind, counting only the measured
  requests, after a warm-up), as a ratio to raw httpx;
- overhead per streamed request of 7 events (5 content chunks, a finish chunk and
  ``[DONE]``): wall time minus raw httpx's, p50 of paired requests;
- client instructions per streamed request of 100 content chunks (callgrind), as a ratio
  to raw httpx; the server sends each chunk only when the client has read the one
  before (one UDP datagram per chunk, the same in every column), so each chunk is its
  own read, as when a model generates tokens;
- first use: a fresh interpreter that imports, loads a 2-model config and builds its
  executor (or loop) and client, median wall time of interleaved runs.

The goals of issue 18 print next to each row, with the figures measured before that work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

KEY = "bench-key"
PROMPT = "Say hello."
STREAM_EVENTS_SMALL = 5
"""Content chunks of the small stream: with the finish chunk and ``[DONE]``, 7 events."""
STREAM_CHUNKS_LARGE = 100


def _no_step() -> None:
    pass


STEP: Callable[[], None] = _no_step
"""Called by every client after each content chunk it read: in the callgrind probe, it
tells the server to send the next chunk (``s<N>l`` models), so each chunk is its own read
whatever the machine's load."""

HAVE_TENACITY = importlib.util.find_spec("tenacity") is not None

BEFORE = {
    "cpu": "263 µs (hand-written 128 µs)",
    "instr": "1.09x raw (hand-written 1.10x)",
    "stream7": "816 µs (hand-written 222 µs)",
    "stream100": "2.49x raw (hand-written 1.02x)",
    "first_use": "437 ms (hand-written 270 ms)",
}
MAIN_BEFORE = (
    "Measured with this script's method on main before the issue 18 work (callgrind, lockstep): "
    "streamed, 100 chunks: modelcfg 40.4 M instructions = 1.88x raw (raw 21.5 M); "
    "non-streamed: modelcfg 3.59 M = 1.32x raw (raw 2.73 M, hand-written 1.06x)."
)
"""The issue's figures came from its own harness; these are the same code measured here."""
GOALS = {
    "cpu": "≤ hand-written",
    "instr": "≈ hand-written",
    "stream7": "≤ 250 µs",
    "stream100": "≤ 1.15x raw",
    "first_use": "≤ 1.2x hand-written",
}


# --- the loopback server -----------------------------------------------------------------------

ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "primary",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
).encode()


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "primary",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """
    Answer HTTP/1.1 requests on one connection: ``model`` names the behaviour.

    ``broken``: 503; ``s<N>``: a stream of N content chunks; ``s<N>l``: the same, in
    lockstep (each content chunk after the first waits for one datagram from the
    client on the server's UDP port, which has the TCP port's number); anything
    else: a plain answer.
    """
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            request = json.loads(await reader.readexactly(length)) if length else {}
            model = str(request.get("model", ""))
            shape = re.fullmatch(r"s(\d+)(l?)", model)
            if model == "broken":
                body = b'{"error":{"message":"busy","type":"server_error"}}'
                writer.write(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
            elif shape is None or not request.get("stream"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
                )
            else:
                count, lockstep = int(shape.group(1)), bool(shape.group(2))
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                events = [_chunk({"role": "assistant", "content": "Hi"})]
                events += [_chunk({"content": f" w{i}"}) for i in range(1, count)]
                events.append(_chunk({}, "stop"))
                events.append(b"data: [DONE]\n\n")
                for i, event in enumerate(events):
                    if lockstep and 0 < i <= count:
                        await writer.drain()
                        await _STEPS.get()
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
        pass
    finally:
        writer.close()


_STEPS: asyncio.Queue[bytes] = asyncio.Queue()


class _Steps(asyncio.DatagramProtocol):
    def datagram_received(self, data: bytes, addr: object) -> None:
        _STEPS.put_nowait(data)


def serve() -> None:
    """
    Run the loopback server until stdin closes; print its base URL first.
    """

    async def main() -> None:
        server = await asyncio.start_server(_serve_one, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await asyncio.get_running_loop().create_datagram_endpoint(
            _Steps, local_addr=("127.0.0.1", port)
        )
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().decode().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"The loopback server did not start (it said {base_url!r}).")
        yield base_url
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


# --- the clients -------------------------------------------------------------------------------

CONFIG_TEXT = """{
  "providers": {"bench": {"api": "openai", "baseUrl": "%s", "apiKeyEnv": ["BENCH_KEY"]}},
  "agent": {"model": {"primary": "bench/%s", "fallbacks": ["bench/%s"]}}
}"""


def make_modelcfg(base_url: str, primary: str, fallback: str) -> Any:
    import httpx

    import modelcfg

    config = modelcfg.load_config(json.loads(CONFIG_TEXT % (base_url, primary, fallback)))
    client = httpx.AsyncClient(timeout=60.0)
    executor = modelcfg.Executor.from_config(config, client=client, environ={"BENCH_KEY": KEY})
    return executor, client


def make_handwritten(base_url: str, primary: str, fallback: str) -> Any:
    """
    What a user writes instead: try each model, retrying transient errors, then fall back.
    """
    import httpx

    client = httpx.AsyncClient(timeout=60.0)
    config = json.loads(CONFIG_TEXT % (base_url, primary, fallback))
    provider = config["providers"]["bench"]
    url = provider["baseUrl"] + "/chat/completions"
    headers = {"authorization": f"Bearer {KEY}"}
    models = [config["agent"]["model"]["primary"], *config["agent"]["model"]["fallbacks"]]
    models = [m.split("/", 1)[1] for m in models]

    def transient(exc: BaseException) -> bool:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code in (408, 429, 500, 502, 503, 504)
        return isinstance(exc, httpx.TransportError)

    if HAVE_TENACITY:
        import tenacity

        def retrying() -> Any:
            return tenacity.AsyncRetrying(
                stop=tenacity.stop_after_attempt(3),
                wait=tenacity.wait_exponential(multiplier=0.5, max=8),
                retry=tenacity.retry_if_exception(transient),
                reraise=True,
            )

        async def complete(messages: list[dict[str, str]]) -> dict[str, Any]:
            error: BaseException | None = None
            for model in models:
                try:
                    async for attempt in retrying():
                        with attempt:
                            response = await client.post(
                                url,
                                json={"model": model, "messages": messages},
                                headers=headers,
                            )
                            response.raise_for_status()
                            return response.json()  # type: ignore[no-any-return]
                except Exception as exc:
                    error = exc
            raise RuntimeError("every model failed") from error

    else:

        async def complete(messages: list[dict[str, str]]) -> dict[str, Any]:
            error: BaseException | None = None
            for model in models:
                for attempt in range(3):
                    try:
                        response = await client.post(
                            url, json={"model": model, "messages": messages}, headers=headers
                        )
                        response.raise_for_status()
                        return response.json()  # type: ignore[no-any-return]
                    except Exception as exc:
                        error = exc
                        if not transient(exc):
                            break
                        await asyncio.sleep(0.5 * 2**attempt)
            raise RuntimeError("every model failed") from error

    async def stream(messages: list[dict[str, str]]) -> str:
        error: BaseException | None = None
        for model in models:
            parts: list[str] = []
            try:
                async with client.stream(
                    "POST",
                    url,
                    json={"model": model, "messages": messages, "stream": True},
                    headers=headers,
                ) as response:
                    response.raise_for_status()
                    async for line in response.aiter_lines():
                        if not line.startswith("data: "):
                            continue
                        data = line[6:]
                        if data == "[DONE]":
                            return "".join(parts)
                        choice = json.loads(data)["choices"][0]
                        parts.append(choice["delta"].get("content") or "")
                        STEP()
                raise RuntimeError("the stream was cut")
            except Exception as exc:
                error = exc
        raise RuntimeError("every model failed") from error

    return complete, stream, client


def make_raw(base_url: str, model: str) -> Any:
    import httpx

    client = httpx.AsyncClient(timeout=60.0)
    url = base_url + "/chat/completions"
    headers = {"authorization": f"Bearer {KEY}"}

    async def complete(messages: list[dict[str, str]]) -> Any:
        response = await client.post(
            url, json={"model": model, "messages": messages}, headers=headers
        )
        return response.json()

    async def stream(messages: list[dict[str, str]]) -> str:
        parts: list[str] = []
        async with client.stream(
            "POST",
            url,
            json={"model": model, "messages": messages, "stream": True},
            headers=headers,
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    parts.append(json.loads(data)["choices"][0]["delta"].get("content") or "")
                    STEP()
        return "".join(parts)

    return complete, stream, client


Call = Callable[[], Awaitable[object]]


def calls(base_url: str, model: str, only: str | None = None) -> dict[str, tuple[Call, Call]]:
    """
    ``{column: (non-streamed call, streamed call)}`` for the in-process columns (or *only* one).
    """
    messages = [{"role": "user", "content": PROMPT}]
    out: dict[str, tuple[Call, Call]] = {}
    if only in (None, "modelcfg"):
        from modelcfg import ChatRequest, Message, TextDelta

        request = ChatRequest(messages=[Message(role="user", content=PROMPT)])
        executor, _ = make_modelcfg(base_url, model, "fallback")

        async def ours() -> object:
            return await executor.complete(request)

        async def ours_stream() -> object:
            parts: list[str] = []
            async with executor.stream(request) as answer:
                async for event in answer:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        STEP()
            return "".join(parts)

        out["modelcfg"] = (ours, ours_stream)
    if only in (None, "hand-written"):
        hand_complete, hand_stream, _ = make_handwritten(base_url, model, "fallback")
        out["hand-written"] = (lambda: hand_complete(messages), lambda: hand_stream(messages))
    if only in (None, "raw httpx"):
        raw_complete, raw_stream, _ = make_raw(base_url, model)
        out["raw httpx"] = (lambda: raw_complete(messages), lambda: raw_stream(messages))
    return out


# --- wall-clock and CPU rows -------------------------------------------------------------------


async def cpu_per_request_us(base_url: str, rounds: int, per_round: int) -> dict[str, float]:
    """
    Process CPU time per non-streamed request, columns interleaved round by round.
    """
    columns = calls(base_url, "primary")
    spent: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(20):  # warm every path
        for complete, _ in columns.values():
            await complete()
    for _ in range(rounds):
        for name, (complete, _) in columns.items():
            start = time.process_time()
            for _ in range(per_round):
                await complete()
            spent[name].append((time.process_time() - start) / per_round * 1e6)
    return {name: statistics.median(values) for name, values in spent.items()}


async def stream_latency_us(base_url: str, repeat: int) -> dict[str, float]:
    """
    Wall time per 7-event streamed request, p50 of back-to-back interleaved requests.
    """
    columns = calls(base_url, f"s{STREAM_EVENTS_SMALL}")
    samples: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(20):
        for _, stream in columns.values():
            await stream()
    for _ in range(repeat):
        for name, (_, stream) in columns.items():
            start = time.perf_counter()
            await stream()
            samples[name].append((time.perf_counter() - start) * 1e6)
    raw = samples["raw httpx"]
    return {
        name: statistics.median(a - b for a, b in zip(values, raw, strict=True))
        for name, values in samples.items()
    }


FIRST_USE = {
    "modelcfg": """
import json, time
start = time.perf_counter()
import httpx, modelcfg
config = modelcfg.load_config(json.loads(TEXT))
client = httpx.AsyncClient()
executor = modelcfg.Executor.from_config(config, client=client, environ={"BENCH_KEY": "k"})
""",
    "hand-written": """
import json, time
start = time.perf_counter()
import httpx
%s
config = json.loads(TEXT)
client = httpx.AsyncClient()
models = [config["agent"]["model"]["primary"], *config["agent"]["model"]["fallbacks"]]
"""
    % ("import tenacity" if HAVE_TENACITY else ""),
}


def first_use_ms(rounds: int) -> dict[str, float]:
    """
    Wall time of a fresh interpreter doing first use, median of interleaved runs.
    """
    text = CONFIG_TEXT % ("http://127.0.0.1:9/v1", "primary", "fallback")
    spent: dict[str, list[float]] = {name: [] for name in FIRST_USE}
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    for _ in range(rounds):
        for name, script in FIRST_USE.items():
            code = f"TEXT = {text!r}\n" + textwrap.dedent(script)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            spent[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in spent.items()}


# --- callgrind rows ----------------------------------------------------------------------------


def probe(base_url: str, column: str, kind: str, count: int) -> None:
    """
    Run *count* requests of *kind* through *column* (the process callgrind measures).

    Only the measured requests run inside ``sys.call_tracing`` (with no tracer set, a
    plain call), which callgrind is told to count: start-up and warm-up are left out.
    """
    global STEP
    model = "primary" if kind == "plain" else f"s{STREAM_CHUNKS_LARGE}l"
    steps = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = ("127.0.0.1", int(base_url.rsplit(":", 1)[1].split("/")[0]))

    def step() -> None:
        steps.sendto(b"n", address)

    STEP = step
    complete, stream = calls(base_url, model, column)[column]
    call = complete if kind == "plain" else stream

    async def run(n: int) -> None:
        for _ in range(n):
            await call()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(3))  # warm: imports, connection, caches
    # What start-up allocated is left out of later collections (as gc.freeze() is meant
    # for): a full collection over it would land at random in one column's count.
    gc.collect()
    gc.freeze()
    sys.call_tracing(loop.run_until_complete, (run(count),))
    loop.close()


def instructions_per_request(base_url: str, column: str, kind: str, count: int) -> float:
    """
    Client instructions per request of *kind* through *column*, counted by callgrind.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=sys_call_tracing",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--probe",
                base_url,
                column,
                kind,
                str(count),
            ],
            check=True,
            capture_output=True,
        )
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1]) / count
    raise RuntimeError("callgrind wrote no totals")


# --- peers in child processes ------------------------------------------------------------------


PEERS = {"PydanticAI": "pydantic_ai", "LiteLLM": "litellm"}


def peer_cpu(base_url: str, peer: str, rounds: int, per_round: int) -> float | None:
    """
    CPU per non-streamed request through *peer*, in a child process; ``None`` if absent.
    """
    if importlib.util.find_spec(PEERS[peer]) is None:
        return None
    done = subprocess.run(
        [sys.executable, __file__, "--peer", peer, base_url, str(rounds), str(per_round)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"({peer} failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return float(done.stdout.strip().splitlines()[-1])


def run_peer(peer: str, base_url: str, rounds: int, per_round: int) -> None:
    from benchmarks.bench_litellm import install_guard

    install_guard()
    if peer == "LiteLLM":
        from benchmarks.bench_litellm import quiet_litellm

        quiet_litellm()
        import litellm

        router = litellm.Router(
            model_list=[
                {
                    "model_name": "bench",
                    "litellm_params": {
                        "model": f"openai/{model}",
                        "api_base": base_url,
                        "api_key": KEY,
                    },
                }
                for model in ("primary", "fallback")
            ][:1],
            fallbacks=[],
        )

        async def call() -> object:
            return await router.acompletion(
                model="bench", messages=[{"role": "user", "content": PROMPT}]
            )

    else:
        from pydantic_ai import Agent
        from pydantic_ai.models.fallback import FallbackModel
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        provider = OpenAIProvider(base_url=base_url, api_key=KEY)
        agent = Agent(
            FallbackModel(
                OpenAIChatModel("primary", provider=provider),
                OpenAIChatModel("fallback", provider=provider),
            )
        )

        async def call() -> object:
            return await agent.run(PROMPT)

    async def main() -> float:
        for _ in range(20):
            await call()
        spent = []
        for _ in range(rounds):
            start = time.process_time()
            for _ in range(per_round):
                await call()
            spent.append((time.process_time() - start) / per_round * 1e6)
        return statistics.median(spent)

    print(asyncio.run(main()))


# --- the table ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args(argv)
    rounds, per_round, repeat, starts = (5, 50, 100, 5) if args.quick else (15, 100, 400, 11)
    callgrind = not args.no_callgrind and shutil.which("valgrind") is not None
    loop = "httpx + tenacity" if HAVE_TENACITY else "httpx, plain loop (tenacity not installed)"
    print(f"hand-written = {loop}; raw httpx = one call, no retries")
    columns = ["modelcfg", "hand-written", "raw httpx", *PEERS]
    table: dict[str, dict[str, str]] = {}
    with loopback_server() as base_url:
        cpu = asyncio.run(cpu_per_request_us(base_url, rounds, per_round))
        row = {n: f"{v - cpu['raw httpx']:.0f} µs" for n, v in cpu.items()}
        row["raw httpx"] = f"({cpu['raw httpx']:.0f} µs)"
        for peer in PEERS:
            value = peer_cpu(base_url, peer, rounds, per_round)
            row[peer] = "not installed" if value is None else f"{value - cpu['raw httpx']:.0f} µs"
        table["CPU overhead per non-streamed request, c=1"] = row
        if callgrind:
            per = {
                n: instructions_per_request(base_url, n, "plain", 20)
                for n in ("modelcfg", "hand-written", "raw httpx")
            }
            row = {n: f"{v / per['raw httpx']:.2f}x raw" for n, v in per.items()}
            row["raw httpx"] = f"{per['raw httpx'] / 1e6:.2f} M"
            table["client instructions per non-streamed request"] = row
        stream = asyncio.run(stream_latency_us(base_url, repeat))
        row = {n: f"{v:.0f} µs" for n, v in stream.items()}
        row["raw httpx"] = "—"
        table["overhead per streamed request, 7 events (p50)"] = row
        if callgrind:
            per = {
                n: instructions_per_request(base_url, n, "stream", 3)
                for n in ("modelcfg", "hand-written", "raw httpx")
            }
            row = {n: f"{v / per['raw httpx']:.2f}x raw" for n, v in per.items()}
            row["raw httpx"] = f"{per['raw httpx'] / 1e6:.2f} M"
            table["client instructions, streamed, 100 content chunks"] = row
    first = first_use_ms(starts)
    ratio = first["modelcfg"] / first["hand-written"]
    table["first use: import, load a 2-model config, build executor and client"] = {
        "modelcfg": f"{first['modelcfg']:.0f} ms ({ratio:.2f}x)",
        "hand-written": f"{first['hand-written']:.0f} ms",
        "raw httpx": "—",
    }
    keys = dict(zip(table, ["cpu", "instr", "stream7", "stream100", "first_use"], strict=False))
    if not callgrind:
        keys = dict(zip(table, ["cpu", "stream7", "first_use"], strict=False))
    header = ["figure", *columns, "goal", "before (issue 18)"]
    lines = [header]
    for name, row in table.items():
        key = keys[name]
        lines.append([name, *(row.get(c, "—") for c in columns), GOALS[key], BEFORE[key]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print(MAIN_BEFORE)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--probe"]:
        probe(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1:2] == ["--peer"]:
        run_peer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(main())

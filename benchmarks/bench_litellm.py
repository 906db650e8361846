"""
The executor workloads through LiteLLM's ``Router``, for a side-by-side comparison.

Run: ``python benchmarks/bench_executor.py --loopback`` (which runs this script in a
child process and prints both as ratios), or on its own:
``python benchmarks/bench_litellm.py`` (it then starts its own loopback server).

Nothing here may leave 127.0.0.1. Before LiteLLM is imported this process:

- refuses every socket connection to a non-loopback address (``socket.socket.connect``,
  ``connect_ex``, ``socket.create_connection``) and every name lookup of a
  non-loopback host (``socket.getaddrinfo``), and prints what it refused;
- sets ``LITELLM_LOCAL_MODEL_COST_MAP=True`` so LiteLLM reads its bundled cost map
  instead of fetching one, and switches its telemetry and callbacks off.

LiteLLM is not a dependency of modelcfg; install it yourself
(``pip install litellm``) to get these figures.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

REFUSED: list[str] = []


def _is_loopback(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local host
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _address_allowed(address: object) -> bool:
    if isinstance(address, str | bytes):
        return True  # a Unix socket path: local by nature
    if isinstance(address, tuple) and address:
        return _is_loopback(address[0])
    return False


def _refuse(what: str) -> None:
    REFUSED.append(what)
    print(f"[loopback guard] refused {what}", file=sys.stderr, flush=True)


def install_guard() -> None:
    """
    Refuse, in this process, every connection and name lookup that would leave 127.0.0.1.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not _address_allowed(address):
            _refuse(f"connect to {address!r}")
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"non-loopback connection to {address!r} refused"
            )
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _address_allowed(address):
            _refuse(f"connect_ex to {address!r}")
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _address_allowed(address):
            _refuse(f"create_connection to {address!r}")
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"non-loopback connection to {address!r} refused"
            )
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            _refuse(f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"lookup of non-loopback {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo


def quiet_litellm() -> None:
    """
    The environment LiteLLM reads at import: local cost map, no telemetry.
    """
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ["LITELLM_TELEMETRY"] = "False"
    os.environ["LITELLM_LOG"] = "ERROR"
    os.environ.pop("HTTP_PROXY", None)
    os.environ.pop("HTTPS_PROXY", None)


# The guard goes in before anything that might open a socket at import.
install_guard()
quiet_litellm()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

import anyio  # noqa: E402
import httpx  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_executor import (  # noqa: E402
    LOOPBACK_CONCURRENT,
    PROMPT,
    SLOW_ANSWER_S,
    bytes_in_flight,
    direct_call,
    figures,
    latencies_us,
    loopback_server,
    paired_latencies_us,
    requests_per_s,
)

Router = Any


def build_router(base_url: str) -> Router:
    """
    A Router over the loopback server: ``primary`` (healthy), ``broken`` (503) falling
    back to ``primary``, and ``slow`` (parks requests); no retries, no cooldowns, so
    every ``broken`` request really fails once and falls back, as modelcfg's workload does.
    """
    import litellm
    from litellm.router import Router

    litellm.telemetry = False
    litellm.success_callback = []
    litellm.failure_callback = []
    litellm.callbacks = []
    litellm.suppress_debug_info = True
    litellm.set_verbose = False  # type: ignore[attr-defined]

    def deployment(name: str) -> dict[str, object]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{name}",
                "api_base": base_url,
                "api_key": "bench-key",
                "timeout": 60,
            },
        }

    return Router(
        model_list=[deployment("primary"), deployment("broken"), deployment("slow")],
        fallbacks=[{"broken": ["primary"]}],
        num_retries=0,
        disable_cooldowns=True,
        timeout=60,
    )


async def litellm_workloads(base_url: str, repeat: int) -> dict[str, object]:
    import litellm

    router = build_router(base_url)
    messages = [{"role": "user", "content": PROMPT}]

    async def through() -> object:
        return await router.acompletion(model="primary", messages=messages)

    async def failing() -> object:
        return await router.acompletion(model="broken", messages=messages)

    async def slow() -> object:
        return await router.acompletion(model="slow", messages=messages)

    first = await through()
    text = first.choices[0].message.content  # type: ignore[attr-defined]
    if text != "Hello from primary":
        raise RuntimeError(f"LiteLLM got {text!r} from the loopback server")
    answered = await failing()
    if answered.choices[0].message.content != "Hello from primary":  # type: ignore[attr-defined]
        raise RuntimeError("LiteLLM did not fall back from 'broken' to 'primary'")

    out: dict[str, object] = {"version": getattr(litellm, "__version__", None) or _version()}
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        direct = direct_call(client, base_url)
        d, e = await paired_latencies_us(direct, through, repeat)
    out.update(figures(d, e))
    f = await latencies_us(failing, repeat)
    out["fallback_p50_us"] = statistics.median(f)
    out["fallback_extra_p50_us"] = statistics.median(f) - statistics.median(e)
    out["rps"] = await requests_per_s(through, LOOPBACK_CONCURRENT)
    out["bytes_in_flight"] = await bytes_in_flight(
        slow, LOOPBACK_CONCURRENT, ready=lambda elapsed_s: elapsed_s > SLOW_ANSWER_S * 0.5
    )
    out["refused"] = list(REFUSED)
    return out


def _version() -> str | None:
    from importlib.metadata import version

    try:
        return version("litellm")
    except Exception:
        return None


def show(out: dict[str, object]) -> None:
    def num(key: str) -> float:
        value = out.get(key)
        return float(value) if isinstance(value, int | float) else float("nan")

    print(f"LiteLLM {out.get('version')} Router against the loopback server:")
    print(f"  direct httpx p50 {num('direct_p50_us'):9.1f} µs   p90 {num('direct_p90_us'):9.1f} µs")
    print(f"  Router        p50 {num('p50_us'):9.1f} µs   p90 {num('p90_us'):9.1f} µs")
    print(
        f"  overhead      p50 {num('overhead_p50_us'):9.1f} µs"
        f"   p90 {num('overhead_p90_us'):9.1f} µs"
    )
    print(f"  503 + fallback p50 {num('fallback_p50_us'):9.1f} µs")
    print(f"  {LOOPBACK_CONCURRENT} concurrent: {num('rps'):8.0f} requests/s")
    print(f"  memory per in-flight request {num('bytes_in_flight') / 1024:8.1f} KiB")
    print(f"  non-loopback connections refused: {len(REFUSED)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="a running loopback FakeProvider (else one is started)")
    parser.add_argument("--repeat", type=int, default=500, help="samples per latency figure")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.base_url and not _is_loopback(httpx.URL(args.base_url).host):
        parser.error(f"--base-url must be on loopback, not {args.base_url!r}")
    try:
        import litellm  # noqa: F401
    except ImportError:
        print("litellm is not installed: nothing to compare (pip install litellm).")
        return 2

    run: Callable[[str], dict[str, object]] = lambda url: anyio.run(  # noqa: E731
        litellm_workloads, url, args.repeat, backend="asyncio"
    )
    if args.base_url:
        out = run(args.base_url)
    else:
        with loopback_server() as base_url:
            out = run(base_url)
    if args.json:
        print(json.dumps(out))
    else:
        show(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

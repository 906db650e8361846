"""
Fixtures for the store tests: a real ``redis-server`` on a free loopback port, and fresh stores.

Redis tests run wherever ``redis-server`` is installed. Under CI (``CI`` set) a
missing ``redis-server`` fails the run loudly; elsewhere those tests are skipped
with a reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcfg.stores import MemoryStateStore, RedisStateStore, SqliteStateStore

PASSWORD_ENV = "MODELCFG_REDIS_PASSWORD"


def free_port() -> int:
    """
    A TCP port on 127.0.0.1 that nothing listens on right now.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_server_binary() -> str:
    """
    The path of ``redis-server``; fails under CI and skips elsewhere when it is missing.
    """
    found = shutil.which("redis-server")
    if found is not None:
        return found
    message = "redis-server is not installed (apt-get install redis-server)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must run the Redis tests, and .ci/run installs it")
    pytest.skip(message)


class RedisServer:
    """
    A ``redis-server`` of our own on 127.0.0.1, with a password and no persistence.

    It can be killed, started again on the same port (empty), paused and resumed.
    """

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(12)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """
        The server's URL, without its password (that comes from the environment).
        """
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def environ(self) -> dict[str, str]:
        """
        The environment a store needs to log in.
        """
        return {PASSWORD_ENV: self.password}

    def start(self) -> None:
        """
        Start the server and wait until it answers.
        """
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--requirepass",
                self.password,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn,
            ):
                conn.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                if b"PONG" in conn.recv(64) or b"PONG" in conn.recv(64):
                    return
            time.sleep(0.01)
        raise RuntimeError("redis-server did not answer within 10 s")

    def kill(self) -> None:
        """
        SIGKILL the server, as a crash would; its data is gone.
        """
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """
        SIGSTOP the server: it keeps its connections but answers nothing.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """
        SIGCONT a paused server.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    """
    A fresh ``redis-server`` for the block, stopped afterwards.
    """
    binary = redis_server_binary()
    with tempfile.TemporaryDirectory(prefix="modelcfg-redis-") as directory:
        server = RedisServer(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.kill()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """
    One ``redis-server`` for the whole session; tests keep apart by key prefix.
    """
    with running_redis() as server:
        yield server


def unique_prefix() -> str:
    """
    A key prefix no other test uses.
    """
    return "t" + secrets.token_hex(6)


STORE_KINDS = ("memory", "sqlite", "redis")


def make_store(
    kind: str, where: Path, *, redis: RedisServer | None = None, prefix: str = "", **options: object
) -> MemoryStateStore | SqliteStateStore | RedisStateStore:
    """
    A fresh store of *kind*: SQLite in *where*, Redis under *prefix* on *redis*.
    """
    if kind == "memory":
        return MemoryStateStore(**options)  # type: ignore[arg-type]
    if kind == "sqlite":
        return SqliteStateStore(where / "state.db", **options)  # type: ignore[arg-type]
    assert redis is not None
    # Reads see other instances' updates at once (the contract's strict reading), and a
    # busy test machine is not taken for a slow server: the fault tests set their own bounds.
    options.setdefault("read_max_age_s", 0.0)
    options.setdefault("timeout_s", 5.0)
    return RedisStateStore(
        redis.url,
        prefix=prefix,
        environ=redis.environ,
        **options,  # type: ignore[arg-type]
    )

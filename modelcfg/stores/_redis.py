"""
The Redis state store: one view of failing providers for a fleet of processes on many machines.

Health entries, sessions, counters and records are Redis keys with TTLs, under
one key prefix per deployment. Reads and updates are Lua scripts, so each is one
round trip and atomic; the pure core still computes every health transition, and
an update is a compare-and-set on a version that a conflict answers with the
newer state, to compute again (bounded retries). The version is ``epoch:n``: a
random epoch when the health is first written (again after Redis lost its data),
then a count, so a reply older than what a process already has is never adopted.

When Redis is down or slower than *timeout_s*, requests go on with this
process's own view, an event says so, and the store tries again after a
jittered backoff; once back, it replays what happened meanwhile and adopts the
shared state again. A request never fails because the store is down.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import anyio

from modelcfg._core._health import HealthState
from modelcfg._core._state import SessionState
from modelcfg._log import logger_for
from modelcfg.stores._codec import (
    HealthRows,
    StateStoreError,
    decode_session,
    encode_session,
    health_diff,
    record_span_s,
)
from modelcfg.stores._events import StoreDegraded, StoreEvent, StoreRecovered
from modelcfg.stores._memory import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_TTL_S,
    check_limits,
    copy_json,
)
from modelcfg.typing import JSON, Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = [
    "ENV_PASSWORD",
    "ENV_TLS",
    "ENV_TLS_CA_FILE",
    "ENV_URL",
    "ENV_USERNAME",
    "RedisStateStore",
]

logger = logger_for(__name__)

ENV_URL: Final = "MODELCFG_REDIS_URL"
"""The server's URL when none is given, such as ``redis://cache.internal:6379/0``."""
ENV_PASSWORD: Final = "MODELCFG_REDIS_PASSWORD"
"""The password (``AUTH``); it wins over one written in the URL."""
ENV_USERNAME: Final = "MODELCFG_REDIS_USERNAME"
"""The ACL user name, if the server has ACL users."""
ENV_TLS: Final = "MODELCFG_REDIS_TLS"
"""``1``, ``true`` or ``yes`` turns TLS on for a ``redis://`` URL (``rediss://`` always has it)."""
ENV_TLS_CA_FILE: Final = "MODELCFG_REDIS_TLS_CA_FILE"
"""A CA bundle to check the server's certificate against, for a private CA."""

_CAS_TRIES: Final = 64
"""Compare-and-set attempts before an update counts as a fault (other writers won each time)."""

_TURN_AFTER: Final = 1
"""Lost compare-and-sets in a row after which a writer asks for its turn."""

_READ_HEALTH: Final = """
local function read_health(hv, hi, known, hprefix)
  local v = redis.call('GET', hv) or ''
  if v ~= '' and v == known then return {v} end
  local out = {v}
  for _, m in ipairs(redis.call('SMEMBERS', hi)) do
    local value = redis.call('GET', hprefix .. m)
    if value then
      out[#out + 1] = m
      out[#out + 1] = value
    else
      redis.call('SREM', hi, m)
    end
  end
  return out
end
"""

_LOAD_HEALTH: Final = _READ_HEALTH + "return read_health(KEYS[1], KEYS[2], ARGV[1], ARGV[2])"

# A compare-and-set that lost several times in a row asks for the writer's turn: the
# turn key names it, and every other compare-and-set answers "wait" until it wrote or its
# turn ran out, so a busy writer cannot starve another one.
_TURN: Final = """
local function turn(key, token, want, turn_ms)
  local holder = redis.call('GET', key)
  if holder and holder ~= token then return 'wait' end
  if want == '1' and not holder then redis.call('SET', key, token, 'PX', turn_ms) end
  return holder
end
"""

_UPDATE_HEALTH: Final = (
    _READ_HEALTH
    + _TURN
    + """
local v = redis.call('GET', KEYS[1]) or ''
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[5] then return {2} end
if v ~= ARGV[1] then
  turn(KEYS[3], ARGV[5], ARGV[6], ARGV[7])
  return {0, read_health(KEYS[1], KEYS[2], '', ARGV[2])}
end
if holder then redis.call('DEL', KEYS[3]) end
local writes = tonumber(ARGV[4])
if writes == 0 and #ARGV == 7 then return {1, v} end
local i = 8
for _ = 1, writes do
  redis.call('SET', ARGV[2] .. ARGV[i], ARGV[i + 1], 'PX', ARGV[i + 2])
  redis.call('SADD', KEYS[2], ARGV[i])
  i = i + 3
end
while i <= #ARGV do
  redis.call('DEL', ARGV[2] .. ARGV[i])
  redis.call('SREM', KEYS[2], ARGV[i])
  i = i + 1
end
local epoch, n = ARGV[3], 0
if v ~= '' then epoch, n = string.match(v, '^(.*):(%d+)$') end
local next = epoch .. ':' .. (tonumber(n) + 1)
redis.call('SET', KEYS[1], next)
return {1, next}
"""
)

_LOAD_SESSION: Final = (
    _READ_HEALTH
    + """
local s = redis.call('GET', KEYS[1])
local used = false
if s then used = redis.call('ZSCORE', KEYS[2], ARGV[1]) end
return {s, used, read_health(KEYS[3], KEYS[4], ARGV[2], ARGV[3])}
"""
)

_SAVE_SESSION: Final = """
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local horizon = tonumber(ARGV[4]) - tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon, 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('DEL', ARGV[6] .. id)
end
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for j = 1, #oldest, 2 do redis.call('DEL', ARGV[6] .. oldest[j]) end
end
return 1
"""

_ADD: Final = """
local existed = redis.call('EXISTS', KEYS[1])
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return total
"""

_SET_RECORD: Final = (
    _TURN
    + """
local current = redis.call('GET', KEYS[1])
local expected = false
if ARGV[1] == '1' then expected = ARGV[2] end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[6] then return {2} end
if current ~= expected then
  turn(KEYS[2], ARGV[6], ARGV[7], ARGV[8])
  return {0, current}
end
if holder then redis.call('DEL', KEYS[2]) end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return {1}
"""
)

_T = TypeVar("_T")


class _Fault(Exception):
    """
    A round trip failed or took too long: the store works on its own view for now.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _Pending:
    """
    One health update waiting for this process's next compare-and-set.
    """

    __slots__ = ("change", "done", "error", "result")

    def __init__(self, change: Callable[[HealthState], HealthState]) -> None:
        self.change = change
        self.done = False
        self.result: HealthState | None = None
        self.error: Exception | None = None


class _Journal:
    """
    What this process changed while Redis was out of reach, to replay once it is back.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.health: list[Callable[[HealthState], HealthState]] = []
        self.sessions: dict[str, SessionState] = {}
        self.counters: dict[str, tuple[int, float | None]] = {}
        self.records: list[tuple[str, Callable[[JSON], JSON], float | None]] = []
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.health) + len(self.sessions) + len(self.counters) + len(self.records)

    def add_health(self, change: Callable[[HealthState], HealthState]) -> None:
        if len(self.health) >= self.limit:
            # The local view keeps every change; only the replay onto a shared state
            # that moved on loses the oldest ones.
            del self.health[0]
            self.dropped += 1
        self.health.append(change)


class RedisStateStore:
    """
    Health, sessions, counters and records in Redis (or Valkey), shared by a fleet of processes.

    Every update is one Lua script call, atomic on the server: a compare-and-set of
    the rows the pure transition changed, retried on the newer state when another
    process won (at most 16 times). Each health entry and session is its own key
    with a TTL, under ``{prefix}``; sessions beyond *max_sessions* are evicted
    least recently saved first.

    The URL comes from *url* or ``MODELCFG_REDIS_URL``; the password, ACL user
    name and TLS settings come from the environment (``MODELCFG_REDIS_PASSWORD``,
    ``MODELCFG_REDIS_USERNAME``, ``MODELCFG_REDIS_TLS``,
    ``MODELCFG_REDIS_TLS_CA_FILE``), and never appear in ``repr``, logs or events.

    When a round trip fails or takes longer than *timeout_s*, the request carries
    on with this process's own view (the last shared state plus its own updates),
    observers get a :class:`~modelcfg.stores.StoreDegraded`, and the store tries
    Redis again after a jittered backoff (*backoff_base_s* doubling up to
    *backoff_max_s*). Once Redis answers, the updates made meanwhile are replayed
    onto the shared state (or, if Redis came back empty, this process's view is
    written back), and observers get a :class:`~modelcfg.stores.StoreRecovered`.

    Needs the ``modelcfg[redis]`` extra (redis-py's asyncio client), and so the
    asyncio event loop.

    Args:
        url: ``redis://host:port/db`` or ``rediss://`` for TLS.
        prefix: Names this deployment's keys; deployments with different prefixes
            share nothing.
        timeout_s: The longest a round trip may take before the store works on its
            own view.
        connect_timeout_s: The longest a new connection may take.
        read_max_age_s: How old a health snapshot may be for a read to reuse it
            without a round trip (updates always act on the latest).
        health_ttl_s: How long a health entry is kept after its last event (its
            open window's rest is added).
        max_sessions: The most sessions kept.
        session_ttl_s: How long a session is kept after it was last saved.
        touch_interval_s: How often saving an unchanged session refreshes its age.
        backoff_base_s: The first wait before trying Redis again.
        backoff_max_s: The longest such wait.
        journal_limit: The most health updates kept to replay after an outage.
        max_connections: The most connections open at once; more requests wait their
            turn before their round trip's time starts.
        observers: Called with every :data:`~modelcfg.stores.StoreEvent`.
        environ: Where the settings above are read (``os.environ`` by default).
        clock: Seconds since the epoch, for session ages.
        seed: Seeds the backoff jitter (for tests).

    Raises:
        ValueError: No URL, a URL that is not ``redis://`` or ``rediss://``, an
            empty prefix, or limits that would keep nothing.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "modelcfg",
        timeout_s: float = 0.05,
        connect_timeout_s: float = 1.0,
        read_max_age_s: float = 0.005,
        health_ttl_s: float = 24 * 3600.0,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        session_ttl_s: float = DEFAULT_SESSION_TTL_S,
        touch_interval_s: float = 60.0,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 1.0,
        journal_limit: int = 1000,
        max_connections: int = 8,
        observers: Sequence[Callable[[StoreEvent], object]] = (),
        environ: Mapping[str, str] | None = None,
        clock: Clock = time.time,
        seed: int | None = None,
    ) -> None:
        check_limits(max_sessions, session_ttl_s)
        env = os.environ if environ is None else environ
        url = url if url is not None else env.get(ENV_URL)
        if not url:
            raise ValueError(f"RedisStateStore needs a URL: pass url= or set {ENV_URL}.")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(
                f"RedisStateStore needs a redis:// or rediss:// URL, not {parts.scheme}://."
            )
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(
                f"The key prefix must be non-empty and without braces, not {prefix!r}."
            )
        tls = parts.scheme == "rediss" or env.get(ENV_TLS, "").lower() in ("1", "true", "yes")
        self._settings: dict[str, object] = {
            "password": env.get(ENV_PASSWORD) or parts.password,
            "username": env.get(ENV_USERNAME) or parts.username,
        }
        if tls and env.get(ENV_TLS_CA_FILE):
            self._settings["ssl_ca_certs"] = env[ENV_TLS_CA_FILE]
        netloc = parts.hostname or "localhost"
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        # The URL without its credentials: what repr, logs and events show.
        self._url = urllib.parse.urlunsplit(
            ("rediss" if tls else "redis", netloc, parts.path, "", "")
        )
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.read_max_age_s = read_max_age_s
        self.health_ttl_s = health_ttl_s
        self.max_sessions = max_sessions
        self.session_ttl_s = session_ttl_s
        self.touch_interval_s = touch_interval_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_connections = max_connections
        self.observers = tuple(observers)
        self._clock = clock
        self._random = random.Random(seed)
        base = "{" + prefix + "}"
        self._hv, self._hi, self._h = f"{base}:hv", f"{base}:hi", f"{base}:h:"
        self._s, self._si = f"{base}:s:", f"{base}:si"
        self._c, self._r = f"{base}:c:", f"{base}:r:"
        self._turn = f"{base}:turn"
        self._token = f"{os.getpid()}-{random.getrandbits(64):x}"
        self._turn_ms = int(min(max(0.1, 2 * timeout_s), 1.0) * 1000)
        # The connection, its scripts and its lock, made in the event loop that uses them.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._writing: anyio.Lock | None = None
        self._slots: anyio.Semaphore | None = None
        # This process's view: the last shared state plus, while degraded, its own updates.
        self._health = HealthState()
        self._version = ""
        self._read_at = float("-inf")
        self._rows = HealthRows(repr(self))
        self._sessions: OrderedDict[str, tuple[SessionState, float]] = OrderedDict()
        self._counters: dict[str, int] = {}
        self._records: dict[str, str] = {}
        # Outage bookkeeping.
        self._down_since: float | None = None
        self._resyncing = False
        self._retry_at = 0.0
        self._failures = 0
        self._journal = _Journal(journal_limit)
        self._pending: list[_Pending] = []

    def __repr__(self) -> str:
        return f"RedisStateStore({self._url!r}, prefix={self.prefix!r})"

    @property
    def degraded(self) -> bool:
        """
        Whether the store is working on its own view because Redis is out of reach.
        """
        return self._down_since is not None

    # -- lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """
        Close the connections to Redis; the next call opens new ones.
        """
        client, self._redis, self._loop = self._redis, None, None
        self._scripts.clear()
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- health ------------------------------------------------------------------------------

    async def load_health(self) -> HealthState:
        """
        The shared health (a snapshot at most *read_max_age_s* old), or this process's view
        while Redis is out of reach.
        """
        if time.monotonic() - self._read_at < self.read_max_age_s:
            return self._health
        if await self._reachable():
            try:
                sent = self._version
                reply = await self._call("load_health", [self._hv, self._hi], [sent, self._h])
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                self._adopt_health(reply, sent)
        return self._health

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        """
        Apply *change* to the shared health atomically (compare-and-set, retried on conflict).

        While Redis is out of reach the change applies to this process's view and is
        replayed onto the shared health once Redis is back.
        """
        if await self._reachable():
            entry = _Pending(change)
            self._pending.append(entry)
            try:
                async with self._lock():
                    if not entry.done:
                        await self._apply_pending()
            except _Fault as fault:
                self._degrade(fault.reason)
            finally:
                if not entry.done and entry in self._pending:
                    self._pending.remove(entry)
            if entry.done:
                if entry.error is not None:
                    raise entry.error
                assert entry.result is not None
                return entry.result
        self._health = change(self._health)
        self._journal.add_health(change)
        return self._health

    async def _apply_pending(self) -> None:
        """
        Apply every waiting update of this process in one compare-and-set, in order.

        Requests of one process queue behind one round trip; the next one carries all
        that came meanwhile, so a busy process writes once per round trip, not once
        per request. Each update still sees the health its predecessors left.
        """
        batch = list(self._pending)

        def combined(health: HealthState) -> HealthState:
            for entry in batch:
                try:
                    health = entry.change(health)
                except Exception as exc:  # that caller's own error, raised to it alone
                    entry.result, entry.error = None, exc
                else:
                    entry.result, entry.error = health, None
            return health

        await self._compare_and_set(combined)
        for entry in batch:
            entry.done = True
        self._pending = [entry for entry in self._pending if not entry.done]

    async def _compare_and_set(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        for tries in range(_CAS_TRIES):
            old = self._health
            new = change(old)
            writes, deletes = health_diff(old, new)
            if (
                not writes
                and not deletes
                and tries == 0
                and time.monotonic() - self._read_at < self.read_max_age_s
            ):
                # Nothing to write on a fresh view, and no turn asked for: no round trip.
                return old
            args: list[str | int] = [
                self._version,
                self._h,
                self._random.getrandbits(40),
                len(writes),
                *self._turn_args(tries),
            ]
            for table, key, text, entry in writes:
                ttl_ms = int((self.health_ttl_s + record_span_s(entry)) * 1000) + 1
                args += [f"{table}:{key}", text, ttl_ms]
            args += [f"{table}:{key}" for table, key in deletes]
            reply = await self._call("update_health", [self._hv, self._hi, self._turn], args)
            if reply[0] == 1:
                self._health, self._version = new, str(reply[1])
                self._read_at = time.monotonic()
                self._rows.remember(writes, deletes)
                return new
            if reply[0] == 0:
                self._adopt_health(reply[1])
            else:
                await self._wait_turn(tries)
        raise _Fault(f"{_CAS_TRIES} compare-and-set attempts in a row lost to other writers")

    def _turn_args(self, tries: int) -> tuple[str, str, int]:
        return self._token, "1" if tries >= _TURN_AFTER else "0", self._turn_ms

    async def _wait_turn(self, tries: int) -> None:
        # Another writer has its turn: it needs one round trip, so wait about that long.
        await anyio.sleep(0.0002 * (1 + self._random.random()) * min(tries + 1, 10))

    def _adopt_health(self, reply: list[str], sent: str | None = None) -> None:
        """
        Take the health a script read, unless this process already has a newer one.

        A reply of the version alone means "unchanged since *sent*".
        """
        version = str(reply[0])
        if not _not_older(version, self._version):
            return  # a read that crossed a newer update of this process's on the wire
        if len(reply) == 1 and version and version == sent:
            if version == self._version:
                self._read_at = time.monotonic()
            return
        members = reply[1:]
        rows = []
        for member, text in zip(members[::2], members[1::2], strict=True):
            table, _, key = member.partition(":")
            rows.append((table, key, text))
        self._health = self._rows.build(rows)
        self._version = version
        self._read_at = time.monotonic()

    # -- sessions ----------------------------------------------------------------------------

    async def load_session(self, session_id: str) -> SessionState | None:
        """
        The session saved under *session_id* by any process, or ``None``; this process's copy
        while Redis is out of reach.
        """
        if await self._reachable():
            try:
                sent = self._version
                text, used, health = await self._call(
                    "load_session",
                    [self._s + session_id, self._si, self._hv, self._hi],
                    [session_id, sent, self._h],
                )
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                self._adopt_health(health, sent)
                if text is None:
                    self._sessions.pop(session_id, None)
                    return None
                session = decode_session(text, where=repr(self), session_id=session_id)
                used_at = float(used) / 1000 if used is not None else self._clock()
                self._cache_session(session_id, session, used_at)
                return session
        found = self._sessions.get(session_id)
        return None if found is None else found[0]

    async def save_session(self, session_id: str, session: SessionState) -> None:
        """
        Remember *session* under *session_id* for every process, as the most recently saved.

        Saving what is already there within *touch_interval_s* of the last save
        costs no round trip.
        """
        now = self._clock()
        found = self._sessions.get(session_id)
        if (
            found is not None
            and found[1] + self.touch_interval_s > now
            and (found[0] is session or found[0] == session)
        ):
            return
        if await self._reachable():
            try:
                await self._save_session(session_id, session, now)
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                return
        self._cache_session(session_id, session, now)
        self._journal.sessions[session_id] = session

    async def _save_session(self, session_id: str, session: SessionState, now: float) -> None:
        await self._call(
            "save_session",
            [self._s + session_id, self._si],
            [
                session_id,
                encode_session(session),
                int(self.session_ttl_s * 1000),
                int(now * 1000),
                self.max_sessions,
                self._s,
            ],
        )
        self._cache_session(session_id, session, now)

    def _cache_session(self, session_id: str, session: SessionState, used_at: float) -> None:
        sessions = self._sessions
        sessions[session_id] = (session, used_at)
        sessions.move_to_end(session_id)
        while len(sessions) > self.max_sessions:
            sessions.popitem(last=False)

    # -- counters and records ----------------------------------------------------------------

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int:
        """
        Add *amount* to the counter *key* for the whole fleet and return its new total.

        A new counter starts at 0 and, with *ttl_s*, expires that long after it was
        created. While Redis is out of reach the total is this process's last known
        one plus its own additions, which are replayed once Redis is back.
        """
        if await self._reachable():
            try:
                total = int(await self._call("add", [self._c + key], [amount, _ms(ttl_s)]))
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                self._counters[key] = total
                return total
        pending, _ttl = self._journal.counters.get(key, (0, ttl_s))
        self._journal.counters[key] = (pending + amount, ttl_s)
        self._counters[key] = self._counters.get(key, 0) + amount
        return self._counters[key]

    async def load_counter(self, key: str) -> int:
        """
        The counter *key*'s total (0 when there is none).
        """
        if await self._reachable():
            try:
                value = await self._get(self._c + key)
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                self._counters[key] = 0 if value is None else int(value)
        return self._counters.get(key, 0)

    async def load_record(self, key: str) -> JSON:
        """
        The record *key* (``None`` when there is none).
        """
        if await self._reachable():
            try:
                text = await self._get(self._r + key)
            except _Fault as fault:
                self._degrade(fault.reason)
            else:
                self._remember_record(key, text)
        return self._parse_record(key, self._records.get(key))

    async def update_record(
        self, key: str, change: Callable[[JSON], JSON], *, ttl_s: float | None = None
    ) -> JSON:
        """
        Apply *change* to the record *key* atomically (compare-and-set, retried on conflict);
        ``None`` from *change* deletes it.
        """
        if await self._reachable():
            try:
                async with self._lock():
                    return await self._set_record(key, change, ttl_s)
            except _Fault as fault:
                self._degrade(fault.reason)
        new = copy_json(
            change(self._parse_record(key, self._records.get(key))), where=f"record {key!r}"
        )
        self._remember_record(key, None if new is None else _json_text(new))
        self._journal.records.append((key, change, ttl_s))
        return new

    async def _set_record(
        self, key: str, change: Callable[[JSON], JSON], ttl_s: float | None
    ) -> JSON:
        if key not in self._records:
            self._remember_record(key, await self._get(self._r + key))
        for tries in range(_CAS_TRIES):
            known = self._records.get(key)
            new = copy_json(change(self._parse_record(key, known)), where=f"record {key!r}")
            text = None if new is None else _json_text(new)
            reply = await self._call(
                "set_record",
                [self._r + key, self._turn],
                [
                    "0" if known is None else "1",
                    known or "",
                    "1" if text is None else "0",
                    text or "",
                    _ms(ttl_s),
                    *self._turn_args(tries),
                ],
            )
            if reply[0] == 1:
                self._remember_record(key, text)
                return new
            if reply[0] == 0:
                self._remember_record(key, reply[1] if len(reply) > 1 else None)
            else:
                await self._wait_turn(tries)
        raise _Fault(f"{_CAS_TRIES} compare-and-set attempts in a row lost to other writers")

    def _remember_record(self, key: str, text: str | None) -> None:
        if text is None:
            self._records.pop(key, None)
        else:
            self._records[key] = text

    def _parse_record(self, key: str, text: str | None) -> JSON:
        if text is None:
            return None
        try:
            value: JSON = json.loads(text)
        except ValueError:
            raise StateStoreError(
                f"{self!r} has a malformed record {key!r}.", where=repr(self)
            ) from None
        return value

    # -- round trips -------------------------------------------------------------------------

    def _client(self) -> Redis:
        """
        The client of the running event loop, made on first use.

        Raises:
            StateStoreError: The event loop is not asyncio's, or redis-py is missing.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise StateStoreError(
                f"{self!r} needs the asyncio event loop: redis-py has no client for others.",
                where=repr(self),
            ) from None
        if self._redis is not None and self._loop is loop:
            return self._redis
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise StateStoreError(
                f"{self!r} needs redis-py: pip install 'modelcfg[redis]'.", where=repr(self)
            ) from None
        client = Redis.from_url(
            self._url,
            socket_connect_timeout=self.connect_timeout_s,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
            max_connections=self.max_connections,
            decode_responses=True,
            **self._settings,  # type: ignore[arg-type]
        )
        self._redis, self._loop, self._writing = client, loop, anyio.Lock()
        self._slots = anyio.Semaphore(self.max_connections)
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("load_health", _LOAD_HEALTH),
                ("update_health", _UPDATE_HEALTH),
                ("load_session", _LOAD_SESSION),
                ("save_session", _SAVE_SESSION),
                ("add", _ADD),
                ("set_record", _SET_RECORD),
            )
        }
        return client

    def _lock(self) -> anyio.Lock:
        # One compare-and-set at a time per process: requests of one process would
        # otherwise mostly conflict with each other.
        self._client()
        assert self._writing is not None
        return self._writing

    async def _call(self, script: str, keys: list[str], args: Sequence[str | int]) -> Any:
        """
        One script call (the wire boundary: its reply is what the script returns).
        """
        self._client()
        run = self._scripts[script]
        return await self._command(lambda _redis: run(keys=keys, args=list(args)))

    async def _get(self, key: str) -> str | None:
        value = await self._command(lambda redis: redis.get(key))
        return value.decode() if isinstance(value, bytes) else value

    async def _command(self, call: Callable[[Redis], Awaitable[_T]]) -> _T:
        """
        One round trip, bounded by *timeout_s*.

        Raises:
            _Fault: Redis failed, refused or took too long.
        """
        from redis.exceptions import RedisError

        client = self._client()
        assert self._slots is not None
        try:
            async with self._slots:
                if self._down_since is not None and not self._resyncing:
                    raise _Fault("out of reach meanwhile")
                with anyio.fail_after(self.timeout_s):
                    return await call(client)
        except TimeoutError:
            raise _Fault(f"slower than {self.timeout_s:g} s") from None
        except (RedisError, OSError) as exc:
            raise _Fault(type(exc).__name__) from None

    async def _reachable(self) -> bool:
        """
        Whether to try Redis now: it is up, or it is down and its backoff has passed (then
        reconnect and re-sync first).
        """
        if self._down_since is None:
            return True
        if time.monotonic() < self._retry_at:
            return False
        # Other requests carry on with the local view while this one reconnects.
        self._retry_at = time.monotonic() + self.connect_timeout_s + self.timeout_s
        try:
            client = self._client()
            with anyio.fail_after(self.connect_timeout_s):
                await client.ping()
            async with self._lock():
                self._resyncing = True
                try:
                    replayed = await self._resync()
                finally:
                    self._resyncing = False
        except TimeoutError:
            self._degrade(f"slower than {self.connect_timeout_s:g} s to reconnect")
            return False
        except _Fault as fault:
            self._degrade(fault.reason)
            return False
        except Exception as exc:
            from redis.exceptions import RedisError

            if not isinstance(exc, (RedisError, OSError)):
                raise
            self._degrade(type(exc).__name__)
            return False
        down_s = time.monotonic() - self._down_since
        self._down_since, self._failures = None, 0
        logger.info(
            "%r is reachable again after %.3f s; %d updates replayed", self, down_s, replayed
        )
        self._notify(StoreRecovered(store=repr(self), down_s=down_s, replayed=replayed))
        return True

    async def _resync(self) -> int:
        """
        Replay what this process changed while degraded, then adopt the shared state.

        Returns:
            How many updates were replayed.
        """
        journal = self._journal
        replayed = 0
        local = self._health
        reply = await self._call("load_health", [self._hv, self._hi], ["", self._h])
        fresh = reply[0] == ""
        self._adopt_health(reply)
        if journal.health or (fresh and local != HealthState()):
            changes = list(journal.health)

            def replay(shared: HealthState) -> HealthState:
                if fresh and shared == HealthState():
                    # Redis came back empty: this process's view is the best there is.
                    return local
                for change in changes:
                    shared = change(shared)
                return shared

            await self._compare_and_set(replay)
            replayed += len(changes)
            journal.health.clear()
        for session_id, session in list(journal.sessions.items()):
            await self._save_session(session_id, session, self._clock())
            del journal.sessions[session_id]
            replayed += 1
        for key, (amount, ttl_s) in list(journal.counters.items()):
            self._counters[key] = int(
                await self._call("add", [self._c + key], [amount, _ms(ttl_s)])
            )
            del journal.counters[key]
            replayed += 1
        while journal.records:
            key, change, ttl_s = journal.records[0]
            self._records.pop(key, None)
            await self._set_record(key, change, ttl_s)
            del journal.records[0]
            replayed += 1
        if journal.dropped:
            logger.warning(
                "%r replayed only the last %d health updates; %d older ones were dropped",
                self,
                journal.limit,
                journal.dropped,
            )
            journal.dropped = 0
        return replayed

    def _degrade(self, reason: str) -> None:
        self._failures += 1
        delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (self._failures - 1))
        retry_in_s = delay * (0.5 + self._random.random() / 2)
        self._retry_at = time.monotonic() + retry_in_s
        self._read_at = float("-inf")
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        logger.warning(
            "%r is out of reach (%s): requests go on with this process's view; "
            "trying again in %.3f s",
            self,
            reason,
            retry_in_s,
        )
        self._notify(StoreDegraded(store=repr(self), reason=reason, retry_in_s=retry_in_s))

    def _notify(self, event: StoreEvent) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer must never break a request
                logger.exception("observer %r failed on %s", observer, type(event).__name__)


def _not_older(version: str, than: str) -> bool:
    """
    Whether the health *version* (``epoch:n``) is not older than *than*.

    An empty version (Redis has none: it lost its data, or was never written) and
    another epoch are news, never old.
    """
    if not than or not version:
        return True
    epoch, _, count = version.rpartition(":")
    than_epoch, _, than_count = than.rpartition(":")
    return epoch != than_epoch or int(count) >= int(than_count)


def _ms(ttl_s: float | None) -> int:
    return 0 if ttl_s is None else max(1, int(ttl_s * 1000))


def _json_text(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"))

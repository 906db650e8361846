"""
The auth store: profiles of credentials keyed by ``ProfileId``, and per-provider order overrides.

Two implementations share one interface (:class:`AuthStoreProtocol`):

- :class:`AuthStore`, the embedded default, one JSON file written atomically with
  mode 0600; every change is a read-modify-write under an exclusive lock, so two
  processes writing at once lose nothing. A corrupt file, or one written by a newer
  modelcfg, is refused with :class:`~modelcfg.exceptions.AuthStoreError` and never
  overwritten.
- :class:`MemoryAuthStore`, for tests and hosts that keep credentials elsewhere.

Runtime routing state (cooldowns, health) never goes in here.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import attrs

from modelcfg._config._problems import at_path, key_path
from modelcfg._core._redact import redact
from modelcfg._core._values import ProfileId
from modelcfg._fileio import (
    LockTimeoutError,
    NotRegularFileError,
    atomic_write,
    exclusive_lock,
    read_regular,
)
from modelcfg._log import logger_for
from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    StoredProfile,
    named,
    profile_from_json,
    profile_to_json,
    shown,
    whole_number,
)
from modelcfg.auth._legacy_format import is_legacy_auth_document
from modelcfg.exceptions import AuthStoreError
from modelcfg.typing import JSONObject

__all__ = [
    "AUTH_STORE_VERSION",
    "AuthStore",
    "AuthStoreProtocol",
    "InsecureAuthFileWarning",
    "MemoryAuthStore",
    "default_auth_path",
    "login_api_key",
    "logout",
]

logger = logger_for(__name__)

AUTH_STORE_VERSION: Final = 1
"""The auth-store file format this version of modelcfg reads and writes."""

MAX_API_KEY_BYTES: Final = 16 * 1024
"""The longest API key :func:`login_api_key` stores (16 KiB): real keys are far shorter."""


class InsecureAuthFileWarning(UserWarning):
    """
    The auth store file can be read by other users of the machine.

    .. versionadded:: 0.1.0
    """


def default_auth_path(environ: Mapping[str, str]) -> Path:
    """
    Return where the auth store lives by default, from the given environment.

    In order: ``$MODELCFG_HOME/auth.json``, ``$XDG_CONFIG_HOME/modelcfg/auth.json``,
    ``$HOME/.config/modelcfg/auth.json``. Empty variables count as unset.

    Raises:
        AuthStoreError: None of ``MODELCFG_HOME``, ``XDG_CONFIG_HOME`` and ``HOME`` is set.

    .. versionadded:: 0.1.0
    """
    if home := environ.get("MODELCFG_HOME"):
        return Path(home).expanduser() / "auth.json"
    if xdg := environ.get("XDG_CONFIG_HOME"):
        return Path(xdg).expanduser() / "modelcfg" / "auth.json"
    if user_home := environ.get("HOME"):
        return Path(user_home) / ".config" / "modelcfg" / "auth.json"
    raise AuthStoreError(
        "Cannot place the auth store: set MODELCFG_HOME, XDG_CONFIG_HOME or HOME, "
        "or pass a path explicitly."
    )


def _profile_id(profile: ProfileId | str) -> ProfileId:
    return profile if isinstance(profile, ProfileId) else ProfileId.parse(profile)


def _sort_key(stored: StoredProfile) -> tuple[str, bool, str]:
    return (stored.profile.provider, stored.profile.name != "default", stored.profile.name)


@attrs.frozen(kw_only=True)
class _Contents:
    """
    Everything an auth store holds, as one immutable snapshot.
    """

    profiles: Mapping[ProfileId, StoredProfile] = attrs.field(factory=dict)
    order: Mapping[str, tuple[ProfileId, ...]] = attrs.field(factory=dict)

    def with_profile(self, stored: StoredProfile) -> _Contents:
        return attrs.evolve(self, profiles={**self.profiles, stored.profile: stored})

    def without_profile(self, profile: ProfileId) -> _Contents:
        profiles = {k: v for k, v in self.profiles.items() if k != profile}
        order = {p: tuple(x for x in ids if x != profile) for p, ids in self.order.items()}
        return _Contents(profiles=profiles, order={p: ids for p, ids in order.items() if ids})

    def with_order(self, provider: str, ids: tuple[ProfileId, ...]) -> _Contents:
        order = {p: v for p, v in self.order.items() if p != provider}
        if ids:
            order[provider] = ids
        return attrs.evolve(self, order=order)


@runtime_checkable
class AuthStoreProtocol(Protocol):
    """
    What credential resolution, login and the CLI need from an auth store.

    .. versionadded:: 0.1.0
    """

    def get(self, profile: ProfileId | str) -> StoredProfile | None: ...

    def profiles(self, provider: str | None = None) -> tuple[StoredProfile, ...]: ...

    def put(self, profile: ProfileId | str, credential: Credential) -> None: ...

    def add_missing(self, entries: Mapping[ProfileId, Credential]) -> tuple[ProfileId, ...]: ...

    def remove(self, profile: ProfileId | str) -> bool: ...

    def order(self, provider: str) -> tuple[ProfileId, ...]: ...

    def set_order(self, provider: str, profiles: Iterable[ProfileId | str]) -> None: ...

    def clear_order(self, provider: str) -> bool: ...

    def replace_if_unchanged(
        self, profile: ProfileId | str, *, expected: Credential, new: Credential
    ) -> Credential | None: ...

    def record_use(
        self,
        profile: ProfileId | str,
        *,
        used_at: float | None = None,
        failed_at: float | None = None,
    ) -> None: ...


@attrs.frozen(kw_only=True)
class _StoreBase:
    """
    The operations of every auth store, over two primitives: read and update.
    """

    def _read(self) -> _Contents:
        raise NotImplementedError

    def _update(self, change: Callable[[_Contents], _Contents | None]) -> None:
        """
        Apply *change* to the current contents atomically; ``None`` means no change.
        """
        raise NotImplementedError

    def get(self, profile: ProfileId | str) -> StoredProfile | None:
        """
        Return the stored profile, or ``None`` when there is none.
        """
        return self._read().profiles.get(_profile_id(profile))

    def profiles(self, provider: str | None = None) -> tuple[StoredProfile, ...]:
        """
        Return every stored profile (of *provider*, if given), ``default`` first per provider.
        """
        wanted = provider.strip().lower() if provider is not None else None
        found = (p for p in self._read().profiles.values() if wanted in (None, p.profile.provider))
        return tuple(sorted(found, key=_sort_key))

    def put(self, profile: ProfileId | str, credential: Credential) -> None:
        """
        Create or replace *profile* with *credential*; its usage stats start afresh.
        """
        stored = StoredProfile(profile=_profile_id(profile), credential=credential)
        self._update(lambda contents: contents.with_profile(stored))
        logger.debug("Stored a %s credential as %s.", stored.kind, stored.profile)

    def add_missing(self, entries: Mapping[ProfileId, Credential]) -> tuple[ProfileId, ...]:
        """
        Store each of *entries* whose profile does not exist yet, in one atomic change.

        Returns:
            The profiles that were added; existing profiles are left as they are.
        """
        added: list[ProfileId] = []

        def change(contents: _Contents) -> _Contents | None:
            added.clear()
            for profile, credential in entries.items():
                if profile not in contents.profiles:
                    contents = contents.with_profile(
                        StoredProfile(profile=profile, credential=credential)
                    )
                    added.append(profile)
            return contents if added else None

        self._update(change)
        return tuple(added)

    def remove(self, profile: ProfileId | str) -> bool:
        """
        Delete *profile* and drop it from every order override.

        Returns:
            Whether the profile existed.
        """
        target = _profile_id(profile)
        existed = False

        def change(contents: _Contents) -> _Contents | None:
            nonlocal existed
            existed = target in contents.profiles
            in_order = any(target in ids for ids in contents.order.values())
            return contents.without_profile(target) if existed or in_order else None

        self._update(change)
        return existed

    def order(self, provider: str) -> tuple[ProfileId, ...]:
        """
        Return the order override stored for *provider*, or ``()`` when there is none.
        """
        return self._read().order.get(provider.strip().lower(), ())

    def set_order(self, provider: str, profiles: Iterable[ProfileId | str]) -> None:
        """
        Store an order override for *provider* (``modelcfg auth order set``).

        Profiles need not exist yet; resolution skips missing ones.

        Raises:
            ValueError: A profile belongs to another provider or appears twice.
        """
        key = provider.strip().lower()
        ids = tuple(_profile_id(p) for p in profiles)
        for pid in ids:
            if pid.provider != key:
                raise ValueError(
                    f"Profile {pid} belongs to provider {pid.provider!r}, "
                    f"so it cannot be in the order of {key!r}."
                )
        if len(set(ids)) != len(ids):
            raise ValueError(f"The order for {key!r} names a profile twice.")
        self._update(lambda contents: contents.with_order(key, ids))

    def clear_order(self, provider: str) -> bool:
        """
        Delete the order override of *provider*.

        Returns:
            Whether there was one.
        """
        key = provider.strip().lower()
        existed = False

        def change(contents: _Contents) -> _Contents | None:
            nonlocal existed
            existed = key in contents.order
            return contents.with_order(key, ()) if existed else None

        self._update(change)
        return existed

    def replace_if_unchanged(
        self, profile: ProfileId | str, *, expected: Credential, new: Credential
    ) -> Credential | None:
        """
        Replace the credential of *profile* with *new* only if it still equals *expected*.

        This is how refreshed OAuth tokens are written back: when another process
        refreshed the same profile first, its tokens are kept and returned instead.
        Usage stats are kept.

        Returns:
            The credential stored afterwards (*new*, or what another writer stored),
            or ``None`` when the profile was removed meanwhile.
        """
        target = _profile_id(profile)
        result: Credential | None = None

        def change(contents: _Contents) -> _Contents | None:
            nonlocal result
            current = contents.profiles.get(target)
            if current is None or current.credential != expected:
                result = current.credential if current is not None else None
                return None
            result = new
            return contents.with_profile(attrs.evolve(current, credential=new))

        self._update(change)
        return result

    def record_use(
        self,
        profile: ProfileId | str,
        *,
        used_at: float | None = None,
        failed_at: float | None = None,
    ) -> None:
        """
        Record when *profile* was last used or last failed; a missing profile is ignored.
        """
        target = _profile_id(profile)

        def change(contents: _Contents) -> _Contents | None:
            current = contents.profiles.get(target)
            if current is None or (used_at is None and failed_at is None):
                return None
            updated = attrs.evolve(
                current,
                last_used_at=used_at if used_at is not None else current.last_used_at,
                last_failure_at=failed_at if failed_at is not None else current.last_failure_at,
            )
            return contents.with_profile(updated)

        self._update(change)


@attrs.frozen(kw_only=True)
class MemoryAuthStore(_StoreBase):
    """
    An auth store in memory, for tests and hosts that keep credentials elsewhere.

    Thread-safe; nothing is persisted.

    .. versionadded:: 0.1.0
    """

    _box: list[_Contents] = attrs.field(
        factory=lambda: [_Contents()], eq=False, repr=False, init=False
    )
    _lock: threading.Lock = attrs.field(factory=threading.Lock, eq=False, repr=False, init=False)

    @classmethod
    def of(cls, profiles: Mapping[ProfileId | str, Credential]) -> MemoryAuthStore:
        """
        Return a store that already holds *profiles*.
        """
        store = cls()
        store.add_missing({_profile_id(k): v for k, v in profiles.items()})
        return store

    def _read(self) -> _Contents:
        with self._lock:
            return self._box[0]

    def _update(self, change: Callable[[_Contents], _Contents | None]) -> None:
        with self._lock:
            updated = change(self._box[0])
            if updated is not None:
                self._box[0] = updated


def _not_a_file(path: Path, what: str) -> str:
    if what == "a symbolic link":
        try:
            target = f" ({os.readlink(path)})"
        except OSError:
            target = ""
        return (
            f"The auth store {path} is a symbolic link{target}; modelcfg does not follow it, "
            "so that no write can replace a file somewhere else. Pass the file it links to "
            "with --auth-store (or MODELCFG_AUTH_STORE), or move the file there."
        )
    return (
        f"The auth store {path} is {what}, not a regular file; it was left untouched. "
        "Move it away, or pass another store with --auth-store."
    )


def _store_error(message: str, path: Path) -> AuthStoreError:
    """
    An :class:`AuthStoreError` about the file *path*, key-shaped text masked.

    Messages quote what the file holds (profile ids, provider names, order
    entries); a key pasted into one of those places must not be printed.
    """
    return AuthStoreError(redact(message), path=str(path))


def _parse_store(data: bytes, path: Path) -> _Contents:
    """
    Parse the bytes of an auth-store file; every problem names the file and its ``$.path``.

    Raises:
        AuthStoreError: The file is not a valid auth store this version can read.
    """
    try:
        doc = json.loads(data.decode("utf-8"), parse_int=whole_number)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # The decoder's message quotes no content, only a position.
        raise _store_error(
            f"The auth store {path} is not valid JSON ({type(exc).__name__} at "
            f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))}); it was left untouched. "
            "Fix or move it away, then log in again.",
            path,
        ) from None
    except RecursionError:
        raise _store_error(
            f"The auth store {path} is nested too deeply to be an auth store; it was left "
            "untouched. Fix or move it away, then log in again.",
            path,
        ) from None
    if not isinstance(doc, dict):
        raise _store_error(
            f"The auth store {path} must hold a JSON object; it was left untouched.", path
        )
    version = doc.get("version")
    if "version" not in doc and is_legacy_auth_document(doc):
        raise _store_error(
            f"The auth store {path} is a legacy auth.json (credentials without a 'version'); "
            "run `modelcfg doctor --fix` to move it to auth.json.bak and import its "
            "credentials. It was left untouched.",
            path,
        )
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _store_error(
            f"The auth store {path} has no valid 'version' (expected {AUTH_STORE_VERSION}); "
            "it was left untouched.",
            path,
        )
    if version > AUTH_STORE_VERSION:
        raise _store_error(
            f"The auth store {path} has format version {shown(version)}, written by a newer "
            f"modelcfg; this version reads up to {AUTH_STORE_VERSION}. Upgrade modelcfg. "
            "The file was left untouched.",
            path,
        )
    problems: list[str] = []
    unknown = sorted(set(doc) - {"version", "profiles", "order"})
    if unknown:
        problems.append(at_path("$", f"unknown keys {', '.join(named(key) for key in unknown)}"))
    raw_profiles = doc.get("profiles", {})
    raw_order = doc.get("order", {})
    profiles: dict[ProfileId, StoredProfile] = {}
    order: dict[str, tuple[ProfileId, ...]] = {}
    if not isinstance(raw_profiles, dict):
        problems.append(at_path("$.profiles", f"must be an object, not {shown(raw_profiles)}"))
        raw_profiles = {}
    for key, value in raw_profiles.items():
        key_where = key_path("$.profiles", redact(key))
        try:
            pid = ProfileId.parse(key)
        except ValueError:
            problems.append(at_path(key_where, "is not a profile id ('provider:name')"))
            continue
        try:
            profiles[pid] = profile_from_json(pid, value, where=key_where)
        except ValueError as exc:
            problems.append(str(exc))
    if not isinstance(raw_order, dict):
        problems.append(at_path("$.order", f"must be an object, not {shown(raw_order)}"))
        raw_order = {}
    for provider, ids in raw_order.items():
        order_where = key_path("$.order", redact(provider))
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append(at_path(order_where, "must be a list of profile ids"))
            continue
        try:
            parsed = tuple(ProfileId.parse(i) for i in ids)
        except ValueError:
            problems.append(at_path(order_where, "holds an entry that is not a profile id"))
            continue
        if any(p.provider != provider for p in parsed):
            problems.append(at_path(order_where, "names a profile of another provider"))
            continue
        if parsed:
            order[provider] = parsed
    if problems:
        raise _store_error(
            f"The auth store {path} is malformed and was left untouched: "
            + "; ".join(problems)
            + ".",
            path,
        )
    return _Contents(profiles=profiles, order=order)


def _dump_store(contents: _Contents) -> bytes:
    doc: JSONObject = {
        "version": AUTH_STORE_VERSION,
        "profiles": {
            str(p.profile): profile_to_json(p)
            for p in sorted(contents.profiles.values(), key=_sort_key)
        },
        "order": {k: [str(p) for p in v] for k, v in sorted(contents.order.items())},
    }
    # ASCII with \u escapes: any text the file held, even a lone surrogate a hand edit
    # put there (which UTF-8 cannot encode), is written back as it was read.
    return (json.dumps(doc, indent=2) + "\n").encode("ascii")


@attrs.frozen(kw_only=True)
class AuthStore(_StoreBase):
    """
    The embedded default auth store: one JSON file, private to its owner.

    The file looks like::

        {"version": 1,
         "profiles": {"anthropic:work": {"kind": "api_key", "provider": "anthropic",
                                         "key": "..."}},
         "order": {"anthropic": ["anthropic:work", "anthropic:default"]}}

    Reads take no lock (writes replace the file atomically). Every change locks
    ``auth.json.lock``, re-reads the file, applies the change and writes a new
    file with mode 0600 via a temporary file, ``fsync`` and ``os.replace``.

    Attributes:
        path: The JSON file; see :func:`default_auth_path`.
        lock_timeout_s: How long a change waits for another process's lock.

    .. versionadded:: 0.1.0
    """

    path: Path = attrs.field(converter=Path)
    lock_timeout_s: float = 10.0
    _warned: list[str] = attrs.field(factory=list, eq=False, repr=False, init=False)

    def _load_bytes(self) -> bytes | None:
        try:
            data, status = read_regular(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except NotRegularFileError as exc:
            raise _store_error(_not_a_file(self.path, exc.what), self.path) from None
        except OSError as exc:
            raise _store_error(
                f"Cannot read the auth store {self.path}: {exc.strerror or exc}.", self.path
            ) from None
        bits = stat.S_IMODE(status.st_mode)
        if bits & 0o077:
            self._warn_once(
                f"The auth store {self.path} can be read by other users (mode {bits:04o}); "
                f"run `chmod 600 {self.path}` (modelcfg also fixes it at the next write)."
            )
        me = os.geteuid() if hasattr(os, "geteuid") else None  # Windows has no uids
        # root keeps each store with its owner
        if me is not None and status.st_uid != me and me != 0:
            self._warn_once(
                f"The auth store {self.path} belongs to another user (uid {status.st_uid}), "
                f"not to you (uid {me}): whoever owns it can read and change the credentials "
                "you use. Use a store of your own (--auth-store, MODELCFG_HOME)."
            )
        return data

    def _warn_once(self, message: str) -> None:
        if message in self._warned:
            return
        self._warned.append(message)
        warnings.warn(message, InsecureAuthFileWarning, stacklevel=5)

    def _read(self) -> _Contents:
        data = self._load_bytes()
        return _Contents() if data is None else _parse_store(data, self.path)

    def refresh_lock(self) -> AbstractContextManager[None]:
        """
        Return the lock that lets one process at a time refresh this store's OAuth tokens.

        :func:`~modelcfg.auth.credential_for` holds it (``auth.json.refresh.lock``,
        separate from the write lock) while it refreshes, so a second process waits,
        then finds the new tokens instead of spending a refresh token that a
        rotating server has already replaced. Entering it blocks; call it from a
        worker thread in async code.

        Raises:
            LockTimeoutError: (on entering) another holder kept it for ``lock_timeout_s``.

        .. versionadded:: 0.1.0
        """
        return exclusive_lock(
            self.path.with_name(self.path.name + ".refresh"), timeout_s=self.lock_timeout_s
        )

    def _update(self, change: Callable[[_Contents], _Contents | None]) -> None:
        try:
            with exclusive_lock(self.path, timeout_s=self.lock_timeout_s):
                current = self._read()
                updated = change(current)
                if updated is None:
                    return
                atomic_write(self.path, _dump_store(updated))
        except LockTimeoutError as exc:
            raise _store_error(
                f"Cannot change the auth store {self.path}: {exc}", self.path
            ) from exc
        except OSError as exc:
            raise _store_error(
                f"Cannot write the auth store {self.path}: {exc.strerror or exc}; "
                "the previous content is unchanged.",
                self.path,
            ) from exc
        logger.debug("Wrote the auth store %s.", self.path)


@attrs.frozen(kw_only=True)
class _ReplacingLegacy(AuthStore):
    """
    An auth store whose file is still the legacy ``auth.json`` holding *legacy*.

    While the file holds exactly those bytes it reads as empty, and the first
    change replaces it with a store file, in one atomic rename under the lock:
    the legacy credentials stay in place until the store that holds them is on disk.
    """

    legacy: bytes = attrs.field(repr=False)

    def _read(self) -> _Contents:
        data = self._load_bytes()
        if data is None or data == self.legacy:
            return _Contents()
        return _parse_store(data, self.path)


def replacing_legacy(store: AuthStore, legacy: bytes) -> AuthStore:
    """
    *store*, reading as empty while its file still holds the legacy bytes *legacy*.

    ``modelcfg doctor --fix`` imports a legacy ``auth.json`` found at the store's
    own path into this, after keeping a backup: its first write replaces the
    legacy file with the new store, so a crash at any point leaves the keys on disk.
    """
    return _ReplacingLegacy(path=store.path, lock_timeout_s=store.lock_timeout_s, legacy=legacy)


def _key_problem(key: str) -> str | None:
    """
    Why *key* (stripped) cannot be stored as an API key, or ``None`` when it can.
    """
    if not key:
        return "is empty"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # undecodable input bytes, kept as surrogate escapes
        return "is not valid UTF-8 text"
    if size > MAX_API_KEY_BYTES:
        limit = MAX_API_KEY_BYTES // 1024
        return f"is longer than {limit} KiB ({size} bytes), so it is not an API key"
    if any(ch.isspace() for ch in key):
        return "contains white space inside it"
    if not (key.isascii() and key.isprintable()):
        return (
            "contains characters other than printable ASCII (a curly quote or a control "
            "character, perhaps from copying it), which cannot be sent in an HTTP header"
        )
    return None


def login_api_key(
    store: AuthStoreProtocol, provider: str, *, key: str, profile_name: str = "default"
) -> ProfileId:
    """
    Create or replace ``provider:default`` (or ``provider:NAME``) with an API key.

    Surrounding white space (a pasted newline) is removed. Reading the key without
    echo is the caller's job (``getpass``, or stdin for scripts). A key must be
    printable ASCII (it is sent in an HTTP header) of at most
    :data:`MAX_API_KEY_BYTES` bytes.

    Returns:
        The profile that now holds the key.

    Raises:
        ValueError: The key is empty, too long, not valid UTF-8 text, has white space
            or other characters that cannot be sent inside it, or the provider or
            profile name is malformed. The message never contains the key.

    .. versionadded:: 0.1.0
    """
    cleaned = key.strip()
    problem = _key_problem(cleaned)
    if problem is not None:
        # Raised from here, outside any handler, with the key gone from this frame:
        # error trackers record frame locals and chained exceptions.
        del key, cleaned
        raise ValueError(f"The API key for {provider} {problem}; nothing was stored.")
    profile = ProfileId(provider=provider, name=profile_name)
    store.put(profile, ApiKeyCredential(key=cleaned))
    return profile


def logout(store: AuthStoreProtocol, profile: ProfileId | str) -> bool:
    """
    Forget *profile*: delete its credential and drop it from order overrides.

    Returns:
        Whether the profile existed.

    .. versionadded:: 0.1.0
    """
    return store.remove(profile)

"""
Tests for the auth store: operations, the file format, atomicity, locking and permissions.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import AuthStoreError, ProfileId
from modelcfg._fileio import atomic_write, backup_copy, exclusive_lock, lock_path_for
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    AuthStoreProtocol,
    Credential,
    InsecureAuthFileWarning,
    MemoryAuthStore,
    OAuthCredential,
    StoredProfile,
    TokenCredential,
    default_auth_path,
    login_api_key,
    logout,
)
from modelcfg.auth._credentials import profile_from_json, profile_to_json

KEY = "sk-test-0123456789abcdefghij"
WORK = ProfileId.parse("anthropic:work")
DEFAULT = ProfileId.parse("anthropic:default")

secret_texts = hst.text(
    alphabet=hst.characters(codec="ascii", categories=("Lu", "Ll", "Nd"), include_characters="-_."),
    min_size=1,
    max_size=40,
)
epochs = hst.none() | hst.floats(min_value=0, max_value=4e9)
credentials: hst.SearchStrategy[Credential] = hst.one_of(
    hst.builds(ApiKeyCredential, key=secret_texts),
    hst.builds(TokenCredential, token=secret_texts, expires_at=epochs),
    hst.builds(
        OAuthCredential,
        access=secret_texts,
        refresh=hst.none() | secret_texts,
        expires_at=epochs,
        email=hst.none() | hst.emails(),
    ),
)
profile_ids = hst.builds(
    ProfileId,
    provider=hst.sampled_from(["anthropic", "openai", "google"]),
    name=hst.sampled_from(["default", "work", "me@example.com", "b"]),
)

StoreFactory = Callable[[Path], AuthStoreProtocol]


def _file_store(tmp: Path) -> AuthStoreProtocol:
    return AuthStore(path=tmp / "home" / "auth.json")


def _memory_store(_tmp: Path) -> AuthStoreProtocol:
    return MemoryAuthStore()


store_factories = pytest.mark.parametrize(
    "make_store", [_file_store, _memory_store], ids=["file", "memory"]
)


@store_factories
def test_put_then_get_returns_the_credential(tmp_path: Path, make_store: StoreFactory) -> None:
    """A stored credential comes back equal, under its profile id."""
    store = make_store(tmp_path)
    credential = OAuthCredential(access="a" * 24, refresh="r" * 24, expires_at=5.0, email="x@y.z")
    store.put("anthropic:work", credential)

    assert StoredProfile(profile=WORK, credential=credential) == store.get(WORK)


@store_factories
def test_get_of_a_missing_profile_is_none(tmp_path: Path, make_store: StoreFactory) -> None:
    """Asking for a profile nobody stored gives None, even before the file exists."""
    store = make_store(tmp_path)

    assert None is store.get(WORK)


@store_factories
def test_profiles_are_sorted_default_first(tmp_path: Path, make_store: StoreFactory) -> None:
    """profiles() lists providers alphabetically and each provider's default first."""
    store = make_store(tmp_path)
    for text in ["openai:zz", "anthropic:work", "openai:default", "anthropic:default"]:
        store.put(text, ApiKeyCredential(key=KEY))

    listed = [str(p.profile) for p in store.profiles()]
    only_openai = [str(p.profile) for p in store.profiles("OpenAI")]

    assert ["anthropic:default", "anthropic:work", "openai:default", "openai:zz"] == listed
    assert ["openai:default", "openai:zz"] == only_openai


@store_factories
def test_put_replaces_and_resets_stats(tmp_path: Path, make_store: StoreFactory) -> None:
    """put() on an existing profile replaces its credential and clears its usage stats."""
    store = make_store(tmp_path)
    store.put(WORK, ApiKeyCredential(key=KEY))
    store.record_use(WORK, used_at=10.0, failed_at=11.0)
    store.put(WORK, TokenCredential(token="t" * 20))

    assert StoredProfile(profile=WORK, credential=TokenCredential(token="t" * 20)) == store.get(
        WORK
    )


@store_factories
def test_record_use_keeps_the_latest_times(tmp_path: Path, make_store: StoreFactory) -> None:
    """record_use() sets last_used_at and last_failure_at independently."""
    store = make_store(tmp_path)
    store.put(WORK, ApiKeyCredential(key=KEY))
    store.record_use(WORK, used_at=10.0)
    store.record_use(WORK, failed_at=12.0)
    store.record_use("anthropic:missing", used_at=1.0)
    stored = store.get(WORK)

    assert stored is not None
    assert (10.0, 12.0) == (stored.last_used_at, stored.last_failure_at)
    assert None is store.get("anthropic:missing")


@store_factories
def test_remove_drops_the_profile_and_its_order_entry(
    tmp_path: Path, make_store: StoreFactory
) -> None:
    """logout() removes the credential and takes the profile out of the order override."""
    store = make_store(tmp_path)
    store.put(WORK, ApiKeyCredential(key=KEY))
    store.put(DEFAULT, ApiKeyCredential(key=KEY))
    store.set_order("anthropic", [WORK, DEFAULT])

    removed = logout(store, "anthropic:work")
    removed_again = logout(store, "anthropic:work")

    assert (True, False) == (removed, removed_again)
    assert (DEFAULT,) == store.order("anthropic")
    assert None is store.get(WORK)


@store_factories
def test_order_set_get_clear(tmp_path: Path, make_store: StoreFactory) -> None:
    """An order override reads back as set and disappears when cleared."""
    store = make_store(tmp_path)
    store.set_order("Anthropic", ["anthropic:work", "anthropic:default"])
    read = store.order("anthropic")
    cleared = store.clear_order("anthropic")

    assert (WORK, DEFAULT) == read
    assert (True, (), False) == (cleared, store.order("anthropic"), store.clear_order("anthropic"))


@pytest.mark.parametrize(
    "profiles",
    [["openai:default"], ["anthropic:a", "anthropic:a"]],
    ids=["other-provider", "duplicate"],
)
def test_set_order_rejects_bad_lists(profiles: list[str]) -> None:
    """An order naming another provider's profile, or one profile twice, is refused."""
    store = MemoryAuthStore()

    with pytest.raises(ValueError, match="anthropic"):
        store.set_order("anthropic", profiles)


@store_factories
def test_replace_if_unchanged_is_compare_and_swap(tmp_path: Path, make_store: StoreFactory) -> None:
    """The credential is replaced only when it still equals the expected one."""
    store = make_store(tmp_path)
    old = OAuthCredential(access="old-access-token", refresh="old-refresh-token")
    new = OAuthCredential(access="new-access-token", refresh="new-refresh-token")
    other = OAuthCredential(access="other-access-token", refresh="other-refresh-tok")
    store.put(WORK, old)
    store.record_use(WORK, used_at=3.0)

    first = store.replace_if_unchanged(WORK, expected=old, new=new)
    second = store.replace_if_unchanged(WORK, expected=old, new=other)
    missing = store.replace_if_unchanged("anthropic:gone", expected=old, new=other)

    assert (new, new, None) == (first, second, missing)
    assert StoredProfile(profile=WORK, credential=new, last_used_at=3.0) == store.get(WORK)


@store_factories
def test_add_missing_never_overwrites(tmp_path: Path, make_store: StoreFactory) -> None:
    """add_missing() stores only absent profiles and reports which."""
    store = make_store(tmp_path)
    store.put(DEFAULT, ApiKeyCredential(key="kept-key-000000000000"))

    added = store.add_missing(
        {DEFAULT: ApiKeyCredential(key="new-key-1111111111"), WORK: ApiKeyCredential(key=KEY)}
    )
    kept = store.get(DEFAULT)

    assert (WORK,) == added
    assert ApiKeyCredential(key="kept-key-000000000000") == (kept.credential if kept else None)


def test_login_api_key_creates_default_or_named(tmp_path: Path) -> None:
    """login_api_key() stores a stripped key as provider:default, or provider:NAME."""
    store = AuthStore(path=tmp_path / "auth.json")

    first = login_api_key(store, "Anthropic", key=f"  {KEY}\n")
    second = login_api_key(store, "anthropic", key=KEY, profile_name="work")
    stored = store.get(DEFAULT)

    assert (DEFAULT, WORK) == (first, second)
    assert ApiKeyCredential(key=KEY) == (stored.credential if stored else None)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("   \n", "is empty", id="blank"),
        pytest.param("two words", "white space inside", id="spaces"),
        pytest.param("sk-\udcff-0123456789", "not valid UTF-8 text", id="undecodable-bytes"),
        pytest.param("k" * (16 * 1024 + 1), "longer than 16 KiB (16385 bytes)", id="too-long"),
        pytest.param("\u201csk-0123456789\u201d", "printable ASCII", id="curly-quotes"),
        pytest.param("sk-01234\x0756789", "printable ASCII", id="control-character"),
    ],
)
def test_login_api_key_refuses_bad_keys(tmp_path: Path, key: str, reason: str) -> None:
    """A key that is empty, spaced, undecodable, too long or not ASCII is refused; nothing is stored."""
    store = AuthStore(path=tmp_path / "auth.json")

    with pytest.raises(ValueError, match=re.escape(reason)) as refused:
        login_api_key(store, "openai", key=key)

    assert () == store.profiles()
    assert str(refused.value).endswith("nothing was stored.")
    assert key.strip() == "" or key not in str(refused.value)


def test_login_api_key_accepts_a_key_of_exactly_16_kib(tmp_path: Path) -> None:
    """The limit is inclusive: a 16 KiB key (a long JWT, say) is stored."""
    store = AuthStore(path=tmp_path / "auth.json")

    login_api_key(store, "openai", key="k" * 16 * 1024)

    assert 1 == len(store.profiles())


def test_file_format_matches_the_documented_shape(tmp_path: Path) -> None:
    """The file holds version, kind-tagged profiles and the order map."""
    store = AuthStore(path=tmp_path / "auth.json")
    store.put(WORK, ApiKeyCredential(key=KEY))
    store.set_order("anthropic", [WORK])

    doc = json.loads((tmp_path / "auth.json").read_text())

    assert {
        "version": 1,
        "profiles": {"anthropic:work": {"kind": "api_key", "provider": "anthropic", "key": KEY}},
        "order": {"anthropic": ["anthropic:work"]},
    } == doc


def test_store_and_lock_files_are_private(tmp_path: Path) -> None:
    """The store and its lock file are created 0600 whatever the umask, the directory 0700."""
    path = tmp_path / "new" / "auth.json"
    old_umask = os.umask(0)
    try:
        AuthStore(path=path).put(WORK, ApiKeyCredential(key=KEY))
    finally:
        os.umask(old_umask)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (path, lock_path_for(path), path.parent)]

    assert [0o600, 0o600, 0o700] == modes


def test_a_group_readable_store_warns_and_is_fixed_by_a_write(tmp_path: Path) -> None:
    """Reading a store others can read warns with the chmod fix; the next write makes it 0600."""
    path = tmp_path / "auth.json"
    AuthStore(path=path).put(WORK, ApiKeyCredential(key=KEY))
    path.chmod(0o644)
    store = AuthStore(path=path)

    with pytest.warns(InsecureAuthFileWarning, match=r"chmod 600"):
        store.get(WORK)
    store.put(DEFAULT, ApiKeyCredential(key=KEY))

    assert 0o600 == stat.S_IMODE(path.stat().st_mode)


BAD_FILES = [
    pytest.param(b"{not json", "not valid JSON", id="not-json"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"[]", "JSON object", id="array"),
    pytest.param(b'{"profiles": {}}', "no valid 'version'", id="no-version"),
    pytest.param(b'{"version": 2, "profiles": {}}', "newer", id="newer-version"),
    pytest.param(
        b'{"version": 1, "profiles": {"openai:x": {"kind": "magic", "key": "k"}}}',
        "kind",
        id="unknown-kind",
    ),
    pytest.param(
        b'{"version": 1, "profiles": {"openai:x": {"kind": "api_key", "provider": "groq",'
        b' "key": "kkkk"}}}',
        "provider",
        id="provider-mismatch",
    ),
    pytest.param(
        b'{"version": 1, "profiles": {"openai:x": {"kind": "api_key"}}}',
        r"\.key: must be",
        id="missing-key",
    ),
    pytest.param(
        b'{"version": 1, "profiles": {"openai:x": {"kind": "token", "token": "t", "expires_at": '
        + b"9" * 5000
        + b"}}}",
        r"expires_at: must be a number of seconds since the epoch or null, not a number with "
        r"5000 digits",
        id="number-too-long-to-read",
    ),
    pytest.param(
        b'{"version": 1, "profiles": {"openai:x": {"kind": "token", "token": "t", "expires_at": 1'
        + b"0" * 400
        + b"}}}",
        r"expires_at: must be a number of seconds since the epoch or null, not a number with "
        r"401 digits",
        id="number-beyond-floats",
    ),
    pytest.param(
        b'{"version": 1, "x": ' + b"9" * 5000 + b"}",
        r"\$: unknown keys 'x'",
        id="long-number-under-an-unknown-key",
    ),
    pytest.param(b'{"version": 1, "extra": 1}', "unknown keys", id="unknown-top-level-key"),
    pytest.param(
        b'{"version": 1, "order": {"openai": ["groq:x"]}}', "another provider", id="bad-order"
    ),
    pytest.param(
        b'{"version": 1, "profiles": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested too deeply",
        id="deeply-nested",
    ),
]


@pytest.mark.parametrize(("content", "reason"), BAD_FILES)
def test_a_bad_store_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    """A corrupt or newer store is refused on read and write, naming the file; its bytes stay."""
    path = tmp_path / "auth.json"
    path.write_bytes(content)
    path.chmod(0o600)
    store = AuthStore(path=path)

    with pytest.raises(AuthStoreError, match=reason) as on_read:
        store.profiles()
    with pytest.raises(AuthStoreError, match=reason) as on_write:
        store.put(WORK, ApiKeyCredential(key=KEY))

    assert content == path.read_bytes()
    assert str(path) in str(on_read.value)
    assert (str(path), str(path)) == (on_read.value.path, on_write.value.path)


def test_a_locked_store_times_out_with_a_clear_error(tmp_path: Path) -> None:
    """A write that cannot get the lock in time raises AuthStoreError and changes nothing."""
    path = tmp_path / "auth.json"
    store = AuthStore(path=path, lock_timeout_s=0.05)

    with exclusive_lock(path), pytest.raises(AuthStoreError, match="Could not lock"):
        store.put(WORK, ApiKeyCredential(key=KEY))

    assert not path.exists()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"MODELCFG_HOME": "/m", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/m/auth.json"),
        ({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/modelcfg/auth.json"),
        ({"MODELCFG_HOME": "", "HOME": "/h"}, "/h/.config/modelcfg/auth.json"),
    ],
    ids=["modelcfg-home", "xdg", "home"],
)
def test_default_auth_path(environ: dict[str, str], expected: str) -> None:
    """The default path prefers MODELCFG_HOME, then XDG_CONFIG_HOME, then HOME."""

    assert Path(expected) == default_auth_path(environ)


def test_default_auth_path_without_any_home_is_an_error() -> None:
    """With no home variable at all, the caller is told to pass a path."""

    with pytest.raises(AuthStoreError, match="MODELCFG_HOME"):
        default_auth_path({})


@given(profile=profile_ids, credential=credentials, used=epochs, failed=epochs)
def test_profile_json_round_trips(
    profile: ProfileId, credential: Credential, used: float | None, failed: float | None
) -> None:
    """profile_from_json(profile_to_json(p)) gives back p."""
    stored = StoredProfile(
        profile=profile, credential=credential, last_used_at=used, last_failure_at=failed
    )
    as_json = json.loads(json.dumps(profile_to_json(stored)))

    assert stored == profile_from_json(profile, as_json, where="$")


operations = hst.lists(
    hst.one_of(
        hst.tuples(hst.just("put"), profile_ids, credentials),
        hst.tuples(hst.just("remove"), profile_ids),
        hst.tuples(
            hst.just("order"),
            hst.sampled_from(["anthropic", "openai"]),
            hst.lists(hst.sampled_from(["default", "work", "b"]), unique=True, max_size=3),
        ),
    ),
    max_size=12,
)


@settings(max_examples=30)
@given(ops=operations)
def test_file_store_behaves_like_the_memory_store(ops: list[tuple[object, ...]]) -> None:
    """Any sequence of operations leaves the file store and the memory store equal."""
    memory = MemoryAuthStore()
    with tempfile.TemporaryDirectory() as tmp:
        file_store = AuthStore(path=Path(tmp) / "auth.json")
        for store in (memory, file_store):
            for op in ops:
                match op:
                    case ("put", ProfileId() as pid, credential):
                        store.put(pid, credential)  # type: ignore[arg-type]
                    case ("remove", ProfileId() as pid):
                        store.remove(pid)
                    case ("order", str(provider), list(names)):
                        store.set_order(
                            provider, [ProfileId(provider=provider, name=n) for n in names]
                        )
        fresh = AuthStore(path=Path(tmp) / "auth.json")
        orders = [(fresh.order(p), memory.order(p)) for p in ("anthropic", "openai")]

        assert memory.profiles() == fresh.profiles()
        assert all(a == b for a, b in orders)


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """atomic_write() replaces the content, with the given mode, and cleans up after itself."""
    path = tmp_path / "state.json"
    atomic_write(path, b"one")
    atomic_write(path, b"two", mode=0o640)

    assert (b"two", 0o640, ["state.json"]) == (
        path.read_bytes(),
        stat.S_IMODE(path.stat().st_mode),
        sorted(p.name for p in tmp_path.iterdir()),
    )


def test_backup_copy_never_overwrites_an_older_backup(tmp_path: Path) -> None:
    """backup_copy() writes name.bak, then name.bak.1 for new content, and nothing for the same."""
    path = tmp_path / "auth.json"
    path.write_text("first")
    first = backup_copy(path)
    same = backup_copy(path)
    path.write_text("second")
    second = backup_copy(path)
    assert second is not None

    assert (tmp_path / "auth.json.bak", None, tmp_path / "auth.json.bak.1") == (first, same, second)
    assert ("first", "second") == ((tmp_path / "auth.json.bak").read_text(), second.read_text())


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from modelcfg.auth import ApiKeyCredential, AuthStore

    path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = AuthStore(path=path, lock_timeout_s=30)
    i = 0
    while count < 0 or i < count:
        store.put(f"openai:{prefix}{i}", ApiKeyCredential(key="k" * 20 + str(i)))
        i += 1
        if count < 0 and i % 20 == 0:
            for j in range(i - 20, i):
                store.remove(f"openai:{prefix}{j}")
    """
)


def _run_writer(tmp_path: Path, path: Path, prefix: str, count: int) -> subprocess.Popen[bytes]:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), str(path), prefix, str(count)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_kill_9_during_writes_never_corrupts_the_store(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-loop leaves a store that parses and keeps old profiles."""
    path = tmp_path / "auth.json"
    survivors = {ProfileId.parse(f"anthropic:p{i}") for i in range(30)}
    store = AuthStore(path=path)
    store.add_missing({p: ApiKeyCredential(key=f"{p.name}-key-0123456789") for p in survivors})
    for round_ in range(8):
        writer = _run_writer(tmp_path, path, f"r{round_}x", -1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(store.profiles("openai")) < 3:
            time.sleep(0.01)
        time.sleep(0.005 * round_)
        writer.send_signal(signal.SIGKILL)
        _, err = writer.communicate()
        reread = AuthStore(path=path)

        assert -signal.SIGKILL == writer.returncode, err
        assert survivors <= {p.profile for p in reread.profiles()}
        assert 1 == json.loads(path.read_bytes())["version"]


_RACER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from modelcfg.auth import ApiKeyCredential, AuthStore

    path, prefix, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = AuthStore(path=path, lock_timeout_s=30)
    Path(f"{go}.{prefix}").touch()  # ready
    while not go.exists():  # the barrier: both writers start together
        time.sleep(0.001)
    started = time.monotonic()
    for i in range(count):
        store.put(f"openai:{prefix}{i}", ApiKeyCredential(key="k" * 20 + str(i)))
    print(started, time.monotonic())
    """
)


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_no_profile(tmp_path: Path) -> None:
    """Two processes released together by a barrier each put 50 profiles; all 100 are kept."""
    path, go = tmp_path / "auth.json", tmp_path / "go"
    script = tmp_path / "racer.py"
    script.write_text(_RACER)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), prefix, "50", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for prefix in ("a", "b")
    ]
    deadline = time.monotonic() + 30
    while not all(go.with_name(f"go.{p}").exists() for p in "ab"):
        assert time.monotonic() < deadline, "the writers never got ready"
        time.sleep(0.005)
    go.touch()
    outputs = [w.communicate(timeout=60) for w in writers]

    spans = [tuple(map(float, out.split())) for out, _err in outputs]
    names = {p.profile.name for p in AuthStore(path=path).profiles("openai")}
    assert [b"", b""] == [err for _out, err in outputs]
    assert max(start for start, _end in spans) < min(end for _start, end in spans), spans
    assert {f"{prefix}{i}" for prefix in "ab" for i in range(50)} == names

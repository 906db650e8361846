"""
modelcfg without ``fcntl``: importing, the executor, the CLI and file locks (through ``msvcrt``).

Windows cannot run here, so each test starts a Python whose ``sitecustomize`` makes
``fcntl`` unimportable, as it is on Windows, and (where a test needs one) offers a
stand-in ``msvcrt`` whose ``locking`` is as strict as the real one: a second handle
asking for a held byte gets ``EACCES``, and unlocking a byte one does not hold fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelcfg._fileio import exclusive_lock, file_locker, pick_locker

BLOCKER = '''
import errno, os, sys, threading, types
import subprocess  # decides "not Windows" before any stand-in msvcrt exists

class _NoFcntl:
    """Refuses fcntl as a platform without it does."""
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ModuleNotFoundError("No module named 'fcntl'", name="fcntl")
        return None

sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, _NoFcntl())

if os.environ.get("FAKE_MSVCRT") == "1":
    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_UNLCK, msvcrt.LK_LOCK, msvcrt.LK_NBLCK, msvcrt.LK_RLCK, msvcrt.LK_NBRLCK = 0, 1, 2, 3, 4
    _held = {}
    _guard = threading.Lock()
    msvcrt.calls = []

    def locking(fd, mode, nbytes):
        """Byte-range locks per handle, as Windows keeps them."""
        status = os.fstat(fd)
        start = os.lseek(fd, 0, os.SEEK_CUR)
        keys = [(status.st_dev, status.st_ino, start + i) for i in range(nbytes)]
        msvcrt.calls.append(mode)
        with _guard:
            if mode in (msvcrt.LK_NBLCK, msvcrt.LK_NBRLCK):
                if any(k in _held and _held[k] != fd for k in keys):
                    raise PermissionError(errno.EACCES, "Permission denied")
                for k in keys:
                    _held[k] = fd
            elif mode == msvcrt.LK_UNLCK:
                if any(_held.get(k) != fd for k in keys):
                    raise PermissionError(errno.EACCES, "Permission denied")
                for k in keys:
                    del _held[k]
            else:
                raise OSError(errno.EINVAL, "mode not used by modelcfg")

    msvcrt.locking = locking
    sys.modules["msvcrt"] = msvcrt
'''


def run_without_fcntl(
    tmp_path: Path, script: str, *, fake_msvcrt: bool
) -> subprocess.CompletedProcess[str]:
    """
    Run *script* in a Python that cannot import ``fcntl``; the last stdout line is its JSON.

    The script sees ``STATE`` and ``AUTH``, two file names in *tmp_path*.
    """
    script = (
        f"STATE = {str(tmp_path / 'state.json')!r}\nAUTH = {str(tmp_path / 'auth.json')!r}\n"
        + textwrap.dedent(script)
    )
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
        "FAKE_MSVCRT": "1" if fake_msvcrt else "0",
        "MODELCFG_HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
    }
    env.pop("MODELCFG_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_this_platform_picks_fcntl() -> None:
    """Where fcntl exists, it is the locker chosen."""
    assert "fcntl" == pick_locker().name
    assert "fcntl" == file_locker().name


def test_a_second_holder_is_excluded_with_fcntl(tmp_path: Path) -> None:
    """A lock held on a file makes a second holder time out (the POSIX path)."""
    target = tmp_path / "state.json"
    with (
        exclusive_lock(target),
        pytest.raises(TimeoutError),
        exclusive_lock(target, timeout_s=0.01),
    ):
        pass


def test_import_executor_cli_and_locks_work_without_fcntl(tmp_path: Path) -> None:
    """Without fcntl, modelcfg imports, answers through the executor, runs the CLI and locks via msvcrt."""
    result = run_without_fcntl(
        tmp_path,
        """
        import io, json, sys, threading
        import modelcfg
        from modelcfg import ChatRequest, StaticCredentials, load_config
        from modelcfg._cli._main import main
        from modelcfg._fileio import LockTimeoutError, exclusive_lock, file_locker
        from modelcfg.auth import AuthStore
        from modelcfg.stores import FileStateStore
        from modelcfg.testing import FakeProvider

        report = {"locker": file_locker().name}
        with FakeProvider() as fake:
            config = load_config({
                "providers": {"local": {"api": "openai", "baseUrl": fake.base_url}},
                "agent": {"model": {"primary": "local/ok"}},
            })
            store = FileStateStore(STATE)

            keys = StaticCredentials({"local:default": "sk-portable-0123456789"})
            with modelcfg.Client(config, credentials=keys, store=store) as client:
                answer = client.complete(ChatRequest(messages=[{"role": "user", "content": "Hi"}]))
            report["answer"] = answer.text

        from modelcfg.auth import ApiKeyCredential
        auth = AuthStore(path=AUTH)
        auth.put("openai:default", ApiKeyCredential(key="sk-fake-portable-store-0123456789"))
        out, err = io.StringIO(), io.StringIO()
        report["cli"] = main(
            ["auth", "order", "set", "openai", "openai:default", "--auth-store", AUTH],
            stdout=out, stderr=err,
        )
        report["order"] = [str(p) for p in AuthStore(path=AUTH).order("openai")]

        from pathlib import Path
        held, release = threading.Event(), threading.Event()

        def holder():
            with exclusive_lock(Path(STATE)):
                held.set()
                release.wait(10)

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait(10)
        try:
            with exclusive_lock(Path(STATE), timeout_s=0.05):
                report["second"] = "got the lock"
        except LockTimeoutError:
            report["second"] = "excluded"
        release.set()
        thread.join()
        with exclusive_lock(Path(STATE), timeout_s=1):
            report["after"] = "got the lock"
        report["fcntl_imported"] = "fcntl" in sys.modules
        report["msvcrt_used"] = sorted(set(sys.modules["msvcrt"].calls))
        print(json.dumps(report))
        """,
        fake_msvcrt=True,
    )

    assert 0 == result.returncode, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert {
        "locker": "msvcrt",
        "answer": "Hello from ok",
        "cli": 0,
        "order": ["openai:default"],
        "second": "excluded",
        "after": "got the lock",
        "fcntl_imported": False,
        "msvcrt_used": [0, 2],
    } == report
    assert "sk-portable" not in result.stdout + result.stderr


def test_no_locker_at_all_is_a_clear_error(tmp_path: Path) -> None:
    """With neither fcntl nor msvcrt, import still works and a lock names what is missing."""
    result = run_without_fcntl(
        tmp_path,
        """
        import json, sys
        import modelcfg
        from pathlib import Path
        from modelcfg._fileio import exclusive_lock

        try:
            with exclusive_lock(Path(STATE)):
                message = "locked"
        except OSError as exc:
            message = str(exc)
        print(json.dumps({"message": message, "fcntl_imported": "fcntl" in sys.modules}))
        """,
        fake_msvcrt=False,
    )

    assert 0 == result.returncode, result.stderr
    assert {
        "message": "[Errno 38] modelcfg cannot lock files on this platform: "
        "it has neither fcntl nor msvcrt",
        "fcntl_imported": False,
    } == json.loads(result.stdout.splitlines()[-1])

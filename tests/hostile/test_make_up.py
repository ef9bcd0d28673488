"""`make up` on an older installation: its files private, large request bodies refused.

A real `manage.py up` on a var/ that an earlier version left open to other users (0755,
with the database and its -wal/-shm at 0644). Then anonymous 60 MB POSTs to its web
server: refused before they are read, with nothing spooled to the temporary folder, while
a staff member can still upload a model file above that limit in admin.
"""

import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for
from tests.environment import ROOT
from tests.hostile.tally import tried
from tests.webui.ops.up_process import UpProcess
from webui.registry.bundled import bundled_model_path

pytestmark = pytest.mark.hostile

MB = 1024 * 1024
ADMIN, PASSWORD = "boss", "boss-password-long-enough"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="module")
def old_install(tmp_path_factory):
    """A var/ at 0755 with a database in WAL mode at 0644; its -wal/-shm held open."""
    root = tmp_path_factory.mktemp("old-install")
    var = root / "var"
    var.mkdir()
    var.chmod(0o755)
    database = var / "homefire.sqlite3"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE left_over (x)")
    connection.commit()
    for end in ("", "-wal", "-shm"):
        Path(f"{database}{end}").chmod(0o644)
    yield root, var, database
    connection.close()


@pytest.fixture(scope="module")
def running_up(old_install):
    root, var, database = old_install
    spool = root / "tmp"
    spool.mkdir(mode=0o700)
    up = UpProcess(
        var,
        root / "up.log",
        DATABASE_URL=f"sqlite:///{database}",
        HOMEFIRE_ADMIN_USERNAME=ADMIN,
        HOMEFIRE_ADMIN_PASSWORD=PASSWORD,
        # Where its web server spools request bodies, to be watched.
        TMPDIR=str(spool),
    )
    try:
        wait_for(
            lambda: up.proc.poll() is None and up.health() is not None,
            timeout=180,
            interval=0.5,
            message="up's web server",
        )
        yield up, spool
    finally:
        up.kill_all()


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


@pytest.mark.worker
def test_var_and_the_database_are_private_after_start(old_install, running_up):
    _, var, database = old_install
    up, _ = running_up
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    tried("access", 1 + len(files))
    assert _mode(var) == "0700"
    assert {path.name: _mode(path) for path in files} == {path.name: "0600" for path in files}
    assert _mode(var / "secret_key") == "0600"
    log = up.log()
    assert f"{var} was 0755, open to other users: now 0700." in log
    assert f"{database} was 0644, open to other users: now 0600." in log


def test_a_fresh_var_dir_and_database_are_private(tmp_path):
    """What a first `migrate` (as `make up` runs first) creates."""
    var = tmp_path / "fresh"
    env = dict(os.environ, HOMEFIRE_VAR_DIR=str(var))
    for name in ("HOMEFIRE_TEST_DB", "DATABASE_URL"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    tried("access", 2)
    assert _mode(var) == "0700"
    assert _mode(var / "homefire.sqlite3") == "0600"


class SpoolWatch:
    """The largest temporary file a process holds in a folder, sampled while it runs."""

    def __init__(self, pid: int, folder: Path):
        self.pid, self.folder = pid, str(folder)
        self.largest = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        fds = Path(f"/proc/{self.pid}/fd")
        while not self._done.is_set():
            for fd in list(fds.iterdir()) if fds.exists() else []:
                try:
                    if os.readlink(fd).startswith(self.folder):
                        self.largest = max(self.largest, os.stat(fd).st_size)
                except OSError:
                    continue
            time.sleep(0.01)


def _post(url: str, size: int, *, declared: bool = True, cookies: dict | None = None) -> str:
    """POST `size` bytes; how the server answered: a status, or "closed"."""

    def body():
        for _ in range(size // MB):
            yield b"\0" * MB

    headers = {"Content-Length": str(size)} if declared else {}
    try:
        with httpx.Client(cookies=cookies, timeout=60) as client:
            return str(client.post(url, content=body(), headers=headers).status_code)
    except httpx.TransportError:
        return "closed"


@pytest.mark.worker
@pytest.mark.parametrize(
    "declared, cookies",
    [(True, None), (False, None), (True, {"sessionid": "forged-session-key"})],
    ids=["content-length", "chunked", "forged-session"],
)
def test_an_anonymous_60mb_post_is_refused_without_spooling(running_up, declared, cookies):
    up, spool = running_up
    server = up.child("webserver")
    started = time.monotonic()
    with SpoolWatch(server, spool) as watch:
        answer = _post(f"{up.base}/accounts/login/", 60 * MB, declared=declared, cookies=cookies)
    took = time.monotonic() - started
    tried("input")
    print(f"60 MB POST ({answer}) in {took:.1f} s; largest spool {watch.largest} bytes")
    assert answer in {"413", "closed"}
    # Refused as it arrives: a body announced too large is never read, one sent in chunks
    # is cut off at the limit (32 MB by default).
    assert watch.largest <= (1 * MB if declared else 33 * MB), watch.largest
    assert up.health() is not None, up.log()[-3000:]
    assert "refused a" in up.log()


@pytest.mark.worker
def test_staff_may_upload_a_model_file_over_the_limit(old_install, running_up):
    _, var, _ = old_install
    up, _ = running_up
    model_file = Path(bundled_model_path())
    assert model_file.stat().st_size > 32 * MB
    with httpx.Client(base_url=up.base, timeout=300) as client:
        token = CSRF.search(client.get("/admin/login/").text)[1]
        signed_in = client.post(
            "/admin/login/?next=/admin/",
            data={"username": ADMIN, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert signed_in.status_code == 302, signed_in.text[:2000]
        url = "/admin/registry/llmmodel/upload/"
        token = CSRF.search(client.get(url).text)[1]
        with model_file.open("rb") as file:
            response = client.post(
                url,
                data={"filename": "uploaded-copy.gguf", "csrfmiddlewaretoken": token},
                files={"file": ("copy.gguf", file, "application/octet-stream")},
            )
    assert response.status_code == 302, response.text[:3000]
    assert (var / "models" / "uploaded-copy.gguf").stat().st_size == model_file.stat().st_size

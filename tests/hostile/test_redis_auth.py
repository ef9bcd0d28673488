"""Redis with a password, and with TLS: every part of Homefire speaks it, and nobody without
the password gets in.

A redis-server of the test's own with `requirepass` (a password that needs quoting in a
URL), plain or on a TLS-only port with a certificate authority made for the test (where
this redis-server was built with TLS). A real Daphne server (channel layer, Celery
broker, the Redis client), a real worker (broker, stream buffers, the stop watch's
pub/sub) and housekeeping run an answer and a stop through it.
"""

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.conftest import child_env, model_of_its_own
from tests.environment import ROOT, RUN_DIR, free_port
from tests.hostile.live import ENDED, Tab, start_server, start_worker
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user, session_cookie
from webui.chat import streambuffer
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]

PASSWORD = "c0rrect horse/b@ttery:st#ple%"
DATABASE = 3


class LockedRedis:
    """A redis-server that wants PASSWORD; with `tls`, it speaks only TLS."""

    def __init__(self, folder: Path, tls: bool):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary")
        self.port = free_port()
        args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--requirepass", PASSWORD]
        query = ""
        if tls:
            ca, cert, key = _certificates(folder)
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
            args += ["--tls-ca-cert-file", str(ca)]
            query = f"?ssl_ca_certs={ca}"
        else:
            args += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=RUN_DIR, text=True
        )
        scheme = "rediss" if tls else "redis"
        self.address = f"127.0.0.1:{self.port}/{DATABASE}{query}"
        self.url = f"{scheme}://:{quote(PASSWORD, safe='')}@{self.address}"
        self.scheme = scheme
        self._wait(tls)

    def _wait(self, tls: bool) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.proc.stdout.read()
                if tls and "tls" in output.lower():
                    pytest.skip(f"this redis-server was built without TLS: {output[-300:]}")
                raise RuntimeError(f"redis-server exited: {output[-2000:]}")
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("redis-server did not answer")

    def without_password(self, password: str | None = None) -> str:
        secret = "" if password is None else f":{quote(password, safe='')}@"
        return f"{self.scheme}://{secret}{self.address}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A certificate authority and a certificate for 127.0.0.1 signed by it (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make certificates with")

    def openssl(command: str) -> None:
        subprocess.run(["openssl", *command.split()], cwd=folder, check=True, capture_output=True)

    openssl(
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=homefire-test-ca "
        "-keyout ca.key -out ca.pem"
    )
    openssl("req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile san.cnf -out server.pem"
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


@pytest.fixture(params=["password", "tls"])
def locked_redis(request, tmp_path):
    server = LockedRedis(tmp_path, tls=request.param == "tls")
    yield server
    server.stop()


def test_without_the_password_nobody_gets_in(locked_redis):
    for url in (locked_redis.without_password(), locked_redis.without_password("guess")):
        tried("access")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(url, socket_connect_timeout=3).get("homefire:workers")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(url).publish("homefire:stops", "1")
    if locked_redis.scheme == "rediss":
        tried("access")
        plain = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{locked_redis.port}/0"
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(plain, socket_connect_timeout=3).ping()


def test_the_settings_read_the_url_as_redis_does(locked_redis):
    """The database a URL names (pub/sub channels carry it), its query notwithstanding."""
    code = "from django.conf import settings; print(settings.REDIS_DATABASE)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=child_env(REDIS_URL=locked_redis.url),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip().splitlines()[-1] == str(DATABASE), result.stderr[-2000:]


def test_the_web_clients_speak_it(locked_redis, settings):
    """The project's Redis clients, sync and async, on the locked Redis (in this process)."""
    from webui.core.redis import client

    settings.REDIS_URL = locked_redis.url
    client.cache_clear()
    try:
        streambuffer.append(424242, "through the lock")
        assert asyncio.run(streambuffer.aread(424242)) == b"through the lock"
        streambuffer.forget(424242)
    finally:
        client.cache_clear()


@pytest.fixture
def auth_model(bundled_model):
    # Room for a long story: at 160 tokens a busy web server sometimes passed the stop on
    # after the worker had written the whole answer (2 of 6 full runs).
    return model_of_its_own(bundled_model, "redis auth", context_size=2048, max_tokens=1500)


async def _answer_then_stop(base: str, cookie: str, conversation_id: int) -> tuple[int, int]:
    tab = Tab(base, cookie, conversation_id)
    await tab.connect()
    first = await tab.send("Say hello in five words.")
    await tab.follow(first, ENDED, timeout=300)
    # The small model sometimes ends a story on its own before the stop arrives: then it
    # is asked again (at most three times), so that a stop really meets a running answer.
    for _attempt in range(3):
        second = await tab.send("Tell me a long story about a lighthouse keeper and the sea.")
        while len(tab.view.text.get(second, "")) < 10 and tab.view.status.get(second) not in ENDED:
            await tab.receive(timeout=120)
        await tab.socket.send(f'{{"action": "stop", "message_id": {second}}}')
        await tab.follow(second, ENDED, timeout=120)
        if tab.view.status.get(second) == "stopped":
            break
    await tab.close()
    return first, second


@pytest.mark.worker
def test_an_answer_and_a_stop_go_through_it(locked_redis, auth_model):
    user = make_user(f"rhea-{locked_redis.scheme}")
    conversation = Conversation.objects.create(owner=user, model=auth_model, title="locked")
    log = f"redis-auth-{locked_redis.scheme}.log"
    worker = start_worker(auth_model.slug, f"worker-{log}", locked_redis.url)
    server, base = start_server(f"server-{log}", REDIS_URL=locked_redis.url)
    tried("faults")
    try:
        first, second = asyncio.run(_answer_then_stop(base, session_cookie(user), conversation.pk))
    finally:
        server.stop()
        worker.stop()

    fault_outcome(**outcome_of([first, second]))
    done = Message.objects.get(pk=first)
    assert done.status == "done" and done.content, (done.status, done.error, worker.tail())
    stopped = Message.objects.get(pk=second)
    assert stopped.status == "stopped", (stopped.status, stopped.finish_reason, worker.tail())
    assert stopped.completion_tokens < 1500
    for process in (worker, server):
        assert PASSWORD not in process.tail() and quote(PASSWORD, safe="") not in process.tail()

"""`up` starts a local Redis with the password that REDIS_URL names, never showing it."""

import subprocess
import time
from urllib.parse import quote

import redis

from tests.environment import RUN_DIR, free_port
from webui.ops import services_up

PASSWORD = 'a "quoted" p@ss:word\\'


def test_the_local_redis_up_starts_requires_the_urls_password(tmp_path):
    port = free_port()
    url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/0"
    command = services_up.redis_command(url, tmp_path)
    assert PASSWORD not in " ".join(command) and quote(PASSWORD, safe="") not in " ".join(command)
    assert (tmp_path / "redis.conf").stat().st_mode & 0o777 == 0o600
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=RUN_DIR)
    try:
        deadline = time.monotonic() + 10
        while not services_up.redis_answers(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert services_up.redis_answers(url)
        assert not services_up.redis_answers(f"redis://127.0.0.1:{port}/0")
        assert not services_up.redis_answers(f"redis://:wrong@127.0.0.1:{port}/0")
        assert redis.Redis.from_url(url).set("homefire:test", "1")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_messages_show_the_url_without_its_password():
    shown = services_up.shown_url("redis://:s3cret@127.0.0.1:6379/0")
    assert "s3cret" not in shown and shown == "redis://:***@127.0.0.1:6379/0"
    assert services_up.shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"

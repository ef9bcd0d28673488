"""`manage.py up` stops everything it started, whether by Ctrl-C or by SIGTERM."""

import signal

import pytest

from tests.webui.ops.up_process import UpProcess


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_up_stops_its_redis_worker_and_server(tmp_path, signum):
    up = UpProcess(
        tmp_path / "var",
        tmp_path / "up.log",
        DATABASE_URL=f"sqlite:///{tmp_path / 'homefire.sqlite3'}",
    )
    try:
        up.wait_healthy()
        commands = list(up.children().values())
        assert any("redis-server" in c for c in commands), commands
        assert any("worker" in c for c in commands), commands
        assert any("housekeeping" in c for c in commands), commands
        assert any("webui.ops.webserver" in c for c in commands), commands

        up.stop(signum)
        assert "Stopping" in up.log()
    finally:
        up.kill_all()

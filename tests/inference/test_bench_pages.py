"""`manage.py bench --pages` on small counts: it runs in a scratch database and says so."""

import json
import sqlite3
import subprocess
import sys

from tests.conftest import child_env
from tests.environment import ROOT


def test_bench_pages_prints_the_figures_as_json_and_leaves_the_database_alone(tmp_path):
    real = tmp_path / "real.sqlite3"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench",
            "--pages",
            "--messages",
            "120",
            "--conversations",
            "60",
            "--runs",
            "2",
            "--json",
        ],
        cwd=ROOT,
        env={**child_env(), "DATABASE_URL": f"sqlite:///{real}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"conversation_120_ms", "sidebar_60_ms", "sidebar_60_last_page_ms"} <= set(figures)
    assert all(figures[k] > 0 for k in figures if k.endswith("_ms"))
    if real.exists():  # Django's system checks may open it to read its features
        with sqlite3.connect(real) as opened:
            assert opened.execute("SELECT name FROM sqlite_master").fetchall() == []

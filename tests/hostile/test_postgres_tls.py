"""PostgreSQL over TLS: Homefire's settings speak it and verify the server; nobody gets in
without it.

A PostgreSQL cluster of the test's own (Debian's initdb and pg_ctl, run as the postgres
user), on a port of its own on 127.0.0.1, with `ssl = on`, a certificate signed by a
certificate authority made for the test, and `hostssl` lines only in pg_hba.conf. Django
runs in child processes with DATABASE_URL as a worker host writes it
(`?sslmode=verify-full&sslrootcert=<ca>`, docs/operations.md).
"""

import glob
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import child_env
from tests.environment import ROOT, free_port
from tests.hostile.tally import tried
from tests.hostile.test_redis_auth import _certificates

pytestmark = pytest.mark.hostile

PASSWORD = "pg-tls-secret"
DATABASE = "homefire_tls"
# What the child prints after a query on its own connection: whether it is encrypted, and
# the sslmode psycopg was given (from DATABASE_URL, through the settings).
SHOW_CONNECTION = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    ssl, version = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM django_migrations")
    migrations = cursor.fetchone()[0]
params = connection.connection.info.get_parameters()
print("ssl", ssl, version, params.get("sslmode"), migrations)
"""
CONNECT = "from django.db import connection; connection.ensure_connection()"


def _initdb() -> Path | None:
    """Debian's initdb, of the newest PostgreSQL installed."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    return Path(found[-1]) if found else None


class TlsCluster:
    """A private PostgreSQL cluster that speaks TLS only, on 127.0.0.1:<port>."""

    def __init__(self, initdb: Path):
        self.bin = initdb.parent
        self.root = Path(tempfile.mkdtemp(prefix="homefire-pg-tls-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        tls = self.root / "tls"
        tls.mkdir()
        self.ca, cert, key = _certificates(tls)
        (self.root / "password").write_text(PASSWORD + "\n")
        shutil.chown(self.root / "password", "postgres")
        self._as_postgres(
            "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--pwfile",
            self.root / "password",
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
        )
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            shutil.copy(source, self.data / name)
            shutil.chown(self.data / name, "postgres", "postgres")
            (self.data / name).chmod(0o600)
        # TLS only: a connection without it matches no line and is refused.
        (self.data / "pg_hba.conf").write_text(
            "local all postgres peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
        self.port = free_port()
        settings = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.data} "
            "-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        )
        log = self.root / "postgres.log"
        self._as_postgres("pg_ctl", "-D", self.data, "-l", log, "-o", settings, "-w", "start")
        self._as_postgres(
            "createdb", "-h", self.data, "-p", str(self.port), "-U", "postgres", DATABASE
        )

    def _as_postgres(self, program: str, *args) -> None:
        command = ["runuser", "-u", "postgres", "--", str(self.bin / program), *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"{program} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")

    def url(self, query: str, host: str = "127.0.0.1") -> str:
        return f"postgres://postgres:{PASSWORD}@{host}:{self.port}/{DATABASE}?{query}"

    def stop(self) -> None:
        try:
            self._as_postgres("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    initdb = _initdb()
    if initdb is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
    server = TlsCluster(initdb)
    yield server
    server.stop()


def _django(database_url: str, *args: str, pool_timeout: int = 30) -> subprocess.CompletedProcess:
    """manage.py in a child process on this DATABASE_URL (the one a worker host is given);
    `pool_timeout`: how long it tries to connect (a refused connection is tried again)."""
    env = child_env()
    env["DATABASE_URL"] = database_url
    env["DATABASE_POOL_TIMEOUT"] = str(pool_timeout)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_settings_connect_over_tls_verifying_the_server(cluster):
    url = cluster.url(f"sslmode=verify-full&sslrootcert={cluster.ca}")

    migrated = _django(url, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    shown = _django(url, "shell", "-c", SHOW_CONNECTION)

    assert shown.returncode == 0, shown.stderr[-3000:]
    _, ssl, version, sslmode, migrations = shown.stdout.strip().splitlines()[-1].split()
    assert (ssl, sslmode) == ("True", "verify-full"), shown.stdout
    assert version.startswith("TLSv1."), version
    assert int(migrations) > 10  # the whole schema went over the encrypted connection


def test_a_server_the_ca_did_not_sign_is_refused(cluster, tmp_path):
    other_ca, _, _ = _certificates(tmp_path)
    tried("access")

    refused = _django(
        cluster.url(f"sslmode=verify-full&sslrootcert={other_ca}"),
        "shell",
        "-c",
        CONNECT,
        pool_timeout=2,
    )

    assert refused.returncode != 0
    assert "certificate verify failed" in refused.stderr, refused.stderr[-3000:]
    assert PASSWORD not in refused.stderr


def test_a_server_under_another_name_is_refused(cluster):
    """verify-full checks the name too: the certificate names 127.0.0.1, not localhost."""
    tried("access")
    url = cluster.url(f"sslmode=verify-full&sslrootcert={cluster.ca}", host="localhost")

    refused = _django(url, "shell", "-c", CONNECT, pool_timeout=2)

    assert refused.returncode != 0
    assert 'does not match host name "localhost"' in refused.stderr, refused.stderr[-3000:]


def test_a_connection_without_tls_is_refused_by_the_server(cluster):
    tried("access")

    refused = _django(cluster.url("sslmode=disable"), "shell", "-c", CONNECT, pool_timeout=2)

    assert refused.returncode != 0
    assert "no pg_hba.conf entry" in refused.stderr, refused.stderr[-3000:]
    assert "no encryption" in refused.stderr, refused.stderr[-3000:]

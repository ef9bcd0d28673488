"""A server host and two worker hosts on one machine, joined by Linux network namespaces.

The server host is the root namespace: a bridge of this run's own carries the server's
address, and Redis (with a password), a PostgreSQL cluster of the run's own, the web
server and housekeeping listen there. Each worker host is a namespace with a veth pair
into the bridge, its own address and its own empty models folder; its worker reaches the
server only through that link, so `cut` (the link down) is a host that lost the network.

Names carry a random suffix (`hfw1-3fa2`), and each run takes a /28 of 198.51.100.0/24
(TEST-NET-2, a documentation range) that no address on this machine uses yet: runs side by
side do not clash. `close` removes everything, also after a failed test.
"""

import contextlib
import fcntl
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import redis

from tests.conftest import stop_child
from tests.environment import ROOT, RUN_DIR, free_port
from webui.ops import services_up

NETWORK = ipaddress.ip_network("198.51.100.0/24")


def _pg_bin() -> Path:
    """Debian's newest PostgreSQL server binaries (initdb, pg_ctl)."""
    found = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    versions = sorted(found, key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
LOCK = Path("/run/homefire-multihost.lock")
# Short enough that a host cut off is given up within seconds (the test run's default).
WORKER_TIMEOUT = os.environ.get("HOMEFIRE_WORKER_TIMEOUT", "4")
WORKER_HEARTBEAT = os.environ.get("HOMEFIRE_WORKER_HEARTBEAT", "0.5")


def unavailable() -> str:
    """Why namespaces cannot be made here, or "" when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add); run as root, as CI does"
    if shutil.which("ip") is None:
        return "no `ip` command (install iproute2)"
    if not (PG_BIN / "initdb").is_file():
        return f"no PostgreSQL server binaries at {PG_BIN} (install postgresql)"
    if shutil.which("redis-server") is None:
        return "no redis-server binary"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user to run a PostgreSQL cluster as"
    probe = f"hfprobe-{secrets.token_hex(2)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _wait_port(address: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex((address, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {address}:{port}")


@dataclass
class Host:
    """A worker host: a namespace, its end of the link, its address and models folder."""

    name: str
    namespace: str
    veth: str  # the link's end in the root namespace, on the bridge
    address: str
    models_dir: Path
    processes: list = field(default_factory=list)


class Process:
    """A child process (on the server host, or in a worker host's namespace) with its log."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str], host: Host | None):
        self.host = host
        self.log_path = log
        self.log = log.open("w")
        prefix = ["ip", "netns", "exec", host.namespace] if host else []
        # `ip netns exec` execs the command: the pid is the child's own.
        self.proc = subprocess.Popen(
            [*prefix, *args], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.args = args

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_child(self.proc)
        self.log.close()

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, pg_ctl as the postgres user),
    listening on the server's address: restarted by a test without touching the machine's."""

    def __init__(self, address: str, network: str):
        self.address = address
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="hfpg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.url = f"postgres://postgres@{address}:{self.port}/homefire"
        self.network = network

    def create(self) -> None:
        """initdb, start, and make the `homefire` database."""
        self._as_postgres(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync"
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.network} trust\n")
        self.start()
        self._as_postgres(PG_BIN / "createdb", "-h", self.address, "-p", self.port, "homefire")

    def _as_postgres(self, *args) -> None:
        command = ["runuser", "-u", "postgres", "--", *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stdout}{result.stderr}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-c listen_addresses={self.address} -p {self.port} -c unix_socket_directories="
        options += " -c fsync=off -c full_page_writes=off"
        self._as_postgres(
            PG_BIN / "pg_ctl", action, "-D", self.data, "-w", "-t", "60",
            "-l", self.folder / "postgres.log", "-o", options, *extra,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Stop it as a crash would (immediate: every connection dropped), start it again."""
        self._ctl("restart", "-m", "immediate")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A redis-server with a password, bound to the server's address, restartable."""

    PASSWORD = "multi/host:p@ss"

    def __init__(self, address: str):
        self.address = address
        self.port = free_port()
        self.url = f"redis://:{quote(self.PASSWORD, safe='')}@{address}:{self.port}/0"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--bind",
                self.address,
                "--port",
                str(self.port),
                "--requirepass",
                self.PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            cwd=RUN_DIR,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError("the private redis-server did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # as a crash: nothing is kept
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)


class Topology:
    """The bridge, the worker hosts' namespaces and links, and the processes on them."""

    def __init__(self, folder: Path):
        self.suffix = secrets.token_hex(2)
        self.folder = folder
        self.bridge = f"hfbr-{self.suffix}"
        self.hosts: list[Host] = []
        self.server_processes: list[Process] = []
        self.redis: PrivateRedis | None = None
        self.postgres: PrivatePostgres | None = None
        self.log_dir = RUN_DIR / f"multihost-{self.suffix}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.server_url = ""

    def build(self) -> None:
        """Make the bridge, the namespaces and the links (`close` undoes what was made)."""
        LOCK.touch(exist_ok=True)
        with LOCK.open() as lock:
            # Two runs must not take the same /28 (the check and the taking are one step).
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.subnet = _free_subnet()
            hosts = list(self.subnet.hosts())
            self.server_address = str(hosts[0])
            self._link_server()
        for number, host_index in ((1, 10), (2, 11)):
            self._add_host(number, str(hosts[host_index]))

    def _link_server(self) -> None:
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.server_address}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def _add_host(self, number: int, address: str) -> None:
        host = Host(
            name=f"worker host {number}",
            namespace=f"hfw{number}-{self.suffix}",
            veth=f"hfv{number}-{self.suffix}",
            address=address,
            models_dir=self.folder / f"models-host{number}",
        )
        host.models_dir.mkdir()
        ip("netns", "add", host.namespace)
        self.hosts.append(host)
        # The namespace's end is born inside it, as eth0: no name clashes in the root.
        peer = ("peer", "name", "eth0", "netns", host.namespace)
        ip("link", "add", host.veth, "type", "veth", *peer)
        ip("link", "set", host.veth, "master", self.bridge)
        ip("link", "set", host.veth, "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("-n", host.namespace, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")

    # Faults.

    def cut(self, host: Host) -> None:
        """The host loses the network: its link goes down."""
        ip("link", "set", host.veth, "down")

    def restore(self, host: Host) -> None:
        ip("link", "set", host.veth, "up")

    # Services on the server host.

    def start_redis(self) -> PrivateRedis:
        self.redis = PrivateRedis(self.server_address)
        self.redis.start()
        return self.redis

    def start_postgres(self) -> PrivatePostgres:
        self.postgres = PrivatePostgres(self.server_address, str(self.subnet))
        self.postgres.create()
        return self.postgres

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process of this topology: its Redis, its PostgreSQL."""
        env = dict(
            os.environ,
            REDIS_URL=self.redis.url,
            DATABASE_URL=self.postgres.url,
            PYTHONUNBUFFERED="1",
            HOMEFIRE_WORKER_TIMEOUT=WORKER_TIMEOUT,
            HOMEFIRE_WORKER_HEARTBEAT=WORKER_HEARTBEAT,
        )
        env.pop("HOMEFIRE_TEST_DB", None)
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 300, **env: str) -> str:
        """Run a manage.py command on the server host; its output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def spawn(self, args: list[str], log_name: str, host: Host | None = None, **env) -> Process:
        process = Process(args, self.log_dir / log_name, self.env(**env), host)
        (host.processes if host else self.server_processes).append(process)
        return process

    def start_server(self, **env: str) -> str:
        """Daphne on the server's address, as `make up` runs it; its base URL."""
        port = free_port()
        self.spawn(
            services_up.server_command(self.server_address, port),
            "server.log",
            ALLOWED_HOSTS=self.server_address,
            **env,
        )
        _wait_port(self.server_address, port)
        self.server_url = f"http://{self.server_address}:{port}"
        return self.server_url

    def start_housekeeping(self) -> Process:
        """The schedule that ends what lost workers leave behind (the reaper)."""
        schedule = self.log_dir / "housekeeping.schedule"
        args = ["manage.py", "housekeeping", "--loglevel", "WARNING", "--schedule", str(schedule)]
        return self.spawn([sys.executable, *args], "housekeeping.log")

    def start_worker(self, host: Host, slug: str, token: str, **env: str) -> Process:
        """`manage.py worker` inside the host's namespace, with an empty models folder."""
        args = [sys.executable, "manage.py", "worker", "--model", slug, "--threads", "1"]
        return self.spawn(
            [*args, "--loglevel", "WARNING"],
            f"worker-{host.namespace}-{len(host.processes)}.log",
            host,
            HOMEFIRE_SERVER_URL=self.server_url,
            HOMEFIRE_WORKER_TOKEN=token,
            HOMEFIRE_MODELS_DIR=str(host.models_dir),
            **env,
        )

    def beat_of(self, process: Process) -> dict | None:
        """The worker's last heartbeat in Redis, or None."""
        conn = self.redis.client()
        names = [n.decode() for n in conn.smembers("homefire:workers")]
        for name in names:
            if name.endswith(f":{process.pid}"):
                raw = conn.get(f"homefire:worker:{name}")
                return {"name": name, **json.loads(raw)} if raw else None
        return None

    def describe(self) -> str:
        lines = [
            f"multi-host topology {self.suffix} ({self.subnet}):",
            f"  server host: root namespace, bridge {self.bridge}, {self.server_address}",
        ]
        if self.redis:
            lines.append(f"    redis-server (password) {self.server_address}:{self.redis.port}")
        if self.postgres:
            lines.append(
                f"    PostgreSQL {PG_BIN.parts[-2]} (own cluster {self.postgres.data}) "
                f"{self.server_address}:{self.postgres.port}"
            )
        for process in self.server_processes:
            lines.append(f"    pid {process.pid}: {_shown(process.args)}")
        for host in self.hosts:
            lines.append(
                f"  {host.name}: namespace {host.namespace}, eth0 {host.address} "
                f"<-> {host.veth} on {self.bridge}, models {host.models_dir}"
            )
            for process in host.processes:
                lines.append(f"    pid {process.pid}: {_shown(process.args)}")
        return "\n".join(lines)

    def close(self) -> None:
        """Stop every process, remove the namespaces and links, stop Redis and PostgreSQL."""
        for host in self.hosts:
            for process in host.processes:
                # A host whose link is down still stops: signals need no network.
                process.stop()
            _kill_namespace(host.namespace)
            subprocess.run(["ip", "link", "del", host.veth], capture_output=True)
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        for process in self.server_processes:
            process.stop()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.close()


def _shown(args: list[str]) -> str:
    return " ".join(Path(a).name if a == sys.executable else a for a in args)


def _kill_namespace(namespace: str) -> None:
    """Kill whatever still runs in the namespace (a worker's children, a stray process)."""
    found = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    for pid in found.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def _free_subnet() -> ipaddress.IPv4Network:
    """The first /28 of NETWORK that no address on this machine falls in."""
    shown = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    used = [ipaddress.ip_interface(word) for word in shown.split() if word.count(".") == 3]
    for subnet in NETWORK.subnets(new_prefix=28):
        if not any(address.ip in subnet for address in used if "/" in str(address)):
            return subnet
    raise RuntimeError(f"every /28 of {NETWORK} is in use on this machine")

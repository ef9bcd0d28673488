"""The topology itself: side-by-side runs do not clash, and nothing is left behind."""

import subprocess

import pytest

from tests.multihost import topology
from tests.multihost.topology import Topology, unavailable

pytestmark = pytest.mark.multihost


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_without_root_it_says_why(monkeypatch):
    monkeypatch.setattr(topology.os, "geteuid", lambda: 1000)
    assert "need root" in unavailable()


def test_two_runs_side_by_side_take_their_own_names_and_addresses(tmp_path):
    if reason := unavailable():
        pytest.skip(f"multi-host tests need network namespaces: {reason}")
    first, second = Topology(tmp_path / "a"), Topology(tmp_path / "b")
    for made in (first, second):
        made.folder.mkdir()
    try:
        first.build()
        second.build()
        assert first.subnet != second.subnet
        assert first.server_address != second.server_address
        for made in (first, second):
            assert made.subnet.subnet_of(topology.NETWORK)
            for host in made.hosts:
                assert host.namespace in _namespaces() and host.veth in _links()
                # The host reaches the server's address over its link, and not once cut.
                assert _reaches(host.namespace, made.server_address)
                made.cut(host)
                assert not _reaches(host.namespace, made.server_address)
                made.restore(host)
    finally:
        first.close()
        second.close()
    for made in (first, second):
        assert made.bridge not in _links()
        for host in made.hosts:
            assert host.namespace not in _namespaces() and host.veth not in _links()


def _reaches(namespace: str, address: str) -> bool:
    """A TCP connection attempt from the namespace: refused (nothing listens) means the
    address answered; a timeout means it is out of reach."""
    code = (
        "import socket, sys\n"
        "s = socket.socket(); s.settimeout(1.5)\n"
        f"try: s.connect(({address!r}, 9))\n"
        "except ConnectionRefusedError: sys.exit(0)\n"
        "except OSError: sys.exit(1)\n"
    )
    run = subprocess.run(["ip", "netns", "exec", namespace, "python3", "-c", code], timeout=30)
    return run.returncode == 0

"""The multi-host topology, built once for the module's faults and removed afterwards.

The topology and each fault's tally are printed as they happen (`-s`) and again in the
summary at the end of the run.
"""

import tempfile
from pathlib import Path

import pytest

from tests import summary
from tests.multihost.cluster import Cluster
from tests.multihost.topology import Topology, unavailable


def report(line: str) -> None:
    """Print a line now and keep it for the run's summary."""
    summary.report("multi-host topology and faults", line)


@pytest.fixture(scope="module")
def cluster():
    if reason := unavailable():
        pytest.skip(f"multi-host tests need network namespaces: {reason}")
    with tempfile.TemporaryDirectory(prefix="hf-multihost-") as folder:
        topology = Topology(Path(folder))
        made = None
        try:
            topology.build()
            made = Cluster(topology)
            report(topology.describe())
            yield made
        finally:
            if made is not None:
                made.close()
            topology.close()

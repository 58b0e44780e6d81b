"""The committed sample logs are what `lab record-samples` records today."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import netlogs
from labstack.cli import samples

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = DATA / "sample_cloudtrail"
NETWORK = DATA / "sample_network"


@pytest.mark.stack
def test_samples_are_in_sync_with_the_recorder(tmp_path):
    written = samples.record(tmp_path / SAMPLES.name, tmp_path / NETWORK.name)
    for committed_root, pattern in ((SAMPLES, "*.json.gz"), (NETWORK, "*.log.gz")):
        root = tmp_path / committed_root.name
        fresh = {p.relative_to(root): p.read_bytes() for p in written if p.is_relative_to(root)}
        committed = {
            p.relative_to(committed_root): p.read_bytes() for p in committed_root.rglob(pattern)
        }
        assert fresh.keys() == committed.keys(), "re-record with `make samples`"
        changed = [str(k) for k in fresh if fresh[k] != committed[k]]
        assert not changed, f"re-record with `make samples`; differs: {changed}"


def test_the_network_samples_are_the_scenarios_that_imply_traffic():
    assert sorted(p.name for p in NETWORK.iterdir() if p.is_dir()) == sorted(
        samples.NETWORK_SCENARIOS
    )
    for name in samples.NETWORK_SCENARIOS:
        traffic = netlogs.read_logs(NETWORK / name)  # every line parses
        assert traffic.flows and traffic.queries

"""The committed sample logs are what `lab record-samples` records today."""

from __future__ import annotations

from pathlib import Path

import pytest

from labstack.cli import samples

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "sample_cloudtrail"


@pytest.mark.stack
def test_samples_are_in_sync_with_the_recorder(tmp_path):
    written = samples.record(tmp_path / "out")
    fresh = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in written}
    committed = {p.relative_to(SAMPLES): p.read_bytes() for p in SAMPLES.rglob("*.json.gz")}
    assert fresh.keys() == committed.keys(), "re-record with `make samples`"
    changed = [str(k) for k in fresh if fresh[k] != committed[k]]
    assert not changed, f"re-record with `make samples`; differs: {changed}"

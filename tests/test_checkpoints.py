"""`lab reset --to NN`: a fresh world, wired from chapter 07 on, and bad chapter numbers named."""

from __future__ import annotations

import pytest

from helpers import detections
from labstack.cli import checkpoints
from labstack.world import World, WorldError


def test_chapters_are_the_walkthroughs_notebooks():
    found = checkpoints.chapters()
    assert found[0] == "00_setup.ipynb" and found[7] == "07_automation.ipynb"
    assert checkpoints.parse("7", found) == checkpoints.parse("07_automation", found) == 7


@pytest.mark.parametrize("value", ["99", "seven", "", "7a"])
def test_an_unknown_chapter_is_named_and_nothing_is_removed(tmp_path, value):
    world = World(tmp_path / ".lab", free_ports=True)
    (tmp_path / ".lab").mkdir()
    (tmp_path / ".lab" / "keep").write_text("state")
    with pytest.raises(WorldError, match="not a chapter"):
        checkpoints.reset_to(world, value)
    assert (tmp_path / ".lab" / "keep").exists()


@pytest.mark.stack
def test_reset_to_a_chapter_starts_afresh_wired_as_it_expects(tmp_path):
    import os

    from helpers import splunk
    from helpers.config import Settings

    world = World(tmp_path / ".lab", free_ports=True)
    environment = dict(os.environ)
    try:
        done = checkpoints.reset_to(world, "08")
        assert dict(os.environ) == environment  # the session's settings are left alone
        assert done[-1] == "open notebooks/08_enrichment.ipynb"
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in world.read_env().items()})
        saved = {s.name for s in splunk.connect(settings).saved_searches}
        assert {d.id for d in detections.load() if d.enabled} <= saved  # wired

        (world.home / "state" / "leftover").write_text("a student's muddle")
        done = checkpoints.reset_to(world, "04")
        assert "left unwired" in " ".join(done)
        assert not (world.home / "state" / "leftover").exists()
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in world.read_env().items()})
        saved = {s.name for s in splunk.connect(settings).saved_searches}
        assert not {d.id for d in detections.load()} & saved  # nothing installed
    finally:
        world.down()

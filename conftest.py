"""Test session setup shared by tests/ and the notebooks run under nbval.

The ``lab_world`` fixture starts one fresh local world per test session (``World.scratch``: free
ports bound before any service starts, in a temporary lab home) and exports its settings into
``os.environ``; notebook kernels started by nbval inherit them, so notebooks run against the same
world as the tests.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from labstack import services as registry
from labstack.world import World


class LabWorld:
    """A running local world: its home, its settings, and the ``World`` that manages it."""

    def __init__(self, world: World, settings: dict[str, str]):
        self.world = world
        self.home = world.home
        self.settings = settings

    def url(self, service: str) -> str:
        return self.world.status(registry.get(service)).url


#: The property tests explore the same examples on every run (a failure is reproducible, and a
#: green run stays green), with no per-example deadline (a shared machine is no stopwatch).
hypothesis_settings.register_profile("lab", derandomize=True, deadline=None)
hypothesis_settings.load_profile("lab")

#: Fixtures shared by several test folders.
pytest_plugins = ["tests.splunk.fixtures"]

_WORLD: list[LabWorld] = []
_STACK = ExitStack()
_SAVED_ENV: dict[str, str] = {}


def start_lab_world(home: Path) -> LabWorld:
    """Start the session's world once; later calls return the same one."""
    if _WORLD:
        return _WORLD[0]
    _SAVED_ENV.update(os.environ)
    os.environ["LAB_HOME"] = str(home)
    world = _STACK.enter_context(World.scratch(home))
    settings = world.read_env()
    os.environ.update(settings)
    from helpers.config import get_settings

    get_settings.cache_clear()
    _WORLD.append(LabWorld(world, settings))
    return _WORLD[0]


@pytest.fixture(scope="session")
def lab_world(tmp_path_factory) -> LabWorld:
    """The session's local world (started on first use, stopped when the session ends)."""
    return start_lab_world(tmp_path_factory.mktemp("lab") / ".lab")


def pytest_runtest_setup(item):
    """Notebook cells (nbval) run against the session's local world."""
    if Path(str(item.fspath)).suffix == ".ipynb" and not _WORLD:
        factory = item.config._tmp_path_factory  # the same factory tmp_path_factory uses
        start_lab_world(factory.mktemp("lab") / ".lab")


def pytest_sessionfinish(session, exitstatus):
    if _WORLD:
        _WORLD.pop()
        _STACK.close()
        os.environ.clear()
        os.environ.update(_SAVED_ENV)

"""``lab reset --to NN``: a fresh world in the state chapter NN of the walkthrough expects.

Every chapter sets up what it needs in its first cells (attacks, indexes, alerts), so a
checkpoint is a fresh world, wired as the chapter was written for: chapters 00 to 06 build the
pieces by hand and expect nothing wired (as CI runs them); from 07 on the automation server is
connected (detections -> automation, Jira -> automation, the local Slack app -> automation).
A student whose world is in a muddle (a key left disabled, a trail deleted, stray alerts) gets a
clean start at the chapter where they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from labstack.world import World, WorldError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: The first chapter that expects the automation wired.
WIRED_FROM = 7


def chapters(folder: Path = NOTEBOOKS) -> dict[int, str]:
    """``number -> notebook file name`` of the walkthrough's chapters."""
    found = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        found[int(path.name[:2])] = path.name
    return found


def parse(value: str, known: dict[int, str]) -> int:
    """A chapter number from ``7``, ``07`` or ``07_automation``; WorldError naming the known."""
    match = re.match(r"^(\d{1,2})(?:_|$)", value)
    if not match or int(match.group(1)) not in known:
        listed = ", ".join(f"{n:02d}" for n in known)
        raise WorldError(f"--to {value!r}: not a chapter of the walkthrough (chapters: {listed})")
    return int(match.group(1))


def reset_to(world: World, value: str, timeout: float = 90.0) -> list[str]:
    """Reset ``world`` and bring it up as chapter ``value`` expects; what was done."""
    known = chapters()
    number = parse(value, known)  # before anything is removed
    world.reset()
    done = [f"removed {world.home}"]
    world.up(timeout=timeout)
    done.append("started a fresh world")
    if number >= WIRED_FROM:
        from helpers.config import Settings
        from labstack.cli.wiring import wire

        env = world.read_env()  # this world's settings, leaving the process's environment alone
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
        for part, text in wire(settings).items():
            done.append(f"wired {part}: {text}")
    else:
        done.append("left unwired, as chapters before 07 expect")
    done.append(f"open notebooks/{known[number]}")
    return done

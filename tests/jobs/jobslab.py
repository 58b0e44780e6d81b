"""Small notebooks, jobs files and a fake clock for the jobs tests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

#: Parameters cell + body of the notebooks the tests run (a second is plenty for any of them).
NOTEBOOKS = {
    "ok": ('GREETING = "hello"', 'print(GREETING, "from a job")'),
    "fail": ('MESSAGE = "boom"', "raise RuntimeError(MESSAGE)"),
    "hang": (
        'PID_FILE = ""\nSECONDS = 3600',
        "import os, time\nif PID_FILE:\n    open(PID_FILE, 'w').write(str(os.getpid()))\n"
        "time.sleep(SECONDS)",
    ),
}


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook with a ``parameters``-tagged first cell, committed-style (no outputs)."""
    sources = [parameters, *cells]
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": str(i),
             "metadata": {"tags": ["parameters"]} if i == 0 else {}, "outputs": [],
             "source": source}
            for i, source in enumerate(sources)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))
    return path


def jobs_file(folder: Path, jobs: dict) -> Path:
    """``jobs.yml`` in ``folder`` with the test notebooks beside it; ``jobs`` maps a name to its
    fields, ``notebook`` being one of :data:`NOTEBOOKS` (``"ok"``) unless it is a path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (parameters, body) in NOTEBOOKS.items():
        write_notebook(folder / f"{name}.ipynb", parameters, body)
    spec = {}
    for name, fields in jobs.items():
        fields = dict(fields)
        notebook = fields.get("notebook", "ok")
        fields["notebook"] = f"{notebook}.ipynb" if notebook in NOTEBOOKS else notebook
        spec[name] = fields
    path = folder / "jobs.yml"
    path.write_text(yaml.safe_dump({"jobs": spec}, sort_keys=False))
    return path


class FakeClock:
    """A clock a test moves by hand: ``clock()`` is ``clock.now``."""

    def __init__(self, now: float = 1_767_225_600.0):  # 2026-01-01 00:00:00 UTC
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_for(check, timeout: float = 60.0, what: str = "the condition"):
    """Poll ``check()`` until it is truthy and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.2)

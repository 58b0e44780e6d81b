"""Where the lab keeps its state: the one lab-home lookup.

``$LAB_HOME`` if set, else the nearest ``.lab/`` folder at or above the working directory, else
``./.lab`` (not created here). ``lab up`` writes ``env`` there, which :mod:`helpers.config` reads.

>>> import os
>>> os.environ["LAB_HOME"] = "/tmp/example-lab"
>>> str(lab_home())
'/tmp/example-lab'
>>> del os.environ["LAB_HOME"]
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["lab_home"]


def lab_home(start: Path | None = None) -> Path:
    """The lab home directory (it may not exist yet)."""
    if os.environ.get("LAB_HOME"):
        return Path(os.environ["LAB_HOME"]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".lab").is_dir():
            return folder / ".lab"
    return here / ".lab"

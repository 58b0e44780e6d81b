"""Where the lab keeps its state: the one lab-home lookup.

``$LAB_HOME`` if set, else the nearest ``.lab/`` folder at or above the working directory, else
``./.lab`` (not created here). ``lab up`` writes ``env`` there, which :mod:`helpers.config` reads.
State holds tokens and secrets, so its folders are made with ``private_dir`` (0700) and its files
with ``write_private`` or ``private_file`` (0600, from the first byte).

>>> import os
>>> os.environ["LAB_HOME"] = "/tmp/example-lab"
>>> str(lab_home())
'/tmp/example-lab'
>>> del os.environ["LAB_HOME"]
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "lab_home", "private_dir", "private_file", "write_private"]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: The umask of the lab's service processes: what they create is their owner's only.
PRIVATE_UMASK = 0o077


def lab_home(start: Path | None = None) -> Path:
    """The lab home directory (it may not exist yet)."""
    if os.environ.get("LAB_HOME"):
        return Path(os.environ["LAB_HOME"]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".lab").is_dir():
            return folder / ".lab"
    return here / ".lab"


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can open; missing parents are made the same way.

    >>> import stat, tempfile
    >>> folder = private_dir(Path(tempfile.mkdtemp()) / "state" / "jira")
    >>> oct(stat.S_IMODE(folder.stat().st_mode)), oct(stat.S_IMODE(folder.parent.stat().st_mode))
    ('0o700', '0o700')
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        folder.chmod(PRIVATE_DIR)  # mkdir's mode is cut by the umask; this is exact
    path.chmod(PRIVATE_DIR)  # a folder from an older lab is tightened too
    return path


def private_file(path: Path) -> Path:
    """``path`` readable by its owner only, created empty when missing (for a database that a
    library then opens: SQLite gives its journal and WAL files the database's mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600 from the start (never readable by others for a
    moment, as a write and a chmod after it would be); the file is replaced atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(fd, PRIVATE_FILE)  # a leftover temporary file would keep its own mode
        out.write(text)
    os.replace(tmp, path)
    return path

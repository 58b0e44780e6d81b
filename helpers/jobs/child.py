"""``python -m helpers.jobs.child PARENT_PID PAPERMILL_ARGS...``: papermill, which dies with the
process that started it.

On Linux the child asks the kernel for SIGKILL when its parent goes (``PR_SET_PDEATHSIG``), so a
scheduler killed with ``kill -9`` leaves no notebook running: papermill goes at once and its
Jupyter kernel follows (ipykernel exits when its parent changes). Elsewhere it is plain papermill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

#: prctl(2) option: the signal this process gets when its parent thread exits.
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` exits (Linux); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent and os.getppid() != parent:  # it went before the request was made
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    die_with_parent(int(argv.pop(0)))
    os.umask(0o077)  # the executed notebook is the run's record: its owner's only
    from papermill.cli import papermill

    return papermill.main(args=argv, prog_name="papermill")


if __name__ == "__main__":
    sys.exit(main())

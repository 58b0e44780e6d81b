"""Reading a service's environment: the one check every stand-in's ``Config.from_env`` makes.

>>> require({"A": "1"}, ("A", "B"), "labstack.example")
Traceback (most recent call last):
...
SystemExit: labstack.example: missing environment variable(s): B (`lab up` sets them)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["require"]


def require(environ: Mapping[str, str], names: Iterable[str], service: str) -> None:
    """Exit with a message naming every variable of ``names`` that is unset or empty."""
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise SystemExit(
            f"{service}: missing environment variable(s): {', '.join(missing)} (`lab up` sets them)"
        )

"""Friendly checks for the exercises in ``labs/``: a pass or a hint, never a traceback.

Each exercise has one module here with what its notebook needs: ``setup`` puts the world in the
state the exercise starts from (running it again starts it afresh), the ``check_*`` functions
look at the real state (Splunk, Jira, Slack, AWS) and answer with a :class:`Result`, and
``cleanup`` puts back what the exercise changed.

A check is a function decorated with :func:`check`: it returns the text of a pass, or raises
:class:`Hint` with what is still wrong; anything else that goes wrong (the student's code
raising, a service being down) also becomes a hint. Secrets from the settings never appear in a
result.

>>> @check
... def check_answer(answer):
...     if answer != 42:
...         raise Hint("not quite: think of the meaning of life")
...     return "that is the answer"
>>> check_answer(42)
✅ that is the answer
>>> check_answer(7).passed
False
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from helpers.config import Settings, get_settings

__all__ = ["PASS", "TRY_AGAIN", "Hint", "Result", "check", "student"]

PASS = "✅"
TRY_AGAIN = "💡"
#: Secrets shorter than this are not redacted (they would blank out ordinary words).
MIN_SECRET = 6


class Hint(Exception):
    """Raised inside a check: what is still wrong, one line per problem."""

    def __init__(self, *lines: str):
        super().__init__(*lines)
        self.lines = tuple(str(line) for line in lines) or ("not yet",)


@dataclass(frozen=True)
class Result:
    """What a check found: ``passed``, and the text a person reads (``lines``)."""

    passed: bool
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        mark = PASS if self.passed else TRY_AGAIN
        first, *more = self.lines
        return "\n".join([f"{mark} {first}", *(f"   - {line}" for line in more)])

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = "#e6f4ea" if self.passed else "#fef7e0"
        body = html.escape(self.text).replace("\n", "<br>")
        return f'<div style="background:{colour};padding:.5em 1em;border-radius:4px">{body}</div>'


def student(fn: Callable, *args: Any) -> Any:
    """Call the student's ``fn``; an exception becomes a :class:`Hint` naming it."""
    try:
        return fn(*args)
    except Exception as err:
        name = getattr(fn, "__name__", "your code")
        raise Hint(f"{name}() raised {type(err).__name__}: {err}") from None


def check(fn: Callable[..., str]) -> Callable[..., Result]:
    """Make ``fn`` (returns the pass text, raises :class:`Hint`) a check that never raises."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Result:
        try:
            return _result(True, (fn(*args, **kwargs),))
        except Hint as hint:
            return _result(False, hint.lines)
        except Exception as err:
            return _result(
                False,
                (
                    f"the check could not finish: {type(err).__name__}: {err}",
                    "is the local world up? `lab status` shows each service",
                ),
            )

    return run


def _result(passed: bool, lines: tuple[str, ...]) -> Result:
    secrets = _secrets()
    return Result(passed, tuple(_redact(line, secrets) for line in lines))


def _secrets() -> list[str]:
    try:
        settings = get_settings()
    except Exception:  # unreadable settings: nothing to redact, and no reason to fail here
        return []
    values = (getattr(settings, name) for name in Settings.model_fields)
    found = [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
    return sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "•••")
    return text

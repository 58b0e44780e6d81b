"""Regexes from searches (``match``, ``replace``, ``rex``, ``regex``), compiled with the
``regex`` engine: PCRE-like syntax (``(?<name>...)``), a time limit per match, and the GIL
released while matching, so a catastrophic pattern fails its search instead of stalling the
service.

>>> compile_regex("(?<user>[a-z]+)@").search("alice@example.com").group("user")
'alice'
"""

from __future__ import annotations

import functools

import regex

from .errors import SPLError
from .limits import REGEX_SECONDS

__all__ = ["Pattern", "RegexError", "compile_regex"]

RegexError = regex.error


class Pattern:
    """A compiled search regex whose every use stops after REGEX_SECONDS (SPLError)."""

    def __init__(self, text: str, flags: int = 0):
        self.text = text
        self._compiled = regex.compile(text, flags | regex.VERSION0)
        self.groupindex = self._compiled.groupindex

    def _limit(self, fn, *args, **kwargs):
        try:
            return fn(*args, timeout=REGEX_SECONDS, concurrent=True, **kwargs)
        except TimeoutError:
            raise SPLError(
                f"The regex '{self.text}' has exceeded configured match_limit, "
                "consider raising the value in limits.conf."
            ) from None

    def search(self, text: str):
        return self._limit(self._compiled.search, text)

    def finditer(self, text: str) -> list:
        return self._limit(lambda s, **kw: list(self._compiled.finditer(s, **kw)), text)

    def sub(self, replacement: str, text: str, count: int = 0) -> str:
        return self._limit(self._compiled.sub, replacement, text, count=count)


@functools.lru_cache(maxsize=256)
def compile_regex(text: str, flags: int = 0) -> Pattern:
    """A search regex, cached (eval functions compile the same pattern for every row);
    raises ``RegexError`` (with ``.msg``) when it is not a valid regex."""
    return Pattern(text, flags)

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

__all__ = ["Pattern", "RegexError", "compile_regex", "re2_pattern"]

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


_PUNCT = set(".^$|?*+()[]{}\\/-")
_RE2_MAX_REPEAT = 1000


@functools.lru_cache(maxsize=256)
def re2_pattern(text: str, replace: bool = False) -> str | None:
    r"""``text`` as an RE2 pattern (DuckDB's regexp functions) that matches exactly what the
    ``regex`` engine matches, or None when that cannot be promised.

    Taken: literals, ``.``, classes, groups, alternation, greedy and lazy quantifiers, ``^``,
    ``\d`` (as ``\p{Nd}``, Unicode digits as in Python) and punctuation escapes; ``$`` only
    where it ends the pattern or a group (Python's ``$`` also matches before a final newline).
    Not taken: ``\w \s \b``, lookarounds, backreferences, flags, possessive quantifiers. For
    ``replace``, a pattern that could match the empty string must be anchored with ``^``
    (the two engines place repeated empty matches differently) and ``$`` is not taken.

    >>> re2_pattern("^arn:.*:trail/"), re2_pattern(r"\w+"), re2_pattern(r"(^|,)x(,|$)")
    ('^arn:.*:trail/', None, '(^|,)x(,|\\n?\\z)')
    """
    try:
        compile_regex(text)
    except RegexError:
        return None
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            escape = _escape(text[i + 1 : i + 2])
            if escape is None:
                return None
            out.append(escape)
            i += 2
            continue
        if c == "[":
            end = _class_end(text, i)
            if end is None:
                return None
            out.append(_class(text[i + 1 : end]) or "")
            if out[-1] == "":
                return None
            i = end + 1
            continue
        if c == "(":
            if text.startswith("(?:", i):
                out.append("(?:")
                i += 3
                continue
            if text.startswith("(?<", i) and text[i + 3 : i + 4] not in ("=", "!"):
                close = text.find(">", i)
                out.append("(?P<" + text[i + 3 : close] + ">")
                i = close + 1
                continue
            if text.startswith("(?P<", i):
                close = text.find(">", i)
                out.append(text[i : close + 1])
                i = close + 1
                continue
            if text.startswith("(?", i):
                return None
            out.append("(")
        elif c == "$":
            if replace or (i + 1 < n and text[i + 1] not in ")|"):
                return None
            out.append(r"\n?\z")
        elif c == "{":
            match = _REPEAT.match(text, i)
            if not match or int(max(match.groups(default="0"), key=len) or 0) > _RE2_MAX_REPEAT:
                return None
            out.append(match.group(0))
            i = match.end()
            if text[i : i + 1] == "+":
                return None
            continue
        elif c in "*+?":
            out.append(c)
            if text[i + 1 : i + 2] == "+":
                return None  # possessive: RE2 has none
        else:
            out.append(c)
        i += 1
    pattern = "".join(out)
    if replace and not text.startswith("^") and any(q in text for q in "*?{|"):
        return None
    return pattern


_REPEAT = __import__("re").compile(r"\{(\d+)(?:,(\d*))?\}")


def _class_end(text: str, start: int) -> int | None:
    i = start + 1
    if text[i : i + 1] == "^":
        i += 1
    if text[i : i + 1] == "]":
        return None
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "[":
            return None
        if text[i] == "]":
            return i
        i += 1
    return None


def _escape(char: str) -> str | None:
    """The RE2 form of ``\\`` + ``char`` where both engines agree on it (punctuation, \\t \\n
    \\r; \\d as Unicode digits, as Python's engine reads it), else None."""
    if char in _PUNCT or (char and char in "tnr"):
        return "\\" + char
    if char == "d":
        return r"\p{Nd}"
    return None


def _class(body: str) -> str | None:
    out, i = ["["], 0
    if body.startswith("^"):
        out.append("^")
        i = 1
    while i < len(body):
        c = body[i]
        if c == "\\":
            escape = _escape(body[i + 1 : i + 2])
            if escape is None:
                return None
            out.append(escape)
            i += 2
            continue
        if c in "&~|" and body[i : i + 2] in ("&&", "~~", "||", "--"):
            return None
        out.append(c)
        i += 1
    return "".join(out) + "]"

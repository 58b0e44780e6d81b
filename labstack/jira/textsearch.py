"""Jira-like text search for the ``~`` operator: words, simple stemming, phrases, prefixes.

>>> matcher('"logging stopped"')("CloudTrail logging stopped by mallory")
True
>>> matcher("bucket*")("Public S3 buckets")
True
"""

from __future__ import annotations

import re
from collections.abc import Callable

_STEM_ENDINGS = ("", "s", "es", "ed", "ing")


def words(text: str | None) -> list[str]:
    """Lower-case word tokens, split on anything that is not a letter or digit."""
    return re.findall(r"[0-9a-z]+", (text or "").lower())


def _term_matches(term: str, word: str) -> bool:
    if term.endswith("*"):
        return word.startswith(term[:-1])
    return _same_stem(term, word) or _same_stem(word, term)


def _same_stem(short: str, long: str) -> bool:
    """``long`` is ``short`` plus an English ending (stop -> stops, stopped, stopping)."""
    if not long.startswith(short):
        return False
    rest = long[len(short) :]
    return rest in _STEM_ENDINGS or (rest[:1] == short[-1:] and rest[1:] in ("ed", "ing"))


def matcher(query: str) -> Callable[[str | None], bool]:
    """Jira-like text search: every term must occur; ``"a b"`` is a phrase; ``term*`` a prefix."""
    query = query.strip()
    if len(query) >= 2 and query[0] == query[-1] == '"':
        phrase = words(query[1:-1])

        def phrase_match(text: str | None) -> bool:
            doc = words(text)
            n = len(phrase)
            return bool(n) and any(doc[i : i + n] == phrase for i in range(len(doc) - n + 1))

        return phrase_match
    terms = [t.lower() for t in re.findall(r"[0-9A-Za-z]+\*?", query)]

    def terms_match(text: str | None) -> bool:
        doc = words(text)
        return bool(terms) and all(any(_term_matches(t, w) for w in doc) for t in terms)

    return terms_match

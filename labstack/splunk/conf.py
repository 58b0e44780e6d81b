"""Splunk ``.conf`` files read as splunkd reads them.

``[stanza]`` headers; ``key = value`` lines (split at the first ``=``, both sides stripped);
``#`` comments on lines of their own; a line ending in a backslash continues the value on the
next line (the value keeps the line break). Settings before the first stanza belong to
``[default]``. A line that is none of these is an error naming the file and the line.

>>> parse("[cloudtrail]\\ndefinition = index=main \\\\\\n  sourcetype=aws:cloudtrail\\n")
{'cloudtrail': {'definition': 'index=main\\n  sourcetype=aws:cloudtrail'}}
"""

from __future__ import annotations


class ConfError(ValueError):
    """A ``.conf`` file that splunkd could not read."""


def parse(text: str, name: str = "the file") -> dict[str, dict[str, str]]:
    """``stanza -> {key: value}``; a stanza that appears twice is merged, the later key wins."""
    stanzas: dict[str, dict[str, str]] = {}
    current = "default"
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        first = number + 1
        while line.endswith("\\") and number + 1 < len(lines):
            number += 1
            line = line[:-1].rstrip() + "\n" + lines[number]
        number += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise ConfError(f"{name}, line {first}: a stanza header must end with ']'")
            current = stripped[1:-1]
            stanzas.setdefault(current, {})
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfError(f"{name}, line {first}: expected 'key = value', got {stripped[:60]!r}")
        stanzas.setdefault(current, {})[key.strip()] = value.strip()
    return stanzas

"""Search commands, one registered class each (Search Reference, "Search Commands").

A command parses its arguments when constructed (so a bad query fails before anything runs)
and implements ``sql(rel, ctx) -> Relation`` when DuckDB can do its work, ``run(rows, ctx) ->
Rows`` when Python does, or both (then ``sql`` may return None for the cases only ``run``
handles). ``generating`` commands start a search and must come first.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from ..errors import SPLError
from ..lexer import STRING, SUBSEARCH, WORD, Token, tokenize

COMMANDS: dict[str, type[Command]] = {}
TRUE_WORDS = ("true", "t", "1", "yes", "y")


def command(*names: str):
    """Register a command class under one or more names; duplicates fail loudly."""

    def register(cls):
        for name in names:
            if name in COMMANDS:
                raise ValueError(f"search command {name!r} is registered twice")
            COMMANDS[name] = cls
        return cls

    return register


class Command:
    """Base of all commands: ``self.name`` is the name the user typed (for error texts)."""

    generating = False

    def __init__(self, name: str, args: str):
        self.name = name
        self.tokens = tokenize(args)
        self.parse()

    def parse(self) -> None:
        """Read ``self.tokens``; raise ``self.error(...)`` when they do not fit."""

    def error(self, text: str) -> SPLError:
        return SPLError.in_command(self.name, text)

    def take_options(self, *names: str) -> dict[str, str]:
        """Remove ``name=value`` options (case-insensitive names) from the tokens."""
        options, rest, i = {}, [], 0
        tokens = self.tokens
        while i < len(tokens):
            t = tokens[i]
            if (
                t.kind == WORD
                and t.value.lower() in names
                and i + 1 < len(tokens)
                and tokens[i + 1].is_op("=")
            ):
                if i + 2 >= len(tokens) or tokens[i + 2].kind not in (WORD, STRING):
                    raise self.error(f"Invalid value for option '{t.value}'.")
                options[t.value.lower()] = tokens[i + 2].value
                i += 3
                continue
            rest.append(t)
            i += 1
        self.tokens = rest
        return options

    def field_names(self, tokens: list[Token] | None = None) -> list[str]:
        """Field names separated by spaces or commas."""
        names = []
        for t in self.tokens if tokens is None else tokens:
            if t.is_op(","):
                continue
            if t.is_op("=") and names:  # an option this command does not take: name it
                raise self.error(f"The argument '{names[-1]}' is invalid.")
            if t.kind not in (WORD, STRING):
                raise self.error(f"The argument '{t.value}' is invalid.")
            names.append(t.value)
        return names

    def split_keyword(self, word: str) -> tuple[list[Token], list[Token]]:
        """Tokens before and after a keyword such as ``by``."""
        for i, t in enumerate(self.tokens):
            if t.is_keyword(word):
                return self.tokens[:i], self.tokens[i + 1 :]
        return self.tokens, []

    def subsearch(self) -> str:
        found = [t for t in self.tokens if t.kind == SUBSEARCH]
        if len(found) != 1:
            raise self.error("This command requires a subsearch in square brackets.")
        self.tokens = [t for t in self.tokens if t.kind != SUBSEARCH]
        return found[0].value


def is_true(value: str) -> bool:
    return value.lower() in TRUE_WORDS


def wildcard_regex(pattern: str) -> re.Pattern:
    """A field-name pattern with ``*`` as a regex capturing each wildcard."""
    return re.compile("^" + "(.*)".join(re.escape(p) for p in pattern.split("*")) + "$")


def positive_int(cmd: Command, text: str) -> int:
    if not text.isdigit():
        raise cmd.error(f"Invalid argument: '{text}'. It must be a non-negative integer.")
    return int(text)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["COMMANDS", "Command", "command", "is_true", "positive_int", "wildcard_regex"]

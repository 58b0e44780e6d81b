"""Splitting a search into commands, and command arguments into tokens.

>>> [c.name for c in split_pipeline("search a=1 | stats count")]
['search', 'stats']
>>> [t.value for t in tokenize('a!="x y" (b IN (1, 2))')]
['a', '!=', 'x y', '(', 'b', 'IN', '(', '1', ',', '2', ')', ')']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SPLError

WORD, STRING, OP, SUBSEARCH = "word", "string", "op", "subsearch"
_OPERATORS = ("!=", "<=", ">=", "==", "=", "<", ">", "(", ")", ",")
_WORD_END = set(' \t\r\n()=<>,"[]')


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    pos: int

    def is_op(self, *values: str) -> bool:
        return self.kind == OP and self.value in values

    def is_keyword(self, *words: str) -> bool:
        """Case-insensitive keyword test (``by``, ``as``, ``OUTPUT``), never for quoted text."""
        return self.kind == WORD and self.value.lower() in words


@dataclass(frozen=True)
class CommandText:
    name: str
    args: str
    pos: int


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a double-quoted string at ``start``; return its value and the index after it."""
    out, i = [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise SPLError("Unbalanced quotes.")


def _matching_bracket(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            _, i = read_quoted(text, i)
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise SPLError("Error in 'SearchParser': Missing a closing ']' for a subsearch.")


def tokenize(text: str) -> list[Token]:
    """Tokens of a command's arguments: words, quoted strings, operators and subsearches."""
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            value, end = read_quoted(text, i)
            tokens.append(Token(STRING, value, i))
            i = end
        elif ch == "[":
            end = _matching_bracket(text, i)
            tokens.append(Token(SUBSEARCH, text[i + 1 : end].strip(), i))
            i = end + 1
        elif ch == "]":
            raise SPLError("Error in 'SearchParser': Mismatched ']'.")
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token(OP, op, i))
            i += len(op)
        else:
            start = i
            while i < len(text) and text[i] not in _WORD_END and not text.startswith("!=", i):
                i += 1
            tokens.append(Token(WORD, text[start:i], start))
    return tokens


def split_pipeline(text: str) -> list[CommandText]:
    """Split at top-level pipes (not inside quotes or subsearches) into named commands."""
    parts, start, i = [], 0, 0
    while i <= len(text):
        if i == len(text) or text[i] == "|":
            parts.append((text[start:i], start))
            start = i + 1
        elif text[i] == '"':
            i = read_quoted(text, i)[1]
            continue
        elif text[i] == "[":
            i = _matching_bracket(text, i)
        elif text[i] == "]":
            raise SPLError("Error in 'SearchParser': Mismatched ']'.")
        i += 1
    commands = []
    for segment, pos in parts:
        match = re.match(r"\s*([^\s=(\[\]\"<>!]+)", segment)
        if not match:
            raise SPLError(
                f"Error in 'SearchParser': Missing a search command before '|'. "
                f"Error at position '{pos}' of search query '{text}'."
            )
        name = match.group(1)
        commands.append(CommandText(name.lower(), segment[match.end() :].strip(), pos))
    return commands

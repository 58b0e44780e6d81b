"""JQL syntax: tokens, the syntax tree, and a recursive-descent parser with Jira's messages.

>>> where, order = parse("labels = aws ORDER BY created DESC")
>>> where.name, where.op, [v.text for v in where.values], order
('labels', '=', ['aws'], [('created', True, 22)])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PREFIX = "Error in the JQL Query: "
_VALID_OPS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)
_HISTORY = {"was", "changed"}
_RESERVED = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
#: Parentheses and NOTs nested deeper than this are refused (the parser recurses per level).
MAX_NESTING = 100


class JqlError(ValueError):
    """A query Jira would reject with 400; ``str(err)`` is Jira's message."""


# -- tokens ----------------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # word | string | op | ( | ) | , | end
    text: str
    pos: int  # 0-based offset in the query

    @property
    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" else None


_OPS = ("!=", "<=", ">=", "!~", "&&", "||", "=", "<", ">", "~", "!")
_WORD = re.compile(r"[^\s=!<>~(),\"'&|]+")


def _where(query: str, pos: int) -> str:
    line = query.count("\n", 0, pos) + 1
    col = pos - (query.rfind("\n", 0, pos) + 1) + 1
    return f"(line {line}, character {col})"


def tokenize(query: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(Token(ch, ch, i))
            i += 1
        elif ch in "\"'":
            j, out = i + 1, []
            while j < len(query) and query[j] != ch:
                if query[j] == "\\" and j + 1 < len(query):
                    j += 1
                out.append(query[j])
                j += 1
            if j >= len(query):
                raise JqlError(
                    f"{PREFIX}The quoted string '{query[i + 1 :]}' has not been completed. "
                    + _where(query, i)
                )
            tokens.append(Token("string", "".join(out), i))
            i = j + 1
        else:
            op = next((o for o in _OPS if query.startswith(o, i)), None)
            if op:
                kind = {"&&": "word", "||": "word", "!": "word"}.get(op, "op")
                text = {"&&": "AND", "||": "OR", "!": "NOT"}.get(op, op)
                tokens.append(Token(kind, text, i))
                i += len(op)
                continue
            match = _WORD.match(query, i)
            if not match:
                raise JqlError(
                    f"{PREFIX}The character '{ch}' is a reserved JQL character. You must enclose "
                    f"it in a string or use the escape '\\u{ord(ch):04x}' instead. "
                    + _where(query, i)
                )
            tokens.append(Token("word", match.group(), i))
            i = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


# -- syntax tree -----------------------------------------------------------------------------------


@dataclass
class Value:
    text: str
    function: bool = False
    args: list[str] = field(default_factory=list)
    quoted: bool = False


@dataclass
class Clause:
    name: str
    op: str
    values: list[Value]  # empty for IS [NOT] EMPTY
    pos: int


@dataclass
class Node:
    kind: str  # and | or | not
    children: list


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: Token | None = None) -> JqlError:
        tok = tok or self.tok
        return JqlError(f"{PREFIX}{message} {_where(self.query, tok.pos)}")

    def parse(self):
        where = None
        if self.tok.kind != "end" and self.tok.keyword != "order":
            where = self.or_expr()
        order = []
        if self.tok.keyword == "order":
            self.take()
            if self.tok.keyword != "by":
                raise self.fail(f"Expecting 'by' but got '{self.tok.text}'.")
            self.take()
            order = self.sort_list()
        if self.tok.kind != "end":
            if self.tok.kind == ")":
                raise self.fail("Expecting either 'OR' or 'AND' but got ')'.")
            raise self.fail(f"Expecting either 'OR' or 'AND' but got '{self.tok.text}'.")
        return where, order

    def or_expr(self):
        parts = [self.and_expr()]
        while self.tok.keyword == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Node("or", parts)

    def and_expr(self):
        parts = [self.not_expr()]
        while self.tok.keyword == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else Node("and", parts)

    def not_expr(self):
        if self.tok.kind == "(" or self.tok.keyword == "not":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail(f"The query is nested deeper than {MAX_NESTING} levels.")
            try:
                return self.nested()
            finally:
                self.depth -= 1
        return self.clause()

    def nested(self):
        """``NOT x`` or ``( ... )``."""
        if self.take().kind != "(":
            return Node("not", [self.not_expr()])
        inner = self.or_expr()
        if self.tok.kind != ")":
            if self.tok.kind == "end":
                raise self.fail("Expecting ')' before the end of the query.")
            raise self.fail(f"Expecting ')' but got '{self.tok.text}'.")
        self.take()
        return inner

    def field_name(self) -> Token:
        tok = self.tok
        if tok.kind == "end":
            raise self.fail("Expecting a field name at the end of the query.")
        if tok.kind not in ("word", "string") or (tok.keyword in _RESERVED and tok.kind == "word"):
            raise self.fail(
                f"Expecting a field name but got '{tok.text}'. You must surround '{tok.text}' in "
                "quotation marks to use it as a field name."
            )
        return self.take()

    def clause(self) -> Clause:
        name = self.field_name()
        op_tok = self.tok
        if op_tok.kind == "op":
            op = self.take().text
        elif op_tok.keyword == "in":
            self.take()
            op = "IN"
        elif op_tok.keyword == "not" and self.tokens[self.i + 1].keyword == "in":
            self.i += 2
            op = "NOT IN"
        elif op_tok.keyword == "is":
            self.take()
            op = "IS"
            if self.tok.keyword == "not":
                self.take()
                op = "IS NOT"
        elif op_tok.kind == "end":
            raise self.fail(f"Expecting operator before the end of the query. {_VALID_OPS}")
        elif op_tok.keyword in _HISTORY:
            raise JqlError(
                f"The history operator '{op_tok.text.upper()}' is not supported by the lab's Jira "
                "(it keeps no field history for search). Use the current value instead."
            )
        else:
            raise self.fail(f"Expecting operator but got '{op_tok.text}'. {_VALID_OPS}")
        if op in ("IS", "IS NOT"):
            if self.tok.keyword not in ("empty", "null"):
                raise self.fail(
                    f"Expecting 'EMPTY' or 'NULL' but got '{self.tok.text}'."
                    if self.tok.kind != "end"
                    else "Expecting 'EMPTY' or 'NULL' before the end of the query."
                )
            self.take()
            return Clause(name.text, op, [], name.pos)
        if op in ("IN", "NOT IN"):
            if self.tok.kind == "(":
                self.take()
                values = [self.value()]
                while self.tok.kind == ",":
                    self.take()
                    values.append(self.value())
                if self.tok.kind != ")":
                    if self.tok.kind == "end":
                        raise self.fail("Expecting ')' before the end of the query.")
                    raise self.fail(f"Expecting ',' or ')' but got '{self.tok.text}'.")
                self.take()
                return Clause(name.text, op, values, name.pos)
            value = self.value()
            if not value.function:
                raise self.fail("Expecting '(' or a function for the IN operator.")
            return Clause(name.text, op, [value], name.pos)
        return Clause(name.text, op, [self.value()], name.pos)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Value(tok.text, quoted=True)
        if tok.kind == "word" and tok.keyword not in _RESERVED:
            self.take()
            if self.tok.kind == "(":
                self.take()
                args = []
                while self.tok.kind in ("word", "string"):
                    args.append(self.take().text)
                    if self.tok.kind == ",":
                        self.take()
                if self.tok.kind != ")":
                    raise self.fail(f"Expecting ')' but got '{self.tok.text}'.")
                self.take()
                return Value(tok.text, function=True, args=args)
            return Value(tok.text)
        if tok.kind == "end":
            raise self.fail(
                "Expecting either a value, list or function before the end of the query."
            )
        raise self.fail(
            f"Expecting either a value, list or function but got '{tok.text}'. You must surround "
            f"'{tok.text}' in quotation marks to use it as a value."
        )

    def sort_list(self) -> list[tuple[str, bool, int]]:
        items = []
        while True:
            name = self.field_name()
            desc = False
            if self.tok.keyword in ("asc", "desc"):
                desc = self.take().keyword == "desc"
            items.append((name.text, desc, name.pos))
            if self.tok.kind != ",":
                return items
            self.take()


def parse(query: str):
    """``(where, order)``: the condition's tree (or None) and ``(field, desc, pos)`` items."""
    return _Parser(query or "").parse()

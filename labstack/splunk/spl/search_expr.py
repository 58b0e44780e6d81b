"""Search expressions (the ``search`` command's language) parsed and compiled to DuckDB SQL.

Splunk's precedence: ``NOT`` binds tightest, then ``OR``, then AND (explicit or implied by a
space). Values compare case-insensitively with ``*`` wildcards; a multivalue field matches when
any of its values does; ``field!=v`` needs the field to exist while ``NOT field=v`` does not.

>>> parse_search("a=1 b OR NOT c")
And([Compare('a', '=', '1'), Or([Term('b'), Not(Term('c'))])])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SPLError
from .lexer import OP, STRING, SUBSEARCH, WORD, Token, tokenize
from .relation import LIST, NUM, STR, Context, Relation, Rows
from .sql import ilike, is_number, lit
from .timeutil import parse_time

TIME_TERMS = ("earliest", "latest")
COMPARATORS = ("=", "==", "!=", "<", "<=", ">", ">=")


def _fail(text: str) -> SPLError:
    return SPLError.in_command("search", f"Unable to parse the search: {text}")


@dataclass(repr=False)
class Term:
    text: str

    def __repr__(self) -> str:
        return f"Term({self.text!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        if self.text.strip("*") == "":
            return "TRUE"
        if "_raw" in rel.kinds:
            parts = [re.escape(p) for p in self.text.lower().split("*")]
            left = "" if self.text.startswith("*") else "(^|[^a-z0-9])"
            right = "" if self.text.endswith("*") else "([^a-z0-9]|$)"
            regex = "(?i)" + left + ".*".join(parts) + right
            return f"regexp_matches(_raw, {lit(regex)})"
        test = ilike(f"*{self.text}*")
        texts = [rel.text(n) for n in rel.kinds if not n.startswith("__")]
        return "(" + " OR ".join(f"{t} {test}" for t in texts) + ")" if texts else "FALSE"


@dataclass(repr=False)
class Compare:
    field: str
    op: str
    value: str

    def __repr__(self) -> str:
        return f"Compare({self.field!r}, {self.op!r}, {self.value!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        if self.field.lower() in TIME_TERMS and self.op == "=":
            bound = parse_time(self.value, ctx.now)
            return f"_time {'>=' if self.field.lower() == 'earliest' else '<'} {bound!r}"
        expr, kind = rel.field(self.field)
        if kind == LIST:
            positive = Compare(self.field, "=", self.value) if self.op == "!=" else self
            test = positive._test("v", "str")
            has = f"coalesce(list_bool_or(list_transform({expr}, lambda v: {test})), FALSE)"
            return f"(len({expr}) > 0 AND NOT {has})" if self.op == "!=" else has
        return self._test(expr, kind)

    def _test(self, expr: str, kind: str) -> str:
        op, value = ("=" if self.op == "==" else self.op), self.value
        if op in ("=", "!="):
            if value == "*":
                return f"({expr} IS NOT NULL)" if op == "=" else "FALSE"
            if kind == NUM and is_number(value):
                match = f"({expr} = {float(value)!r})"
            else:
                text = f"spl_num({expr})" if kind == NUM else expr
                match = f"({text} {ilike(value)})"
            return match if op == "=" else f"({expr} IS NOT NULL AND NOT {match})"
        if is_number(value):
            number = expr if kind == NUM else f"TRY_CAST({expr} AS DOUBLE)"
            return f"({number} {op} {float(value)!r})"
        text = f"spl_num({expr})" if kind == NUM else expr
        return f"({text} {op} {lit(value)})"


@dataclass(repr=False)
class In:
    """``field IN (a, b*)``: one case-insensitive regular expression, so the field is read once."""

    field: str
    values: list[str]

    def __repr__(self) -> str:
        return f"In({self.field!r}, {self.values!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        expr, kind = rel.field(self.field)
        if kind != STR or "*" in self.values:
            return Or([Compare(self.field, "=", v) for v in self.values]).sql(rel, ctx)
        options = "|".join(".*".join(_regex_escape(p) for p in v.split("*")) for v in self.values)
        return f"coalesce(regexp_full_match({expr}, {lit(f'(?is)(?:{options})')}), FALSE)"


def _regex_escape(text: str) -> str:
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)


@dataclass(repr=False)
class Not:
    item: object

    def __repr__(self) -> str:
        return f"Not({self.item!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        return f"(NOT coalesce({self.item.sql(rel, ctx)}, FALSE))"


@dataclass(repr=False)
class And:
    items: list

    def __repr__(self) -> str:
        return f"And({self.items!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        return "(" + " AND ".join(i.sql(rel, ctx) for i in self.items) + ")"


@dataclass(repr=False)
class Or:
    items: list

    def __repr__(self) -> str:
        return f"Or({self.items!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        return "(" + " OR ".join(i.sql(rel, ctx) for i in self.items) + ")"


@dataclass(repr=False)
class Subsearch:
    text: str

    def __repr__(self) -> str:
        return f"Subsearch({self.text!r})"

    def sql(self, rel: Relation, ctx: Context) -> str:
        return rows_as_search(ctx.run_subsearch(self.text)).sql(rel, ctx)


def rows_as_search(rows: Rows):
    """A subsearch's rows as a filter, as Splunk's ``format`` writes it: OR of ANDed fields.

    A field named ``search`` or ``query`` is inserted as search text. No rows match nothing.
    """
    alternatives = []
    for row in rows.rows:
        parts = []
        for name, value in row.items():
            if name.startswith("_"):
                continue
            values = value if isinstance(value, list) else [value]
            if name in ("search", "query"):
                parts.extend(parse_search(str(v)) for v in values)
            else:
                parts.append(Or([Compare(name, "=", str(v)) for v in values]))
        if parts:
            alternatives.append(And(parts))
    return Or(alternatives) if alternatives else Nothing()


class Nothing:
    """The filter that matches no event (an empty subsearch or ``IN ()``)."""

    def sql(self, rel: Relation, ctx: Context) -> str:
        return "FALSE"


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens, self.i = tokens, 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def is_word(self, token: Token | None, word: str) -> bool:
        return token is not None and token.kind == WORD and token.value == word

    def conjunction(self, closing: bool = False):
        items = []
        while (t := self.peek()) is not None and not t.is_op(")"):
            if self.is_word(t, "AND"):
                self.take()
                continue
            items.append(self.disjunction())
        if closing and self.peek() is None:
            raise _fail("Unbalanced parentheses.")
        if not closing and self.peek() is not None:
            raise _fail("Unbalanced parentheses.")
        if not items:
            return Term("*") if not closing else And([])
        return items[0] if len(items) == 1 else And(items)

    def disjunction(self):
        items = [self.negation()]
        while self.is_word(self.peek(), "OR"):
            self.take()
            if self.peek() is None or self.peek().is_op(")"):
                raise _fail("Missing a term after 'OR'.")
            items.append(self.negation())
        return items[0] if len(items) == 1 else Or(items)

    def negation(self):
        if self.is_word(self.peek(), "NOT"):
            self.take()
            if self.peek() is None:
                raise _fail("Missing a term after 'NOT'.")
            return Not(self.negation())
        return self.primary()

    def primary(self):
        token = self.take()
        if token.is_op("("):
            inner = self.conjunction(closing=True)
            self.take()
            return inner
        if token.kind == SUBSEARCH:
            return Subsearch(token.value)
        if token.kind == OP and token.value in COMPARATORS:
            raise _fail(f"Comparator '{token.value}' is missing a term on the left hand side.")
        if token.kind == OP:
            raise _fail(f"Unexpected '{token.value}'.")
        following = self.peek()
        touching = following is not None and following.pos == token.pos + len(token.value)
        if token.kind == WORD and touching and following.is_op("("):
            return self.directive(token.value)
        if token.kind == WORD and following is not None and following.is_op(*COMPARATORS):
            if "*" in token.value:
                raise _fail(f"Wildcards in field names ('{token.value}') are not supported here.")
            self.take()
            value = self.take() if self.peek() is not None else None
            if value is None or value.kind not in (WORD, STRING):
                raise _fail(
                    f"Comparator '{following.value}' is missing a term on the right hand side."
                )
            return Compare(token.value, following.value, value.value)
        after = self.peek(1)
        is_in = following is not None and following.is_keyword("in")
        if token.kind == WORD and is_in and after is not None and after.is_op("("):
            self.i += 2
            return self.in_list(token.value)
        return Term(token.value)

    def directive(self, name: str):
        """``TERM(x)``: x as one term (our terms already match whole segments)."""
        self.take()
        inner = self.take() if self.peek() is not None else None
        closing = self.take() if self.peek() is not None else None
        if name.upper() != "TERM":
            raise _fail(f"'{name}(...)' is not supported here.")
        if (
            inner is None
            or inner.kind not in (WORD, STRING)
            or closing is None
            or not closing.is_op(")")
        ):
            raise _fail("TERM() takes one term.")
        return Term(inner.value)

    def in_list(self, name: str):
        values = []
        while (t := self.take()) is not None and not t.is_op(")"):
            if t.is_op(","):
                continue
            if t.kind not in (WORD, STRING):
                raise _fail("Right hand side of IN must be a collection of literals.")
            values.append(t.value)
        if t is None:
            raise _fail("Unbalanced parentheses.")
        return In(name, values) if values else Nothing()


def parse_search(text: str):
    """Parse search-language text into an expression tree (``Term``, ``Compare``, ``And``...)."""
    return _Parser(tokenize(text)).conjunction()


def mentions(node, field: str) -> bool:
    """Whether the expression constrains ``field`` (e.g. ``index``) anywhere."""
    if isinstance(node, Compare | In):
        return node.field.lower() == field
    items = getattr(node, "items", None) or ([node.item] if isinstance(node, Not) else [])
    return any(mentions(i, field) for i in items)

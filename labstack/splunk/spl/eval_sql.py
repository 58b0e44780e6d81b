"""Eval expressions as DuckDB SQL, when SQL can give exactly the Python path's answer.

:func:`to_sql` turns a parsed expression (:class:`~.eval_expr.Node`) into SQL over a relation's
columns, or raises :class:`NoSQL` and the command keeps its Python path. Every SQL value has a
kind that says what the Python path would hold:

- ``num``: a number (DOUBLE); ``str``: text; ``list``: a multivalue (VARCHAR[], never empty);
- ``bool``: a comparison's or a function's truth value (never assigned to a field);
- ``mixed``: text that the Python path may hold as a number (``if(c, 1, "a")``): it prints and
  compares the same, but ``+`` and truth differ, so those stay in Python;
- ``null``: the literal null (``null()``).

Splunk's weak typing is written out: a comparison is numeric when both sides read as numbers
(:data:`~.functions.NUMBER`), else textual; a multivalue compares true when any value does;
``+`` adds numbers and joins text. Regular expressions go to DuckDB's RE2 only when
:func:`~.regexes.re2_pattern` finds them RE2-safe (else the Python ``regex`` engine and its time
limit stay in charge); ``cidrmatch`` and case mapping of non-ASCII text call the Python
functions from SQL (:func:`~.sql.register_functions`), so even those agree.

>>> from .eval_expr import parse_eval
>>> from .relation import Relation
>>> rel = Relation("SELECT 'a' AS x", {"x": "str"}, "")
>>> print(to_sql(parse_eval("coalesce(y, x) . \\"!\\""), rel, None).sql)
(coalesce(NULL, "x") || '!')
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .eval_expr import Node, fields_of
from .fields import json_path
from .functions import as_number, compare, like_regex, truth
from .regexes import re2_pattern
from .relation import LIST, NUM, STR, Relation, to_text
from .sql import lit

__all__ = ["BOOL", "MIXED", "NULL", "Expr", "NoSQL", "to_sql"]

BOOL, MIXED, NULL = "bool", "mixed", "null"
_OPS = {"=": "=", "==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MISSING = object()
#: Integers SQL's DOUBLE holds exactly (the Python path keeps integers exact beyond).
EXACT = 2**53
_lambdas = itertools.count()


class NoSQL(Exception):
    """This expression (or this use of it) needs the Python path."""


@dataclass(frozen=True)
class Expr:
    sql: str
    kind: str
    const: Any = _MISSING  # the Python value, for literals
    ipv4: str | None = None  # a column holding the value as an IPv4 number (bind_fields)

    @property
    def is_const(self) -> bool:
        return self.const is not _MISSING


def _null(kind: str = NULL) -> Expr:
    return Expr("NULL", kind, None)


def _literal(value: Any) -> Expr:
    if isinstance(value, bool):
        return Expr("TRUE" if value else "FALSE", BOOL, value)
    if value is None:
        return _null()
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > EXACT:
            raise NoSQL
        return Expr(f"CAST({float(value)!r} AS DOUBLE)", NUM, value)
    return Expr(lit(value), STR, value)


def text(e: Expr) -> str:
    """The value as Python's ``to_text`` writes it (VARCHAR)."""
    if e.is_const:
        return "NULL" if e.const is None else lit(to_text(e.const))
    if e.kind == NUM:
        return f"spl_text({e.sql})"
    if e.kind in (STR, MIXED, NULL):
        return e.sql
    if e.kind == BOOL:
        return f"(CASE WHEN {e.sql} THEN 'true' WHEN NOT {e.sql} THEN 'false' END)"
    raise NoSQL


def number(e: Expr) -> str:
    """The value as Python's ``as_number`` reads it (DOUBLE or NULL)."""
    if e.is_const:
        n = as_number(e.const)
        return "CAST(NULL AS DOUBLE)" if n is None else _literal(n).sql
    if e.kind == NUM:
        return e.sql
    if e.kind in (STR, MIXED):
        return f"spl_tonum({e.sql})"
    return "CAST(NULL AS DOUBLE)"


def truth_sql(e: Expr) -> str:
    """Python's ``truth`` (BOOLEAN or NULL)."""
    if e.is_const:
        t = truth(e.const)
        return "CAST(NULL AS BOOLEAN)" if t is None else ("TRUE" if t else "FALSE")
    if e.kind == BOOL:
        return e.sql
    if e.kind == NUM:
        return f"({e.sql} <> 0)"
    if e.kind == STR:
        return f"({e.sql} <> '')"
    if e.kind == LIST:
        return f"(CASE WHEN {e.sql} IS NULL THEN NULL ELSE TRUE END)"
    if e.kind == NULL:
        return "CAST(NULL AS BOOLEAN)"
    raise NoSQL


def _unify(values: list[Expr]) -> tuple[str, list[str]]:
    """One kind for values that may each be the result (if, case, coalesce) and their SQL."""
    kinds = {v.kind for v in values} - {NULL}
    if not kinds:
        return NULL, ["NULL" for _ in values]
    if len(kinds) == 1:
        (kind,) = kinds
        return kind, [v.sql for v in values]
    if kinds <= {NUM, STR, MIXED}:
        return MIXED, [text(v) for v in values]
    raise NoSQL


def field_sql(rel: Relation, name: str) -> Expr:
    """A field as the Python path sees it after ``materialize``: JSON objects and arrays are
    not field values, a multivalue field without values is null."""
    expr, kind = rel.field(name)
    if name in rel.kinds or not rel.events:
        if kind == NUM:
            return Expr(f"CAST({expr} AS DOUBLE)", NUM)
        return Expr(expr, kind if kind in (STR, LIST) else STR)
    path = lit(json_path(name))
    if kind == LIST:
        return Expr(f"spl_list({expr}, __doc, {path})", LIST)
    return Expr(f"spl_scalar({expr}, __doc, {path})", STR)


def _compare(op: str, a: Expr, b: Expr) -> Expr:
    if a.is_const and b.is_const:
        return _literal(compare(op, a.const, b.const))
    if NULL in (a.kind, b.kind):
        return _null(BOOL)
    if BOOL in (a.kind, b.kind) or a.kind == b.kind == LIST:
        raise NoSQL
    if LIST in (a.kind, b.kind):
        listed, other = (a, b) if a.kind == LIST else (b, a)
        v = f"__l{next(_lambdas)}"
        item = Expr(v, STR)
        test = _compare(op, item, other) if a.kind == LIST else _compare(op, other, item)
        each = f"list_transform({listed.sql}, lambda {v}: {test.sql})"
        anyone = f"coalesce(list_bool_or({each}), FALSE)"
        absent = f"{listed.sql} IS NULL OR {text(other)} IS NULL"
        return Expr(f"(CASE WHEN {absent} THEN NULL ELSE {anyone} END)", BOOL)
    sql_op = _OPS[op]
    if a.kind == NUM and b.kind == NUM:
        return Expr(f"({a.sql} {sql_op} {b.sql})", BOOL)
    na, nb, ta, tb = number(a), number(b), text(a), text(b)
    textual = f"({ta} {sql_op} {tb})"
    for side in (a, b):  # a literal that is not a number: the comparison is textual
        if side.is_const and as_number(side.const) is None:
            return Expr(textual, BOOL)
    present = " AND ".join(
        f"{n} IS NOT NULL" for n, e in ((na, a), (nb, b)) if not (e.is_const or e.kind == NUM)
    )
    return Expr(f"(CASE WHEN {present} THEN {na} {sql_op} {nb} ELSE {textual} END)", BOOL)


def _arith(op: str, a: Expr, b: Expr) -> Expr:
    if NULL in (a.kind, b.kind):
        return _null(STR if op == "." else NUM)
    if op == ".":
        if LIST in (a.kind, b.kind):
            raise NoSQL
        return Expr(f"({text(a)} || {text(b)})", STR)
    if op == "%":
        raise NoSQL  # Python's float modulo: left to Python
    if a.kind in (LIST, BOOL) or b.kind in (LIST, BOOL):
        return _null(NUM)  # not numbers, not text: Python's answer is null
    if op == "+" and MIXED in (a.kind, b.kind):
        raise NoSQL
    na, nb = number(a), number(b)
    if op == "+" and a.kind == STR and b.kind == STR:
        both = f"{na} IS NOT NULL AND {nb} IS NOT NULL"
        return Expr(
            f"(CASE WHEN {both} THEN spl_text({na} + {nb}) ELSE {a.sql} || {b.sql} END)", MIXED
        )
    if op == "/":
        return Expr(f"(CASE WHEN {nb} = 0 THEN NULL ELSE {na} / {nb} END)", NUM)
    return Expr(f"({na} {op} {nb})", NUM)


def _const_int(e: Expr) -> int:
    if not e.is_const or as_number(e.const) is None:
        raise NoSQL
    return int(as_number(e.const))


def _const_text(e: Expr) -> str:
    if not e.is_const or e.const is None or isinstance(e.const, bool):
        raise NoSQL
    return to_text(e.const)


def _per_value(e: Expr, fn: Callable[[str], str], kind: str = STR) -> Expr:
    """Python's ``_text`` lifting: null stays null, a multivalue maps value by value."""
    if e.kind == NULL:
        return _null(kind)
    if e.kind == LIST:
        v = f"__l{next(_lambdas)}"
        return Expr(f"list_transform({e.sql}, lambda {v}: {fn(v)})", LIST)
    return Expr(fn(text(e)), kind)


def _case_map(sql_fn: str, py_fn: str):
    def build(x: str) -> str:  # ASCII (bytes == characters): DuckDB's mapping is Python's
        return f"(CASE WHEN strlen({x}) = length({x}) THEN {sql_fn}({x}) ELSE {py_fn}({x}) END)"

    return build


def _call(name: str, args: list[Expr], ctx) -> Expr:
    if name in ("if", "case"):
        pairs = (
            [(args[0], args[1]), (None, args[2])]
            if name == "if"
            else list(zip(args[::2], args[1::2], strict=False))
        )
        kind, values = _unify([v for _, v in pairs])
        whens = " ".join(
            f"WHEN {truth_sql(c)} THEN {s}" for (c, _), s in zip(pairs, values, strict=True) if c
        )
        otherwise = values[-1] if name == "if" else "NULL"
        return Expr(f"(CASE {whens} ELSE {otherwise} END)", kind)
    if name == "coalesce":
        kind, values = _unify(args)
        return Expr(f"coalesce({', '.join(values)})", kind)
    if name in ("isnull", "isnotnull"):
        test = "IS NULL" if name == "isnull" else "IS NOT NULL"
        return Expr(f"({args[0].sql} {test})", BOOL)
    if name in ("null", "true", "false"):
        return _literal({"null": None, "true": True, "false": False}[name])
    if name == "now":
        return _literal(int(ctx.now))
    if name == "isnum":
        return Expr(f"({number(args[0])} IS NOT NULL)", BOOL)
    if name == "isstr":
        (x,) = args
        if x.kind == MIXED:
            raise NoSQL
        if x.kind != STR or x.is_const:
            return _literal(isinstance(x.const, str) and as_number(x.const) is None)
        return Expr(f"({x.sql} IS NOT NULL AND {number(x)} IS NULL)", BOOL)
    if name in ("lower", "upper"):
        return _per_value(args[0], _case_map(name, f"spl_py_{name}"))
    if name == "len":
        if args[0].kind == LIST:
            raise NoSQL
        return _per_value(args[0], lambda x: f"CAST(length({x}) AS DOUBLE)", NUM)
    if name == "substr":
        value, start = args[0], _const_int(args[1])
        if value.kind == LIST or start < 0:
            raise NoSQL
        if value.kind == NULL:
            return _null(STR)
        begin = max(start - 1, 0) + 1
        if len(args) == 3:
            length = _const_int(args[2])
            if length < 0:
                raise NoSQL
            return Expr(f"substring({text(value)}, {begin}, {length})", STR)
        return Expr(f"substring({text(value)}, {begin})", STR)
    if name == "like":
        value, pattern = args[0], _const_text(args[1])
        if value.kind == LIST:
            raise NoSQL
        regex = "(?s)" + "".join(
            ".*" if c == "%" else "." if c == "_" else _re2_escape(c) for c in pattern
        )
        like_regex(pattern)  # the Python path's regex compiles too
        return Expr(f"regexp_full_match({text(value)}, {lit(regex)})", BOOL)
    if name == "match":
        value, regex = args[0], re2_pattern(_const_text(args[1]))
        if regex is None:
            raise NoSQL
        if value.kind == NULL:
            return _null(BOOL)
        if value.kind == LIST:
            v = f"__l{next(_lambdas)}"
            found = f"list_bool_or(list_transform({value.sql}, lambda {v}: "
            return Expr(f"{found}regexp_matches({v}, {lit(regex)})))", BOOL)
        return Expr(f"regexp_matches({text(value)}, {lit(regex)})", BOOL)
    if name == "replace":
        regex = re2_pattern(_const_text(args[1]), replace=True)
        replacement = _const_text(args[2])
        if regex is None or "\\" in replacement:
            raise NoSQL
        return _per_value(
            args[0], lambda x: f"regexp_replace({x}, {lit(regex)}, {lit(replacement)}, 'g')"
        )
    if name == "cidrmatch":
        cidr, ip = args
        if LIST in (cidr.kind, ip.kind):
            raise NoSQL
        return _cidrmatch(cidr, ip)
    if name == "in":
        value, options = args[0], args[1:]
        if value.kind == NULL:
            return _null(BOOL)
        tests = " OR ".join(f"coalesce({_compare('=', value, o).sql}, FALSE)" for o in options)
        absent = text(value) if value.kind != LIST else value.sql
        return Expr(f"(CASE WHEN {absent} IS NULL THEN NULL ELSE ({tests or 'FALSE'}) END)", BOOL)
    if name == "split":
        value, sep = args[0], _const_text(args[1])
        if value.kind == LIST or sep == "":
            raise NoSQL
        if value.kind == NULL:
            return _null(LIST)
        return Expr(f"string_split({text(value)}, {lit(sep)})", LIST)
    if name == "mvcount":
        (value,) = args
        if value.kind == LIST:
            return Expr(f"CAST(len({value.sql}) AS DOUBLE)", NUM)
        return Expr(f"(CASE WHEN {value.sql} IS NULL THEN NULL ELSE CAST(1 AS DOUBLE) END)", NUM)
    if name == "mvindex" and len(args) == 2:
        value, at = args[0], _const_int(args[1])
        if value.kind == LIST:
            return Expr(f"{value.sql}[{at + 1 if at >= 0 else at}]", STR)
        return value if at in (0, -1) else _null(value.kind)
    if name == "mvjoin":
        value, sep = args[0], _const_text(args[1])
        if value.kind == LIST:
            return Expr(f"array_to_string({value.sql}, {lit(sep)})", STR)
        return Expr(text(value), STR)
    if name == "tonumber" and (len(args) == 1 or _const_int(args[1]) == 10):
        if args[0].kind == LIST:
            raise NoSQL
        return Expr(number(args[0]), NUM)
    if name == "tostring" and len(args) == 1:
        (value,) = args
        if value.kind == BOOL:
            word = f"(CASE WHEN {value.sql} THEN 'True' WHEN NOT {value.sql} THEN 'False' END)"
            return Expr(word, STR)
        return Expr(text(value), STR if value.kind != MIXED else MIXED)
    if name in ("abs", "floor", "ceiling"):
        fn = {"abs": "abs", "floor": "floor", "ceiling": "ceil"}[name]
        return Expr(f"{fn}({number(args[0])})", NUM)
    if name == "round":
        digits = _const_int(args[1]) if len(args) == 2 else 0
        n, scale = number(args[0]), _literal(float(10**digits)).sql
        sign = f"(CASE WHEN {n} >= 0 THEN 1 ELSE -1 END)"
        return Expr(f"(floor(abs({n}) * {scale} + 0.5) / {scale} * {sign})", NUM)
    raise NoSQL


def _cidrmatch(cidr: Expr, ip: Expr) -> Expr:
    """Dotted IPv4 addresses against a literal network in SQL; anything else (IPv6, blanks
    around the address) through Python's ``ipaddress``, as the Python path does."""
    address = text(ip)
    python = f"spl_cidrmatch({text(cidr)}, {address})"
    if not cidr.is_const or cidr.const is None:
        return Expr(python, BOOL)
    try:
        network = ipaddress.ip_network(to_text(cidr.const), strict=False)
    except ValueError:  # Python's answer for every address: no match
        return Expr(f"(CASE WHEN {address} IS NULL THEN NULL ELSE FALSE END)", BOOL)
    v4 = ip.ipv4 or f"spl_ipv4({address})"
    if network.version == 4:
        low, high = int(network.network_address), int(network.broadcast_address)
        inside = f"{v4} BETWEEN {low} AND {high}"
    else:
        inside = "FALSE"  # an IPv4 address is in no IPv6 network
    return Expr(
        f"(CASE WHEN {address} IS NULL THEN NULL WHEN {v4} IS NOT NULL THEN {inside} "
        f"ELSE {python} END)",
        BOOL,
    )


def _re2_escape(c: str) -> str:
    return "\\" + c if c in "\\.^$|?*+()[]{}" else c


def _addresses(node: Node) -> set[str]:
    """Fields an expression tests with ``cidrmatch``."""
    found = set().union(*(_addresses(a) for a in node.args)) if node.args else set()
    if node.kind == "call" and node.value == "cidrmatch" and node.args[1].kind == "field":
        found.add(node.args[1].value)
    return found


def bind_fields(
    rel: Relation, nodes, ctx, skip: set[str] = frozenset()
) -> tuple[Relation, dict[str, Expr]]:
    """``rel`` with the fields the expressions (a node or a list) read from JSON in hidden
    columns, read once, and those columns by field name: an expression that names a field five
    times reads it once, a field tested by seven ``cidrmatch`` calls is parsed as an address
    once. ``skip``: fields not to bind (an eval's own targets)."""
    nodes = nodes if isinstance(nodes, list) else [nodes]
    names = set().union(*(fields_of(n) for n in nodes)) - set(skip)
    addresses = set().union(*(_addresses(n) for n in nodes))
    bound, selects = {}, []
    for name in sorted(names):
        expr = field_sql(rel, name)
        if name in rel.kinds or not rel.events:
            if name not in addresses or expr.kind == LIST:
                continue
            column = expr.sql
        else:
            column = ctx.unique("__v")
            selects.append(f"{expr.sql} AS {column}")
        ipv4 = None
        if name in addresses and expr.kind != LIST:
            ipv4 = ctx.unique("__ip")
            selects.append(f"spl_ipv4({text(Expr(column, expr.kind))}) AS {ipv4}")
        bound[name] = Expr(column, expr.kind, ipv4=ipv4)
    if not selects:
        return rel, bound
    return rel.wrap(f"SELECT *, {', '.join(selects)} FROM {{rel}}", rel.kinds), bound


def to_sql(node: Node, rel: Relation, ctx, bound: dict[str, Expr] | None = None) -> Expr:
    """The expression as SQL over ``rel`` (NoSQL when only the Python path is exact);
    ``bound`` fields are read from the columns :func:`bind_fields` made."""
    kind, value = node.kind, node.value
    if kind == "lit":
        return _literal(value)
    if kind == "field":
        if bound and value in bound:
            return bound[value]
        return field_sql(rel, value)
    args = [to_sql(a, rel, ctx, bound) for a in node.args]
    if kind == "logic":
        a, b = (truth_sql(x) for x in args)
        if value == "XOR":
            return Expr(f"({a} <> {b})", BOOL)
        return Expr(f"({a} {value} {b})", BOOL)
    if kind == "not":
        return Expr(f"(NOT {truth_sql(args[0])})", BOOL)
    if kind == "neg":
        if args[0].is_const:  # a literal: -1 stays a literal (mvindex(x, -1))
            n = as_number(args[0].const)
            return _literal(None if n is None else -n)
        return Expr(f"(- {number(args[0])})", NUM)
    if kind == "compare":
        return _compare(value, *args)
    if kind == "arith":
        return _arith(value, *args)
    return _call(value, args, ctx)

"""The SQL path of eval and where gives the Python path's answers, on the same rows.

Each expression runs both ways over rows built from awkward values (nulls, multivalues, text
that reads as a number or almost does, non-ASCII text, addresses); hypothesis draws the rows.
The expressions in ``SQL_EXPRESSIONS`` must have SQL for text fields (so the test proves the SQL
path is taken, not only that it falls back); the ``PYTHON_ONLY`` ones must stay in Python.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labstack.splunk.spl.commands.filtering import Eval, Where
from labstack.splunk.spl.errors import SPLError
from labstack.splunk.spl.eval_expr import parse_eval, to_python
from labstack.splunk.spl.eval_sql import BOOL, NoSQL, to_sql, truth_sql
from labstack.splunk.spl.functions import truth
from labstack.splunk.spl.relation import Context, Rows, load, materialize, to_text
from labstack.splunk.spl.sql import SETUP, register_functions

NOW = 1700000000.5

SQL_EXPRESSIONS = [
    # arithmetic and concatenation, numbers in text
    "a + b", "a - b", "a * 2", "a / b", "-a", "a . b", "n + 1", "n / 0", "a . n", "n * n - 3",
    '"x" . 1', "1 + 1", "a + 1", "n - a",
    # comparison: numeric when both read as numbers, else textual
    "a = b", "a != b", "a < b", 'a >= "3"', "a = 3", "n > 2", "a < n", 'a == "abc"', "a > -1",
    '"10" < "9"', "a <= b",
    # boolean logic, null-aware
    "a > 1 AND b < 5", 'a = "x" OR isnull(b)', "NOT a = b", "a > 1 XOR b > 1", "NOT isnull(a)",
    "(a = b) OR (n > 1)",
    # conditionals
    'if(a > 2, "big", "small")', "if(a = b, a, b)", 'case(a = "abc", 1, a = "3", 2, true(), 3)',
    'coalesce(a, b, "none")', "coalesce(n, 0)", "if(isnull(a), n, a)", "case(a > 5, a)",
    "coalesce(null(), a)",
    # tests and text functions
    "isnull(a)", "isnotnull(b)", "isnum(a)", "isstr(a)", "isnum(n)", "len(a)", "lower(a)",
    "upper(b)", "substr(a, 2)", "substr(a, 1, 2)", "substr(a, 0, 1)", "len(a) > 2",
    # like, match, replace (RE2-safe patterns), cidrmatch, in
    'like(a, "a%")', 'a LIKE "_b%"', 'match(a, "^a")', 'match(a, "\\d+")', 'match(a, "b$")',
    'match(a, "(^|,)b(,|$)")', 'replace(a, "^a", "X")', 'replace(a, "b", "-")',
    'replace(a, "^[a-z]+", "")', 'cidrmatch("10.0.0.0/8", a)', 'cidrmatch("::1/128", a)',
    'a IN ("3", "abc", 4)', 'in(a, "x")', 'NOT (cidrmatch("10.0.0.0/8", a) OR a = "8.8.8.8")',
    'cidrmatch("0.0.0.0/0", a)', 'cidrmatch("fe80::/10", a)', 'cidrmatch("bogus", a)',
    "cidrmatch(b, a)", 'cidrmatch("10.0.0.0/8", n)',
    # conversion, multivalue, math, time
    "tonumber(a)", "tostring(n)", "tostring(a)", "tostring(a = b)", "mvcount(a)",
    "mvindex(a, 0)", "mvindex(a, -1)", 'split(a, ",")', 'mvjoin(a, ";")',
    'mvcount(split(a, ","))', "round(n, 1)", "abs(a)", "floor(n)", "ceiling(a)", "round(a)",
    "now()", "now() - n",
]  # fmt: skip
PYTHON_ONLY = [
    'match(a, "\\w+")',
    'replace(a, "b*", "-")',
    'replace(a, "x$", "")',
    "a % 2",
    'mvfilter(a != "")',
    "mvzip(a, b)",
    'mvappend(a, "z")',
    'strftime(n, "%Y")',
    "trim(a)",
    "if(a > 1, a, 2) + 1",
    'match(a, "(?i)B")',
]
VALUES = ["", "0", "3", " 42 ", "1e3", "1_000", "inf", "-2.5", "007", "abc", "ABC", "ab",
          "bab", "ß", "İx", "10.1.2.3", "8.8.8.8", "::1", "a,b", "x\n", "b\n", "5.", ".5",
          "٣", "1e999", "01.2.3.4", "10.255.255.255", " 10.0.0.1", "255.255.255.255",
          "10.0.0.0/8", "fe80::1"]  # fmt: skip

scalar = st.one_of(st.none(), st.sampled_from(VALUES))
multivalue = st.lists(st.sampled_from(VALUES), min_size=2, max_size=3)
number = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, -3.0, 7.0, 0.1, 1e16, 123.456]))


def _connection():
    con = duckdb.connect()
    register_functions(con)
    for statement in ["SET TimeZone = 'UTC'", *SETUP]:
        con.execute(statement)
    return con


def _context(con) -> Context:
    return Context(con, None, NOW)


def _same(python_value, sql_value, is_bool: bool) -> bool:
    if is_bool:
        return truth(python_value) == sql_value
    if isinstance(python_value, list) or isinstance(sql_value, list):
        return to_text(python_value) == to_text(sql_value)
    return to_text(python_value) == to_text(sql_value)


def _check(expressions: list[str], rows: list[dict], fields: list[str], must: bool) -> int:
    """Run each expression both ways; the number that had SQL."""
    con = _connection()
    ctx = _context(con)
    rel = load(Rows(rows, fields), ctx)
    seen = materialize(rel, ctx).rows  # what the Python path holds after the same load
    compiled, checked = [], 0
    for text in expressions:
        node = parse_eval(text)
        try:
            expr = to_sql(node, rel, ctx)
        except NoSQL:
            assert not must, f"{text!r} should have SQL"
            continue
        compiled.append((text, node, expr))
    if not compiled:
        return 0
    selects = ", ".join(f"{e.sql} AS c{i}" for i, (_, _, e) in enumerate(compiled))
    results = con.execute(f"SELECT {selects} FROM ({rel.sql}) AS rel ORDER BY __ord").fetchall()
    for i, (text, node, expr) in enumerate(compiled):
        fn = to_python(node)
        for row, record in zip(seen, results, strict=True):
            try:
                expected = fn(row, ctx)
            except SPLError:
                continue  # Python rejects this row's values; SQL has no error to compare
            got = record[i]
            if isinstance(got, float) and isinstance(expected, int | float) and got == expected:
                continue
            assert _same(expected, got, expr.kind == BOOL), (
                f"{text!r} on {row}: Python {expected!r}, SQL {got!r}"
            )
        checked += 1
    con.close()
    return checked


@settings(max_examples=120, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(st.lists(st.tuples(scalar, scalar, number), min_size=1, max_size=6))
def test_sql_and_python_agree_on_single_values(triples):
    rows = [{k: v for k, v in zip("abn", t, strict=True) if v is not None} for t in triples]
    assert _check(SQL_EXPRESSIONS, rows, ["a", "b", "n"], must=True) == len(SQL_EXPRESSIONS)


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(st.lists(st.tuples(st.one_of(scalar, multivalue), scalar, number), min_size=1, max_size=5))
def test_sql_and_python_agree_with_multivalues(triples):
    """``a`` is multivalue in some rows: what has SQL for a multivalue must agree too."""
    rows = [{k: v for k, v in zip("abn", t, strict=True) if v is not None} for t in triples]
    _check(SQL_EXPRESSIONS, rows, ["a", "b", "n"], must=False)


@pytest.mark.parametrize("text", PYTHON_ONLY)
def test_what_sql_cannot_promise_stays_in_python(text):
    con = _connection()
    rel = load(Rows([{"a": "ab", "b": "1", "n": 2.0}], ["a", "b", "n"]), _context(con))
    with pytest.raises(NoSQL):
        truth_sql(to_sql(parse_eval(text), rel, _context(con)))


ROWS = [
    {"a": "3", "b": "abc", "n": 2.0},
    {"a": ["x", "10.0.0.1"], "b": "10.0.0.7"},
    {"b": "", "n": 0.0},
    {"a": " 42 ", "b": "42"},
]
PIPELINES = [
    ("eval", 'x=b . "!", y=if(a > 2, "big", "small"), a=lower(b), z=null()'),
    ("eval", 'n=n * 2, m=n + 1, b=coalesce(b, "none")'),
    ("eval", 'e=mvcount(a), f=mvindex(a, -1), g=split(b, "b")'),
    ("where", 'a > 2 OR b = ""'),
    ("where", 'cidrmatch("10.0.0.0/8", b) OR isnull(a)'),
    ("where", "NOT isnull(n) AND n < 1"),
]


@pytest.mark.parametrize(("name", "args"), PIPELINES)
def test_eval_and_where_give_the_same_results_both_ways(name, args):
    """The commands' SQL (``sql``) and Python (``run``) paths: same rows, fields, order."""
    con = _connection()
    ctx = _context(con)
    cmd = {"eval": Eval, "where": Where}[name](name, args)
    rel = load(Rows([dict(r) for r in ROWS], ["a", "b", "n"]), ctx)
    via_sql = cmd.sql(rel, ctx)
    assert via_sql is not None, "this use has SQL"
    got = materialize(via_sql, ctx)
    expected = cmd.run(materialize(rel, ctx), ctx)
    assert got.fields == expected.fields
    assert [{k: to_text(v) for k, v in r.items()} for r in got.rows] == [
        {k: to_text(v) for k, v in r.items()} for r in expected.rows
    ]

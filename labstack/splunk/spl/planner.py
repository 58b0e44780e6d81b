"""From search text to results: expand macros, split into commands, run them in order.

The first ``search`` reads the event table with its filters in SQL; each later command extends
the DuckDB relation or works on Python rows, converting between the two only when it must.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .commands import COMMANDS, Command
from .commands.filtering import Search, split_top_level
from .errors import SPLError
from .eval_expr import parse_eval, to_python
from .lexer import split_pipeline
from .relation import NUM, STR, Context, Relation, Rows, load, materialize, to_text
from .search_expr import Compare, In, Not, mentions
from .sql import lit
from .timeutil import iso

DEFAULT_INDEXES = ("main",)  # what an admin searches when the query names no index
SUBSEARCH_MAXOUT = 10000
MACRO_DEPTH = 20
#: Eval functions whose value is true or false (a macro's validation that is one of them
#: fails on null; any other expression passes on null and fails on a message).
_BOOLEAN_CALLS = {"cidrmatch", "in", "isbool", "isint", "isnotnull", "isnull", "isnum", "isstr",
                  "like", "match", "searchmatch", "true", "false"}  # fmt: skip
#: Parsed searches kept for reuse (the saved searches of a busy lab, and then some).
PARSED_SEARCHES = 1024
_MACRO = re.compile(r"`\s*([^`(\s]+)\s*(?:\((.*?)\))?\s*`", re.S)


@dataclass
class Results:
    """A finished search: field names in Splunk's order, rows of str / list[str] values."""

    fields: list[str]
    rows: list[dict]
    messages: list[dict] = field(default_factory=list)


def expand_macros(text: str, macros: dict[str, dict], depth: int = 0) -> str:
    """Replace `` `name` `` and `` `name(a,b)` `` with their definitions, recursively."""
    if "`" not in text:
        return text
    if depth > MACRO_DEPTH:
        raise SPLError(
            "Error in 'SearchParser': Macro expansion is too deep (a macro may refer to itself)."
        )

    def replace(match: re.Match) -> str:
        name, arg_text = match.group(1), match.group(2)
        args = (
            [a.strip().strip('"') for a in split_top_level(arg_text)]
            if arg_text is not None
            else []
        )
        key = f"{name}({len(args)})" if args else name
        macro = macros.get(key)
        if macro is None:
            raise SPLError(
                f"Error in 'SearchParser': The search specifies a macro '{key}' that cannot be "
                'found. Reasons include: the macro name is misspelled, you do not have "read" '
                "permission for the macro, or the macro has not been shared with this application."
            )
        values = dict(zip(macro.get("args", []), args, strict=False))
        _validate(key, macro, values)
        body = macro["definition"]
        for arg_name, value in values.items():
            body = body.replace(f"${arg_name}$", value)
        return body

    return expand_macros(_MACRO.sub(replace, text), macros, depth + 1)


def _validate(key: str, macro: dict, values: dict[str, str]) -> None:
    """Check a macro's arguments against its ``validation`` (macros.conf): an eval expression
    over the arguments (by name, or as ``$name$``). True passes; false or null fails with its
    ``errormsg``; any other value is the error message itself, and null then passes.

    >>> rule = {"validation": "value < value2", "errormsg": "value must be smaller"}
    >>> _validate("m(2)", rule, {"value": "12", "value2": "34"})
    >>> _validate("m(2)", rule, {"value": "34", "value2": "12"})
    Traceback (most recent call last):
    ...
    labstack.splunk.spl.errors.SPLError: Error in 'SearchParser': value must be smaller
    """
    rule = (macro.get("validation") or "").strip()
    if not rule:
        return
    for name, value in values.items():
        rule = rule.replace(f"${name}$", value)
    try:
        node = parse_eval(rule, "macro")
        verdict = to_python(node, "macro")(values, None)
    except SPLError as exc:
        raise SPLError(
            f"Error in 'SearchParser': The validation of macro '{key}' cannot run: {exc}"
        ) from None
    boolean = node.kind in ("compare", "logic", "not") or (
        node.kind == "call" and node.value in _BOOLEAN_CALLS
    )
    if verdict is True or (verdict is None and not boolean):
        return
    if isinstance(verdict, str) and not boolean:
        raise SPLError(f"Error in 'SearchParser': {verdict}")
    message = macro.get("errormsg") or f"The arguments of macro '{key}' are not valid ({rule})."
    raise SPLError(f"Error in 'SearchParser': {message}")


def parse(text: str, macros: dict[str, dict]) -> list[Command]:
    """Parse a search as sent to the REST API: it starts with ``search`` or ``|``.

    Parsed searches are kept (commands do not change once parsed), so a saved search that
    runs on every real-time batch is parsed once per version of itself and of the macros."""
    key = tuple(
        sorted(
            (n, m["definition"], tuple(m.get("args", [])), m.get("validation"), m.get("errormsg"))
            for n, m in macros.items()
        )
    )
    return list(_parse(text, key))


@functools.lru_cache(maxsize=PARSED_SEARCHES)
def _parse(text: str, macro_key: tuple) -> tuple[Command, ...]:
    macros = {
        n: {"definition": d, "args": list(a), "validation": v, "errormsg": e}
        for n, d, a, v, e in macro_key
    }
    return tuple(_parse_now(text, macros))


def _parse_now(text: str, macros: dict[str, dict]) -> list[Command]:
    text = expand_macros(text.strip(), macros)
    if text.startswith("|"):
        text = text[1:]
    elif not re.match(r"search(\s|$)", text, re.I):
        word = re.match(r"[^\s=(\[\]\"<>!|]*", text).group(0)
        raise SPLError(f"Unknown search command '{word}'.")
    commands = []
    for position, part in enumerate(split_pipeline(text)):
        cls = COMMANDS.get(part.name)
        if cls is None:
            raise SPLError(f"Unknown search command '{part.name}'.")
        if cls.generating and position > 0:
            raise SPLError.in_command(
                part.name, "This command must be the first command of a search."
            )
        commands.append(cls(part.name, part.args))
    return commands


def _names_internal(node) -> bool:
    """Whether an ``index`` term of the expression names an internal index (``_...``)."""
    if isinstance(node, Compare | In):
        values = node.values if isinstance(node, In) else [node.value]
        return node.field.lower() == "index" and any(str(v).startswith("_") for v in values)
    items = getattr(node, "items", None) or ([node.item] if isinstance(node, Not) else [])
    return any(_names_internal(i) for i in items)


def event_relation(ctx: Context, search: Search) -> Relation:
    """The event table, narrowed by default indexes and the time range the query did not set."""
    where = []
    if not mentions(search.expr, "index"):
        where.append(f'"index" IN ({", ".join(lit(i) for i in DEFAULT_INDEXES)})')
    elif not _names_internal(search.expr):
        # index=* searches the non-internal indexes; _internal only when a term names it (or
        # a pattern starting with _ does), as on Splunk.
        where.append("NOT starts_with(\"index\", '_')")
    if ctx.earliest is not None and not mentions(search.expr, "earliest"):
        where.append(f"_time >= {ctx.earliest!r}")
    if ctx.latest is not None and not mentions(search.expr, "latest"):
        where.append(f"_time < {ctx.latest!r}")
    columns, wanted = ctx.store.event_columns() if ctx.store is not None else ({}, None)
    sql = (
        'SELECT _time, "index", sourcetype, source, host, coalesce(__doc, __text) AS _raw, '
        f"__doc, __seq{''.join(f', {c}' for c in columns.values())} FROM events"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    kinds = {"_time": NUM, "index": STR, "sourcetype": STR, "source": STR, "host": STR, "_raw": STR}
    return Relation(
        sql, kinds, "_time DESC, __seq DESC", events=True, columns=columns, wanted=wanted
    )


def execute(commands: list[Command], ctx: Context, start: Rows | None = None) -> Rows:
    """Run parsed commands; the data moves between SQL and Python only when a command needs it.

    ``start``: rows to run on instead of the event index (an alert condition over results).
    """
    state: Relation | Rows = Rows([], []) if start is None else start
    for position, cmd in enumerate(commands):
        ctx.guard.check()
        if position == 0 and start is None and isinstance(cmd, Search):
            state = event_relation(ctx, cmd)
        if hasattr(cmd, "sql") and (isinstance(state, Relation) or not hasattr(cmd, "run")):
            result = cmd.sql(state if isinstance(state, Relation) else load(state, ctx), ctx)
            if result is not None:  # None: this use of the command needs its Python run()
                state = result
                continue
        state = cmd.run(state if isinstance(state, Rows) else materialize(state, ctx), ctx)
    return state if isinstance(state, Rows) else materialize(state, ctx)


def run(text: str, ctx: Context, macros: dict[str, dict]) -> Results:
    """Parse and run ``text``; subsearches run in the same context (Splunk's defaults)."""

    def subsearch(inner: str) -> Rows:
        rows = execute(parse(inner, macros), ctx)
        if len(rows.rows) > SUBSEARCH_MAXOUT:
            ctx.warn(
                f"Subsearch produced {len(rows.rows)} results, "
                f"truncating to maxout {SUBSEARCH_MAXOUT}."
            )
            rows.rows = rows.rows[:SUBSEARCH_MAXOUT]
        return rows

    ctx.run_subsearch = subsearch
    rows = execute(parse(text, macros), ctx)
    return Results(rows.fields, [_display(r) for r in rows.rows], ctx.messages)


def _display(row: dict) -> dict:
    out = {}
    for name, value in row.items():
        if value is None:
            continue
        if isinstance(value, list) and len(value) == 1:
            value = value[0]  # Splunk shows a one-value multivalue field as a plain value
        out[name] = (
            iso(value) if name == "_time" and isinstance(value, int | float) else to_text(value)
        )
    return out

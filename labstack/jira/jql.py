"""JQL: parse a query, check it against the lab's fields, and run it over issue documents.

Supported: clauses on project, key/id, issuetype, status, statusCategory, priority, resolution,
labels, component, assignee/reporter/creator, summary/description/environment/comment/text (``~``),
custom fields by name or ``cf[N]``, created/updated/resolved with absolute or relative dates
(``-1d``, ``"-4w 2d"``) and date functions; ``AND``/``OR``/``NOT`` (and ``&&``/``||``/``!``),
parentheses, ``IN``/``NOT IN``, ``IS [NOT] EMPTY``; ``ORDER BY`` with ``ASC``/``DESC``.

Syntax is parsed in ``jqlparse``, text search (``~``) lives in ``textsearch``. Errors raise
``JqlError`` with the message Jira gives, for a 400 ``errorMessages`` body.

>>> q = compile_query("labels in (aws, s3) ORDER BY created DESC", Context.empty())
>>> q.order
[('created', True)]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from labstack.jira import catalog
from labstack.jira.catalog import Catalog, Field
from labstack.jira.jqlparse import Clause, JqlError, Node, Value, parse
from labstack.jira.textsearch import matcher

__all__ = ["Context", "JqlError", "Query", "compile_query"]

_EQUALITY = {"=", "!=", "IN", "NOT IN", "IS", "IS NOT"}
_ORDERED = _EQUALITY | {"<", ">", "<=", ">="}
_TEXT = {"~", "!~", "IS", "IS NOT"}
OPERATORS_BY_KIND = {
    "text": _TEXT,
    "number": _ORDERED,
    "date": _ORDERED,
    "priority": _ORDERED,
    "key": _ORDERED,
}
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_DATE_HELP = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)
# The pseudo field `text` searches every text field at once.
TEXT_FIELD = Field("text", "Text", "text", ("text",))
_UNSORTABLE = {"text", "comment", "issuelinks", "statusCategory", "description", "environment"}


# -- meaning ---------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a query needs to know about the site: fields' values, users, the time, comments."""

    cat: Catalog | None
    current_user: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    issue_by_key: Callable[[str], dict | None] = lambda key: None
    comments_of: Callable[[int], list[str]] = lambda issue_id: []

    @classmethod
    def empty(cls) -> Context:
        return cls(None)


@dataclass
class Query:
    predicate: Callable[[dict], bool]
    order: list[tuple[str, bool]]  # (field id, descending)

    def run(self, issues: list[dict], ctx: Context) -> list[dict]:
        hits = [i for i in issues if self.predicate(i)]
        if not self.order:
            return sorted(hits, key=lambda i: i["id"], reverse=True)
        for field_id, desc in reversed(self.order):
            present = [i for i in hits if _sort_value(i, field_id, ctx) is not None]
            empty = [i for i in hits if _sort_value(i, field_id, ctx) is None]
            present.sort(key=lambda i, f=field_id: _sort_value(i, f, ctx), reverse=desc)
            hits = empty + present if desc else present + empty
        return hits


def compile_query(query: str, ctx: Context) -> Query:
    """Parse and check ``query``; raise ``JqlError`` with Jira's message when it is invalid."""
    where, order = parse(query)
    predicate = _compile(where, ctx) if where is not None else (lambda issue: True)
    sort = []
    for name, desc, _pos in order:
        f = _field(name)
        if f.id in _UNSORTABLE:
            raise JqlError(f"Not able to sort using field '{name}'.")
        sort.append(("key" if f.id == "issuekey" else f.id, desc))
    return Query(predicate, sort)


def _field(name: str) -> Field:
    if name.lower() == "text":
        return TEXT_FIELD
    f = catalog.field_for_clause(name)
    if f is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    return f


def _compile(node, ctx: Context) -> Callable[[dict], bool]:
    if isinstance(node, Node):
        parts = [_compile(child, ctx) for child in node.children]
        if node.kind == "and":
            return lambda issue: all(p(issue) for p in parts)
        if node.kind == "or":
            return lambda issue: any(p(issue) for p in parts)
        return lambda issue: not parts[0](issue)
    return _clause(node, ctx)


def _clause(clause: Clause, ctx: Context) -> Callable[[dict], bool]:
    f = _field(clause.name)
    allowed = OPERATORS_BY_KIND.get(f.kind, _EQUALITY)
    if clause.op not in allowed:
        raise JqlError(f"The operator '{clause.op}' is not supported by the '{clause.name}' field.")
    get = _getter(f, ctx)
    if clause.op in ("IS", "IS NOT"):
        want_empty = clause.op == "IS"
        return lambda issue: _is_empty(get(issue)) == want_empty
    if f.kind == "text":
        matchers = [matcher(v.text) for v in _plain(clause, f)]
        positive = clause.op == "~"

        def text_clause(issue: dict) -> bool:
            hit = any(m(get(issue)) for m in matchers)
            return hit if positive else (not _is_empty(get(issue)) and not hit)

        return text_clause
    targets = [t for v in clause.values for t in _resolve(f, clause.name, v, ctx)]
    compare = _comparator(f, clause.op, targets)

    def value_clause(issue: dict) -> bool:
        value = get(issue)
        values = value if isinstance(value, list) else [value]
        values = [v for v in values if v is not None]
        if not values and None in targets:  # e.g. resolution = Unresolved
            return clause.op in ("=", "IN")
        if clause.op in ("!=", "NOT IN"):
            # Jira's negative operators never match an empty field.
            return bool(values) and not any(v in targets for v in values)
        return any(compare(v) for v in values)

    return value_clause


def _plain(clause: Clause, f: Field) -> list[Value]:
    for v in clause.values:
        if v.function:
            raise JqlError(
                f"A value provided by the function '{v.text}' is invalid for the field '{f.name}'."
            )
    return clause.values


def _comparator(f: Field, op: str, targets: list) -> Callable:
    if op in ("=", "IN"):
        return lambda v: v in targets
    if op in ("<", ">", "<=", ">="):
        if f.kind == "priority":
            rank = {row[0]: -i for i, row in enumerate(catalog.PRIORITIES)}
            targets = [rank[t] for t in targets]
            key = rank.get
        elif f.kind == "key":
            key = _key_number
            targets = [_key_number(t) for t in targets]
        else:
            key = lambda v: v  # noqa: E731
        target = targets[0]
        ops = {
            "<": lambda a: a < target,
            ">": lambda a: a > target,
            "<=": lambda a: a <= target,
            ">=": lambda a: a >= target,
        }
        return lambda v: ops[op](key(v))
    return lambda v: v in targets


def _key_number(key: str) -> tuple[str, int]:
    project, _, number = str(key).rpartition("-")
    return (project, int(number) if number.isdigit() else 0)


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def _getter(f: Field, ctx: Context) -> Callable[[dict], object]:
    if f is TEXT_FIELD:
        text_fields = ["summary", "description", "environment"]
        custom = [c.id for c in catalog.CUSTOM_FIELDS if c.kind == "text"]

        def all_text(issue: dict) -> str:
            parts = [issue.get(k) or "" for k in text_fields]
            parts += [(issue.get("custom") or {}).get(k) or "" for k in custom]
            parts += ctx.comments_of(issue["id"])
            return "\n".join(p for p in parts if p)

        return all_text
    if f.custom:
        return lambda issue: (issue.get("custom") or {}).get(f.id)
    if f.id == "comment":
        return lambda issue: "\n".join(ctx.comments_of(issue["id"])) or None
    if f.id == "issuekey":
        return lambda issue: issue["key"]
    if f.id == "statusCategory":
        return lambda issue: catalog.status(issue["status"]).category
    if f.id == "components":
        return lambda issue: issue.get("components") or []
    if f.kind == "date":
        return lambda issue: _parse_iso(issue.get(f.id))
    return lambda issue: issue.get(f.id)


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _sort_value(issue: dict, field_id: str, ctx: Context):
    if field_id == "key":
        return _key_number(issue["key"])
    f = catalog.field_by_id(field_id)
    value = _getter(f, ctx)(issue)
    if _is_empty(value):
        return None
    if f.kind == "priority":
        return -[row[0] for row in catalog.PRIORITIES].index(value)
    if f.kind == "status":
        return [s.id for s in catalog.STATUSES].index(value)
    if f.kind == "user" and ctx.cat:
        user = ctx.cat.users.get(value)
        return (user.display_name if user else value).lower()
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value.lower() if isinstance(value, str) else value


# -- values ----------------------------------------------------------------------------------------


def _no_value(text: str, name: str) -> JqlError:
    return JqlError(f"The value '{text}' does not exist for the field '{name}'.")


def _resolve(f: Field, name: str, value: Value, ctx: Context) -> list:
    """The internal values (ids, names, datetimes) a JQL value stands for."""
    if value.function:
        call = f"{value.text}({', '.join(value.args)})"
        return [_dated(lambda: _function(f, name, value, ctx), call, name)]
    text = value.text
    if f.kind == "date":
        return [_dated(lambda: _date(text, name, ctx.now), text, name)]
    if f.kind == "number":
        try:
            return [float(text)]
        except ValueError:
            raise JqlError(f"Value '{text}' is invalid for the '{name}' field.") from None
    if f.kind == "labels":
        return [text]
    if f.kind == "project":
        project = ctx.cat.config.project if ctx.cat else "SEC"
        if text.lower() in (project.lower(), catalog.PROJECT_ID, catalog.PROJECT_NAME.lower()):
            return [project]
        raise _no_value(text, name)
    if f.kind == "key":
        if text.isdigit():
            issue = ctx.issue_by_key(text)
            return [issue["key"] if issue else f"#{text}"]
        issue = ctx.issue_by_key(text)
        if issue is None:
            raise JqlError(f"An issue with key '{text}' does not exist for field '{name}'.")
        return [issue["key"]]
    if f.kind == "user":
        user = ctx.cat.user(text) if ctx.cat else None
        if user is None:
            raise _no_value(text, name)
        return [user.name]
    if f.kind == "resolution" and text.lower() == "unresolved":
        return [None]
    if f.kind == "statuscategory":
        for key, (cat_id, cat_name, _c) in catalog.STATUS_CATEGORIES.items():
            if text.lower() in (key, cat_name.lower(), str(cat_id)):
                return [key]
        raise _no_value(text, name)
    if f.kind == "status":
        hits = [s.id for s in catalog.STATUSES if text.lower() in (s.id, s.name.lower())]
        if not hits:
            raise _no_value(text, name)
        return hits
    table = {
        "priority": catalog.PRIORITIES,
        "issuetype": catalog.ISSUE_TYPES,
        "resolution": catalog.RESOLUTIONS,
        "component": catalog.COMPONENTS,
    }.get(f.kind)
    if table is None:
        raise JqlError(f"The operator '=' is not supported by the '{name}' field.")
    row = catalog.by_name_or_id(table, text)
    if row is None:
        raise _no_value(text, name)
    return [row[0]]


_DATE_FUNCTIONS = {
    "startofday": ("d", False),
    "endofday": ("d", True),
    "startofweek": ("w", False),
    "endofweek": ("w", True),
    "startofmonth": ("M", False),
    "endofmonth": ("M", True),
    "startofyear": ("y", False),
    "endofyear": ("y", True),
}


def _bad_function(fn: str, name: str) -> JqlError:
    return JqlError(f"A value provided by the function '{fn}' is invalid for the field '{name}'.")


def _function(f: Field, name: str, value: Value, ctx: Context):
    fn = value.text.lower()
    if fn == "currentuser":
        if f.kind != "user":
            raise _bad_function(value.text, name)
        if ctx.current_user is None:
            return None
        return ctx.current_user
    if fn == "now" or fn in _DATE_FUNCTIONS:
        if f.kind != "date":
            raise _bad_function(value.text, name)
        if fn == "now":
            return ctx.now
        unit, end = _DATE_FUNCTIONS[fn]
        moment = ctx.now
        if value.args:
            moment = _shift(moment, value.args[0], unit, value.text)
        return _boundary(moment, unit, end)
    raise JqlError(f"Unable to find JQL function '{value.text}()'.")


def _shift(moment: datetime, arg: str, default_unit: str, fn: str) -> datetime:
    match = re.fullmatch(r"([+-]?)(\d+)([yMwdhm]?)", arg.strip())
    if not match:
        raise JqlError(f"Function '{fn}' expected an increment like '-1' or '+2d' but got '{arg}'.")
    sign = -1 if match.group(1) == "-" else 1
    amount, unit = int(match.group(2)) * sign, match.group(3) or default_unit
    if unit == "y":
        return moment.replace(year=moment.year + amount)
    if unit == "M":
        month = moment.month - 1 + amount
        return moment.replace(year=moment.year + month // 12, month=month % 12 + 1, day=1)
    return moment + _UNITS[unit] * amount


def _boundary(moment: datetime, unit: str, end: bool) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        start, length = day, timedelta(days=1)
    elif unit == "w":  # Jira weeks start on Sunday
        start = day - timedelta(days=(day.weekday() + 1) % 7)
        length = timedelta(weeks=1)
    elif unit == "M":
        start = day.replace(day=1)
        nxt = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        length = nxt - start
    else:
        start = day.replace(month=1, day=1)
        length = start.replace(year=start.year + 1) - start
    return start + length - timedelta(milliseconds=1) if end else start


_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_PERIOD = re.compile(r"^([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$")


def _dated(compute: Callable[[], object], text: str, name: str):
    """``compute()``, with a date past the calendar's range (``-99999999d``) a query error."""
    try:
        return compute()
    except (OverflowError, ValueError) as err:
        if isinstance(err, JqlError):
            raise
        raise JqlError(f"Date value '{text}' for field '{name}' is out of range.") from None


def _date(text: str, name: str, now: datetime) -> datetime:
    """An absolute date (UTC) or a period relative to now, like ``-1d`` or ``-4w 2d``."""
    stripped = text.strip()
    match = _PERIOD.match(stripped)
    if match:
        total = sum(
            (int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)\s*([wdhm])", match.group(2))),
            timedelta(),
        )
        return now - total if match.group(1) == "-" else now + total
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(stripped, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(f"Date value '{text}' for field '{name}' is invalid. {_DATE_HELP}")

"""Eval functions, one registered function each (Search Reference, "Evaluation functions").

Every function receives the run context first (for ``now()``), then its evaluated arguments.

>>> FUNCTIONS["substr"].fn(None, "splunk", -3)
'unk'
>>> FUNCTIONS["mvindex"].fn(None, ["a", "b", "c"], -2, -1)
['b', 'c']
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from . import timeutil
from .errors import SPLError
from .regexes import RegexError, compile_regex
from .relation import to_text

MANY = 10**6


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    #: Receives its field's value and a predicate over one value (``mvfilter``), not values.
    lazy: bool = False


FUNCTIONS: dict[str, Function] = {}


def function(name: str, min_args: int, max_args: int | None = None, lazy: bool = False):
    """Register an eval function; a second registration under one name is a bug."""

    def register(fn):
        if name in FUNCTIONS:
            raise ValueError(f"eval function {name!r} is registered twice")
        maximum = min_args if max_args is None else max_args
        FUNCTIONS[name] = Function(fn, min_args, maximum, lazy)
        return fn

    return register


#: What reads as a number: decimal digits, optional sign, fraction and exponent, surrounding
#: blanks (no ``1_000``, ``inf``, ``0x10`` or non-ASCII digits); the SQL path uses the same.
NUMBER = r"[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r]*"
_NUMBER = re.compile(NUMBER)


def as_number(value: Any) -> int | float | None:
    """Numbers and numeric strings as numbers; anything else None.

    >>> as_number(" 42 "), as_number("1e3"), as_number("1_000"), as_number("inf")
    (42, 1000.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        text = value.strip(" \t\n\r")
        if not any(c in text for c in ".eE"):
            return int(text)
        number = float(text)
        return None if math.isinf(number) else number
    return None


def truth(value: Any) -> bool | None:
    return value if value is None or isinstance(value, bool) else bool(value)


COMPARATORS = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(op: str, left: Any, right: Any) -> bool | None:
    """Splunk comparison: null-propagating, any-match for multivalue, numeric when possible."""
    if left is None or right is None:
        return None
    if isinstance(left, list):
        return any(compare(op, v, right) for v in left)
    if isinstance(right, list):
        return any(compare(op, left, v) for v in right)
    a, b = as_number(left), as_number(right)
    if a is None or b is None:
        a, b = to_text(left), to_text(right)
    return COMPARATORS[op](a, b)


def like_regex(pattern: str) -> re.Pattern:
    """SQL LIKE (``%`` any run, ``_`` one character) as an anchored regex."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.S)


def _text(fn: Callable[[str], Any]) -> Callable:
    """Lift a str function to Splunk's null-in, null-out and per-value multivalue behaviour."""

    def lifted(env, value, *args):
        if value is None:
            return None
        if isinstance(value, list):
            return [fn(to_text(v), *args) for v in value]
        return fn(to_text(value), *args)

    return lifted


# Comparison and conditional functions


@function("if", 3)
def _if(env, condition, then, otherwise):
    return then if truth(condition) else otherwise


@function("case", 2, MANY)
def _case(env, *pairs):
    for condition, value in zip(pairs[::2], pairs[1::2], strict=False):
        if truth(condition):
            return value
    return None


@function("coalesce", 1, MANY)
def _coalesce(env, *values):
    return next((v for v in values if v is not None), None)


@function("isnull", 1)
def _isnull(env, value):
    return value is None


@function("isnotnull", 1)
def _isnotnull(env, value):
    return value is not None


@function("isnum", 1)
def _isnum(env, value):
    return as_number(value) is not None


@function("isstr", 1)
def _isstr(env, value):
    return isinstance(value, str) and as_number(value) is None


@function("like", 2)
def _like(env, value, pattern):
    if value is None or pattern is None:
        return None
    return like_regex(to_text(pattern)).match(to_text(value)) is not None


@function("match", 2)
def _match(env, value, regex):
    if value is None or regex is None:
        return None
    values = value if isinstance(value, list) else [value]
    pattern = _regex("match", regex)
    return any(pattern.search(to_text(v)) for v in values)


def _regex(name: str, text):
    try:
        return compile_regex(to_text(text))
    except RegexError as exc:
        raise SPLError(
            f"Error in 'EvalCommand': The regex '{to_text(text)}' passed to '{name}' is invalid: "
            f"{exc.msg}."
        ) from None


@function("cidrmatch", 2)
def _cidrmatch(env, cidr, ip):
    if cidr is None or ip is None:
        return None
    try:
        network = ipaddress.ip_network(to_text(cidr), strict=False)
        return ipaddress.ip_address(to_text(ip).strip()) in network
    except ValueError:
        return False


@function("in", 2, MANY)
def _in(env, value, *options):
    if value is None:
        return None
    return any(compare("=", value, option) for option in options)


@function("null", 0)
def _null(env):
    return None


@function("true", 0)
def _true(env):
    return True


@function("false", 0)
def _false(env):
    return False


# Text functions

for _name, _fn in {
    "lower": str.lower,
    "upper": str.upper,
    "len": len,
    "urldecode": unquote_plus,
}.items():
    function(_name, 1)(_text(_fn))


@function("trim", 1, 2)
def _trim(env, value, chars=None):
    return _text(lambda s: s.strip(chars))(env, value)


@function("ltrim", 1, 2)
def _ltrim(env, value, chars=None):
    return _text(lambda s: s.lstrip(chars))(env, value)


@function("rtrim", 1, 2)
def _rtrim(env, value, chars=None):
    return _text(lambda s: s.rstrip(chars))(env, value)


@function("substr", 2, 3)
def _substr(env, value, start, length=None):
    if value is None or as_number(start) is None:
        return None
    text, start = to_text(value), int(as_number(start))
    begin = len(text) + start if start < 0 else max(start - 1, 0)
    end = None if length is None else begin + int(as_number(length))
    return text[begin:end]


@function("replace", 3)
def _replace(env, value, regex, replacement):
    pattern = _regex("replace", regex)
    return _text(lambda s: pattern.sub(to_text(replacement), s))(env, value)


@function("split", 2)
def _split(env, value, delimiter):
    if value is None:
        return None
    text, sep = to_text(value), to_text(delimiter)
    return list(text) if sep == "" else text.split(sep)


# Multivalue functions


def _values(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


@function("mvcount", 1)
def _mvcount(env, value):
    return None if value is None else len(_values(value))


@function("mvindex", 2, 3)
def _mvindex(env, value, start, end=None):
    values = _values(value)
    if not values or as_number(start) is None:
        return None
    n = len(values)
    first = int(as_number(start)) % n if -n <= int(as_number(start)) < n else None
    if first is None:
        return None
    if end is None:
        return values[first]
    last = int(as_number(end))
    last = min(last + n if last < 0 else last, n - 1)
    picked = values[first : last + 1]
    return None if not picked else picked[0] if len(picked) == 1 else picked


@function("mvfilter", 1, lazy=True)
def _mvfilter(env, value, keep):
    """The values of the predicate's one field for which it is true; null when none is."""
    kept = [v for v in _values(value) if truth(keep(v)) is True]
    return None if not kept else kept[0] if len(kept) == 1 else kept


@function("mvzip", 2, 3)
def _mvzip(env, left, right, delimiter=","):
    """Pairs of values joined by the delimiter (``,``), as long as the shorter field."""
    if left is None or right is None:
        return None
    sep = to_text(delimiter)
    pairs = zip(_values(left), _values(right), strict=False)
    zipped = [f"{to_text(a)}{sep}{to_text(b)}" for a, b in pairs]
    return None if not zipped else zipped[0] if len(zipped) == 1 else zipped


@function("mvjoin", 2)
def _mvjoin(env, value, delimiter):
    values = _values(value)
    return to_text(delimiter).join(to_text(v) for v in values) if values else None


@function("mvappend", 1, MANY)
def _mvappend(env, *values):
    merged = [v for value in values for v in _values(value)]
    return None if not merged else merged[0] if len(merged) == 1 else merged


# Conversion and math functions


@function("tonumber", 1, 2)
def _tonumber(env, value, base=10):
    if value is None:
        return None
    text = to_text(value).strip()
    if int(base) == 10:
        return as_number(text)
    try:
        return int(text, int(base))
    except ValueError:
        return None


@function("tostring", 1, 2)
def _tostring(env, value, fmt=None):
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    number = as_number(value)
    if fmt is None or number is None:
        return to_text(value)
    if fmt == "hex":
        return hex(int(number))
    if fmt == "commas":
        return f"{number:,}" if isinstance(number, int) else f"{number:,.2f}"
    if fmt == "duration":
        seconds = int(number)
        days, rest = divmod(seconds, 86400)
        clock = time.strftime("%H:%M:%S", time.gmtime(rest))
        return f"{days}+{clock}" if days else clock
    return to_text(value)


@function("round", 1, 2)
def _round(env, value, digits=0):
    number = as_number(value)
    if number is None:
        return None
    scale = 10 ** int(digits)
    rounded = math.floor(abs(number) * scale + 0.5) / scale * (1 if number >= 0 else -1)
    return int(rounded) if int(digits) == 0 else rounded


@function("abs", 1)
def _abs(env, value):
    number = as_number(value)
    return None if number is None else abs(number)


@function("floor", 1)
def _floor(env, value):
    number = as_number(value)
    return None if number is None else math.floor(number)


@function("ceiling", 1)
def _ceiling(env, value):
    number = as_number(value)
    return None if number is None else math.ceil(number)


# Date and time functions


@function("now", 0)
def _now(env):
    return int(env.now)


@function("time", 0)
def _time(env):
    return time.time()


@function("relative_time", 2)
def _relative_time(env, t, spec):
    number = as_number(t)
    if number is None or spec is None:
        return None
    try:
        return timeutil.relative_time(number, to_text(spec))
    except ValueError:
        return None


@function("strftime", 2)
def _strftime(env, t, fmt):
    number = as_number(t)
    return None if number is None or fmt is None else timeutil.strftime(number, to_text(fmt))


@function("strptime", 2)
def _strptime(env, text, fmt):
    return None if text is None or fmt is None else timeutil.strptime(to_text(text), to_text(fmt))

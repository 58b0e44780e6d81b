"""Splunk time modifiers (``-24h@h``, ``@d``, ``now``, epoch, ``%m/%d/%Y:%H:%M:%S``) and formats.

All times are UTC, the lab's one time zone.

>>> relative_time(1700000000, "-1d@d")
1699833600.0
>>> strftime(0, "%Y-%m-%dT%H:%M:%S.%3N")
'1970-01-01T00:00:00.000'
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from .errors import SPLError

UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "mon": "mon", "month": "mon", "months": "mon",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}  # fmt: skip
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_OFFSET = re.compile(r"([+-])(\d*)([a-zA-Z]+)")
_ABSOLUTE_FORMATS = ("%m/%d/%Y:%H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def _shift(t: datetime, count: int, unit: str) -> datetime:
    if unit in SECONDS:
        return t + timedelta(seconds=count * SECONDS[unit])
    months = count * {"mon": 1, "q": 3, "y": 12}[unit]
    month0 = t.year * 12 + t.month - 1 + months
    year, month = divmod(month0, 12)
    day = min(t.day, calendar.monthrange(year, month + 1)[1])
    return t.replace(year=year, month=month + 1, day=day)


def _snap(t: datetime, unit: str) -> datetime:
    if unit.startswith("w") and unit[1:].isdigit():  # @w0 = Sunday ... @w6 = Saturday
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=(day.weekday() + 1 - int(unit[1:])) % 7)
    unit = UNITS.get(unit)
    if unit is None:
        raise ValueError(unit)
    fields = {"s": 1, "m": 2, "h": 3, "d": 4, "w": 4, "mon": 5, "q": 5, "y": 6}[unit]
    t = t.replace(microsecond=0)
    for level, name in enumerate(("second", "minute", "hour"), start=1):
        if fields > level:
            t = t.replace(**{name: 0})
    if unit == "w":
        t -= timedelta(days=(t.weekday() + 1) % 7)
    if fields >= 5:
        t = t.replace(day=1)
    if unit == "q":
        t = t.replace(month=(t.month - 1) // 3 * 3 + 1)
    if unit == "y":
        t = t.replace(month=1)
    return t


def relative_time(now: float, spec: str) -> float:
    """Apply a Splunk relative time modifier such as ``-7d@w1`` or ``+1h`` to ``now``."""
    text = spec.strip()
    if text.lower() == "now" or text == "":
        return float(now)
    t = datetime.fromtimestamp(now, UTC)
    snap = None
    if "@" in text:
        text, snap = text.split("@", 1)
    pos = 0
    while pos < len(text):
        match = _OFFSET.match(text, pos)
        if not match or match.group(3).lower() not in UNITS:
            raise ValueError(spec)
        count = int(match.group(2) or 1) * (-1 if match.group(1) == "-" else 1)
        t = _shift(t, count, UNITS[match.group(3).lower()])
        pos = match.end()
    if snap is not None:
        head = re.match(r"([a-zA-Z]+\d?)(.*)", snap)
        if not head:
            raise ValueError(spec)
        t = _snap(t, head.group(1).lower())
        if head.group(2):
            return relative_time(t.timestamp(), head.group(2))
    return t.timestamp()


def parse_time(value: str | float | int | None, now: float) -> float | None:
    """An earliest/latest value: epoch, relative modifier, or an absolute date; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    for fmt in _ABSOLUTE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    try:
        return relative_time(now, text)
    except ValueError:
        raise SPLError(f"Invalid value \"{value}\" for time term 'earliest' or 'latest'") from None


def _splunk_format(fmt: str, t: float) -> str:
    """Translate Splunk-only conversions (%3N, %Q, %s, %z) into their text."""

    def sub(match: re.Match) -> str:
        digits, code = match.group(1), match.group(2)
        if code in "NQ":
            n = int(digits or (3 if code == "Q" else 9))
            return f"{t % 1:.9f}"[2 : 2 + n]
        if code == "s":
            return str(int(t))
        return "+0000"

    return re.sub(r"%(\d*)([NQsz])", sub, fmt)


def strftime(t: float, fmt: str) -> str:
    """Format an epoch in UTC with Splunk's strftime conversions."""
    return datetime.fromtimestamp(t, UTC).strftime(_splunk_format(fmt, t))


def strptime(text: str, fmt: str) -> float | None:
    """Parse ``text`` with a Splunk time format into epoch seconds (UTC); None if it won't fit."""
    fmt = re.sub(r"%(\d*)[NQ]", "%f", fmt)
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(t: float) -> str:
    """``_time`` as Splunk's results show it: ``2024-01-02T03:04:05.000+00:00``; a time no
    calendar holds (stored before ingest checked times) as its epoch seconds.

    >>> iso(0), iso(1e20)
    ('1970-01-01T00:00:00.000+00:00', '1e+20')
    """
    try:
        moment = datetime.fromtimestamp(t, UTC)
    except (ValueError, OverflowError, OSError):
        return f"{t:g}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"

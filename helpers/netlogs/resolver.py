"""Route 53 Resolver query logs: one JSON record per DNS query made in a VPC.

The fields are AWS's (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-format.html;
an example record:
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-example-json.html).
Delivered to S3, records come one per line in gzipped files under
``AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/`` (the layout Athena's table reads:
https://docs.aws.amazon.com/athena/latest/ug/querying-r53-resolver-logs.html).

>>> query = parse_query('{"version": "1.100000", "account_id": "111122223333", '
...     '"region": "us-east-1", "vpc_id": "vpc-7example", "query_timestamp": '
...     '"2021-02-04T17:51:55Z", "query_name": "15.3.4.32.in-addr.arpa.", "query_type": "PTR", '
...     '"query_class": "IN", "rcode": "NOERROR", "answers": [], "srcaddr": "4.5.64.102", '
...     '"srcport": "56067", "transport": "UDP", "srcids": {"instance": "i-0d15cd0d3example"}}')
>>> query["srcids"]["instance"], query["query_type"]
('i-0d15cd0d3example', 'PTR')
"""

from __future__ import annotations

import datetime as dt
import json

from helpers.netlogs.gz import compress, text_lines

__all__ = [
    "FIELDS",
    "ResolverLogError",
    "parse_query",
    "query_key",
    "read_queries",
    "write_queries",
]

#: The fields every query record carries, in the order the format page lists them.
FIELDS = (
    "version",
    "account_id",
    "region",
    "vpc_id",
    "query_timestamp",
    "query_name",
    "query_type",
    "query_class",
    "rcode",
    "answers",
    "srcaddr",
    "srcport",
    "transport",
    "srcids",
)
#: The format version Resolver writes today (the documentation's example record).
VERSION = "1.100000"


class ResolverLogError(ValueError):
    """A query log line or file that is not Resolver's format; the message names the line."""


def parse_query(line: str, where: str = "query log record") -> dict:
    """Read one record (a JSON object with every field of :data:`FIELDS`)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ResolverLogError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise ResolverLogError(f"{where}: a record is a JSON object, got {type(record).__name__}")
    missing = [name for name in FIELDS if name not in record]
    if missing:
        raise ResolverLogError(f"{where}: missing {', '.join(missing)}")
    if not isinstance(record["answers"], list) or not isinstance(record["srcids"], dict):
        raise ResolverLogError(f"{where}: answers must be a list and srcids an object")
    try:
        dt.datetime.fromisoformat(str(record["query_timestamp"]).replace("Z", "+00:00"))
    except ValueError:
        raise ResolverLogError(
            f"{where}: query_timestamp {record['query_timestamp']!r} is not ISO 8601"
        ) from None
    return record


def read_queries(data: bytes, name: str = "the file") -> list[dict]:
    """The records of a delivered file (gzipped or plain, one JSON object per line).

    A malformed line raises :class:`ResolverLogError` naming the file and line, never skipped.
    """
    lines = text_lines(data, name, ResolverLogError)
    return [
        parse_query(line, f"{name}, line {number}")
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


def write_queries(records: list[dict]) -> bytes:
    """A delivered file: one compact JSON record per line, gzipped (reproducibly)."""
    return compress("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))


def query_key(account: str, vpc_id: str, when: dt.datetime, digest: str) -> str:
    """The S3 key of a file delivered for the interval starting ``when``.

    >>> query_key("123456789012", "vpc-7example", dt.datetime(2026, 11, 2, 9, 5), "0a1b2c3d")
    'AWSLogs/123456789012/vpcdnsquerylogs/vpc-7example/2026/11/02/\
123456789012_vpcdnsquerylogs_vpc-7example_20261102T0905Z_0a1b2c3d.log.gz'
    """
    return (
        f"AWSLogs/{account}/vpcdnsquerylogs/{vpc_id}/{when:%Y/%m/%d}/"
        f"{account}_vpcdnsquerylogs_{vpc_id}_{when:%Y%m%dT%H%MZ}_{digest}.log.gz"
    )

"""VPC Flow Logs in the default format (version 2), as AWS delivers them to S3.

A record is one line of the 14 default fields, space-separated, ``-`` where a field has no value
(https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html; examples at
https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html). Delivered to
S3, records come in gzipped text files that start with a header line naming the fields, under
``AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/``
(https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html).

>>> line = ("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249"
...         " 1418530010 1418530070 ACCEPT OK")
>>> flow = Flow.parse(line)
>>> flow.dstport, flow.action, flow.line() == line
(22, 'ACCEPT', True)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass

from helpers.netlogs.gz import compress, text_lines

__all__ = ["FIELDS", "HEADER", "Flow", "FlowLogError", "flow_key", "read_flows", "write_flows"]

#: The default format's fields, in order (their names as the header line spells them).
FIELDS = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)
HEADER = " ".join(FIELDS)
VERSION = 2
ACTIONS = ("ACCEPT", "REJECT")
LOG_STATUSES = ("OK", "NODATA", "SKIPDATA")
_INTEGERS = {"srcport", "dstport", "protocol", "packets", "bytes"}
_ACCOUNT = re.compile(r"\d{12}")


class FlowLogError(ValueError):
    """A flow log line or file that is not in the default format; the message names the line."""


@dataclass(frozen=True)
class Flow:
    """One flow log record. Fields a NODATA or SKIPDATA record leaves out (``-``) are None."""

    account_id: str
    interface_id: str
    srcaddr: str | None
    dstaddr: str | None
    srcport: int | None
    dstport: int | None
    protocol: int | None
    packets: int | None
    bytes: int | None
    start: int
    end: int
    action: str | None
    log_status: str = "OK"
    version: int = VERSION

    def line(self) -> str:
        """The record as AWS writes it."""
        values = (getattr(self, _attr(name)) for name in FIELDS)
        return " ".join("-" if v is None else str(v) for v in values)

    @classmethod
    def parse(cls, line: str, where: str = "flow log record") -> Flow:
        """Read one record; a line that is not one raises :class:`FlowLogError` naming ``where``."""
        parts = line.split()
        if len(parts) != len(FIELDS):
            raise FlowLogError(
                f"{where}: expected the {len(FIELDS)} default-format fields ({HEADER}), "
                f"got {len(parts)}"
            )
        values: dict[str, object] = {}
        for name, text in zip(FIELDS, parts, strict=True):
            values[_attr(name)] = None if text == "-" else _value(name, text, where)
        flow = cls(**values)  # type: ignore[arg-type]
        flow._check(where)
        return flow

    def _check(self, where: str) -> None:
        if self.version != VERSION:
            raise FlowLogError(f"{where}: version {self.version} is not the default format (2)")
        if self.log_status not in LOG_STATUSES:
            raise FlowLogError(
                f"{where}: log-status {self.log_status!r} is not OK, NODATA or SKIPDATA"
            )
        if self.log_status == "OK":
            missing = [name for name in FIELDS if getattr(self, _attr(name)) is None]
            if missing:
                raise FlowLogError(f"{where}: an OK record needs {', '.join(missing)}")
        if self.action is not None and self.action not in ACTIONS:
            raise FlowLogError(f"{where}: action {self.action!r} is not ACCEPT or REJECT")
        if self.start is None or self.end is None or self.end < self.start:
            raise FlowLogError(f"{where}: start and end must be epoch seconds, start <= end")


def _attr(name: str) -> str:
    return name.replace("-", "_")


def _value(name: str, text: str, where: str) -> object:
    try:
        if name in ("srcaddr", "dstaddr"):
            return str(ipaddress.ip_address(text))
        if name == "account-id":
            if not _ACCOUNT.fullmatch(text):
                raise ValueError
            return text
        if name == "interface-id":
            if not text.startswith("eni-"):
                raise ValueError
            return text
        if name in _INTEGERS or name in ("version", "start", "end"):
            number = int(text)
            if number < 0:
                raise ValueError
            return number
        return text
    except ValueError:
        raise FlowLogError(f"{where}: {name} {text!r} is not valid") from None


def read_flows(data: bytes, name: str = "the file") -> list[Flow]:
    """The records of a delivered file (gzipped or plain text, header line first).

    Every line must be a record: a malformed one raises :class:`FlowLogError` naming the file
    and the line number (the header is line 1), never skipped.
    """
    lines = text_lines(data, name, FlowLogError)
    if not lines or lines[0].split() != list(FIELDS):
        first = lines[0][:80] if lines else ""
        raise FlowLogError(f"{name}, line 1: expected the header {HEADER!r}, got {first!r}")
    return [
        Flow.parse(line, f"{name}, line {number}") for number, line in enumerate(lines[1:], start=2)
    ]


def write_flows(flows: list[Flow]) -> bytes:
    """A file as S3 delivery writes it: the header, one line per record, gzipped (reproducibly)."""
    return compress("\n".join([HEADER, *(flow.line() for flow in flows)]) + "\n")


def flow_key(account: str, region: str, flow_log_id: str, when: dt.datetime, digest: str) -> str:
    """The S3 key of a file delivered for the 5-minute interval ``when``.

    >>> flow_key("123456789012", "us-east-1", "fl-1234abcd", dt.datetime(2026, 11, 2, 9, 5),
    ...          "fe123456")
    'AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/02/\
123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20261102T0905Z_fe123456.log.gz'
    """
    return (
        f"AWSLogs/{account}/vpcflowlogs/{region}/{when:%Y/%m/%d}/"
        f"{account}_vpcflowlogs_{region}_{flow_log_id}_{when:%Y%m%dT%H%MZ}_{digest}.log.gz"
    )

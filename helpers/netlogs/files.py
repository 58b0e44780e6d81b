"""Network logs on disk in S3's key layout: written as the services deliver them, read back.

Both services deliver a file per interval (flow logs every 5 minutes); a file's name ends in a
digest of its content, so writing the same traffic twice gives the same files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

from helpers.netlogs.flowlogs import Flow, flow_key, read_flows, write_flows
from helpers.netlogs.generate import Traffic
from helpers.netlogs.network import Network
from helpers.netlogs.resolver import query_key, read_queries, write_queries

__all__ = ["DELIVERY", "read_logs", "write_logs"]

#: How often a file is delivered (VPC Flow Logs: every 5 minutes; Resolver alike here).
DELIVERY = dt.timedelta(minutes=5)
_FLOWS, _QUERIES = "/vpcflowlogs/", "/vpcdnsquerylogs/"


def write_logs(folder: str | Path, traffic: Traffic, network: Network, flow_log_id: str):
    """Write ``traffic`` under ``folder`` (``AWSLogs/...``); returns the files written."""
    folder = Path(folder)
    written = []
    for when, flows in _by_interval(traffic.flows, lambda f: _utc(f.start)).items():
        body = write_flows(flows)
        key = flow_key(network.account_id, network.region, flow_log_id, when, _digest(body))
        written.append(_write(folder / key, body))
    for when, queries in _by_interval(traffic.queries, _query_time).items():
        body = write_queries(queries)
        key = query_key(network.account_id, network.vpc_id, when, _digest(body))
        written.append(_write(folder / key, body))
    return written


def read_logs(folder: str | Path) -> Traffic:
    """Every flow log and query log file under ``folder`` (in key order), as one ``Traffic``.

    A malformed line raises the format's error naming the file and the line.
    """
    flows: list[Flow] = []
    queries: list[dict] = []
    for path in sorted(Path(folder).rglob("*.log.gz")):
        where = path.as_posix()
        if _FLOWS in where:
            flows += read_flows(path.read_bytes(), where)
        elif _QUERIES in where:
            queries += read_queries(path.read_bytes(), where)
    return Traffic(flows, queries)


def _by_interval(items: list, when: Callable[[object], dt.datetime]) -> dict:
    groups: dict[dt.datetime, list] = {}
    for item in items:
        moment = when(item)
        every = int(DELIVERY.total_seconds() // 60)
        start = moment.replace(second=0, minute=moment.minute - moment.minute % every)
        groups.setdefault(start, []).append(item)
    return groups


def _query_time(query: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(query["query_timestamp"].replace("Z", "+00:00"))


def _utc(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:8]


def _write(path: Path, body: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path

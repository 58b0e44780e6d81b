"""Network evidence: VPC Flow Logs and Route 53 Resolver query logs in AWS's own formats.

- :mod:`~helpers.netlogs.flowlogs` and :mod:`~helpers.netlogs.resolver`: parse and format the
  two record types and their delivered files (a malformed line is an error naming its line);
- :mod:`~helpers.netlogs.network` and :mod:`~helpers.netlogs.generate`: the account's network
  as EC2 describes it, and the traffic a scenario's CloudTrail records imply on it;
- :mod:`~helpers.netlogs.files`: the logs on disk in S3's key layout (``data/sample_network/``);
- :mod:`~helpers.netlogs.ingest`: into Splunk with the add-on's sourcetypes, and search macros.

>>> from helpers import netlogs
>>> traffic = netlogs.read_logs("data/sample_network/sg-open-world")    # doctest: +SKIP
>>> netlogs.define_macros("lab_samples")                                # doctest: +SKIP
>>> netlogs.send(traffic, index="lab_samples")                          # doctest: +SKIP
"""

from helpers.netlogs.files import read_logs, write_logs
from helpers.netlogs.flowlogs import Flow, FlowLogError, read_flows, write_flows
from helpers.netlogs.generate import SUSPICIOUS_DOMAIN, Traffic, generate
from helpers.netlogs.ingest import (
    FLOW_SOURCE,
    FLOW_SOURCETYPE,
    QUERY_SOURCE,
    QUERY_SOURCETYPE,
    define_macros,
    send,
)
from helpers.netlogs.network import Network
from helpers.netlogs.resolver import ResolverLogError, parse_query, read_queries, write_queries

__all__ = [
    "FLOW_SOURCE",
    "FLOW_SOURCETYPE",
    "QUERY_SOURCE",
    "QUERY_SOURCETYPE",
    "SUSPICIOUS_DOMAIN",
    "Flow",
    "FlowLogError",
    "Network",
    "ResolverLogError",
    "Traffic",
    "define_macros",
    "generate",
    "parse_query",
    "read_flows",
    "read_logs",
    "read_queries",
    "send",
    "write_flows",
    "write_logs",
    "write_queries",
]

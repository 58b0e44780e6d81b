"""Network logs into Splunk as the Splunk Add-on for AWS indexes them, and macros to search them.

Flow log records go in as the raw lines AWS writes, sourcetype ``aws:cloudwatchlogs:vpcflow`` (the
add-on's: splunk/security_content ``data_sources/aws_cloudwatchlogs_vpcflow.yml``, and
https://splunk.github.io/splunk-add-on-for-amazon-web-services/SPL2/FieldExtractions/index_aws_cloudwatchlogs_vpcflow_field_extractions/),
each at its ``start``. The add-on extracts the fields at search time with props/transforms; here
the ``vpcflow_fields`` macro does the same with ``rex`` and ``eval``, under the add-on's field
names (``src_ip``, ``dest_port``, ``vpcflow_action``, ``action=allowed|blocked``...), so a search
written for the add-on reads the same. On a Splunk with the add-on, define ``vpcflow_fields`` as
``fields *`` and the searches keep working.

The add-on has no sourcetype of its own for Route 53 Resolver query logs (its supported products:
https://splunk.github.io/splunk-add-on-for-amazon-web-services/Releasehistory); they reach Splunk
through CloudWatch Logs, whose sourcetype is ``aws:cloudwatchlogs``. They go in as JSON events
(Splunk extracts their fields), each at its ``query_timestamp``.

>>> send(read_logs("data/sample_network"), index="lab_samples")      # doctest: +SKIP
{'aws:cloudwatchlogs:vpcflow': 1290, 'aws:cloudwatchlogs': 17}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpers import splunk
from helpers.netlogs.flowlogs import FIELDS
from helpers.netlogs.generate import Traffic

if TYPE_CHECKING:
    import requests
    import splunklib.client

    from helpers.config import Settings

__all__ = ["FLOW_SOURCETYPE", "QUERY_SOURCETYPE", "define_macros", "field_extraction", "send"]

FLOW_SOURCETYPE = "aws:cloudwatchlogs:vpcflow"
QUERY_SOURCETYPE = "aws:cloudwatchlogs"
FLOW_SOURCE, QUERY_SOURCE = "lab:sample_vpcflow", "lab:sample_route53"
#: The add-on's names for the default format's fields.
ADDON_FIELDS = {
    "version": "version",
    "account-id": "account_id",
    "interface-id": "interface_id",
    "srcaddr": "src_ip",
    "dstaddr": "dest_ip",
    "srcport": "src_port",
    "dstport": "dest_port",
    "protocol": "protocol_code",
    "packets": "packets",
    "bytes": "bytes",
    "start": "start_time",
    "end": "end_time",
    "action": "vpcflow_action",
    "log-status": "log_status",
}
_START = FIELDS.index("start")


def field_extraction() -> str:
    """The SPL that extracts a flow log line's fields under the add-on's names (and the CIM's
    ``action`` and ``transport``)."""
    groups = " ".join(f"(?<{ADDON_FIELDS[name]}>[^ ]+)" for name in FIELDS)
    return (
        f'rex "^{groups}$"'
        ' | eval action=case(vpcflow_action=="ACCEPT", "allowed", vpcflow_action=="REJECT",'
        ' "blocked"), transport=case(protocol_code=="6", "tcp", protocol_code=="17", "udp",'
        ' protocol_code=="1", "icmp")'
    )


def define_macros(index: str, *, service: splunklib.client.Service | None = None) -> dict[str, str]:
    """Define ``vpcflow_samples``, ``vpcflow_fields`` and ``route53_samples`` for ``index``;
    returns the definitions. Searches start ``\\`vpcflow_samples\\` | \\`vpcflow_fields\\```."""
    definitions = {
        "vpcflow_samples": f"index={index} sourcetype={FLOW_SOURCETYPE} source={FLOW_SOURCE}",
        "vpcflow_fields": field_extraction(),
        "route53_samples": f"index={index} sourcetype={QUERY_SOURCETYPE} source={QUERY_SOURCE}",
    }
    for name, definition in definitions.items():
        splunk.define_macro(name, definition, service=service)
    return definitions


def send(
    traffic: Traffic,
    *,
    index: str | None = None,
    settings: Settings | None = None,
    session: requests.Session | None = None,
) -> dict[str, int]:
    """Send flow log lines and query log records through HEC; returns the count per sourcetype."""
    options = {"index": index, "settings": settings, "session": session}
    flows = splunk.send_events(
        [flow.line() for flow in traffic.flows],
        sourcetype=FLOW_SOURCETYPE,
        source=FLOW_SOURCE,
        time_field=lambda line: line.split(" ")[_START],
        **options,
    )
    queries = splunk.send_events(
        traffic.queries,
        sourcetype=QUERY_SOURCETYPE,
        source=QUERY_SOURCE,
        time_field="query_timestamp",
        **options,
    )
    return {FLOW_SOURCETYPE: flows, QUERY_SOURCETYPE: queries}

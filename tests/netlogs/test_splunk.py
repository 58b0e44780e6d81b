"""The network samples in the session world's Splunk: sent through HEC with the add-on's
sourcetypes and their own times, the flow log fields extracted by the macros as the parser reads
them, and searches that tie them to the CloudTrail change."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import cloudtrail, netlogs, splunk
from helpers.config import Settings

pytestmark = pytest.mark.stack

DATA = Path(__file__).resolve().parents[2] / "data"
SCENARIO = "sg-open-world"
FIELDS = ["src_ip", "dest_ip", "src_port", "dest_port", "vpcflow_action", "interface_id"]


@pytest.fixture
def loaded(lab_world, service, index):
    """The scenario's CloudTrail and network samples in a fresh index, the macros on it."""
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in lab_world.settings.items()})
    splunk.define_macro(
        "cloudtrail_samples", f"index={index} sourcetype=aws:cloudtrail", service=service
    )
    netlogs.define_macros(index, service=service)
    splunk.send_events(
        cloudtrail.read_files(DATA / "sample_cloudtrail" / SCENARIO),
        sourcetype="aws:cloudtrail",
        index=index,
        time_field="eventTime",
        settings=settings,
    )
    traffic = netlogs.read_logs(DATA / "sample_network" / SCENARIO)
    sent = netlogs.send(traffic, index=index, settings=settings)
    assert sent == {
        netlogs.FLOW_SOURCETYPE: len(traffic.flows),
        netlogs.QUERY_SOURCETYPE: len(traffic.queries),
    }
    return traffic


def _search(spl, service):
    return splunk.search(spl, earliest=0, latest=None, service=service, numeric=False)


def test_flow_lines_are_raw_at_their_start_and_the_macro_extracts_what_the_parser_reads(
    loaded, service
):
    rows = _search(
        "`vpcflow_samples` | `vpcflow_fields` | table _time _raw start_time " + " ".join(FIELDS),
        service,
    )
    assert sorted(rows["_raw"]) == sorted(f.line() for f in loaded.flows)
    for row in rows.to_dict("records"):
        flow = netlogs.Flow.parse(row["_raw"])
        expected = [flow.srcaddr, flow.dstaddr, flow.srcport, flow.dstport, flow.action]
        assert [row[f] for f in FIELDS[:5]] == [str(v) for v in expected]
        assert row["interface_id"] == flow.interface_id
        assert row["_time"] == pd.Timestamp(flow.start, unit="s", tz="UTC")


def test_the_cim_action_and_transport(loaded, service):
    rows = _search(
        "`vpcflow_samples` | `vpcflow_fields` | stats count by vpcflow_action action transport",
        service,
    )
    assert sorted(zip(rows["vpcflow_action"], rows["action"], rows["transport"], strict=True)) == [
        ("ACCEPT", "allowed", "tcp"),
        ("REJECT", "blocked", "tcp"),
    ]


def test_flows_to_the_opened_port_before_and_after_the_change(loaded, service):
    rows = _search(
        "`vpcflow_samples` | `vpcflow_fields` | rename dest_port AS port"
        " | join port [search `cloudtrail_samples` eventName=AuthorizeSecurityGroupIngress"
        " | rename requestParameters.ipPermissions.items{}.fromPort AS port, sourceIPAddress AS"
        " opener | eval opened=_time | table port opened opener]"
        ' | where src_ip=opener | eval when=if(_time < opened, "before", "after")'
        " | stats count by when vpcflow_action",
        service,
    )
    assert sorted(zip(rows["when"], rows["vpcflow_action"], strict=True)) == [
        ("after", "ACCEPT"),
        ("before", "REJECT"),
    ]


def test_the_suspicious_lookup_ties_the_instance_to_its_interface(loaded, service):
    rows = _search(
        "`vpcflow_samples` | `vpcflow_fields`"
        f' | join dest_ip [search `route53_samples` query_name="{netlogs.SUSPICIOUS_DOMAIN}"'
        " | rename answers{}.Rdata AS dest_ip, srcids.instance AS instance"
        " | table dest_ip instance]"
        " | stats count by instance interface_id dest_port",
        service,
    )
    [lookup] = [q for q in loaded.queries if q["query_name"] == netlogs.SUSPICIOUS_DOMAIN]
    calls = {f.interface_id for f in loaded.flows if f.dstaddr == lookup["answers"][0]["Rdata"]}
    assert list(zip(rows["instance"], rows["interface_id"], rows["dest_port"], strict=True)) == [
        (lookup["srcids"]["instance"], calls.pop(), "443")
    ]

"""Flow log and Resolver query log records: AWS's documentation examples parse, what we write
reads back, and a malformed line is an error naming its file and line, never skipped."""

from __future__ import annotations

import gzip
import json

import pytest

from helpers.netlogs import (
    Flow,
    FlowLogError,
    ResolverLogError,
    parse_query,
    read_flows,
    read_queries,
    write_flows,
    write_queries,
)
from helpers.netlogs.flowlogs import HEADER

# https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html
DOC_ACCEPT = (
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249"
    " 1418530010 1418530070 ACCEPT OK"
)
DOC_REJECT = (
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249"
    " 1418530010 1418530070 REJECT OK"
)
DOC_NODATA = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-example-json.html
DOC_QUERY = {
    "srcaddr": "4.5.64.102",
    "vpc_id": "vpc-7example",
    "answers": [{"Rdata": "203.0.113.9", "Type": "PTR", "Class": "IN"}],
    "firewall_rule_group_id": "rslvr-frg-01234567890abcdef",
    "firewall_rule_action": "BLOCK",
    "query_name": "15.3.4.32.in-addr.arpa.",
    "firewall_domain_list_id": "rslvr-fdl-01234567890abcdef",
    "query_class": "IN",
    "srcids": {"instance": "i-0d15cd0d3example"},
    "rcode": "NOERROR",
    "query_type": "PTR",
    "transport": "UDP",
    "version": "1.100000",
    "account_id": "111122223333",
    "srcport": "56067",
    "query_timestamp": "2021-02-04T17:51:55Z",
    "region": "us-east-1",
}


@pytest.mark.parametrize("line", [DOC_ACCEPT, DOC_REJECT, DOC_NODATA])
def test_documentation_records_parse_and_format_back(line):
    assert Flow.parse(line).line() == line


def test_documentation_records_have_their_values():
    reject = Flow.parse(DOC_REJECT)
    assert (reject.srcaddr, reject.dstport, reject.protocol, reject.action) == (
        "172.31.9.69",
        3389,
        6,
        "REJECT",
    )
    nodata = Flow.parse(DOC_NODATA)
    assert (nodata.srcaddr, nodata.packets, nodata.action, nodata.log_status) == (
        None,
        None,
        None,
        "NODATA",
    )


def test_a_file_is_the_header_then_the_records_and_reads_back():
    flows = [Flow.parse(DOC_ACCEPT), Flow.parse(DOC_REJECT)]
    body = write_flows(flows)
    assert gzip.decompress(body).decode().splitlines() == [HEADER, DOC_ACCEPT, DOC_REJECT]
    assert read_flows(body, "f.log.gz") == flows
    assert read_flows(gzip.decompress(body), "plain.log") == flows


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (DOC_ACCEPT.rsplit(" ", 1)[0], "expected the 14 default-format fields"),
        (DOC_ACCEPT.replace("ACCEPT", "ALLOW"), "action 'ALLOW'"),
        (DOC_ACCEPT.replace("172.31.16.139", "172.31.16.999"), "srcaddr '172.31.16.999'"),
        (DOC_ACCEPT.replace("eni-1235b8ca123456789", "i-1235b8ca"), "interface-id"),
        ("5" + DOC_ACCEPT[1:], "version 5 is not the default format"),
        (DOC_ACCEPT.replace(" 20641 ", " -1 "), "srcport '-1'"),
        (DOC_ACCEPT.replace(" 4249 ", " - "), "an OK record needs bytes"),
        (DOC_ACCEPT.replace("1418530070", "1418530000"), "start <= end"),
        (DOC_ACCEPT.replace(" OK", " FINE"), "log-status 'FINE'"),
    ],
)
def test_a_malformed_line_is_reported_with_its_line_number(bad, problem):
    body = "\n".join([HEADER, DOC_ACCEPT, bad, DOC_REJECT]).encode()
    with pytest.raises(FlowLogError, match="flows_log, line 3: ") as caught:
        read_flows(body, "flows_log")
    assert problem in str(caught.value)


def test_a_file_without_the_default_header_is_refused():
    with pytest.raises(FlowLogError, match="line 1: expected the header"):
        read_flows(DOC_ACCEPT.encode(), "noheader.log")
    custom = b"version srcaddr dstaddr\n2 10.0.0.1 10.0.0.2\n"
    with pytest.raises(FlowLogError, match="line 1: expected the header"):
        read_flows(custom, "custom.log")


def test_a_truncated_file_is_named():
    body = write_flows([Flow.parse(DOC_ACCEPT)])
    with pytest.raises(FlowLogError, match="cut_file: not a whole gzip file"):
        read_flows(body[:-8], "cut_file")


def test_the_documentation_query_record_parses():
    record = parse_query(json.dumps(DOC_QUERY))
    assert record["srcids"]["instance"] == "i-0d15cd0d3example"
    assert record["answers"][0]["Rdata"] == "203.0.113.9"


def test_query_files_read_back():
    other = {**DOC_QUERY, "query_name": "example.com.", "query_type": "A"}
    body = write_queries([DOC_QUERY, other])
    assert read_queries(body, "q.log.gz") == [DOC_QUERY, other]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ('{"version": "1.100000",', "not JSON"),
        ("[1, 2]", "a record is a JSON object"),
        (json.dumps({k: v for k, v in DOC_QUERY.items() if k != "srcids"}), "missing srcids"),
        (json.dumps({**DOC_QUERY, "answers": "203.0.113.9"}), "answers must be a list"),
        (json.dumps({**DOC_QUERY, "query_timestamp": "yesterday"}), "is not ISO 8601"),
    ],
)
def test_a_malformed_query_line_is_reported_with_its_line_number(bad, problem):
    body = "\n".join([json.dumps(DOC_QUERY), bad]).encode()
    with pytest.raises(ResolverLogError, match="queries_log, line 2: ") as caught:
        read_queries(body, "queries_log")
    assert problem in str(caught.value)

"""Benchmark the SPL engine on generated CloudTrail events.

Measures, in one run on the same events: ``EventStore.add`` rate; five detection-style searches
through the engine against hand-written DuckDB SQL for the same questions on the same table
(aim: at most 2x), and against pandas (``json_normalize`` then filter; aim: 20x slower or more);
the process's peak memory before the pandas baseline. Prints a table of figures and ratios.

    .venv/bin/python bench/spl_bench.py --events 100000

Times are measured, never asserted: the tests check answers, this script reports speed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from labstack.splunk.spl.geo import locate
from labstack.splunk.store import EventStore

START = 1_700_000_000
META = {
    "index": "main",
    "sourcetype": "aws:cloudtrail",
    "source": "s3://trail",
    "host": "cloudtrail",
}
BATCH = 50_000
# (eventName, eventSource, weight): a read-heavy account with a little risky activity.
EVENTS = [
    ("DescribeInstances", "ec2.amazonaws.com", 30),
    ("GetObject", "s3.amazonaws.com", 25),
    ("AssumeRole", "sts.amazonaws.com", 12),
    ("ListBuckets", "s3.amazonaws.com", 8),
    ("DescribeSecurityGroups", "ec2.amazonaws.com", 8),
    ("ConsoleLogin", "signin.amazonaws.com", 5),
    ("GetCallerIdentity", "sts.amazonaws.com", 5),
    ("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", 3),
    ("RevokeSecurityGroupIngress", "ec2.amazonaws.com", 1),
    ("CreateAccessKey", "iam.amazonaws.com", 1),
    ("PutBucketPolicy", "s3.amazonaws.com", 1),
    ("StopLogging", "cloudtrail.amazonaws.com", 1),
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
AGENTS = ["aws-cli/2.15.0 Python/3.11.6", "Boto3/1.34.0 Python/3.11", "console.amazonaws.com"]


def generate(n: int, seed: int = 7) -> Iterator[dict]:
    """``n`` CloudTrail records (~700 bytes of JSON each) as store events, one at a time."""
    rng = random.Random(seed)
    names = [e for e in EVENTS for _ in range(e[2])]
    ips = [".".join(str(rng.randint(1, 223)) for _ in range(4)) for _ in range(2000)]
    users = [f"user{i:03d}" for i in range(200)]
    for i in range(n):
        name, source, _ = rng.choice(names)
        user = rng.choice(users)
        assumed = rng.random() < 0.3
        record = {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole" if assumed else "IAMUser",
                "principalId": f"AIDA{i % 99991:016d}",
                "arn": f"arn:aws:iam::123456789012:user/{user}",
                "accountId": "123456789012",
                "accessKeyId": f"AKIA{i % 7919:016d}",
                "userName": user,
            },
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + i)),
            "eventSource": source,
            "eventName": name,
            "awsRegion": rng.choice(REGIONS),
            "sourceIPAddress": rng.choice(ips),
            "userAgent": rng.choice(AGENTS),
            "requestParameters": _parameters(name, rng),
            "responseElements": None,
            "requestID": f"{rng.getrandbits(64):016x}-{i:08d}",
            "eventID": f"{rng.getrandbits(64):016x}-{i:08x}",
            "readOnly": name.startswith(("Describe", "Get", "List")),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "123456789012",
        }
        if rng.random() < 0.03:
            record["errorCode"] = rng.choice(["AccessDenied", "UnauthorizedOperation"])
        yield {**META, "_time": float(START + i), "_raw": json.dumps(record)}


def _parameters(name: str, rng: random.Random) -> dict:
    if name in ("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"):
        cidr = rng.choice(["0.0.0.0/0", "10.0.0.0/8", "203.0.113.0/24"])
        return {
            "groupId": f"sg-{rng.randint(0, 50):08x}",
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "ipRanges": {"items": [{"cidrIp": cidr}]},
                    }
                ]
            },
        }
    if name in ("GetObject", "PutBucketPolicy", "ListBuckets"):
        return {
            "bucketName": f"bucket-{rng.randint(0, 30)}",
            "key": f"data/{rng.randint(0, 9999)}.csv",
        }
    return {"instancesSet": {"items": [{"instanceId": f"i-{rng.getrandbits(32):08x}"}]}}


J = "json_extract_string(__doc, '$.{}')"  # the store keeps JSON events' _raw in __doc
CLOUDTRAIL = "\"index\" = 'main' AND sourcetype = 'aws:cloudtrail'"
CIDRS = "'$.requestParameters.ipPermissions.items[*].ipRanges.items[*].cidrIp'"


@dataclass
class Case:
    """One detection-style question, asked three ways."""

    name: str
    spl: str
    sql: Callable[[duckdb.DuckDBPyConnection], list]
    pandas: Callable[[pd.DataFrame], object]


def _sql(text: str) -> Callable[[duckdb.DuckDBPyConnection], list]:
    return lambda con: con.execute(text).fetchall()


def _lower(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column].astype("string").str.lower()


def _open_to_world(items) -> bool:
    if not isinstance(items, list):
        return False
    return any(r.get("cidrIp") == "0.0.0.0/0" for p in items for r in p["ipRanges"]["items"])


def pandas_wildcards(df):
    name = _lower(df, "eventName")
    hits = df[
        name.str.contains("securitygroup", na=False) & ~name.str.startswith("describe", na=False)
    ]
    return hits.groupby(["eventName", "userIdentity.arn"]).size()


def pandas_open_ingress(df):
    hits = df[
        (_lower(df, "eventName") == "authorizesecuritygroupingress")
        & df["requestParameters.ipPermissions.items"].map(_open_to_world)
        & (_lower(df, "userIdentity.type") != "assumedrole")
    ]
    return hits.groupby("requestParameters.groupId").size()


def pandas_in(df):
    hits = df[_lower(df, "eventName").isin(["stoplogging", "createaccesskey", "putbucketpolicy"])]
    return hits.groupby(["eventName", "sourceIPAddress"]).size()


def pandas_stats(df):
    return df.groupby(["userIdentity.arn", "awsRegion"]).agg(
        count=("eventName", "size"),
        events=("eventName", "nunique"),
        firstTime=("_time", "min"),
        lastTime=("_time", "max"),
    )


def pandas_iplocation(df):
    logins = df[_lower(df, "eventName") == "consolelogin"]
    country = logins.sourceIPAddress.map(lambda ip: (locate(ip) or {}).get("Country"))
    return country[country.notna() & (country.str.lower() != "united states")].value_counts()


def sql_iplocation(con) -> list:
    """What a person would write: distinct IPs, look them up, join the answers back."""
    where = f"{CLOUDTRAIL} AND lower({J.format('eventName')}) = 'consolelogin'"
    ips = [
        ip
        for (ip,) in con.execute(
            f"SELECT DISTINCT {J.format('sourceIPAddress')} FROM events WHERE {where}"
        ).fetchall()
    ]
    countries = [(locate(ip) or {}).get("Country") if ip else None for ip in ips]
    con.register("geo", pd.DataFrame({"ip": ips, "country": countries}, dtype=object))
    return con.execute(
        f"SELECT g.country, count(*) FROM events "
        f"JOIN geo g ON g.ip = {J.format('sourceIPAddress')} "
        f"WHERE {where} AND g.country IS NOT NULL AND lower(g.country) <> 'united states' "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()


CASES = [
    Case(
        "wildcards",
        "search `cloudtrail` eventName=*SecurityGroup* NOT eventName=Describe* "
        "| stats count by eventName, userIdentity.arn",
        _sql(
            f"SELECT {J.format('eventName')} AS e, {J.format('userIdentity.arn')} AS a, count(*) "
            f"FROM events WHERE {CLOUDTRAIL} AND e ILIKE '%securitygroup%' "
            "AND NOT e ILIKE 'describe%' AND a IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ),
        pandas_wildcards,
    ),
    Case(
        "NOT + multivalue",
        "search `cloudtrail` eventName=AuthorizeSecurityGroupIngress "
        "requestParameters.ipPermissions.items{}.ipRanges.items{}.cidrIp=0.0.0.0/0 "
        "NOT userIdentity.type=AssumedRole | stats count by requestParameters.groupId",
        _sql(
            f"SELECT {J.format('requestParameters.groupId')} AS g, count(*) FROM events "
            f"WHERE {CLOUDTRAIL} "
            f"AND lower({J.format('eventName')}) = 'authorizesecuritygroupingress' "
            f"AND list_contains(json_extract_string(__doc, {CIDRS}), '0.0.0.0/0') "
            f"AND coalesce(lower({J.format('userIdentity.type')}) <> 'assumedrole', TRUE) "
            "AND g IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ),
        pandas_open_ingress,
    ),
    Case(
        "IN",
        "search `cloudtrail` eventName IN (StopLogging, CreateAccessKey, PutBucketPolicy) "
        "| stats count by eventName, sourceIPAddress",
        _sql(
            f"SELECT {J.format('eventName')} AS e, {J.format('sourceIPAddress')} AS ip, count(*) "
            f"FROM events WHERE {CLOUDTRAIL} AND lower(e) IN "
            "('stoplogging', 'createaccesskey', 'putbucketpolicy') AND ip IS NOT NULL "
            "GROUP BY ALL ORDER BY ALL"
        ),
        pandas_in,
    ),
    Case(
        "stats by",
        "search `cloudtrail` | stats count dc(eventName) AS events min(_time) AS firstTime "
        "max(_time) AS lastTime by userIdentity.arn, awsRegion",
        _sql(
            f"SELECT {J.format('userIdentity.arn')} AS a, {J.format('awsRegion')} AS r, count(*), "
            f"count(DISTINCT {J.format('eventName')}), min(_time), max(_time) FROM events "
            f"WHERE {CLOUDTRAIL} AND a IS NOT NULL AND r IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ),
        pandas_stats,
    ),
    Case(
        "iplocation",
        "search `cloudtrail` eventName=ConsoleLogin | iplocation sourceIPAddress "
        '| search Country!="United States" | stats count by Country',
        sql_iplocation,
        pandas_iplocation,
    ),
]


def wait_for_checkpoint(path: str, limit: float = 120) -> float:
    """Seconds until the store has checkpointed (its write-ahead log is empty)."""
    start = time.perf_counter()
    wal = Path(f"{path}.wal")
    while wal.exists() and wal.stat().st_size and time.perf_counter() - start < limit:
        time.sleep(0.1)
    return time.perf_counter() - start


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--pandas-events", type=int, help="events for the pandas baseline (default: all; scaled)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.duckdb")
        store = EventStore(path)
        events, size, ingest = generate(args.events), 0, 0.0
        while batch := list(itertools.islice(events, BATCH)):  # generated outside the timing
            size += sum(len(e["_raw"]) for e in batch)
            started = time.perf_counter()
            store.add(batch)
            ingest += time.perf_counter() - started
        print(f"{args.events:,} CloudTrail events, {size / args.events:.0f} bytes of JSON each")
        print(f"store.add: {args.events / ingest:,.0f} events/s (batches of {BATCH:,})")
        settled = wait_for_checkpoint(path)
        print(f"store checkpointed {settled:.1f}s after the last batch (it waits for quiet)")
        con = duckdb.connect(path)  # the same database, for the hand-written SQL
        for case in CASES:
            engine = hand = float("inf")
            for _ in range(args.repeat):  # alternate, so machine noise hits both alike
                seconds, results = timed(lambda case=case: store.search(case.spl))
                engine = min(engine, seconds)
                seconds, expected = timed(lambda case=case: case.sql(con))
                hand = min(hand, seconds)
            if len(results.rows) != len(expected):
                print(
                    f"  !! {case.name}: engine gave {len(results.rows)} rows, SQL {len(expected)}"
                )
            rows.append([case.name, engine, hand, len(results.rows)])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        con.close()
        store.close()

    n_pandas = min(args.pandas_events or args.events, args.events)
    scale = args.events / n_pandas
    events = list(generate(n_pandas))  # the same first events the store got
    started = time.perf_counter()
    frame = pd.json_normalize([json.loads(e["_raw"]) for e in events])
    frame["_time"] = [e["_time"] for e in events]
    normalize = (time.perf_counter() - started) * scale
    note = "" if scale == 1 else f" (measured on {n_pandas:,} events, scaled)"
    print(f"pandas json_normalize: {normalize:.1f}s for {args.events:,} events{note}")
    for row, case in zip(rows, CASES, strict=True):
        filtered, _ = timed(lambda case=case: case.pandas(frame))
        row.append(normalize + filtered * scale)

    print(
        f"\n{'search':<18}{'engine s':>10}{'SQL s':>8}{'engine/SQL':>12}"
        f"{'pandas s':>10}{'pandas/engine':>15}{'rows':>7}"
    )
    for name, engine, hand, count, slow in rows:
        print(
            f"{name:<18}{engine:>10.3f}{hand:>8.3f}{engine / hand:>12.2f}"
            f"{slow:>10.1f}{slow / engine:>15.0f}{count:>7}"
        )
    print(f"\npeak memory (RSS) of this process before the pandas baseline: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()

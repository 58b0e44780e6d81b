"""Re-record ``data/sample_cloudtrail/``: scenarios and a baseline, as the recorder delivers them.

A fresh world is started in a temporary lab home on free ports; each scenario runs, its log files
are taken from the trail bucket, and the account is put back. Files keep CloudTrail's S3 key
layout, one folder per scenario. To make the recording reproducible and safe to commit, it is
normalised: times start at ``BASE_TIME`` and advance one second per record, event and request ids
are derived from the scenario and position, the emulator's host becomes S3's, and access key ids
that the run generated become documentation-style placeholders. Only the actors' calls are kept;
the lab's own look-ups of its targets (made from loopback) are left out.

The network logs those scenarios imply (``NETWORK_SCENARIOS``) are generated next to them, in
``data/sample_network/<scenario>/`` (VPC Flow Logs and Route 53 Resolver query logs in their S3
layout, by ``helpers.netlogs``), from the recorded records and the account's network as EC2
describes it once every scenario is undone; the flow log id is derived from the VPC's.

    lab record-samples [--out data/sample_cloudtrail] [--network-out data/sample_network]
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from labstack.aws.account import load_account
from labstack.world import World

BASE_TIME = dt.datetime(2026, 11, 2, 9, 0, 0, tzinfo=dt.UTC)
NAMESPACE = uuid.UUID("6f1f4c1e-4c55-4f57-9a53-1ab0c10d5a11")
_HOST = re.compile(r'"Host": "127\.0\.0\.1:\d+"')
KNOWN_KEYS = {"AKIAIOSFODNN7EXAMPLE", "AKIAEXAMPLESTUDENT01", "AKIAEXAMPLEAUTOMAT01",
              "AKIAEXAMPLEROOTKEY01"}  # fmt: skip
_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
BASELINE_EVENTS = 60
#: Scenarios whose network traffic is generated: the office's day, and the port opened to the world.
NETWORK_SCENARIOS = ("baseline", "sg-open-world")


def record(out: str | Path, network_out: str | Path | None = None) -> list[Path]:
    """Record every scenario (and the baseline) into ``out``, and their network logs into
    ``network_out`` (default: ``sample_network`` beside ``out``); returns the files written."""
    out = Path(out)
    network_out = Path(network_out) if network_out else out.parent / "sample_network"
    home = Path(tempfile.mkdtemp(prefix="lab-samples-")) / ".lab"
    saved = dict(os.environ)
    try:
        os.environ["LAB_HOME"] = str(home)
        os.environ["LAB_RANDOM_SEED"] = "1"
        # Deliver only when asked: one file per scenario, and moto's seeded ids stay in step.
        os.environ["LAB_CLOUDTRAIL_DELIVERY_SECONDS"] = "3600"
        # Only AWS: nothing else may touch the account while recording.
        with World.scratch(home, only=("aws",)) as world:
            return _record_all(world, out, network_out)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home.parent, ignore_errors=True)


def _record_all(world: World, out: Path, network_out: Path) -> list[Path]:
    from helpers import simulate
    from helpers.aws import session
    from helpers.config import Settings

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in world.read_env().items()})
    bucket = settings.cloudtrail_bucket
    s3 = session(settings).client("s3")
    for folder in [*_folders(out), *_folders(network_out)]:
        shutil.rmtree(folder)
    written: list[Path] = []
    recorded: dict[str, list[dict]] = {}
    names = ["baseline"] + [s.name for s in simulate.scenarios() if s.name != "baseline"]
    clock = BASE_TIME
    for name in names:
        simulate.flush(settings)
        before = _keys(s3, bucket)
        options = {"count": BASELINE_EVENTS} if name == "baseline" else {}
        result = simulate.run(name, settings, **options)
        simulate.flush(settings)
        records = []
        for key in sorted(_keys(s3, bucket) - before):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            records += json.loads(gzip.decompress(body))["Records"]
        # The actors' calls only: the lab's own look-ups (from loopback) are not the scenario.
        records = [
            r
            for r in records
            if r["eventTime"] >= _floor(result.started) and r["sourceIPAddress"] != "127.0.0.1"
        ]
        records.sort(key=lambda r: r["eventTime"])
        clock, normalised = _normalise(name, records, clock)
        written += _write(out / name, normalised)
        recorded[name] = normalised
        if simulate.get(name).revert:
            simulate.revert(result, settings)
        clock += dt.timedelta(minutes=30)
    return written + _write_network(session(settings), recorded, network_out)


def _folders(out: Path) -> list[Path]:
    """The scenarios' folders (not README.md)."""
    return [p for p in out.iterdir() if p.is_dir()] if out.exists() else []


def _write_network(lab, recorded: dict[str, list[dict]], out: Path) -> list[Path]:
    """The network logs of ``NETWORK_SCENARIOS`` (see the module docstring)."""
    from helpers import netlogs

    account = load_account()
    network = netlogs.Network.from_ec2(lab.client("ec2"), account.account_id)
    flow_log_id = "fl-" + uuid.uuid5(NAMESPACE, network.vpc_id).hex[:17]
    office = account.raw["network"]["office_cidr"]
    written = []
    for name in NETWORK_SCENARIOS:
        traffic = netlogs.generate(network, recorded[name], seed=name, office_cidr=office)
        written += netlogs.write_logs(out / name, traffic, network, flow_log_id)
    return written


def _floor(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _keys(s3, bucket: str) -> set[str]:
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="AWSLogs/"):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


def _normalise(name: str, records: list[dict], clock: dt.datetime):
    """Stable times, ids, addresses and keys (see the module docstring)."""
    keys: dict[str, str] = {}
    out = []
    for i, record in enumerate(records):
        record = json.loads(json.dumps(record))
        record["eventTime"] = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        record["eventID"] = str(uuid.uuid5(NAMESPACE, f"{name}:{i}:event"))
        record["requestID"] = str(uuid.uuid5(NAMESPACE, f"{name}:{i}:request")).upper()
        if (
            isinstance(record.get("responseElements"), dict)
            and "requestId" in record["responseElements"]
        ):
            record["responseElements"]["requestId"] = record["requestID"]
        text = _HOST.sub(r'"Host": "s3.amazonaws.com"', json.dumps(record))
        for match in sorted({m.group(0) for m in _KEY.finditer(text)}):
            if match not in KNOWN_KEYS:
                keys.setdefault(match, f"{match[:4]}EXAMPLEGENKEY{len(keys) + 1:03d}")
                text = text.replace(match, keys[match])
        text = re.sub(
            r'"(createDate|creationDate)": "[^"]*"', r'"\1": "Nov 2, 2026, 9:00:00 AM"', text
        )
        out.append(json.loads(text))
        clock += dt.timedelta(seconds=1)
    return clock, out


def _write(folder: Path, records: list[dict]) -> list[Path]:
    """One CloudTrail file per region, under the S3 key layout."""
    by_region: dict[str, list[dict]] = {}
    for record in records:
        by_region.setdefault(record["awsRegion"], []).append(record)
    written = []
    for region, items in sorted(by_region.items()):
        when = dt.datetime.strptime(items[0]["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        acct = items[0]["recipientAccountId"]
        suffix = uuid.uuid5(NAMESPACE, f"{folder.name}:{region}").hex[:16]
        key = (
            f"AWSLogs/{acct}/CloudTrail/{region}/{when:%Y/%m/%d}/"
            f"{acct}_CloudTrail_{region}_{when:%Y%m%dT%H%M}Z_{suffix}.json.gz"
        )
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"Records": items}, separators=(",", ":")).encode()
        path.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
        written.append(path)
    return written

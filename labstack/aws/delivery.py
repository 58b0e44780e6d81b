"""Which trails receive a record, and writing their log files as CloudTrail does.

Rules (CloudTrail User Guide: "How CloudTrail works", "Receiving CloudTrail log files from
multiple regions", "Logging management events", "Logging data events"):

- a multi-region trail receives events of every region; a single-region trail those of its own
  region, plus global service events (IAM, STS global, recorded in us-east-1) when it includes
  global service events and lives in us-east-1;
- a trail with no event selectors logs all management events and no data events; basic and
  advanced selectors narrow or widen that;
- a trail that is not logging receives nothing, except its own ``StopLogging``/``DeleteTrail``
  record, which is delivered;
- files are gzipped ``{"Records": [...]}`` under
  ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``
  ``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import secrets
import string
from dataclasses import dataclass, field

from moto.cloudtrail.models import cloudtrail_backends
from moto.s3.models import s3_backends

log = logging.getLogger("labstack.aws.delivery")
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class TrailView:
    """A trail as the router needs it, copied from moto so routing never races the API."""

    account_id: str
    name: str
    arn: str
    home_region: str
    bucket: str
    prefix: str
    multi_region: bool
    global_events: bool
    logging: bool
    selectors: tuple = field(default=(), compare=False)
    advanced: tuple = field(default=(), compare=False)

    def receives(self, record: dict) -> bool:
        region = record.get("awsRegion")
        source = record.get("eventSource", "")
        is_global = source.split(".")[0] in ("iam", "cloudfront", "route53", "organizations") or (
            source == "sts.amazonaws.com" and region == "us-east-1"
        )
        if is_global:
            in_scope = self.global_events and (self.multi_region or self.home_region == "us-east-1")
        else:
            in_scope = self.multi_region or region == self.home_region
        return in_scope and self._selected(record)

    def _selected(self, record: dict) -> bool:
        management = record.get("managementEvent", True)
        read_only = bool(record.get("readOnly"))
        if self.advanced:
            return any(_advanced_match(sel, record) for sel in self.advanced)
        if not self.selectors:
            return management
        for sel in self.selectors:
            rw = sel.get("ReadWriteType", "All")
            if (rw == "ReadOnly" and not read_only) or (rw == "WriteOnly" and read_only):
                continue
            if management:
                excluded = record.get("eventSource") in sel.get("ExcludeManagementEventSources", [])
                if sel.get("IncludeManagementEvents", True) and not excluded:
                    return True
            elif _data_resource_match(sel.get("DataResources", []), record):
                return True
        return False


def _data_resource_match(resources: list[dict], record: dict) -> bool:
    arns = [r.get("ARN", "") for r in record.get("resources") or []]
    for resource in resources:
        for value in resource.get("Values", []):
            if value in ("arn:aws:s3", "arn:aws:s3:::") or any(a.startswith(value) for a in arns):
                return True
    return False


def _advanced_match(selector: dict, record: dict) -> bool:
    values = {
        "eventCategory": "Management" if record.get("managementEvent", True) else "Data",
        "readOnly": str(bool(record.get("readOnly"))).lower(),
        "eventSource": record.get("eventSource", ""),
        "eventName": record.get("eventName", ""),
        "resources.type": ",".join(r.get("type", "") for r in record.get("resources") or []),
    }
    for field_selector in selector.get("FieldSelectors", []):
        value = values.get(field_selector.get("Field"), "")
        if field_selector.get("Equals") and value not in field_selector["Equals"]:
            return False
        if field_selector.get("NotEquals") and value in field_selector["NotEquals"]:
            return False
        if field_selector.get("StartsWith") and not any(
            value.startswith(p) for p in field_selector["StartsWith"]
        ):
            return False
    return True


def snapshot() -> dict[str, TrailView]:
    """Every trail in every account and region, keyed by ARN."""
    views = {}
    for account_id, account in list(cloudtrail_backends.items()):
        for region, backend in list(account.items()):
            for trail in list(backend.trails.values()):
                if trail.region_name != region:
                    continue
                views[trail.arn] = TrailView(
                    account_id=account_id,
                    name=trail.trail_name,
                    arn=trail.arn,
                    home_region=trail.region_name,
                    bucket=trail.bucket_name,
                    prefix=trail.s3_key_prefix or "",
                    multi_region=bool(trail.is_multi_region),
                    global_events=trail.include_global_service_events is not False,
                    logging=trail.status.is_logging,
                    selectors=tuple(trail.event_selectors or ()),
                    advanced=tuple(trail.advanced_event_selectors or ()),
                )
    return views


def log_key(trail: TrailView, region: str, when: dt.datetime) -> str:
    acct = trail.account_id
    stamp = when.strftime("%Y%m%dT%H%MZ")
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    prefix = f"{trail.prefix.strip('/')}/" if trail.prefix.strip("/") else ""
    return (
        f"{prefix}AWSLogs/{acct}/CloudTrail/{region}/{when:%Y/%m/%d}/"
        f"{acct}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
    )


def write_file(trail: TrailView, region: str, records: list[dict], when: dt.datetime) -> str:
    """Put one log file in the trail's bucket; moto then sends the S3 event notifications."""
    key = log_key(trail, region, when)
    body = gzip.compress(
        json.dumps({"Records": records}, separators=(",", ":")).encode(), compresslevel=6
    )
    s3_backends[trail.account_id]["aws"].put_object(trail.bucket, key, body)
    return key

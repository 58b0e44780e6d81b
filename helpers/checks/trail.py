"""Exercise 02: restart CloudTrail logging after tampering.

:func:`setup` makes the practice trail ``lab-exercise-trail`` (multi-region, its own bucket,
recording every management event plus the data bucket's object writes), then tampers with it
as an attacker would: logging stopped, and its selectors cut down to the data events alone. The
trail is tagged ``auto-remediate=off``, the lab's hands-off tag, so the automation server leaves
it to the student. :func:`check_logging` reads it back with the toolkit's own verification
(``restart-cloudtrail-logging``).

>>> practice = setup()                                              # doctest: +SKIP
>>> done = restore_logging(cloudtrail, practice.trail_name)         # doctest: +SKIP
>>> check_logging(practice, done).passed                           # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers import simulate
from helpers.aws import session
from helpers.checks import Hint, check
from helpers.clients import Clients
from helpers.config import Settings
from helpers.incident import Incident
from helpers.playbooks.cloudtrail import BASELINE_SELECTOR, RestartLogging, records_all_management

__all__ = ["PRACTICE_TRAIL", "Practice", "check_logging", "cleanup", "setup"]

PRACTICE_TRAIL = "lab-exercise-trail"
HANDS_OFF = {"auto-remediate": "off", "team": "secops", "purpose": "lab exercise 02"}
#: The detection that fires when a trail stops (its playbook's verify is the check's proof).
DETECTION = "cloudtrail-logging-stopped"


@dataclass(frozen=True)
class Practice:
    """The tampered practice trail and the data-event selector it must keep."""

    trail_name: str
    trail_arn: str
    data_selector: dict


def _cloudtrail(settings: Settings | None):
    return session(settings).client("cloudtrail")


def _trail(cloudtrail) -> dict | None:
    trails = cloudtrail.describe_trails(trailNameList=[PRACTICE_TRAIL])["trailList"]
    return next((t for t in trails if t["Name"] == PRACTICE_TRAIL), None)


def setup(settings: Settings | None = None) -> Practice:
    """Create (or reset) the practice trail, then tamper with it: stopped, selectors reduced."""
    lab = session(settings)
    cloudtrail = lab.client("cloudtrail")
    data_bucket = simulate.data_bucket(lab)
    data_selector = {
        "ReadWriteType": "WriteOnly",
        "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data_bucket}/"]}],
    }
    trail = _trail(cloudtrail)
    if trail is None:
        bucket = f"{PRACTICE_TRAIL}-{lab.account_id()}"
        s3 = lab.client("s3")
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=bucket)
        trail = cloudtrail.create_trail(
            Name=PRACTICE_TRAIL,
            S3BucketName=bucket,
            IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=True,
            TagsList=[{"Key": k, "Value": v} for k, v in HANDS_OFF.items()],
        )
    arn = trail["TrailARN"]
    cloudtrail.put_event_selectors(
        TrailName=arn, EventSelectors=[dict(BASELINE_SELECTOR), data_selector]
    )
    cloudtrail.start_logging(Name=arn)
    # the tampering: stop it, and keep only the data events
    cloudtrail.stop_logging(Name=arn)
    cloudtrail.put_event_selectors(TrailName=arn, EventSelectors=[data_selector])
    return Practice(PRACTICE_TRAIL, arn, data_selector)


@check
def check_logging(practice: Practice, done) -> str:
    """The trail logs every management event again and kept its data-event selector."""
    lab = session()
    trail = _trail(lab.client("cloudtrail"))
    if trail is None:
        raise Hint(f"{PRACTICE_TRAIL} is gone: run the setup cell again (do not delete the trail)")
    incident = Incident(DETECTION, PRACTICE_TRAIL, lab.account_id())
    verified = RestartLogging().verify(incident, Clients())
    seen = verified.observed
    problems = []
    if not seen.get("is_logging"):
        problems.append(
            "the trail is still stopped: nothing the account does is recorded until it logs again"
        )
    if not records_all_management(
        seen.get("event_selectors"), seen.get("advanced_event_selectors")
    ):
        problems.append(
            "the trail still drops management events: its event selectors must record every "
            "management event, reads and writes (look at get_event_selectors)"
        )
    wanted = practice.data_selector["DataResources"]
    if not any(s.get("DataResources") == wanted for s in seen.get("event_selectors") or []):
        problems.append(
            "the data-event selector for the data bucket is gone: put the management events back "
            "next to it, keep what was there"
        )
    if not problems and not verified.ok:
        problems.append(f"the toolkit's verification still says: {verified.details}")
    if problems:
        raise Hint(*problems)
    if not isinstance(done, list):
        raise Hint("the trail is right; now return what you did (a list of lines for the ticket)")
    return f"{verified.details} again, and the data bucket's object writes are still recorded"


def cleanup(settings: Settings | None = None) -> None:
    """Stop the practice trail, so it costs nothing until the next :func:`setup`.

    It is kept, not deleted: the automation recreates a deleted trail it hears about (in the
    lab trail's bucket), while it leaves a stopped one with the hands-off tag alone.
    """
    cloudtrail = _cloudtrail(settings)
    trail = _trail(cloudtrail)
    if trail is not None:
        cloudtrail.stop_logging(Name=trail["TrailARN"])

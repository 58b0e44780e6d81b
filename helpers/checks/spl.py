"""Exercise 03: the SPL that finds a security group opened to the whole internet.

:func:`setup` loads the detection catalog's own test events for
``security-group-open-to-world`` (positive and negative, recorded and hand-written) into a
practice index behind the macro `` `exercise_events` ``, so nothing the practice search finds
wakes a live alert. :func:`check_search` runs the student's SPL there and compares what it found
with what it should find, naming the test events by what they show.

>>> setup()                                                         # doctest: +SKIP
>>> check_search("`exercise_events` eventName=AuthorizeSecurityGroupIngress").passed
False
"""

from __future__ import annotations

from helpers import detections, splunk
from helpers.checks import Hint, check
from helpers.config import Settings

__all__ = ["INDEX", "MACRO", "check_search", "examples", "setup"]

DETECTION = "security-group-open-to-world"
#: The API call the exercise is about (the catalog also covers ModifySecurityGroupRules).
EVENT_NAME = "AuthorizeSecurityGroupIngress"
INDEX = "lab_exercises"
MACRO = "exercise_events"
#: How many missed or wrong test events a hint names.
SHOWN = 3


def examples() -> dict[str, list[tuple[str, dict]]]:
    """The practice events: ``{"positive": [(name, record)...], "negative": [...]}``.

    The positives are the catalog's AuthorizeSecurityGroupIngress ones; every negative stays.
    """
    detection = detections.get(DETECTION)
    positives = [(n, r) for n, r in detection.examples("positive") if r["eventName"] == EVENT_NAME]
    return {"positive": positives, "negative": detection.examples("negative")}


def _records() -> list[dict]:
    return [record for found in examples().values() for _, record in found]


def setup(settings: Settings | None = None) -> int:
    """Load the practice events into their index (once) and define the macro; returns the count."""
    service = splunk.connect(settings)
    splunk.define_macro(MACRO, f"index={INDEX} sourcetype=aws:cloudtrail", service=service)
    records = _records()
    if INDEX in service.indexes:
        loaded = splunk.search(f"`{MACRO}` | stats count", earliest=0, service=service)
        if int(loaded["count"][0]) == len(records):
            return len(records)
        service.indexes.delete(INDEX)  # a partial or older load: start afresh
    splunk.ensure_index(INDEX, service=service)
    return splunk.send_events(
        records, sourcetype="aws:cloudtrail", index=INDEX, time_field="eventTime", settings=settings
    )


def _names(found: list[tuple[str, dict]]) -> str:
    names = list(dict.fromkeys(name for name, _ in found))
    shown = ", ".join(f"'{n}'" for n in names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


@check
def check_search(spl) -> str:
    """The search finds every positive practice event, no negative, and names the group."""
    if not isinstance(spl, str) or not spl.strip():
        raise Hint("write your search as text in spl (it is still empty)")
    if not spl.lstrip().removeprefix("search").lstrip().startswith(f"`{MACRO}`"):
        raise Hint(
            f"start from the macro `{MACRO}`: it says where the practice events are, as "
            "`cloudtrail` does for the live ones"
        )
    try:
        rows = splunk.search(spl, earliest=0, latest=None)
    except splunk.SearchError as err:
        raise Hint(f"Splunk rejected the search: {err}") from None
    if rows.empty:
        raise Hint("the search found nothing: start wide (the event name), then narrow it down")
    if "eventID" not in rows:
        raise Hint("keep eventID in the results (add it to your table), so each match is known")
    found = set(rows["eventID"].dropna())
    practice = examples()
    missed = [(n, r) for n, r in practice["positive"] if r["eventID"] not in found]
    wrong = [(n, r) for n, r in practice["negative"] if r["eventID"] in found]
    problems = []
    if missed:
        problems.append(
            f"not found yet: {_names(missed)}; look at those events' requestParameters in `{MACRO}`"
        )
    if wrong:
        problems.append(f"found, but they are not world-open ingress: {_names(wrong)}")
    if problems:
        raise Hint(*problems)
    if "resource" not in rows or rows["resource"].isna().any() or (rows["resource"] == "").any():
        raise Hint(
            "every result must name its security group in a resource field (eval resource=...): "
            "the alert's throttle and the incident's dedup key use it"
        )
    return (
        f"all {len(practice['positive'])} world-open ingress events found (IPv4 and IPv6), none "
        f"of the {len(practice['negative'])} others, each naming its group"
    )

"""Actor history: has this identity used this source address (or country) before, and how busy
has it been in the last hour? Two Splunk searches over the ``cloudtrail`` macro.

"Before" means earlier than a minute ahead of the incident's event, so the alerted calls
themselves do not count as history.
"""

from __future__ import annotations

import datetime as dt

from helpers.enrich import enricher
from helpers.enrich.geoip import geoip

#: How far back history looks, in Splunk's relative time.
LOOKBACK = "-30d"
#: Events this close to the incident's event are the incident, not its history (seconds).
MARGIN = 60.0


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _epoch(text: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


@enricher("actor-history", timeout=5.0)
def actor_history(incident, clients) -> dict:
    """Earlier use of the source address and country by the actor, and its last-hour volume."""
    if not incident.actor:
        return {"known": False, "reason": "the incident names no actor"}
    from helpers import splunk

    service = clients.splunk()
    actor = _quote(incident.actor)
    by_ip = splunk.search(
        f"search `cloudtrail` userIdentity.arn={actor} "
        "| stats count, min(_time) AS first_seen by sourceIPAddress "
        "| iplocation sourceIPAddress",
        earliest=LOOKBACK,
        service=service,
    )
    hour = splunk.search(
        f"search `cloudtrail` userIdentity.arn={actor} | stats count",
        earliest="-1h",
        service=service,
    )
    when = _epoch(incident.event_time)
    cutoff = (when - MARGIN) if when is not None else None
    rows = by_ip.to_dict("records")

    def before(row: dict) -> bool:
        first = row.get("first_seen")
        if hasattr(first, "timestamp"):
            first = first.timestamp()
        try:
            return cutoff is not None and float(first) < cutoff
        except (TypeError, ValueError):
            return False

    country = geoip(incident, clients).get("country") or ""
    earlier = [r for r in rows if before(r)]
    return {
        "known": True,
        "events_30d": int(sum(int(r.get("count") or 0) for r in rows)),
        "events_last_hour": int(hour.iloc[0]["count"]) if len(hour) else 0,
        "source_ips": sorted(str(r.get("sourceIPAddress")) for r in rows)[:20],
        "ip_seen_before": any(r.get("sourceIPAddress") == incident.source_ip for r in earlier),
        "country_seen_before": bool(country) and any(r.get("Country") == country for r in earlier),
    }

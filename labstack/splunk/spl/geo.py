"""Offline IP geolocation for ``iplocation``: MaxMind GeoLite2 City, the database Splunk
itself ships, from the ``maxminddb-geolite2`` package (nothing is downloaded at run time).
The package's snapshot is from 2018; this product includes GeoLite2 data created by MaxMind,
available from https://www.maxmind.com (CC BY-SA 4.0).

>>> locate("81.2.69.160")["Country"]
'United Kingdom'
>>> locate("10.0.0.1") is None
True
"""

from __future__ import annotations

import ipaddress
from functools import cache

FIELDS = ("City", "Country", "Region", "lat", "lon")
ALL_FIELDS = (*FIELDS, "Continent", "MetroCode", "Timezone")


@cache
def _reader():
    from geolite2 import geolite2

    return geolite2.reader()


def _name(record: dict, key: str, lang: str) -> str | None:
    names = (record.get(key) or {}).get("names", {})
    return names.get(lang) or names.get("en")


@cache
def locate(ip: str, lang: str = "en") -> dict[str, str] | None:
    """Splunk's iplocation fields for an address, or None (private, invalid or unknown: then
    Splunk adds no fields at all)."""
    try:
        record = _reader().get(str(ipaddress.ip_address(ip.strip())))
    except ValueError:
        return None
    if not record:
        return None
    location = record.get("location", {})
    subdivisions = record.get("subdivisions") or [{}]
    found = {
        "City": _name(record, "city", lang),
        "Country": _name(record, "country", lang) or _name(record, "registered_country", lang),
        "Region": _name({"region": subdivisions[0]}, "region", lang),
        "lat": location.get("latitude"),
        "lon": location.get("longitude"),
        "Continent": _name(record, "continent", lang),
        "MetroCode": location.get("metro_code"),
        "Timezone": location.get("time_zone"),
    }
    # Splunk: a located address gets every field, empty where the database has no value.
    return {k: "" if v is None else str(v) for k, v in found.items()}

"""``iplocation``'s fields for an address, from the lab's one offline geolocation
(:mod:`helpers.runtime.geo`: MaxMind GeoLite2, the database Splunk itself ships).

>>> locate("81.2.69.160")["Country"]
'United Kingdom'
>>> locate("10.0.0.1") is None
True
"""

from __future__ import annotations

from helpers.runtime import geo

FIELDS = ("City", "Country", "Region", "lat", "lon")
ALL_FIELDS = (*FIELDS, "Continent", "MetroCode", "Timezone")


def locate(ip: str, lang: str = "en") -> dict[str, str] | None:
    """Splunk's iplocation fields for an address, or None (private, invalid or unknown: then
    Splunk adds no fields at all). A located address gets every field, empty where the data
    has no value."""
    where = geo.locate(ip, lang)
    if where is None:
        return None
    return {
        "City": where.city,
        "Country": where.country,
        "Region": where.region,
        "lat": where.lat,
        "lon": where.lon,
        "Continent": where.continent,
        "MetroCode": where.metro_code,
        "Timezone": where.timezone,
    }

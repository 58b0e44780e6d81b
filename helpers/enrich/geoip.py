"""Geo-IP of the source address: country and city (the offline GeoLite2 database ``iplocation``
uses), the network's ASN (geoip2fast's offline data), and whether the country is allowed
(``allowed_countries.csv``, the detection's lookup).

>>> from helpers.incident import Incident
>>> facts = geoip(Incident("x", "r", "123456789012", source_ip="81.2.69.160"), None)
>>> facts["country"], facts["allowed"]
('United Kingdom', False)
"""

from __future__ import annotations

import ipaddress
from functools import cache

from helpers.enrich import enricher, lookups


@cache
def _city_reader():
    from geolite2 import geolite2

    return geolite2.reader()


@cache
def _asn_reader():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")


def _name(record: dict, key: str) -> str:
    return ((record.get(key) or {}).get("names") or {}).get("en", "")


@enricher("geoip", timeout=3.0)
def geoip(incident, clients) -> dict:
    """Where the source address is, who runs its network, and whether that country is allowed."""
    ip = incident.source_ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return {"ip": ip, "located": False, "reason": "not an IP address (an AWS service?)"}
    if not address.is_global:
        return {"ip": ip, "located": False, "reason": "a private or reserved address"}
    record = _city_reader().get(str(address)) or {}
    country = _name(record, "country") or _name(record, "registered_country")
    asn = _asn_reader().lookup(str(address))
    allowed = {row["country"] for row in lookups.table("allowed_countries")}
    return {
        "ip": ip,
        "located": bool(country),
        "country": country,
        "city": _name(record, "city"),
        "asn": getattr(asn, "asn_name", "") or "",
        "network": getattr(asn, "asn_cidr", "") or "",
        "allowed": country in allowed,
    }

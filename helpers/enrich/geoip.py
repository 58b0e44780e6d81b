"""Geo-IP of the source address: country and city, the network's ASN (both from the lab's one
offline geolocation, :mod:`helpers.runtime.geo`, the same data ``iplocation`` uses), and whether
the country is allowed (``allowed_countries.csv``, the detection's lookup).

>>> from helpers.incident import Incident
>>> facts = geoip(Incident("x", "r", "123456789012", source_ip="81.2.69.160"), None)
>>> facts["country"], facts["allowed"]
('United Kingdom', False)
"""

from __future__ import annotations

import ipaddress

from helpers.enrich import enricher, lookups
from helpers.runtime import geo


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
    where = geo.locate(str(address))
    country = where.country if where else ""
    asn, cidr = geo.network(str(address))
    allowed = {row["country"] for row in lookups.table("allowed_countries")}
    return {
        "ip": ip,
        "located": bool(country),
        "country": country,
        "city": where.city if where else "",
        "asn": asn,
        "network": cidr,
        "allowed": country in allowed,
    }

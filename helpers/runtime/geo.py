"""Offline IP geolocation, the one home for it (Splunk's ``iplocation`` and the toolkit's geo-IP
enrichment both ask here), from data that packages ship: nothing is downloaded at run time.

- The country comes from MaxMind GeoLite2 Country, IPv4 and IPv6, of 2024-06-18 (``geoip2fast``'s
  data file): the freshest MaxMind data any package on the index ships, and MaxMind is what
  Splunk's own ``iplocation`` uses.
- City, region, coordinates, continent and time zone come from GeoLite2 City (the
  ``maxminddb-geolite2`` package, 2018-07: the only city-level GeoLite2 a package ships), and only
  when that record is in the same country as the fresh data says. Where the two disagree (a range
  that moved country since 2018) the address gets its country and no city, rather than a city in
  another country.
- The network (ASN) comes from ``geoip2fast``'s ASN data.

This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com
(CC BY-SA 4.0).

>>> where = locate("81.2.69.160")
>>> where.country, where.country_code
('United Kingdom', 'GB')
>>> locate("10.0.0.1") is None
True
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = ["COUNTRY_DATA", "Location", "locate", "network"]

COUNTRY_DATA = "geoip2fast-ipv6.dat.gz"
ASN_DATA = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True)
class Location:
    country: str
    country_code: str
    city: str = ""
    region: str = ""
    lat: str = ""
    lon: str = ""
    continent: str = ""
    metro_code: str = ""
    timezone: str = ""


@cache
def _countries():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=COUNTRY_DATA, verbose=False)


@cache
def _networks():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=ASN_DATA, verbose=False)


@cache
def _cities():
    from geolite2 import geolite2

    return geolite2.reader()


def _address(ip: str) -> str | None:
    try:
        address = ipaddress.ip_address(str(ip).strip())
    except ValueError:
        return None
    return str(address) if address.is_global else None


def _name(record: dict, key: str, lang: str) -> str:
    names = (record.get(key) or {}).get("names") or {}
    return names.get(lang) or names.get("en") or ""


def _text(value) -> str:
    return "" if value is None else str(value)


@lru_cache(maxsize=1 << 16)  # bounded: the addresses come from events anyone can send
def locate(ip: str, lang: str = "en") -> Location | None:
    """Where a public address is; None for a private, reserved, invalid or unknown one."""
    address = _address(ip)
    if address is None:
        return None
    found = _countries().lookup(address)
    code = getattr(found, "country_code", "") or ""
    if len(code) != 2 or not code.isalpha():  # "--": not in the data
        return None
    city = _cities().get(address) or {}
    if (city.get("country") or {}).get("iso_code") != code:
        return Location(country=found.country_name, country_code=code)
    where = city.get("location") or {}
    subdivisions = city.get("subdivisions") or [{}]
    return Location(
        country=_name(city, "country", lang) or found.country_name,
        country_code=code,
        city=_name(city, "city", lang),
        region=_name({"region": subdivisions[0]}, "region", lang),
        lat=_text(where.get("latitude")),
        lon=_text(where.get("longitude")),
        continent=_name(city, "continent", lang),
        metro_code=_text(where.get("metro_code")),
        timezone=_text(where.get("time_zone")),
    )


def network(ip: str) -> tuple[str, str]:
    """(ASN name, network CIDR) of a public address; empty strings when unknown."""
    address = _address(ip)
    if address is None:
        return "", ""
    found = _networks().lookup(address)
    return getattr(found, "asn_name", "") or "", getattr(found, "asn_cidr", "") or ""

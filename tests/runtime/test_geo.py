"""The lab's offline geolocation: countries from the fresh data, cities only where the older city
data agrees, nothing for addresses that are not public (issue 13, finding 10: the geo data)."""

from __future__ import annotations

import pytest

from helpers.runtime import geo
from labstack.splunk.spl.geo import locate as iplocation


def test_the_country_data_is_the_2024_geolite2_country():
    info = geo._countries().get_database_info()
    assert info["source_info"] == "MAXMIND:GeoLite2-Country-IPv4IPv6-en-20240618"


def test_a_range_that_moved_country_since_2018_gets_todays_country_and_no_stale_city():
    # GeoLite2 City of 2018 placed this range in France; GeoLite2 Country of 2024 in Italy.
    old = geo._cities().get("37.163.156.54")["country"]["iso_code"]
    assert old == "FR"
    where = geo.locate("37.163.156.54")
    assert (where.country, where.country_code, where.city, where.lat) == ("Italy", "IT", "", "")
    assert iplocation("37.163.156.54") == {
        "City": "", "Country": "Italy", "Region": "", "lat": "", "lon": "",
        "Continent": "", "MetroCode": "", "Timezone": "",
    }  # fmt: skip


def test_where_both_agree_the_city_fields_are_kept():
    where = geo.locate("81.2.69.160")  # MaxMind's own test address in London
    assert (where.country, where.region, where.continent) == ("United Kingdom", "England", "Europe")
    assert where.city and where.lat and where.timezone == "Europe/London"


def test_ipv6_is_located():
    assert geo.locate("2001:4860:4860::8888").country == "United States"


@pytest.mark.parametrize(
    "ip", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "203.0.113.9", "::1", "fe80::1", "not-an-ip", ""]
)
def test_private_reserved_and_invalid_addresses_are_not_located(ip):
    assert geo.locate(ip) is None
    assert iplocation(ip) is None
    assert geo.network(ip) == ("", "")


def test_the_network_of_an_address():
    name, cidr = geo.network("8.8.8.8")
    assert name == "GOOGLE" and cidr.startswith("8.8.")

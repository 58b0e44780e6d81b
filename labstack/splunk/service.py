"""Registers the Splunk-compatible server (management API + HEC + search page) as a lab service."""

import hashlib
import uuid

from labstack.services import Service, register

USERNAME = "admin"


def hec_token(secret: str) -> str:
    """A HEC token in Splunk's GUID form, derived from the generated secret."""
    return str(uuid.UUID(bytes=hashlib.sha256(secret.encode()).digest()[:16], version=4))


def _settings(ports: dict[str, int], secrets: dict[str, str]) -> dict[str, str]:
    return {
        "SPLUNK_URL": f"http://127.0.0.1:{ports['api']}",
        "SPLUNK_USERNAME": USERNAME,
        "SPLUNK_PASSWORD": secrets["SPLUNK_PASSWORD"],
        "SPLUNK_TOKEN": secrets["SPLUNK_TOKEN"],
        "SPLUNK_HEC_URL": f"http://127.0.0.1:{ports['hec']}",
        "SPLUNK_HEC_TOKEN": hec_token(secrets["SPLUNK_HEC_TOKEN"]),
    }


register(
    Service(
        name="splunk",
        module="labstack.splunk",
        ports={"api": 8089, "hec": 8088},
        settings=_settings,
        secrets=("SPLUNK_PASSWORD", "SPLUNK_TOKEN", "SPLUNK_HEC_TOKEN"),
        description="Splunk-compatible server: management API, HEC, SPL on DuckDB, search page",
        views=("/en-US/app/search/search", "/en-US/app/search/alerts"),
    )
)

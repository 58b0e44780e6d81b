"""Registers the Splunk-compatible server (management API + HEC + search page) as a lab service."""

import hashlib
import uuid
from collections.abc import Mapping

from labstack.services import Service, register
from labstack.splunk.tls import tls_enabled

USERNAME = "admin"


def hec_token(secret: str) -> str:
    """A HEC token in Splunk's GUID form, derived from the generated secret."""
    return str(uuid.UUID(bytes=hashlib.sha256(secret.encode()).digest()[:16], version=4))


def _scheme(environ: Mapping[str, str]) -> str:
    """The management port's and HEC's scheme: ``https`` with ``LAB_SPLUNK_TLS=on`` (splunkd's
    default for both)."""
    return "https" if tls_enabled(environ) else "http"


def _settings(ports: dict[str, int], secrets: dict[str, str], scheme: str) -> dict[str, str]:
    return {
        "SPLUNK_URL": f"{scheme}://127.0.0.1:{ports['api']}",
        "SPLUNK_USERNAME": USERNAME,
        "SPLUNK_PASSWORD": secrets["SPLUNK_PASSWORD"],
        "SPLUNK_TOKEN": secrets["SPLUNK_TOKEN"],
        "SPLUNK_HEC_URL": f"{scheme}://127.0.0.1:{ports['hec']}",
        "SPLUNK_HEC_TOKEN": hec_token(secrets["SPLUNK_HEC_TOKEN"]),
        # A self-signed certificate, not verified, as clients meet a default splunkd's.
        **({"SPLUNK_HEC_VERIFY": "false"} if scheme == "https" else {}),
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
        scheme=_scheme,
        tls_roles=("api", "hec"),
    )
)

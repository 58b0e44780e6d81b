"""HTTPS for the management port and HEC, as splunkd serves them: a self-signed certificate.

splunkd serves its management API over HTTPS by default (server.conf ``[sslConfig]
enableSplunkdSSL = true``), and HEC too (inputs.conf ``[http] enableSSL = 1``), with a
certificate it generated at first start, which clients do not verify (splunklib's default is
``verify=False``; HEC senders set ``SPLUNK_HEC_VERIFY=false``, curl ``-k``). With
``LAB_SPLUNK_TLS=on`` the stand-in does the same on both ports: the first start writes a key and
a certificate for ``127.0.0.1``/``localhost`` to its state folder (``tls/``, readable by its
owner only), later starts reuse them.

>>> context = server_context(Path(tempfile.mkdtemp()))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile  # noqa: F401 - the docstring example
from collections.abc import Mapping
from pathlib import Path

from helpers.runtime.home import private_dir, write_private

__all__ = ["CERT_FILE", "KEY_FILE", "TLS_SETTING", "ensure_certificate", "server_context",
           "tls_enabled"]  # fmt: skip

#: The setting that makes the management port and HEC speak HTTPS.
TLS_SETTING = "LAB_SPLUNK_TLS"
#: Off by default: the lab listens on loopback only, and its web views share the management
#: port, where a self-signed certificate would make every student's browser warn. Turn it on
#: to meet clients exactly as a default splunkd does (``https://...:8089``, not verified).
TLS_DEFAULT = False
_SWITCH = {"on": True, "off": False, "1": True, "0": False, "true": True, "false": False}

CERT_FILE = "server.pem"
KEY_FILE = "server.key"
#: The certificate's lifetime (splunkd's generated certificates last about three years).
VALID_DAYS = 3 * 365
#: The names the certificate is for: where the lab's services listen.
HOSTNAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")


def tls_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``LAB_SPLUNK_TLS`` (``on``/``off``; unset: off) turns HTTPS on.

    >>> tls_enabled({"LAB_SPLUNK_TLS": "on"}), tls_enabled({})
    (True, False)
    >>> tls_enabled({"LAB_SPLUNK_TLS": "maybe"})
    Traceback (most recent call last):
    ...
    ValueError: LAB_SPLUNK_TLS must be on or off, got 'maybe'
    """
    text = (environ.get(TLS_SETTING) or "").strip().lower()
    if not text:
        return TLS_DEFAULT
    if text not in _SWITCH:
        raise ValueError(f"{TLS_SETTING} must be on or off, got {environ[TLS_SETTING]!r}")
    return _SWITCH[text]


def ensure_certificate(folder: Path) -> tuple[Path, Path]:
    """``(certificate, key)`` in ``folder``, made (RSA 2048, self-signed) when either is missing."""
    folder = private_dir(Path(folder))
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "SplunkServerDefaultCert"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SplunkUser"),
    ])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.DNSName(h) for h in HOSTNAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(key_path, key_pem.decode("ascii"))
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return cert_path, key_path


def server_context(folder: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later) with the certificate kept in ``folder``."""
    cert_path, key_path = ensure_certificate(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    # No TLS 1.3 session tickets: a client that writes and closes without reading (splunklib's
    # index.attach) would leave them unread, its kernel would answer with a reset, and the
    # reset would discard what the server had received but not yet read.
    context.num_tickets = 0
    return context

"""A throwaway certificate authority and a loopback server certificate, for a portal served over HTTPS.

The SDKs that build ``https://`` URLs themselves (b24pysdk, b24jssdk) need a server they can trust; this makes
one for the lifetime of a :class:`~b24vote.testing.Portal`. It needs ``trustme`` (the ``testing`` extra:
``pip install 'b24vote[testing]'``), imported only when a portal asks for TLS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestCertificates", "make_certificates"]

# Every name a client may use for a portal on this machine (the kit serves on 127.0.0.1).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class TestCertificates:
    """PEM files: the CA a client trusts, and the certificate chain and key the server presents."""

    __test__ = False  # not a pytest test class, whatever its name

    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> TestCertificates:
    """A new CA and a certificate for the loopback names it signed, written to ``folder``."""
    try:
        import trustme
    except ImportError as exc:
        raise RuntimeError(
            "Portal(tls=True) needs the trustme package: pip install 'b24vote[testing]' (or pip install trustme)"
        ) from exc
    authority = trustme.CA(organization_name="b24vote testing kit")
    issued = authority.issue_cert(*LOOPBACK_NAMES)
    made = TestCertificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    authority.cert_pem.write_to_path(str(made.ca))
    issued.private_key_pem.write_to_path(str(made.key))
    made.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    return made

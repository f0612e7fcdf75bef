"""signedAttachId: ``"<attachId>.<hex HMAC-SHA256>"`` keyed by ``"vote.result" + secret``.

Reproduces Bitrix\\Main\\Security\\Sign\\Signer with the ``vote.result`` salt
(../shared/reference/notes/vote-semantics.md §3).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

__all__ = ["sign_attach", "unsign_attach"]

_SALT = b"vote.result"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _signature(value: str, secret: str) -> str:
    return hmac.new(_SALT + secret.encode(), value.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=16384)  # every attach object carries its signed id: sign each one once
def sign_attach(attach_id: int, secret: str) -> str:
    return f"{attach_id}.{_signature(str(attach_id), secret)}"


def unsign_attach(signed: str, secret: str) -> int | None:
    """The attach id when the signature is valid, else None (split on the last dot, as the signer does)."""
    value, dot, signature = signed.rpartition(".")
    if not dot or not _HEX64.fullmatch(signature) or not value.isdecimal():
        return None
    if not hmac.compare_digest(signature, _signature(value, secret)):
        return None
    return int(value)

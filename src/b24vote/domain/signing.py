"""signedAttachId: ``"<attachId>.<hex HMAC-SHA256>"`` keyed by ``"vote.result" + secret``.

Reproduces Bitrix\\Main\\Security\\Sign\\Signer with the ``vote.result`` salt
(../shared/reference/notes/vote-semantics.md §3).

b24vote's own addition, the viewer part of a personal results link (docs/results-page.md):
``"<userId>.<hex HMAC-SHA256>"`` over ``"<attachId>:<userId>"``, keyed by ``"vote.result.viewer" + secret``, so it
names one user on one poll and no other salt's signature can stand in for it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

__all__ = ["sign_attach", "sign_viewer", "unsign_attach", "unsign_viewer"]

_SALT = b"vote.result"
_VIEWER_SALT = b"vote.result.viewer"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_USER_ID = re.compile(r"[1-9][0-9]{0,17}")


def _signature(value: str, secret: str, salt: bytes = _SALT) -> str:
    return hmac.new(salt + secret.encode(), value.encode(), hashlib.sha256).hexdigest()


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


def sign_viewer(attach_id: int, user_id: int, secret: str) -> str:
    """The ``viewer`` of user ``user_id``'s own results link to attach ``attach_id``."""
    return f"{user_id}.{_signature(f'{attach_id}:{user_id}', secret, _VIEWER_SALT)}"


def unsign_viewer(viewer: str, attach_id: int, secret: str) -> int | None:
    """The user id when ``viewer`` was signed for this attach, else None (malformed, tampered or another poll's)."""
    value, dot, signature = viewer.partition(".")
    if not dot or not _USER_ID.fullmatch(value) or not _HEX64.fullmatch(signature):
        return None
    if not hmac.compare_digest(signature, _signature(f"{attach_id}:{value}", secret, _VIEWER_SALT)):
        return None
    return int(value)

"""Sign-in passwords for the OAuth consent page, kept as salted scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from b24vote.storage.tables import user_passwords

__all__ = ["check_password", "hash_password", "set_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1
# Checked against when a user has no password, so that a wrong login costs as long as a wrong password.
_DUMMY = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` in hex."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def set_password(conn: Connection, now: datetime, user_id: int, password: str) -> None:
    conn.execute(delete(user_passwords).where(user_passwords.c.user_id == user_id))
    conn.execute(insert(user_passwords).values(user_id=user_id, password_hash=hash_password(password), date_update=now))


def check_password(conn: Connection, user_id: int | None, password: str) -> bool:
    """True when ``user_id`` has a password and ``password`` is it."""
    row = None
    if user_id is not None:
        row = conn.execute(select(user_passwords.c.password_hash).where(user_passwords.c.user_id == user_id)).first()
    ok = verify_password(password, row[0] if row else _DUMMY)
    return ok and row is not None

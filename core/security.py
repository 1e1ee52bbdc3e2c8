"""Password hashing with argon2id (argon2-cffi); older scrypt hashes still verify and are
rehashed on the next sign-in. Also the random secrets and digests for sessions and tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults follow RFC 9106's second recommended profile (64 MiB, t=3, p=4).
_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def check_new_password(password: str) -> None:
    """Refuse a password that is short, common or one repeated character (ValueError)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    # Guessing tries the common passwords first: length alone lets "12345678" through.
    if password.strip().lower() in _common_passwords() or len(set(password)) < 3:
        raise ValueError("Mật khẩu quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.")


def hash_password(password: str) -> str:
    """Hash a new password with argon2id (`$argon2id$...`), after check_new_password."""
    check_new_password(password)
    return _HASHER.hash(password)


def rehash_password(password: str) -> str:
    """Today's argon2id hash of a password already in use (no strength check)."""
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (argon2id, or a legacy scrypt hash)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash is not argon2id with today's parameters (rehash after sign-in)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (session cookies, API tokens, CSRF tokens)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    """The hex sha256 of a secret: what the database keeps instead of the secret."""
    return hashlib.sha256(value.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())

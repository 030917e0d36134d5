"""Local account passwords: argon2id hashes and the minimum password policy.

Hashes use argon2-cffi's defaults (argon2id, RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes),
so a stolen `user_account` table costs an attacker that much memory and time per guess. The parameters
live in the hash itself; when the defaults move on, `needs_rehash` says so and sign-in quietly rehashes.
Nothing here logs, returns or stores a password in clear.
"""

from __future__ import annotations

from contextlib import suppress
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from openrms.errors import BadRequest

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a cap stops a megabyte "password" costing us more than it

_hasher = PasswordHasher()  # type ID (argon2id) by default


def check_policy(password: str) -> None:
    """BadRequest unless `password` meets the minimum policy: 12 to 1024 characters, not only spaces.

    Length is what makes a password strong; a passphrase of four ordinary words passes, "Passw0rd!" does
    not. The message never repeats the password."""
    if not isinstance(password, str):
        raise BadRequest("the password must be text")
    if len(password) < MIN_LENGTH:
        raise BadRequest(
            f"the password is too short ({len(password)} characters): use at least {MIN_LENGTH}; "
            "a few ordinary words make a strong, memorable one"
        )
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"the password is too long ({len(password)} characters): use at most {MAX_LENGTH}")
    if not password.strip():
        raise BadRequest("the password cannot be only spaces")
    if "\x00" in password:
        raise BadRequest("the password cannot contain a NUL character")
    if not _encodable(password):
        raise BadRequest("the password holds characters that are not valid Unicode text")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry but no text encoding can
        return False
    return True


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (after checking the policy), e.g. "$argon2id$v=19$m=65536,..."."""
    check_policy(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that has just been verified (no policy check: a password set under an
    older, weaker policy still lets its owner sign in, and is rehashed with today's parameters)."""
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`. False (never an error) for a missing or malformed hash,
    so an account without a local password (OIDC only) simply cannot sign in with one."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH or not _encodable(password):
        dummy_verify("")
        return False
    if not password_hash:
        dummy_verify(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters (or another argon2 type) than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: hashing costs 64 MiB and a fifth of a second.
    return _hasher.hash("openrms dummy password, never a real one")


def dummy_verify(password: str) -> None:
    """Spend the time a real verification takes, for an unknown user, so response times do not tell an
    attacker which usernames exist."""
    candidate = password[:MAX_LENGTH] if isinstance(password, str) and _encodable(password) else ""
    with suppress(VerifyMismatchError, VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), candidate)

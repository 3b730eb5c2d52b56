"""Password hashing with Argon2id (parameters from argon2-cffi's RFC 9106 profile)."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

#: The Argon2id parameters of every new hash: RFC 9106's low-memory profile (3 passes over
#: 64 MiB, 4 lanes), argon2-cffi's default. Hashes made with other parameters still verify
#: and are replaced at the next login (:func:`needs_rehash`).
PARAMETERS = profiles.RFC_9106_LOW_MEMORY

_hasher = PasswordHasher.from_parameters(PARAMETERS)

#: Minimum length of a password chosen by a person.
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant-time inside argon2)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters and should be replaced at login."""
    return _hasher.check_needs_rehash(password_hash)

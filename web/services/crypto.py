"""Personal data protection: encryption, keyed hashes and masking of ID numbers and phones."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

#: What every sealed value starts with, before its purpose: stored ciphertexts (ID numbers,
#: phones, dates of birth) never do.
SEALED = "cishan-sealed:"


class PersonalDataCipher:
    """Encrypts personal data with the instance key and hashes it for look-ups.

    ``key`` is a urlsafe-base64 32-byte key (``Fernet.generate_key()``); the hash key is
    derived from it, so one secret protects both.
    """

    def __init__(self, key: str | bytes) -> None:
        raw = key.encode() if isinstance(key, str) else key
        self._fernet = Fernet(raw)
        secret = base64.urlsafe_b64decode(raw)
        self._hash_key = hashlib.sha256(b"cishan-lookup-hash:" + secret).digest()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode("utf-8")

    def seal(self, purpose: str, value: str, size: int = 256) -> str:
        """``value`` encrypted to travel in an address, for ``purpose`` only: unreadable
        without the key, different every time (two searches for one number cannot be matched
        in a log), dated, and padded to ``size`` bytes, so its length does not tell an ID
        number from a name."""
        plain = f"{SEALED}{purpose}\n{value}".encode()
        if len(plain) > size:
            raise ValueError("value too long to seal")
        return self._fernet.encrypt(plain.ljust(size, b"\0")).decode("ascii")

    def unseal(self, purpose: str, token: str, max_age_seconds: int) -> str | None:
        """What :meth:`seal` sealed for ``purpose``, or None for a token forged, altered, too
        old, or sealed for something else (nothing else encrypted with the key opens here)."""
        try:
            plain = self._fernet.decrypt(token.encode("ascii"), ttl=max_age_seconds)
        except (InvalidToken, UnicodeError):
            return None
        head = f"{SEALED}{purpose}\n".encode()
        if not plain.startswith(head):
            return None
        try:
            return plain[len(head) :].rstrip(b"\0").decode()
        except UnicodeDecodeError:
            return None

    def lookup_hash(self, value: str) -> str:
        """A keyed hash: equal inputs give equal hashes, unguessable without the key."""
        return hmac.new(self._hash_key, value.upper().encode("utf-8"), hashlib.sha256).hexdigest()


def cipher_of(db: Session) -> PersonalDataCipher:
    """The cipher the session factory was configured with."""
    try:
        cipher: PersonalDataCipher = db.info["cipher"]
    except KeyError:
        raise RuntimeError("the session factory has no personal data cipher configured") from None
    return cipher


def normalize_phone(phone: str) -> str:
    """The digits of a phone number as its keyed hash is taken: ``+86 138-0013-8000`` and
    ``13800138000`` are one number (so are ``0753-4438127`` and ``07534438127``)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def mask_id_number(id_number: str) -> str:
    """``440105199001011234`` → ``440105************``: the issuing county only.

    The county code, with the birth year and sex shown elsewhere, leaves 365 × 500 numbers;
    any digit of the date, the sequence or the check digit would narrow that towards one.
    """
    if len(id_number) <= 6:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 6)


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``; shorter numbers keep only their last two digits."""
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]

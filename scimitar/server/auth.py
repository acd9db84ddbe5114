"""Credentials of the reference server: Bearer tokens and HTTP Basic, with rotation.

At most `max_credentials` (two) are live at once, so an IdP can be switched to a new credential
before the old one is revoked, without downtime (ClickHouse Cloud's rule). Secrets are compared in
constant time (`hmac.compare_digest`) so response timing does not reveal a prefix.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Credential:
    """A bearer token (`key` empty) or a key + secret pair (Basic, and `Bearer key:secret`)."""

    id: str
    kind: str  # "bearer" | "basic"
    secret: str
    key: str = ""
    created: float = field(default_factory=time.time)
    revoked: bool = False

    def public(self) -> dict[str, object]:
        """What the admin API may show: never the secret."""
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key or None,
            "secretHint": "****" + self.secret[-2:] if len(self.secret) > 8 else "****",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
            "revoked": self.revoked,
        }


class TooManyCredentials(Exception):
    pass


class CredentialStore:
    def __init__(self, *, max_live: int = 2, accept_key_secret_bearer: bool = False) -> None:
        self._lock = threading.Lock()
        self._creds: list[Credential] = []
        self.max_live = max_live
        self.accept_key_secret_bearer = accept_key_secret_bearer
        self.allow_revoked = False

    def live(self) -> list[Credential]:
        return [c for c in self._creds if not c.revoked]

    def all(self) -> list[Credential]:
        return list(self._creds)

    def add_bearer(self, token: str | None = None) -> Credential:
        return self._add(Credential(_new_id(), "bearer", token or "scimitar_" + secrets.token_urlsafe(24)))

    def add_basic(self, key: str | None = None, secret: str | None = None) -> Credential:
        cred = Credential(
            _new_id(),
            "basic",
            secret or secrets.token_urlsafe(24),
            key=key or "scim_" + secrets.token_hex(10),
        )
        return self._add(cred)

    def _add(self, cred: Credential) -> Credential:
        # Every later `authenticate` compares these as strings: a number or an empty secret here
        # once made every SCIM request fail until restart. Callers validate; this is the last line.
        if not isinstance(cred.secret, str) or not cred.secret or not isinstance(cred.key, str):
            raise ValueError("a credential's token, key and secret must be non-empty strings")
        if cred.kind == "basic" and (not cred.key or ":" in cred.key):
            raise ValueError("a basic credential's key must be a non-empty string without ':' (RFC 7617)")
        with self._lock:
            if len(self.live()) >= self.max_live:
                raise TooManyCredentials(
                    f"at most {self.max_live} credentials may be live at once; revoke one first"
                )
            self._creds.append(cred)
        return cred

    def revoke(self, cred_id: str) -> bool:
        with self._lock:
            for c in self._creds:
                if c.id == cred_id and not c.revoked:
                    c.revoked = True
                    return True
        return False

    def authenticate(self, header: str | None) -> Credential | None:
        """The credential an `Authorization` header proves, or None."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer":
            return self._match_bearer(value)
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                # binascii.Error, and the ValueError b64decode raises for non-ASCII text such as
                # the latin-1 reading of `Basic \xff\xfe==` (it once escaped as a plain-text 500)
                return None
            user, sep, password = decoded.partition(":")
            return self._match_pair(user, password) if sep else None
        return None

    def _candidates(self) -> list[Credential]:
        return self._creds if self.allow_revoked else self.live()

    def _match_bearer(self, token: str) -> Credential | None:
        found = None
        for c in self._candidates():
            if c.kind == "bearer" and hmac.compare_digest(c.secret.encode(), token.encode()):
                found = c
        if found is None and self.accept_key_secret_bearer and ":" in token:
            key, _, secret = token.partition(":")
            found = self._match_pair(key, secret)
        return found

    def _match_pair(self, key: str, secret: str) -> Credential | None:
        found = None
        for c in self._candidates():
            if c.kind != "basic":
                continue
            ok_key = hmac.compare_digest(c.key.encode(), key.encode())
            ok_secret = hmac.compare_digest(c.secret.encode(), secret.encode())
            if ok_key and ok_secret:
                found = c
        return found


def _new_id() -> str:
    return "cred_" + secrets.token_hex(6)

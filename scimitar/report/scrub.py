"""The last line of defence against leaked secrets: scrub a whole output file before it is written.

Exchanges are masked when recorded (`scimitar.exchange`), so this should never find anything. It
exists because messages, exception texts and scenario reasons are free text written by many
hands; a CI artifact is kept for months and read by many people, so one cheap pass over each file
is worth it. Besides the forms the `Masker` knows, it hides each secret's base64 encodings
(standard and URL-safe, padded or not): that is how a Bearer token or a `key:secret` pair hides
inside a Basic header or a JWT-like blob.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from scimitar.exchange import MASK, MIN_TEXT_SECRET, Masker


@lru_cache(maxsize=256)
def _encodings(secret: str) -> tuple[str, ...]:
    raw = secret.encode("utf-8")
    forms = {secret}
    for encoded in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
    return tuple(sorted((f for f in forms if len(f) >= MIN_TEXT_SECRET), key=len, reverse=True))


def scrub(text: str, masker: Masker) -> str:
    """`text` with every secret of `masker`, and each one's base64 forms, replaced by `****`."""
    text = masker.mask_text(text)
    for secret in sorted(masker.secrets, key=len, reverse=True):
        if len(secret) < MIN_TEXT_SECRET:
            continue
        for form in _encodings(secret):
            if form in text:
                text = text.replace(form, MASK)
    return text

"""The last line of defence against leaked secrets: scrub a whole output file before it is written.

Exchanges are masked when recorded (`scimitar.exchange`), so this should never find anything. It
exists because messages, exception texts and scenario reasons are free text written by many
hands; a CI artifact is kept for months and read by many people, so one cheap pass over each file
is worth it. It hides every encoding the `Masker` derives for each secret (raw, base64, URL, JSON,
HTML/XML, shell; see `scimitar.exchange.secret_encodings`): the same list the terminal is masked
with, so a form can never be hidden in one output and shown in another.
"""

from __future__ import annotations

from scimitar.exchange import Masker


def scrub(text: str, masker: Masker) -> str:
    """`text` with every encoding of every secret of `masker` replaced by `****`."""
    return masker.mask_text(text)

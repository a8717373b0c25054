"""E-mail normalisation: one account per mailbox, however it is typed."""

import unicodedata

# Zero-width and invisible formatting characters that survive NFKC.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)


def normalize_email(raw: str) -> str:
    """Trim, apply Unicode NFKC, drop zero-width characters and lower-case."""
    return unicodedata.normalize("NFKC", raw).translate(_INVISIBLE).strip().lower()

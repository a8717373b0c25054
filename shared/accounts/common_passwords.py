"""The most common passwords, refused at registration.

The list is Django's `common-passwords.txt.gz` (19,640 passwords, most common first,
from Django 5.2's `django.contrib.auth`, BSD-3-Clause; see common-passwords.LICENSE
beside it), shipped as it is. It is read from this package, never from the network,
and only on first use: register loads it, no other function does.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

LIST_PATH = Path(__file__).with_name("common-passwords.txt.gz")


@functools.cache
def common_passwords() -> frozenset[str]:
    """Every password of the list, lower-case."""
    with gzip.open(LIST_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """Whether `password`, ignoring case and surrounding spaces, is on the list."""
    return password.strip().lower() in common_passwords()

"""Guards against card numbers arriving where only provider tokens belong.

A primary account number (PAN) must never be accepted, logged or stored: this service only
ever handles the processor's tokens. Anything that carries a run of 12-19 digits (allowing
the spaces, dots, dashes and underscores people put between groups) is treated as a PAN,
whether or not its Luhn digit fits, because a near-miss is still card data.
"""

from __future__ import annotations

import re

_DIGIT_RUN = re.compile(r"(?:\d[ ._-]?){12,19}")


def looks_like_card_number(value: str) -> bool:
    return _DIGIT_RUN.search(value) is not None

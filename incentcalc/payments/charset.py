"""Text in a SEPA message: the EPC's basic Latin character set (EPC217-08).

Banks accept only ``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and the space in names and remittance
text. Everything else is transliterated (text_unidecode: ``Müller`` -> ``Muller``, ``Łódź`` ->
``Lodz``), ``&`` becomes ``+``, and what still cannot be written is left out, which the caller
reports as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
REPLACED = {"&": "+"}


@dataclass(frozen=True)
class SepaText:
    """Text as the SEPA file writes it, and what was lost on the way."""

    text: str
    dropped: str
    """The characters that could not be written (after transliteration), in order."""
    cut: bool
    """Whether the text was longer than the field allows and was cut."""


def sepa_text(value: str, limit: int) -> SepaText:
    """`value` in the SEPA character set, spaces collapsed, at most `limit` characters.

    >>> sepa_text("Müller & Söhne", 70).text
    'Muller + Sohne'
    >>> sepa_text("Łódź ☃", 70)
    SepaText(text='Lodz', dropped='☃', cut=False)
    """
    from text_unidecode import unidecode

    kept, dropped = [], []
    for char in value:
        if char.isspace():
            kept.append(" ")
            continue
        spelled = REPLACED.get(char) or unidecode(char)
        if not spelled.strip() or NOT_SEPA.search(spelled.strip()):
            dropped.append(char)
        else:
            kept.append(spelled)
    text = " ".join("".join(kept).split())
    return SepaText(text[:limit].rstrip(), "".join(dropped), len(text) > limit)


def is_sepa_identifier(value: str, limit: int = 35) -> bool:
    """Whether `value` can be an identifier (EndToEndId) as it is: SEPA characters, no
    space, at most `limit` long, not starting or ending with `/`, no `//`."""
    return (
        0 < len(value) <= limit
        and NOT_SEPA.search(value) is None
        and " " not in value
        and not value.startswith("/")
        and not value.endswith("/")
        and "//" not in value
    )

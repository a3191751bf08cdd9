"""Bank account numbers: IBAN and BIC checked with schwifty (ISO 13616 check digits and each
country's length and format, ISO 9362), and the one way an IBAN is ever shown outside the
payment files: its last 4 characters (`masked`). A basic module, like money: the config
checks the payer's account, validation the partner master's, payments pays to them.

schwifty is imported when a value is checked (70 ms), not by every command.
"""

from __future__ import annotations

SHOWN_CHARACTERS = 4
"""Characters of an IBAN a message, the console or --json may show (the last ones)."""

_IBAN_PROBLEMS = {
    "InvalidLength": "has the wrong length for its country",
    "InvalidCountryCode": "does not start with a known country code",
    "InvalidStructure": "does not have its country's format (letters or digits out of place)",
    "InvalidChecksumDigits": "has check digits that do not match (a typo?)",
    "InvalidBankCode": "has a bank code that does not exist",
}
"""schwifty's exceptions in words: their own messages may quote the account number."""

_BIC_PROBLEMS = {
    "InvalidLength": "must be 8 or 11 characters",
    "InvalidCountryCode": "has an unknown country code (characters 5 and 6)",
    "InvalidStructure": "does not have the BIC format (4 letters, country, location, branch)",
}


def compact(value: str) -> str:
    """The account number without spaces, upper case (`de89 3704 ...` -> `DE893704...`)."""
    return "".join(value.split()).upper()


def masked(iban: str | None) -> str:
    """At most the last 4 characters of an IBAN, marked as cut: `…3000` (empty stays empty)."""
    if not iban:
        return ""
    text = compact(iban)
    return "…" + text[-SHOWN_CHARACTERS:] if len(text) > SHOWN_CHARACTERS else "…"


def iban_problem(value: str) -> str | None:
    """Why `value` is not a valid IBAN, in words that never quote it; None when it is."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        IBAN(compact(value))
    except SchwiftyException as exc:
        return _IBAN_PROBLEMS.get(type(exc).__name__, "is not a valid IBAN")
    return None


def in_sepa_zone(iban: str) -> bool:
    """Whether a (valid) IBAN's country takes part in SEPA credit transfers."""
    from schwifty import IBAN

    return bool(IBAN(compact(iban)).in_sepa_zone)


def bic_problem(value: str) -> str | None:
    """Why `value` is not a valid BIC (ISO 9362); None when it is."""
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    try:
        BIC(compact(value))
    except SchwiftyException as exc:
        return _BIC_PROBLEMS.get(type(exc).__name__, "is not a valid BIC")
    return None

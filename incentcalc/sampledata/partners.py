"""The partner master: heavy-tailed sizes, three segments, teams, currencies, and the
lifecycle edge cases (joiners, leavers, suspended, terminated) planted in fixed numbers.

Every other source draws its rows from the `PartnerBook`: who exists, how big they are, the
days they were active and the currency they trade in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from incentcalc.config import SourceName
from incentcalc.inputs import PartnerStatus
from incentcalc.sampledata.frames import dates, frame, id_expr, id_width, optional, pick
from incentcalc.sampledata.plan import Calendar, generator

SEGMENTS = ("reseller", "distributor", "msp")
RESELLER, DISTRIBUTOR, MSP = range(3)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARE = (0.40, 0.35, 0.18, 0.07)

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD")
USD, EUR, GBP, JPY, CAD, AUD = range(6)
USD_PER_UNIT = (1.0, 1.08, 1.27, 0.0067, 0.73, 0.66)
"""Rough value of one unit in USD, to draw local amounts of a realistic size."""

REGION_CURRENCIES: dict[int, tuple[tuple[int, float], ...]] = {
    0: ((USD, 0.85), (CAD, 0.15)),
    1: ((EUR, 0.65), (GBP, 0.35)),
    2: ((JPY, 0.45), (AUD, 0.40), (USD, 0.15)),
    3: ((USD, 1.0),),
}

FIRST_WORDS = (
    "Acme", "Bolt", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Keystone", "Lumen", "Meridian", "Nimbus", "Orion", "Pioneer", "Quartz", "Redwood", "Summit",
    "Tidal", "Umber", "Vertex", "Willow", "Xenon", "Yarrow", "Zenith", "Atlas", "Beacon",
    "Cascade", "Drift", "Echo", "Fjord", "Glacier", "Helix", "Ionic", "Jade", "Kestrel", "Lyra",
)  # fmt: skip
SECOND_WORDS = (
    "Bay", "Bridge", "Cloud", "Core", "Data", "Edge", "Field", "Grid", "Hub", "Line", "Logic",
    "Net", "Peak", "Point", "Ridge", "Rock", "Stack", "Star", "Stone", "Wave",
)  # fmt: skip
NAME_SUFFIXES = (
    ("Solutions", "IT", "Systems", "Technologies", "Consulting"),
    ("Distribution", "Supply", "Wholesale"),
    ("Managed Services", "Cloud Services", "Networks"),
)

DISTRIBUTOR_SHARE = 0.03
MSP_SHARE = 0.25
TEAM_SHARE = 0.18
MAX_SIZE = 250.0

PLANTED_SHARES = {
    "joined_in_period": 0.03,
    "joined_in_history": 0.03,
    "joined_after_period": 0.01,
    "left_in_period": 0.02,
    "left_before_period": 0.02,
    "left_after_period": 0.01,
    "suspended": 0.02,
    "terminated": 0.015,
    "spiking": 0.03,
}
"""Fraction of partners in each planted lifecycle group (at least one partner each)."""


@dataclass(frozen=True)
class PartnerBook:
    """The partner frame plus per-partner arrays (index = row of `frame`) for other sources.

    ``start``/``end`` are the first and last day the partner can have activity in the
    export (its active window clipped to the calendar); ``size`` is the heavy-tailed
    business size; ``currency`` indexes CURRENCIES; ``groups`` maps each planted group to
    its partner indexes.
    """

    frame: pl.DataFrame
    segment: np.ndarray
    size: np.ndarray
    currency: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ineligible: np.ndarray
    groups: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return self.frame.height

    @property
    def window(self) -> np.ndarray:
        """Active days inside the export (0 when the partner has none)."""
        return np.maximum(self.end - self.start + 1, 0)

    def partner_ids(self, index: np.ndarray) -> pl.Expr:
        """partner_id column for rows owned by the partners at `index`."""
        return pl.lit(self.frame["partner_id"].gather(index.astype(np.int64)))

    def weights(self, exponent: float) -> np.ndarray:
        """Probability of each partner owning a row: size**exponent times active time."""
        raw = self.size**exponent * self.window
        return raw / raw.sum()


def generate_partners(count: int, seed: int, calendar: Calendar) -> PartnerBook:
    """Draw `count` partners; the planted groups are exact counts, never left to chance."""
    rng = generator(seed, SourceName.PARTNERS)
    size = np.minimum(rng.pareto(1.3, count) + 1.0, MAX_SIZE)
    segment = _segments(rng, size)
    size = np.where(segment == DISTRIBUTOR, size * 3.0, size)
    region = rng.choice(len(REGIONS), size=count, p=REGION_SHARE)
    currency = _currencies(rng, region)
    groups = _planted_groups(rng, count)
    joined, left = _lifecycle(rng, count, calendar, groups)
    status = np.full(count, 0)
    status[groups["suspended"]] = 1
    status[groups["terminated"]] = 2
    status[groups["left_before_period"]] = 2
    status[groups["left_in_period"][::2]] = 2
    has_left = left >= 0
    start = np.maximum(joined, calendar.start)
    end = np.where(has_left, np.minimum(left, calendar.as_of), calendar.as_of)
    in_period_left = has_left & (left >= calendar.period_start) & (left <= calendar.period_end)
    ineligible = (status == 2) | in_period_left
    teams = _teams(rng, segment)
    width = id_width(count)
    partners = frame(
        count,
        partner_id=id_expr("P", width, pl.col("_i")),
        partner_name=pl.concat_str(
            pick(FIRST_WORDS, rng.integers(0, len(FIRST_WORDS), count)),
            pick(SECOND_WORDS, rng.integers(0, len(SECOND_WORDS), count)),
            _suffixes(rng, segment),
            separator=" ",
        ),
        segment=pick(SEGMENTS, segment),
        region=pick(REGIONS, region),
        team_id=optional(
            id_expr("T", id_width(count // 2, 3), pl.lit(pl.Series(np.maximum(teams, 0)))),
            teams >= 0,
        ),
        payout_currency=_payout_currency(rng, currency),
        joined_on=dates(joined),
        left_on=optional(dates(np.maximum(left, 0)), has_left),
        status=pick(tuple(s.value for s in PartnerStatus), status),
    )
    partners = partners.with_columns(**payment_columns(partners, seed))
    return PartnerBook(partners, segment, size, currency, start, end, ineligible, groups)


PAYMENTS_STREAM = 101
"""The random stream of the payment columns, apart from every source's (`plan.generator`):
adding them changed no other value of a sample."""

EURO_BANKS = (("DE", "37040044"), ("FR", "30006"), ("NL", "ABNA"), ("ES", "21000418"))
"""(country, bank code) of the euro payees' test IBANs; schwifty computes the check digits."""
POUND_BANK = ("GB", "NWBK601613")
LEGAL_FORMS = {"DE": "GmbH", "FR": "SAS", "NL": "B.V.", "ES": "S.L.", "GB": "Ltd"}
PLANTED_PAYEE = "Łódź Müller & Söhne Sp. z o.o."
"""The first euro payee's legal name: the SEPA file must transliterate it."""
NO_IBAN_SHARE = 0.08
MANUAL_SHARE = 0.04
LEGAL_NAME_SHARE = 0.15


def payment_columns(partners: pl.DataFrame, seed: int) -> dict[str, pl.Series]:
    """vendor_id, payee_name, iban, bic, payment_method (PAYMENTS.md): valid test IBANs for
    euro and pound payees (a few euro payees without one, a few paid by hand), none for the
    other currencies, which AP pays by hand."""
    from schwifty import IBAN

    rng = np.random.default_rng([seed, PAYMENTS_STREAM])
    count = partners.height
    bank = rng.integers(0, len(EURO_BANKS), count)
    account = rng.integers(10**5, 10**8, count)
    draw = rng.random((3, count))
    currency = partners["payout_currency"].to_list()
    names = partners["partner_name"].to_list()
    iban: list[str | None] = [None] * count
    bic: list[str | None] = [None] * count
    payee: list[str | None] = [None] * count
    method: list[str | None] = [None] * count
    banks: dict[str, str | None] = {}
    planted = False
    for i in range(count):
        if currency[i] == "EUR":
            country, code = EURO_BANKS[bank[i]]
            if draw[0, i] < NO_IBAN_SHARE:
                continue
            method[i] = "manual" if draw[1, i] < MANUAL_SHARE else None
        elif currency[i] == "GBP":
            country, code = POUND_BANK
        else:
            continue
        number = IBAN.generate(country, bank_code=code, account_code=str(account[i]))
        if code not in banks:  # one registry lookup per bank
            banks[code] = str(number.bic) if number.bic else None
        iban[i], bic[i] = number.formatted, banks[code]
        if not planted and country != "GB":
            payee[i], planted = PLANTED_PAYEE, True
        elif draw[2, i] < LEGAL_NAME_SHARE:
            payee[i] = f"{names[i]} {LEGAL_FORMS[country]}"
    vendor = [f"V{100000 + i}" for i in range(count)]
    return {
        column: pl.Series(column, values, dtype=pl.String())
        for column, values in (("vendor_id", vendor), ("payee_name", payee), ("iban", iban),
                               ("bic", bic), ("payment_method", method))
    }  # fmt: skip


def _segments(rng: np.random.Generator, size: np.ndarray) -> np.ndarray:
    """A few large distributors (the biggest partners), a quarter MSPs, resellers the rest."""
    count = size.size
    ranked = np.argsort(-size, kind="stable")
    segment = np.where(rng.random(count) < MSP_SHARE, MSP, RESELLER)
    segment[ranked[: max(1, round(DISTRIBUTOR_SHARE * count))]] = DISTRIBUTOR
    return segment


def _currencies(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """Trading currency per partner, from its region's mix."""
    draw = rng.random(region.size)
    currency = np.full(region.size, USD)
    for code, mix in REGION_CURRENCIES.items():
        bounds = np.cumsum([share for _, share in mix])
        choice = np.searchsorted(bounds, draw, side="right").clip(0, len(mix) - 1)
        options = np.array([currency_index for currency_index, _ in mix])
        currency = np.where(region == code, options[choice], currency)
    return currency


def _payout_currency(rng: np.random.Generator, currency: np.ndarray) -> pl.Expr:
    """Paid in the trading currency; USD partners mostly leave the column empty (= base)."""
    draw = rng.random(currency.size)
    paid = np.where(draw < 0.1, USD, currency)
    blank = (paid == USD) & (draw < 0.75)
    return optional(pick(CURRENCIES, paid), ~blank)


def _suffixes(rng: np.random.Generator, segment: np.ndarray) -> pl.Expr:
    draw = rng.random(segment.size)
    names = [suffix for group in NAME_SUFFIXES for suffix in group]
    offsets = np.cumsum([0, *(len(group) for group in NAME_SUFFIXES)])[:-1]
    lengths = np.array([len(group) for group in NAME_SUFFIXES])
    index = offsets[segment] + (draw * lengths[segment]).astype(np.int64)
    return pick(tuple(names), index)


def _planted_groups(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """Disjoint partner index sets for the lifecycle edge cases, taken from one permutation."""
    order = rng.permutation(count)
    groups: dict[str, np.ndarray] = {}
    cursor = 0
    for name, share in PLANTED_SHARES.items():
        size = max(1, round(share * count))
        groups[name] = np.sort(order[cursor : cursor + size])
        cursor += size
    return groups


def _lifecycle(
    rng: np.random.Generator, count: int, calendar: Calendar, groups: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """joined_on and left_on (-1 = empty) per partner, in days since 1970-01-01."""

    def between(first: int, last: int, size: int) -> np.ndarray:
        return rng.integers(first, max(first, last) + 1, size)

    long_ago = calendar.start - 8 * 365
    joined = between(long_ago, calendar.start - 60, count)
    left = np.full(count, -1, dtype=np.int64)
    p_start, p_end = calendar.period_start, calendar.period_end
    plans = {
        "joined_in_period": (joined, p_start + 1, p_end - 5),
        "joined_in_history": (joined, calendar.start, p_start - 1),
        "joined_after_period": (joined, p_end + 1, calendar.as_of),
        "left_in_period": (left, p_start, p_end - 1),
        "left_before_period": (left, p_start - 150, p_start - 1),
        "left_after_period": (left, p_end + 1, calendar.as_of),
    }
    for name, (target, first, last) in plans.items():
        members = groups[name]
        target[members] = between(first, last, members.size)
    has_left = left >= 0
    joined = np.where(has_left, np.minimum(joined, left - 60), joined)
    return joined, left


def _teams(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Team number per partner (-1 = none): co-selling teams of 2 to 4 non-distributors."""
    candidates = rng.permutation(np.flatnonzero(segment != DISTRIBUTOR))
    members = candidates[: max(2, round(TEAM_SHARE * segment.size))]
    sizes = rng.integers(2, 5, members.size)
    team_of_member = np.repeat(np.arange(sizes.size), sizes)[: members.size]
    teams = np.full(segment.size, -1, dtype=np.int64)
    teams[members] = team_of_member
    return teams

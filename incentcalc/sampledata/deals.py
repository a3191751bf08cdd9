"""The CRM deal export: won, lost, open and cancelled deals with the integrity edge cases of
RULES.md 10 planted on purpose.

Planted, so every rule has something to find:
- duplicates: copies of a won deal (same partner, customer, amount, currency, close_date)
  under another deal_id;
- late or missing registrations (registered_on after close_date, or empty);
- quarter-end spikes: every partner pushes some deals into the last 10 days of a quarter,
  the `spiking` partners most of them;
- reversals: a `cancelled` deal of the same customer and partner 0 to 45 days after a won
  deal (most within the 30 days of the sample rule, some just outside).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from incentcalc.config import SourceName
from incentcalc.inputs import DealType, Stage
from incentcalc.sampledata.frames import (
    column,
    dates,
    frame,
    id_expr,
    id_width,
    money,
    optional,
    pick,
)
from incentcalc.sampledata.partners import CURRENCIES, JPY, USD, USD_PER_UNIT, PartnerBook
from incentcalc.sampledata.plan import SOURCE_ORDER, Calendar, generator, quarter_end_days

STAGES = tuple(stage.value for stage in Stage)
WON, LOST, OPEN, CANCELLED = range(4)
DEAL_TYPES = tuple(kind.value for kind in DealType)
DEAL_TYPE_SHARE = (0.52, 0.35, 0.13)
PRODUCTS = ("Core", "Cloud", "Security", "Analytics", "Support")

DUPLICATE_SHARE = 0.004
REVERSAL_SHARE = 0.006
LATE_REGISTRATION_SHARE = 0.025
MISSING_REGISTRATION_SHARE = 0.015
QUARTER_END_DAYS = 10
SPIKE_CHANCE = 0.10
SPIKING_PARTNER_CHANCE = 0.8
REVERSAL_MAX_DAYS = 45
DEAL_CHUNK_ROWS = 5_000_000
"""Deals drawn and written per block: a 5M-deal block peaks at about 2 GB."""

LOG_USD_BY_SEGMENT = np.array([9.3, 10.2, 9.0])
"""ln of a typical deal in USD for reseller, distributor, msp (about 11k, 27k, 8k)."""


@dataclass(frozen=True)
class DealDraw:
    """The deals frame plus the numbers other sources derive targets and budgets from.

    ``won_usd`` is each partner's total won amount in USD cents (approximate: rough rates)
    over the whole export, ``period_won_usd`` the same inside the period, and
    ``new_won`` the number of won `new` deals over the export.
    """

    frame: pl.DataFrame
    won_usd: np.ndarray
    period_won_usd: np.ndarray
    new_won: np.ndarray
    pool: np.ndarray

    def plus(self, other: DealDraw) -> DealDraw:
        """The totals of two blocks of the same partners (this block's frame kept)."""
        return DealDraw(
            self.frame,
            self.won_usd + other.won_usd,
            self.period_won_usd + other.period_won_usd,
            self.new_won + other.new_won,
            self.pool,
        )


def customer_pools(book: PartnerBook, rows: int) -> np.ndarray:
    """Customers per partner: about four deals per customer, at least two customers."""
    expected = book.weights(0.8) * rows
    return np.maximum(2, np.round(expected / 4)).astype(np.int64)


def customer_ids(partner: np.ndarray, pool: np.ndarray, draw: np.ndarray) -> pl.Expr:
    """``C<partner>-<n>``: a partner's customers, skewed so some customers buy often."""
    local = (pool[partner] * draw**1.6).astype(np.int64)
    return pl.concat_str(
        pl.lit("C"),
        column(partner + 1).cast(pl.String).str.zfill(id_width(pool.size)),
        pl.lit("-"),
        column(local + 1).cast(pl.String),
    )


def local_cents(usd_cents: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """USD cents -> cents in each row's currency; yen amounts are whole (no minor unit)."""
    per_unit = np.asarray(USD_PER_UNIT)[currency]
    cents = np.round(usd_cents / per_unit).astype(np.int64)
    local: np.ndarray = np.where(currency == JPY, cents // 100 * 100, cents)
    return local


def generate_deals(book: PartnerBook, rows: int, seed: int, calendar: Calendar) -> DealDraw:
    """`rows` deals in total, planted duplicates and reversals included."""
    pool = customer_pools(book, rows)
    return _draw_deals(generator(seed, SourceName.DEALS), book, rows, pool, calendar)


def generate_deal_chunks(
    book: PartnerBook, rows: int, seed: int, calendar: Calendar
) -> Iterator[DealDraw]:
    """`rows` deals as consecutive blocks of at most DEAL_CHUNK_ROWS (memory stays that of
    one block): block k draws from its own stream (seed, deals, k), its deal_ids continue
    the previous block's, and each block is in registration order, like monthly extracts
    appended to one export. Up to DEAL_CHUNK_ROWS this is `generate_deals` exactly."""
    if rows <= DEAL_CHUNK_ROWS:
        yield generate_deals(book, rows, seed, calendar)
        return
    pool = customer_pools(book, rows)
    stream = SOURCE_ORDER.index(SourceName.DEALS)
    width = id_width(rows, 7)
    for chunk, first in enumerate(range(0, rows, DEAL_CHUNK_ROWS)):
        size = min(DEAL_CHUNK_ROWS, rows - first)
        rng = np.random.default_rng([seed, stream, chunk])
        yield _draw_deals(rng, book, size, pool, calendar, first_id=first, id_digits=width)


def _draw_deals(
    rng: np.random.Generator,
    book: PartnerBook,
    rows: int,
    pool: np.ndarray,
    calendar: Calendar,
    *,
    first_id: int = 0,
    id_digits: int | None = None,
) -> DealDraw:
    """`rows` deals from `rng`, ids from D<first_id + 1>, planted cases included."""
    duplicates = max(1, round(DUPLICATE_SHARE * rows))
    reversals = max(1, round(REVERSAL_SHARE * rows))
    base = rows - duplicates - reversals

    partner = rng.choice(book.count, size=base, p=book.weights(0.8))
    close = _close_days(rng, book, partner, calendar)
    stage = _stages(rng, book.count, partner)
    currency = np.where(rng.random(base) < 0.85, book.currency[partner], USD)
    usd = _usd_cents(rng, book, partner)
    amount = local_cents(usd, currency)
    deal_type = rng.choice(len(DEAL_TYPES), size=base, p=DEAL_TYPE_SHARE)
    typed = rng.random(base) >= 0.03
    registered = _registered_days(rng, close, calendar)
    registered_ok = rng.random(base) >= MISSING_REGISTRATION_SHARE
    has_close = (stage != OPEN) | (rng.random(base) < 0.35)
    customer_draw = rng.random(base)
    product = rng.integers(0, len(PRODUCTS), base)

    won = np.flatnonzero(stage == WON)
    copies = np.sort(rng.choice(won, size=min(duplicates, won.size), replace=False))
    cancels = np.sort(rng.choice(won, size=min(reversals, won.size), replace=False))
    cancel_close = np.minimum(
        close[cancels] + rng.integers(0, REVERSAL_MAX_DAYS + 1, cancels.size), calendar.as_of
    )
    source = np.concatenate([np.arange(base), copies, cancels])
    close_all = np.concatenate([close, close[copies], cancel_close])
    stage_all = np.concatenate(
        [stage, stage[copies], np.full(cancels.size, CANCELLED, dtype=stage.dtype)]
    )
    has_close_all = np.concatenate([has_close, has_close[copies], has_close[cancels]])
    reg_all = registered[source]
    reg_ok_all = registered_ok[source]
    order = np.lexsort((np.arange(source.size), np.where(reg_ok_all, reg_all, close_all)))

    def take(values: np.ndarray) -> np.ndarray:
        taken: np.ndarray = values[source][order]
        return taken

    deals = frame(
        source.size,
        deal_id=id_expr("D", id_digits or id_width(source.size, 7), pl.col("_i") + first_id),
        partner_id=book.partner_ids(take(partner)),
        customer_id=customer_ids(take(partner), pool, take(customer_draw)),
        stage=pick(STAGES, stage_all[order]),
        close_date=optional(dates(close_all[order]), has_close_all[order]),
        amount=money(column(take(amount))),
        currency=pick(CURRENCIES, take(currency)),
        deal_type=optional(pick(DEAL_TYPES, take(deal_type)), take(typed)),
        registered_on=optional(dates(reg_all[order]), reg_ok_all[order]),
        product=pick(PRODUCTS, take(product)),
    )
    return DealDraw(
        deals, *_won_totals(book, partner, stage, close, usd, deal_type, calendar), pool
    )


def _close_days(
    rng: np.random.Generator, book: PartnerBook, partner: np.ndarray, calendar: Calendar
) -> np.ndarray:
    """Close dates inside each partner's window, bunched at quarter ends."""
    start, window = book.start[partner], book.window[partner]
    close = start + (rng.random(partner.size) * window).astype(np.int64)
    spiking = np.isin(partner, book.groups["spiking"])
    chance = np.where(spiking, SPIKING_PARTNER_CHANCE, SPIKE_CHANCE)
    pushed = quarter_end_days(close) - rng.integers(0, QUARTER_END_DAYS, partner.size)
    close = np.where(rng.random(partner.size) < chance, pushed, close)
    return np.clip(close, start, book.end[partner])


def _stages(rng: np.random.Generator, partners: int, partner: np.ndarray) -> np.ndarray:
    """Open 14%, cancelled 4%, the rest won or lost by a per-partner win rate."""
    win_rate = rng.beta(5.0, 4.0, partners)[partner]
    draw, outcome = rng.random(partner.size), rng.random(partner.size)
    stage = np.where(outcome < win_rate, WON, LOST)
    stage = np.where(draw < 0.18, CANCELLED, stage)
    return np.where(draw < 0.14, OPEN, stage)


def _usd_cents(rng: np.random.Generator, book: PartnerBook, partner: np.ndarray) -> np.ndarray:
    """Lognormal deal sizes: larger for distributors and for bigger partners; a few zeros."""
    log_usd = LOG_USD_BY_SEGMENT[book.segment[partner]] + 0.25 * np.log(book.size[partner])
    usd = np.exp(rng.normal(log_usd, 0.9))
    cents = np.round(np.clip(usd, 50.0, 5e7) * 100).astype(np.int64)
    return np.where(rng.random(partner.size) < 0.002, 0, cents)


def _registered_days(rng: np.random.Generator, close: np.ndarray, calendar: Calendar) -> np.ndarray:
    """Registered 5 to 150 days before closing; some registered late, after the close."""
    early = close - rng.integers(5, 151, close.size)
    late = np.minimum(close + rng.integers(1, 26, close.size), calendar.as_of)
    return np.where(rng.random(close.size) < LATE_REGISTRATION_SHARE, late, early)


def _won_totals(
    book: PartnerBook,
    partner: np.ndarray,
    stage: np.ndarray,
    close: np.ndarray,
    usd: np.ndarray,
    deal_type: np.ndarray,
    calendar: Calendar,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-partner won USD (whole export and period) and won new deals, for targets."""
    won = stage == WON
    in_period = won & (close >= calendar.period_start) & (close <= calendar.period_end)
    count = book.count
    total = np.bincount(partner[won], weights=usd[won].astype(np.float64), minlength=count)
    period = np.bincount(
        partner[in_period], weights=usd[in_period].astype(np.float64), minlength=count
    )
    new_won = np.bincount(partner[won & (deal_type == 0)], minlength=count)
    return total, period, new_won

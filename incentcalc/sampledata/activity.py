"""NPS survey responses and renewal contracts, drawn against the same partners and customers
as the deals so a partner's statement tells one consistent story.

NPS quality differs per partner (some promoters, some detractors), small partners often
have fewer responses than the program's `min_responses`. Renewals due after the export
date's last weeks are mostly `pending`; some contracts come up twice a year apart under the
same contract_id, as (contract_id, due_date) allows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from incentcalc.config import SourceName
from incentcalc.inputs import RenewalStatus
from incentcalc.sampledata.deals import customer_ids, local_cents
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
from incentcalc.sampledata.partners import CURRENCIES, PartnerBook
from incentcalc.sampledata.plan import Calendar, generator

RENEWAL_STATUSES = tuple(status.value for status in RenewalStatus)
RENEWED, CHURNED, PENDING = range(3)
RECENT_DAYS = 45
"""Renewals due this close to the export date are mostly still pending."""
RENEWED_AGAIN_SHARE = 0.03


def _activity_days(rng: np.random.Generator, book: PartnerBook, partner: np.ndarray) -> np.ndarray:
    return book.start[partner] + (rng.random(partner.size) * book.window[partner]).astype(np.int64)


def generate_nps(
    book: PartnerBook, rows: int, seed: int, pool: np.ndarray, calendar: Calendar
) -> pl.DataFrame:
    """`rows` survey responses, ids in answer-date order, scores 0..10."""
    rng = generator(seed, SourceName.NPS)
    partner = rng.choice(book.count, size=rows, p=book.weights(0.3))
    answered = _activity_days(rng, book, partner)
    mood = rng.uniform(5.0, 9.8, book.count)[partner]
    score = np.clip(np.round(rng.normal(mood, 1.8)), 0, 10).astype(np.int64)
    named = rng.random(rows) < 0.85
    customer_draw = rng.random(rows)
    order = np.lexsort((np.arange(rows), answered))
    return frame(
        rows,
        response_id=id_expr("R", id_width(rows, 7), pl.col("_i")),
        partner_id=book.partner_ids(partner[order]),
        customer_id=optional(
            customer_ids(partner[order], pool, customer_draw[order]), named[order]
        ),
        responded_on=dates(answered[order]),
        score=column(score[order]),
    )


def generate_renewals(
    book: PartnerBook, rows: int, seed: int, pool: np.ndarray, calendar: Calendar
) -> pl.DataFrame:
    """`rows` renewal rows; a few contracts appear again one year later."""
    rng = generator(seed, SourceName.RENEWALS)
    partner = rng.choice(book.count, size=rows, p=book.weights(0.5))
    due = _activity_days(rng, book, partner)
    first_half = np.flatnonzero(due[: rows // 2] + 365 <= book.end[partner[: rows // 2]])
    again = np.sort(
        rng.choice(
            first_half,
            size=min(round(RENEWED_AGAIN_SHARE * rows), first_half.size),
            replace=False,
        )
    )
    base = rows - again.size
    contract = np.concatenate([np.arange(base), again])
    due = np.concatenate([due[:base], due[again] + 365])
    partner = partner[contract]

    log_usd = 9.6 + 0.25 * np.log(book.size[partner])
    usd = np.round(np.exp(rng.normal(log_usd, 0.8)) * 100).astype(np.int64)
    currency = book.currency[partner]
    original = local_cents(usd, currency)
    status = _renewal_status(rng, due, calendar)
    uplift = rng.uniform(0.8, 1.3, rows)
    renewed = local_cents(np.round(usd * uplift).astype(np.int64), currency)
    zero_churn = (status == CHURNED) & (rng.random(rows) < 0.2)
    renewed = np.where(zero_churn, 0, renewed)
    customer_draw = rng.random(rows)
    order = np.lexsort((contract, due))
    return frame(
        rows,
        contract_id=id_expr("K", id_width(rows, 6), column(contract[order])),
        partner_id=book.partner_ids(partner[order]),
        customer_id=customer_ids(partner[order], pool, customer_draw[order]),
        due_date=dates(due[order]),
        original_amount=money(column(original[order])),
        renewed_amount=optional(
            money(column(renewed[order])), ((status == RENEWED) | zero_churn)[order]
        ),
        currency=pick(CURRENCIES, currency[order]),
        status=pick(RENEWAL_STATUSES, status[order]),
    )


def _renewal_status(rng: np.random.Generator, due: np.ndarray, calendar: Calendar) -> np.ndarray:
    """78% renewed, 15% churned, 7% pending; mostly pending close to the export date."""
    draw = rng.random(due.size)
    status = np.where(draw < 0.78, RENEWED, np.where(draw < 0.93, CHURNED, PENDING))
    recent = due > calendar.as_of - RECENT_DAYS
    return np.where(recent & (rng.random(due.size) < 0.6), PENDING, status)

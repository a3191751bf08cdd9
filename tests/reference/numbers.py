"""Exact rounding and cent allocation (RULES.md 3, 5, 8.6 and 11.2).

Every quotient is a `Fraction` until one of these functions turns it into a `Decimal` with a
fixed number of places: a binary float, or a decimal with too few digits, rounds ties such
as 0.12345 the wrong way.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

HALF_UP = "half_up"
HALF_EVEN = "half_even"
DOWN = "down"

Exact = Fraction | Decimal | int


def round_to(value: Exact, places: int, mode: str = HALF_UP) -> Decimal:
    """`value` rounded to `places` decimals; ties away from zero (half_up) or to even.

    >>> round_to(Fraction(12345, 100000), 4), round_to(Decimal("0.125"), 2, HALF_EVEN)
    (Decimal('0.1235'), Decimal('0.12'))
    """
    scaled = Fraction(value) * 10**places
    sign = -1 if scaled < 0 else 1
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    twice = 2 * rest
    if mode != DOWN and (
        twice > scaled.denominator
        or (twice == scaled.denominator and (mode == HALF_UP or whole % 2 == 1))
    ):
        whole += 1
    return Decimal(sign * whole).scaleb(-places)


def money(value: Exact, mode: str) -> Decimal:
    """RULES.md 3: `round()` means two decimal places in the config's mode."""
    return round_to(value, 2, mode)


def score4(value: Exact) -> Decimal:
    """Scores, composites and team scores: four places, half up (RULES.md 5-7)."""
    return round_to(value, 4, HALF_UP)


def allocate(total: Decimal, weights: dict[str, Exact]) -> dict[str, Decimal]:
    """Split `total` in proportion to `weights`, cut to cents, leftover cents one each to the
    largest cut-off remainders (ties: key ascending as text). Shares add up to `total`; when
    the weights sum to 0 every share is 0. Used by the budget (8.6) and deal bonuses (11.2).

    >>> allocate(Decimal("1.00"), {"a": 1, "b": 1, "c": 1})
    {'a': Decimal('0.34'), 'b': Decimal('0.33'), 'c': Decimal('0.33')}
    """
    weight_sum = sum((Fraction(w) for w in weights.values()), Fraction(0))
    if weight_sum == 0:
        return {key: Decimal("0.00") for key in weights}
    cents: dict[str, int] = {}
    remainders: dict[str, Fraction] = {}
    for key, weight in weights.items():
        exact_cents = Fraction(total) * Fraction(weight) / weight_sum * 100
        cents[key] = exact_cents.numerator // exact_cents.denominator
        remainders[key] = exact_cents - cents[key]
    leftover = int(Fraction(total) * 100) - sum(cents.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], k))[:leftover]:
        cents[key] += 1
    return {key: Decimal(count).scaleb(-2) for key, count in cents.items()}

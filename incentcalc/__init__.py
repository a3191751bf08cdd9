"""incentcalc: exact, auditable quarterly payouts for channel-partner incentive programs."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Polars imports numpy for its first Python Decimal, and numpy starts OpenBLAS's thread pool,
# whose threads spin-wait before they sleep: ~5% of an `explain --run`'s CPU went there, on
# the core the Parquet readers need. incentcalc does no linear algebra; a user's own setting
# is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

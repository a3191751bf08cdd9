"""incentcalc: exact, auditable quarterly payouts for channel-partner incentive programs."""

from __future__ import annotations

__version__ = "0.1.0"

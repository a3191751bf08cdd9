"""The rules that carry a partner's payout across quarters (RULES.md 11), as pure stages:
deal bonuses, tier grace and loyalty streaks, carry-forward, holdback release, clawbacks and
forfeits. They read the closed periods as a `history.History` and never touch the ledger."""

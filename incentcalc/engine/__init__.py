"""The calculation of a quarter (RULES.md), as pure Polars stages on frames already read and
validated: `quarter` runs them in order (scope -> FX -> integrity -> KPIs -> scores -> tiers ->
payouts -> lines and findings), and the ledger rules (`deal_bonuses`, `tier_history`, `carry`,
`clawbacks`) carry a partner's payout across quarters from the closed periods it reads as a
`history.History`. Nothing here touches the disk."""

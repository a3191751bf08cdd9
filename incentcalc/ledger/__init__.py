"""The ledger of closed periods (RULES.md 11): `store` reads, verifies and appends entries,
`close` turns a reviewed run into an entry (with the payees it pays, `payees`), `report` says
what the ledger holds, `basis` picks the history a calculation stands on."""

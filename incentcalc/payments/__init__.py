"""Paying a closed quarter (PAYMENTS.md): `accounts` checks and masks IBANs and BICs,
`payees` holds the payment columns a ledger entry stores, `lines` turns an entry into payment
lines, `sepa` writes them as a pain.001.001.09 message, `files` writes the payment folder."""

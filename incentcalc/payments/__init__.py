"""Paying a closed quarter (PAYMENTS.md): `lines` turns a ledger entry and the payees it
stored (`ledger.payees`) into payment lines, `sepa` writes them as a pain.001.001.09 message,
`export` writes the payment folder. IBANs and BICs are checked and masked by `accounts`."""

"""Allow `python -m incentcalc`."""

from incentcalc.cli.app import main

main()

"""Allow `python -m incentcalc`."""

from incentcalc.cli import main

main()

"""What a finished calculation is read back into for people: one partner explained
(`explain`), two calculations compared (`compare`, `config_diff`) and the run's own checks
(`checks`). Pure functions on results; the CLI renders them."""

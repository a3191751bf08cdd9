"""Reading inputs and writing outputs: the only modules that touch disk for data."""

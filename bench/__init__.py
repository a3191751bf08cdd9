"""The performance benchmark of issue #8: `python -m bench.run` (or `make bench`).

Not part of the test suite: it generates a large cached dataset under `bench/data/` and
times the real CLI as subprocesses, so what it measures is what a user waits for.
"""

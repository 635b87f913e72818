"""Benchmarks (not tests): `python -m bench` runs all, `python -m bench --quick` a short pass."""

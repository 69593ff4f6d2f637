"""Benchmarks for mautomation: run them all with `python -m bench` (see bench/README.md)."""

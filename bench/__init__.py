"""Benchmarks: each prints a table and compares against a baseline in the same run."""

"""Benchmarks for auditor (`make bench`): synthetic tenants, seconds, rows/s and peak memory."""

"""Simulation scenarios S1-S7 of METRICS.md section 7."""

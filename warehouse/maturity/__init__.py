"""Maturity per process (METRICS.md §4)."""

from warehouse.maturity.criteria import Criterion
from warehouse.maturity.rubric import Maturity, assess, maturity_rows

__all__ = ["Criterion", "Maturity", "assess", "maturity_rows"]

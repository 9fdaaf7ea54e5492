"""warehouse.batch.PerProcess: one query answers every process's rule."""

from __future__ import annotations

from typing import Any

from warehouse.batch import PerProcess
from warehouse.db import open_memory


class _Counting:
    """A connection that counts the queries it is asked (cursor() hands back itself)."""

    def __init__(self) -> None:
        self.con = open_memory()
        self.con.execute(
            "create table t as select * from (values ('A', 1, 10.0), ('A', 2, 20.0), "
            "('B', 3, 30.0), ('C', 4, 40.0)) v(process, k, x)"
        )
        self.asked = 0

    def cursor(self) -> Any:
        self.asked += 1
        return self.con.cursor()


SQL = "select process, k, x from t where x >= $low order by process, k"


def test_each_process_gets_its_own_rows_in_order_from_one_query() -> None:
    con = _Counting()
    batch = PerProcess(con)  # type: ignore[arg-type]
    assert batch.rows(SQL, {"low": 15.0}, "A") == [(2, 20.0)]
    assert batch.rows(SQL, {"low": 15.0}, "B") == [(3, 30.0)]
    assert batch.rows(SQL, {"low": 15.0}, "C") == [(4, 40.0)]
    assert batch.rows(SQL, {"low": 15.0}, "nobody") == []
    assert con.asked == 1
    assert batch.columns(SQL) == ["k", "x"]


def test_other_parameters_are_another_query() -> None:
    con = _Counting()
    batch = PerProcess(con)  # type: ignore[arg-type]
    assert batch.rows(SQL, {"low": 15.0}, "A") == [(2, 20.0)]
    assert batch.rows(SQL, {"low": 0.0}, "A") == [(1, 10.0), (2, 20.0)]
    assert batch.rows(SQL, {"low": 15.0}, "A") == [(2, 20.0)]
    assert con.asked == 2

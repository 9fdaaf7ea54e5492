"""Reading the project's .sql files and running them with bound parameters."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import duckdb

__all__ = ["read_sql", "run_script"]

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@cache
def read_sql(*parts: str) -> str:
    """The text of warehouse/sql/<parts...>."""
    node = resources.files("warehouse").joinpath("sql", *parts)
    return node.read_text(encoding="utf-8")


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def run_script(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> None:
    """Run each statement of a script, binding only the named parameters it uses."""
    params = params or {}
    for statement in _statements(sql):
        used = {name: params[name] for name in set(_PARAM.findall(statement))}
        con.execute(statement, used or None)

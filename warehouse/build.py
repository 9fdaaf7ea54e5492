"""Builds the derived SQL layers (stg_ -> fct_ -> metric_ -> flag_) and swaps them in at once."""

from __future__ import annotations

import re
from importlib import resources

import duckdb

from models.errors import WarehouseError

__all__ = ["LAYERS", "build", "layer_files"]

LAYERS = ("staging", "facts", "metrics", "flags")
_NAME = re.compile(r"^(stg|fct|metric|flag)_[a-z0-9_]+$")


def layer_files() -> list[tuple[str, str]]:
    """(table name, sql) of every derived table, in layer order then by name."""
    files = []
    root = resources.files("warehouse") / "sql"
    for layer in LAYERS:
        folder = root / layer
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            name = entry.name.removesuffix(".sql")
            if not _NAME.match(name):
                raise WarehouseError(f"SQL file {layer}/{entry.name} has no layer prefix")
            files.append((name, entry.read_text(encoding="utf-8")))
    return files


def build(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rebuild every derived table in one transaction; on any failure the old tables stay."""
    built = []
    con.execute("begin")
    try:
        for name, sql in layer_files():
            body = sql.strip().rstrip(";")
            con.execute(f'create or replace table "{name}" as {body}')
            built.append(name)
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise WarehouseError(
            f"building {built[-1] if built else 'the first table'} failed: {exc}"
        ) from exc
    return built

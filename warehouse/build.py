"""Builds the derived SQL layers (stg_ -> fct_ -> metric_ -> flag_) and swaps them in at once."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import duckdb

from models.errors import WarehouseError

__all__ = ["LAYERS", "build", "layer_files"]

LAYERS = ("staging", "facts", "metrics", "flags")
_NAME = re.compile(r"^(stg|fct|metric|flag)_[a-z0-9_]+$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def layer_files() -> list[tuple[str, str]]:
    """(table name, sql) of every derived table, each after the tables it reads."""
    return _dependency_order(_files_by_layer())


def _dependency_order(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Order files so each comes after every other derived table its SQL names (layer order kept)."""
    names = {name for name, _ in files}
    code = {name: re.sub(r"--[^\n]*", "", sql) for name, sql in files}  # comments name tables too
    needs = {
        name: {other for other in names - {name} if re.search(rf"\b{other}\b", code[name])}
        for name, _ in files
    }
    ordered: list[tuple[str, str]] = []
    done: set[str] = set()
    pending = list(files)
    while pending:
        ready = [(n, s) for n, s in pending if needs[n] <= done]
        if not ready:
            raise WarehouseError(
                f"SQL files depend on each other in a cycle: {sorted(n for n, _ in pending)}"
            )
        for item in ready:
            ordered.append(item)
            done.add(item[0])
        pending = [p for p in pending if p[0] not in done]
    return ordered


def _files_by_layer() -> list[tuple[str, str]]:
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


def build(con: duckdb.DuckDBPyConnection, params: dict[str, Any] | None = None) -> list[str]:
    """Rebuild every derived table in one transaction; on any failure the old tables stay.

    `params` binds the `$name` parameters the metric layers use (as_of, windows, z...).
    """
    built: list[str] = []
    current = "the first table"
    params = params or {}
    con.execute("begin")
    try:
        for name, sql in layer_files():
            current = name
            body = sql.strip().rstrip(";")
            used = {k: params[k] for k in set(_PARAM.findall(body))}
            con.execute(f'create or replace table "{name}" as {body}', used or None)
            built.append(name)
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise WarehouseError(f"building {current} failed: {exc}") from exc
    return built

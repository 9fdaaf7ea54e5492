"""Builds the derived SQL layers (stg_ -> fct_ -> metric_ -> flag_) and swaps them in at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from models.errors import WarehouseError

__all__ = ["LAYERS", "build", "create_statement", "layer_files", "upstream"]

LAYERS = ("staging", "facts", "metrics", "flags")
_NAME = re.compile(r"^(stg|fct|metric|flag)_[a-z0-9_]+$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# A file whose header says `-- Built as: view` is created as a view: its readers inline it, so
# each one computes only the columns it uses (a narrow window pass, say) and nothing is stored.
_VIEW = re.compile(r"^-- Built as:\s*view\s*$", re.M)


def layer_files() -> list[tuple[str, str]]:
    """(table name, sql) of every derived table, each after the tables it reads."""
    return list(_ordered())


@cache
def _ordered() -> tuple[tuple[str, str], ...]:
    """The files and their order are fixed for a process's life: read and sort them once."""
    return tuple(_dependency_order(_files_by_layer()))


def _needs(files: list[tuple[str, str]]) -> dict[str, set[str]]:
    """The other derived tables each file's SQL names."""
    names = {name for name, _ in files}
    code = {name: re.sub(r"--[^\n]*", "", sql) for name, sql in files}  # comments name tables too
    return {
        name: {other for other in names - {name} if re.search(rf"\b{other}\b", code[name])}
        for name, _ in files
    }


def upstream(names: set[str]) -> set[str]:
    """`names` and every derived table they read, directly or through others."""
    needs = _needs(_files_by_layer())
    found: set[str] = set()
    pending = set(names)
    while pending:
        name = pending.pop()
        found.add(name)
        pending |= needs[name] - found
    return found


def _dependency_order(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Order files so each comes after every other derived table its SQL names (layer order kept)."""
    needs = _needs(files)
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


def _kind(sql: str) -> str:
    return "view" if _VIEW.search(sql) else "table"


def create_statement(name: str, sql: str) -> str:
    """The statement that (re)creates derived table `name` from its file's SQL: a table, or a
    view when the file's header says `-- Built as: view`."""
    return f'create or replace {_kind(sql)} "{name}" as {sql.strip().rstrip(";")}'


def _existing_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every table and view of the main schema, by name: 'table' or 'view'."""
    rows = con.execute(
        "select table_name, 'table' from duckdb_tables() where schema_name = 'main' "
        "union all select view_name, 'view' from duckdb_views() "
        "where schema_name = 'main' and not internal"
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def build(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any] | None = None,
    skip: Callable[[str], bool] | None = None,
) -> list[str]:
    """Rebuild every derived table in one transaction; on any failure the old tables stay.

    `params` binds the `$name` parameters the metric layers use (as_of, windows, z...); `skip`
    leaves out tables nobody reads in this build (history replay skips the dashboard's).
    """
    built: list[str] = []
    current = "the first table"
    params = params or {}
    con.execute("begin")
    try:
        existing = _existing_kinds(con)
        for name, sql in layer_files():
            if skip is not None and skip(name):
                continue
            current = name
            statement = create_statement(name, sql)
            used = {k: params[k] for k in set(_PARAM.findall(statement))}
            kind = _kind(sql)
            if existing.get(name, kind) != kind:  # an older build made it the other kind
                con.execute(f'drop {existing[name]} "{name}"')
            con.execute(statement, used or None)
            built.append(name)
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise WarehouseError(f"building {current} failed: {exc}") from exc
    return built

"""Builds the derived SQL layers (stg_ -> fct_ -> metric_ -> flag_) and swaps them in at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from models.errors import WarehouseError

__all__ = ["LAYERS", "build", "create_statement", "layer_files", "per_case", "upstream"]

LAYERS = ("staging", "facts", "metrics", "flags")
_NAME = re.compile(r"^(stg|fct|metric|flag)_[a-z0-9_]+$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# A file whose header says `-- Built as: view` is created as a view: its readers inline it, so
# each one computes only the columns it uses (a narrow window pass, say) and nothing is stored.
_VIEW = re.compile(r"^-- Built as:\s*view\s*$", re.M)
# A file whose header says `-- Rebuilt: per case` holds rows of single cases (or their events),
# each worked out from that case's own events and from process-level tables: a build told which
# cases changed redoes only their rows. Its rows carry process and case_id.
_PER_CASE = re.compile(r"^-- Rebuilt:\s*per case\s*$", re.M)
# Process-level tables the per-case files read whose change alters the rows of cases that had no
# new event (a process's first staged event makes every case of it staged): when one changes, the
# build redoes every case. The other one they read, stg_calendar, only grows as events arrive,
# and the per-case rows use differences of its running sums, which a longer calendar keeps.
_CASE_INPUTS = ("stg_process_mode",)
_DELTA = "opspulse_delta"  # the schema the changed cases' rows are worked out in


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


def per_case(sql: str) -> bool:
    """Whether a file's rows are per case (its header says `-- Rebuilt: per case`)."""
    return bool(_PER_CASE.search(sql))


def create_statement(name: str, sql: str, schema: str = "main") -> str:
    """The statement that (re)creates derived table `name` from its file's SQL: a table, or a
    view when the file's header says `-- Built as: view`."""
    return f'create or replace {_kind(sql)} {schema}."{name}" as {sql.strip().rstrip(";")}'


def _existing_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every table and view of the main schema, by name: 'table' or 'view'."""
    rows = con.execute(
        "select table_name, 'table' from duckdb_tables() where schema_name = 'main' "
        "union all select view_name, 'view' from duckdb_views() "
        "where schema_name = 'main' and not internal"
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _incremental(con: duckdb.DuckDBPyConnection, existing: dict[str, str], cases: str) -> bool:
    """Whether the per-case tables can be redone for `cases` alone: each exists as its kind (a
    first build, or one after a file changed kind, redoes everything). Stages the changed cases'
    events in the delta schema and keeps the case inputs to compare after they are rebuilt."""
    for name, sql in layer_files():
        if (per_case(sql) or name in _CASE_INPUTS) and existing.get(name) != _kind(sql):
            return False
    con.execute(f"drop schema if exists {_DELTA} cascade")  # left by a process that died
    con.execute(f"create schema {_DELTA}")
    con.execute(
        f"create table {_DELTA}.events as select e.* from main.events e "
        f"semi join {cases} c on c.process = e.process and c.case_id = e.case_id"
    )
    for name in _CASE_INPUTS:
        con.execute(f'create table {_DELTA}."before_{name}" as from main."{name}"')
    return True


def _unchanged(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a case input's rows are what they were before this build."""
    (changed,), *_ = con.execute(
        f'select count(*) from ((from main."{name}" except all from {_DELTA}."before_{name}") '
        f'union all (from {_DELTA}."before_{name}" except all from main."{name}"))'
    ).fetchall()
    return not changed


def _redo_cases(con: duckdb.DuckDBPyConnection, name: str, sql: str, used: dict[str, Any],
                cases: str) -> None:  # fmt: skip
    """Work out a per-case file for the changed cases in the delta schema (where `events` and the
    per-case tables before it hold only those cases), then swap their rows into the main one."""
    con.execute(f"set search_path = '{_DELTA},main'")
    try:
        con.execute(create_statement(name, sql, _DELTA), used or None)
    finally:
        con.execute("set search_path = 'main'")
    if _kind(sql) == "view":  # the main view reads the main tables: nothing stored to swap
        return
    con.execute(
        f'delete from main."{name}" t using {cases} c '
        "where t.process = c.process and t.case_id = c.case_id"
    )
    con.execute(f'insert into main."{name}" by name from {_DELTA}."{name}"')


def build(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any] | None = None,
    skip: Callable[[str], bool] | None = None,
    cases: str | None = None,
) -> list[str]:
    """Rebuild every derived table in one transaction; on any failure the old tables stay.

    `params` binds the `$name` parameters the metric layers use (as_of, windows, z...); `skip`
    leaves out tables nobody reads in this build (history replay skips the dashboard's).
    `cases` names a relation of (process, case_id): the only cases whose events changed since the
    last build of this database, which may only have gained events (history replay adds a night
    at a time). The per-case tables then redo just those cases' rows; the rest is rebuilt whole.
    """
    built: list[str] = []
    current = "the first table"
    params = params or {}
    con.execute("begin")
    try:
        existing = _existing_kinds(con)
        some = cases is not None and _incremental(con, existing, cases)
        for name, sql in layer_files():
            if skip is not None and skip(name):
                continue
            current = name
            statement = create_statement(name, sql)
            used = {k: params[k] for k in set(_PARAM.findall(statement))}
            kind = _kind(sql)
            if some and cases is not None and per_case(sql):
                _redo_cases(con, name, sql, used, cases)
                built.append(name)
                continue
            if existing.get(name, kind) != kind:  # an older build made it the other kind
                con.execute(f'drop {existing[name]} "{name}"')
            con.execute(statement, used or None)
            if some and name in _CASE_INPUTS and not _unchanged(con, name):
                some = False  # every case changes: the per-case files after it are redone whole
            built.append(name)
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise WarehouseError(f"building {current} failed: {exc}") from exc
    if cases is not None:  # after the commit: DuckDB fails a commit that drops what it created
        con.execute(f"drop schema if exists {_DELTA} cascade")
    return built

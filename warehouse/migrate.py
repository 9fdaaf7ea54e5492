"""Applies sql/schema/NNN_*.sql once each, in order, recording each in schema_migrations."""

from __future__ import annotations

from importlib import resources

import duckdb

from models.errors import WarehouseError

__all__ = ["migrate", "schema_files"]


def schema_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration, sorted by version."""
    folder = resources.files("warehouse") / "sql" / "schema"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    con.execute(
        "create table if not exists schema_migrations "
        "(version integer primary key, name varchar not null, applied_at timestamptz not null)"
    )
    done = {row[0] for row in con.execute("select version from schema_migrations").fetchall()}
    applied = []
    for version, name, sql in schema_files():
        if version in done:
            continue
        try:
            con.execute("begin")
            con.execute(sql)
            con.execute(
                "insert into schema_migrations values (?, ?, current_timestamp)", [version, name]
            )
            con.execute("commit")
        except duckdb.Error as exc:
            con.execute("rollback")
            raise WarehouseError(f"migration {name} failed: {exc}") from exc
        applied.append(name)
    return applied

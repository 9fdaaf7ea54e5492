"""Renders result rows as a Rich table, a JSON array or CSV, with the conventions of METRICS.md §8."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["OUTPUT_FORMATS", "jsonable", "render"]

OUTPUT_FORMATS = ("table", "json", "csv")
TABLE_LIMIT = 50


def jsonable(value: Any) -> Any:
    """A value as JSON shows it: ISO 8601 UTC timestamps, null for NaN."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def render(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str],
    console: Console,
    table_columns: Sequence[str] | None = None,
) -> None:
    """Write rows to stdout in the chosen format (a table may show fewer columns)."""
    if fmt == "json":
        data = [{c: jsonable(r.get(c)) for c in columns} for r in rows]
        console.file.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for r in rows:
            value = [jsonable(r.get(c)) for c in columns]
            writer.writerow(
                ["" if v is None else (str(v).lower() if isinstance(v, bool) else v) for v in value]
            )
        console.file.write(buffer.getvalue())
    else:
        shown = table_columns or columns
        table = Table(*shown, show_lines=False, header_style="bold")
        for r in rows[:TABLE_LIMIT]:
            table.add_row(*(_cell(r.get(c)) for c in shown))
        console.print(table)
        if len(rows) > TABLE_LIMIT:
            console.print(
                f"… {len(rows) - TABLE_LIMIT} more rows; use --format csv or json for all {len(rows)}."
            )

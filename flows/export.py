"""Writes the event log in interchange formats (XES, flat CSV, Parquet) from a snapshot."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import duckdb

from flows.landing import write_atomic
from models.errors import UsageError
from warehouse import queries

__all__ = ["EXPORT_FORMATS", "export_events"]

EXPORT_FORMATS = ("xes", "csv", "parquet")
# Canonical fields written as opspulse:<field> attributes, beside the XES standard ones.
_EXTRA_FIELDS = (
    "event_id", "kind", "stage", "source", "assignee", "due_at", "client_id", "template",
    "case_title", "comment", "public", "scale", "score",
)  # fmt: skip


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def _xes_attr(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return f'<boolean key={quoteattr(key)} value="{str(value).lower()}"/>'
    if isinstance(value, int):
        return f'<int key={quoteattr(key)} value="{value}"/>'
    if isinstance(value, float):
        return f'<float key={quoteattr(key)} value="{value!r}"/>'
    if isinstance(value, datetime):
        return f'<date key={quoteattr(key)} value="{_iso(value)}"/>'
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return f"<string key={quoteattr(key)} value={quoteattr(value)}/>"


def _xes_event(row: dict[str, Any]) -> Iterator[str]:
    yield "\t\t<event>"
    if row["original_status"] is not None:
        yield "\t\t\t" + _xes_attr("concept:name", row["original_status"])
    yield "\t\t\t" + _xes_attr("time:timestamp", row["occurred_at"])
    if row["actor"] is not None:
        yield "\t\t\t" + _xes_attr("org:resource", row["actor"])
    for name in _EXTRA_FIELDS:
        if row[name] is not None:
            yield "\t\t\t" + _xes_attr(f"opspulse:{name}", row[name])
    attributes = json.loads(row["attributes"]) if row["attributes"] else {}
    for key, value in attributes.items():
        if not key.startswith("case:") and value is not None:
            yield "\t\t\t" + _xes_attr(key, value)
    yield "\t\t</event>"


def _write_xes(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<log xes.version="1849-2016" xes.features="nested-attributes" '
        'xmlns="http://www.xes-standard.org/">\n'
        '\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        '\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
        '\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
    )
    count = 0
    for (process, case_id), events in groupby(rows, key=lambda r: (r["process"], r["case_id"])):
        if case_id is None:
            continue
        trace = list(events)
        out.write("\t<trace>\n\t\t" + _xes_attr("concept:name", case_id) + "\n")
        if process is not None:
            out.write("\t\t" + _xes_attr("opspulse:process", process) + "\n")
        first = json.loads(trace[0]["attributes"]) if trace[0]["attributes"] else {}
        for key, value in first.items():
            if key.startswith("case:") and value is not None:
                out.write("\t\t" + _xes_attr(key.removeprefix("case:"), value) + "\n")
        for row in trace:
            out.write("\n".join(_xes_event(row)) + "\n")
            count += 1
        out.write("\t</trace>\n")
    out.write("</log>\n")
    return count


_CSV_HEAD = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "opspulse:process",
)


def _write_csv(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([*_CSV_HEAD, *(f"opspulse:{n}" for n in _EXTRA_FIELDS), "opspulse:attributes"])
    count = 0
    for row in rows:
        cells = [
            row["case_id"],
            row["original_status"],
            _iso(row["occurred_at"]),
            row["actor"],
            row["process"],
        ]
        for name in _EXTRA_FIELDS:
            value = row[name]
            cells.append(
                _iso(value)
                if isinstance(value, datetime)
                else (str(value).lower() if isinstance(value, bool) else value)
            )
        cells.append(row["attributes"])
        writer.writerow(["" if c is None else c for c in cells])
        count += 1
    return count


def export_events(
    con: duckdb.DuckDBPyConnection, fmt: str, out: Path, process: str | None = None
) -> int:
    """Write the (optionally one process's) event log to out; return the number of events."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    tmp = out.with_name(f".{out.name}.partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        relation = queries.event_relation(con, process)
        relation.write_parquet(str(tmp))
        count = int(relation.count("*").fetchall()[0][0])
    else:
        rows = queries.event_batches(con, process)
        opener = gzip.open if out.name.endswith(".gz") else open
        with opener(tmp, "wt", encoding="utf-8", newline="") as fh:
            count = _write_xes(rows, fh) if fmt == "xes" else _write_csv(rows, fh)
    write_atomic(out, tmp)
    tmp.unlink()
    return count

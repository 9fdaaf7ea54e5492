"""Format readers: detection, mapping, line numbers, and no crash on any input (hypothesis)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.formats import detect_format, read_records
from models.errors import UsageError

LIMIT = 1 << 20


def _records(path: Path, fmt: str, process: str | None = "P") -> list:
    return list(read_records(path, fmt, process, LIMIT))


def test_jsonl_splits_lines_as_bytes(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n   \n\xff\xfe\n{"b": 2}')
    got = _records(path, "jsonl")
    assert [(r.line, r.doc, r.error) for r in got] == [
        (1, '{"a": 1}', None),
        (4, None, "line is not valid UTF-8"),
        (5, '{"b": 2}', None),
    ]


def test_csv_process_mining_columns_map_to_canonical_fields(tmp_path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource,lifecycle:transition,case:channel\n"
        'c1,"Check, then file",2011-10-11 13:45:40.276000+02:00,R1,complete,Internet\n'
        "c1,Close,2011-10-12 08:00:00+02:00,,complete\n"
    )
    ok, short = _records(path, "csv")
    doc = json.loads(ok.doc)
    assert doc == {
        "kind": "stage_changed", "process": "P", "case_id": "c1", "original_status": "Check, then file",
        "occurred_at": "2011-10-11 13:45:40.276000+02:00", "actor": "R1",
        "attributes": {"lifecycle:transition": "complete", "case:channel": "Internet"},
    }  # fmt: skip
    assert (ok.line, short.line) == (2, 3)
    assert short.error == "row has 5 fields but the header has 6"


def test_csv_with_unknown_header_is_one_clear_error(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    (record,) = _records(path, "csv")
    assert "neither the process-mining columns" in record.error


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xmlns="http://www.xes-standard.org/">
  <trace>
    <string key="concept:name" value="Case 7"/>
    <string key="region" value="north"/>
    <event>
      <string key="concept:name" value="Register"/>
      <date key="time:timestamp" value="2012-10-09T14:50:17+00:00"/>
      <string key="org:resource" value="Ann"/>
      <int key="cost" value="12"/>
      <list key="tags"><values><string key="tag" value="x"/></values></list>
    </event>
    <event>
      <string key="concept:name" value="Close"/>
      <date key="time:timestamp" value="2012-10-10T10:00:00.000+02:00"/>
    </event>
  </trace>
</log>
"""


@pytest.mark.parametrize("compress", [False, True])
def test_xes_streams_events_with_trace_attributes(tmp_path, compress) -> None:
    path = tmp_path / ("log.xes.gz" if compress else "log.xes")
    path.write_bytes(gzip.compress(XES.encode()) if compress else XES.encode())
    assert detect_format(path) == "xes"
    first, second = _records(path, "xes")
    doc = json.loads(first.doc)
    assert doc["case_id"] == "Case 7" and doc["original_status"] == "Register"
    assert doc["actor"] == "Ann" and doc["occurred_at"] == "2012-10-09T14:50:17+00:00"
    assert doc["attributes"] == {"case:region": "north", "cost": 12}
    assert first.line == 6 and second.line == 13
    assert json.loads(second.doc)["occurred_at"] == "2012-10-10T10:00:00.000+02:00"


def test_broken_xes_keeps_events_before_the_break(tmp_path) -> None:
    path = tmp_path / "broken.xes"
    path.write_text(XES.replace("</trace>\n</log>", "<event><oops></trace>"))
    records = _records(path, "xes")
    assert [r.error is None for r in records] == [True, True, False]
    assert "not well-formed XML" in records[-1].error


def test_ocel_events_fan_out_to_their_objects(tmp_path) -> None:
    doc = {
        "objectTypes": [{"name": "order", "attributes": []}],
        "eventTypes": [{"name": "place", "attributes": []}],
        "objects": [{"id": "o1", "type": "order"}, {"id": "i1", "type": "item"}],
        "events": [
            {"id": "e1", "type": "place", "time": "2023-01-01T10:00:00Z",
             "attributes": [{"name": "price", "value": 3}],
             "relationships": [{"objectId": "o1", "qualifier": "order"}, {"objectId": "i1", "qualifier": "item"}]},
            {"id": "e2", "type": "pay", "time": "2023-01-02T10:00:00Z", "relationships": []},
        ],
    }  # fmt: skip
    path = tmp_path / "log.json"
    path.write_text(json.dumps(doc))
    assert detect_format(path) == "ocel"
    records = _records(path, "ocel", None)
    docs = [json.loads(r.doc) for r in records if r.doc]
    assert [(d["process"], d["case_id"], d["event_id"]) for d in docs] == [
        ("order", "o1", "e1#o1"),
        ("item", "i1", "e1#i1"),
    ]
    assert records[-1].error and "relates to no object" in records[-1].error


def test_detect_format_by_content_and_refuses_guessing(tmp_path) -> None:
    jsonl = tmp_path / "events.txt"
    jsonl.write_text('{"kind": "created"}\n')
    assert detect_format(jsonl) == "jsonl"
    odd = tmp_path / "weird.dat"
    odd.write_bytes(b"\x00\x01binary")
    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format(odd)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=3000), fmt=st.sampled_from(["jsonl", "csv", "xes", "ocel"]))
def test_readers_never_raise_on_random_bytes(tmp_path, data, fmt) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    for record in read_records(path, fmt, "P", 1000):
        assert (record.doc is None) != (record.error is None)
        if record.doc is not None and fmt != "jsonl":  # JSONL text is parsed in bulk by the load
            assert isinstance(json.loads(record.doc), dict)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_fields = st.sampled_from(
    ["kind", "process", "case_id", "occurred_at", "stage", "score", "scale", "due_at", "public",
     "attributes", "event_id", "assignee", "extra"]
)  # fmt: skip
_lines = st.one_of(
    st.dictionaries(_fields, _json_values | st.sampled_from(
        ["created", "feedback", "csat5", "done", "2025-01-01T00:00:00Z", "2025-01-01", "2025-01-01T00:00:00"]
    ), max_size=8).map(json.dumps),
    st.text(max_size=40),
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_lines, min_size=1, max_size=25))
def test_the_load_never_crashes_and_accounts_for_every_line(tmp_path, lines) -> None:
    from datetime import UTC, datetime

    from warehouse.db import open_memory
    from warehouse.load import LandingFile, load_records, sync_config
    from warehouse.migrate import migrate

    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n")
    con = open_memory()
    migrate(con)
    sync_config(con, "w", "UTC", [], [])
    records = list(read_records(path, "jsonl", None, LIMIT))
    result = load_records(con, LandingFile("fuzz", "jsonl", None), records, workspace="w", timezone="UTC",
                          docs_root=tmp_path / "gx", now=datetime.now(UTC))  # fmt: skip
    quarantined = con.execute("select count(*) from quarantine").fetchall()[0][0]
    assert result.records == len(records)
    assert result.loaded + quarantined == len(records)
    assert result.quarantined == quarantined

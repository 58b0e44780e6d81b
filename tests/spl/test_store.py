"""EventStore: the interface the Splunk service builds on (indexes, events, macros, lookups)."""

from __future__ import annotations

import json
import os
import threading
import time

import duckdb
import pytest

from labstack.splunk import store as store_module
from labstack.splunk.spl import SPLError
from labstack.splunk.spl.planner import execute, parse
from labstack.splunk.spl.relation import Context, Rows
from labstack.splunk.spl.sql import SETUP
from labstack.splunk.store import EventStore, Results

NOW = 1700086400.0


def event(t: float, index: str = "main", **body) -> dict:
    return {"_time": t, "index": index, "sourcetype": "json", "source": "test", "host": "h",
            "_raw": json.dumps(body)}  # fmt: skip


@pytest.fixture
def store():
    store = EventStore()
    yield store
    store.close()


def test_main_always_exists_and_counts_events(store):
    assert store.indexes() == {"main": {"totalEventCount": 0, "minTime": None, "maxTime": None}}
    assert store.add([event(10), event(20)]) == 2
    assert store.indexes()["main"] == {"totalEventCount": 2, "minTime": 10.0, "maxTime": 20.0}


def test_create_and_delete_index(store):
    store.create_index("cloud")
    assert store.indexes()["cloud"]["totalEventCount"] == 0
    store.add([event(1, index="cloud", a="x")])
    assert store.search("search index=cloud a=x | stats count", now=NOW).rows == [{"count": "1"}]
    store.delete_index("cloud")
    assert "cloud" not in store.indexes()
    assert store.search("search index=cloud | stats count", now=NOW).rows == [{"count": "0"}]


def test_main_cannot_be_deleted(store):
    with pytest.raises(ValueError):
        store.delete_index("main")


def test_add_creates_unknown_indexes(store):
    store.add([event(1, index="new")])
    assert store.indexes()["new"]["totalEventCount"] == 1


def test_add_nothing(store):
    assert store.add([]) == 0


def test_text_events_are_searchable_but_have_no_json_fields(store):
    store.add([{"_time": 1, "index": "main", "sourcetype": "syslog", "source": "s", "host": "h",
                "_raw": "{not json at all"}])  # fmt: skip
    results = store.search("search index=main | table _raw a", now=NOW)
    assert results.rows == [{"_raw": "{not json at all"}]


def test_results_shape(store):
    store.add([event(1, a="x")])
    results = store.search("search a=x | stats count by a", now=NOW)
    assert isinstance(results, Results)
    assert results.fields == ["a", "count"]
    assert results.rows == [{"a": "x", "count": "1"}]
    assert results.messages == []


def test_default_cloudtrail_macro(store):
    assert store.macros()["cloudtrail"] == {
        "definition": "index=main sourcetype=aws:cloudtrail",
        "args": [],
        "validation": None,
        "errormsg": None,
    }


def test_macros_with_arguments(store):
    store.set_macro("by_name", "name=$n$", ["n"])
    macro = store.macros()["by_name(1)"]
    assert (macro["definition"], macro["args"], macro["validation"]) == ("name=$n$", ["n"], None)
    store.add([event(1, name="x"), event(2, name="y")])
    assert store.search("search `by_name(y)` | stats count", now=NOW).rows == [{"count": "1"}]


def test_redefining_the_cloudtrail_macro_moves_every_search(store):
    store.set_macro("cloudtrail", "index=aws")
    store.add([event(1, index="aws", a=1), event(2, a=2)])
    assert store.search("search `cloudtrail` | table a", now=NOW).rows == [{"a": "1"}]


def test_lookups_round_trip(store):
    store.put_lookup("owners.csv", "user,team\nalice,red\n")
    assert store.lookups() == ["owners.csv"]
    assert store.get_lookup("owners.csv") == "user,team\nalice,red\n"
    assert store.get_lookup("owners") == "user,team\nalice,red\n"
    with pytest.raises(KeyError):
        store.get_lookup("nope.csv")


def test_lookup_needs_a_header(store):
    with pytest.raises(ValueError):
        store.put_lookup("empty.csv", "")


def test_outputlookup_then_inputlookup(store):
    store.add([event(1, user="alice"), event(2, user="bob"), event(3, user="alice")])
    store.search("search index=main | stats count by user | outputlookup seen.csv", now=NOW)
    assert store.get_lookup("seen.csv") == "user,count\nalice,2\nbob,1\n"
    store.search('| makeresults | eval user="carol", count=1 | outputlookup append=true seen.csv')
    rows = store.search("| inputlookup seen.csv", now=NOW).rows
    assert [r["user"] for r in rows] == ["alice", "bob", "carol"]


def test_persists_to_a_file(tmp_path):
    path = str(tmp_path / "events.duckdb")
    store = EventStore(path)
    store.add([event(1, a="x")])
    store.set_macro("mine", "a=x")
    store.put_lookup("t.csv", "a\nx\n")
    store.close()
    store = EventStore(path)
    assert store.search("search `mine` | stats count", now=NOW).rows == [{"count": "1"}]
    assert store.lookups() == ["t.csv"]
    store.add([event(2, a="x")])
    assert store.search("search a=x | head 1 | table _time", now=NOW).rows == [
        {"_time": "1970-01-01T00:00:02.000+00:00"}
    ]
    store.close()


def test_a_file_store_checkpoints_once_ingest_is_quiet(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "QUIET_SECONDS_BEFORE_CHECKPOINT", 0.05)
    path = tmp_path / "events.duckdb"
    store = EventStore(str(path))
    store.add([event(1, a="x")])
    wal = f"{path}.wal"
    deadline = time.monotonic() + 10
    while os.path.exists(wal) and os.path.getsize(wal) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    assert store.search("search a=x | stats count", now=NOW).rows == [{"count": "1"}]
    store.close()


def test_concurrent_searches_and_adds(store):
    store.add([event(i, n=i) for i in range(100)])
    errors = []

    def work(i):
        try:
            store.add([event(1000 + i, n=i)])
            assert (
                int(store.search("search index=main | stats count", now=NOW).rows[0]["count"]) > 100
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.indexes()["main"]["totalEventCount"] == 108


def test_errors_are_spl_errors_never_tracebacks(store):
    for spl in ["index=main", "search | stats foo(x)", "search a=", "| eval", "search [", ""]:
        with pytest.raises(SPLError):
            store.search(spl, now=NOW)


def test_execute_can_start_from_rows(store):
    """An alert condition runs over a search's results rather than the index."""
    commands = parse("search count>5 | sort - count", store.macros())
    cursor = duckdb.connect()
    for statement in SETUP:
        cursor.execute(statement).fetchall()
    rows = Rows([{"count": "8"}, {"count": "2"}, {"count": "30"}], ["count"])
    done = execute(commands, Context(cursor, store, NOW), start=rows)
    assert [r["count"] for r in done.rows] == ["30", "8"]

"""The official splunklib, unchanged, against the running stand-in (wire spec sections 1.1-1.7)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import splunklib.binding as binding
import splunklib.client as client
import splunklib.results as results

from tests.splunk.splunklab import unique


def _events(index: str, n: int, splunk, sourcetype: str = "lab:json", **extra) -> None:
    body = "\n".join(
        json.dumps(
            {
                "time": 1_700_000_000 + i,
                "index": index,
                "sourcetype": sourcetype,
                "host": f"h{i % 2}",
                "event": {"n": i, "user": ["alice", "bob", "carol"][i % 3], **extra},
            }
        )
        for i in range(n)
    )
    resp = splunk.hec("/services/collector/event", body)
    assert resp.status_code == 200, resp.text


def _rows(stream) -> list[dict]:
    return [r for r in results.JSONResultsReader(stream) if isinstance(r, dict)]


def _wait(job, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not job.is_done():
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.05)
    return job


# -- connecting (wire spec 1.1, 1.3) --------------------------------------------------------------
def test_connect_with_password_gets_a_session_key(splunk):
    service = splunk.connect()
    assert service.token.startswith("Splunk ")
    assert service.info["version"] == "9.2.1"
    assert service.splunk_version >= (9, 0, 2)


@pytest.mark.parametrize("how", ["token", "splunkToken", "basic"])
def test_connect_with_token_bearer_or_basic(splunk, how):
    if how == "basic":
        service = splunk.connect(username="admin", password=splunk.password, basic=True)
    else:
        service = splunk.connect(**{how: splunk.token})
    assert "main" in service.indexes


def test_a_session_key_works_as_a_token(splunk):
    key = splunk.connect().token.removeprefix("Splunk ")
    assert "main" in splunk.connect(token=key).indexes


def test_wrong_password_is_login_failed(splunk):
    with pytest.raises(binding.AuthenticationError, match="Login failed"):
        splunk.connect(username="admin", password="wrong")


@pytest.mark.parametrize(
    "kwargs",
    [{"token": "not-a-token"}, {"splunkToken": "nope"}, {"basic": True, "password": "wrong"}],
)
def test_bad_credentials_are_401_with_splunks_message(splunk, kwargs):
    if kwargs.get("basic"):
        kwargs = {**kwargs, "username": "admin"}
    service = splunk.connect(**kwargs)
    with pytest.raises(binding.HTTPError) as err:
        service.indexes.list()
    assert err.value.status == 401
    assert b'<msg type="WARN">call not properly authenticated</msg>' in err.value.body


def test_service_info_has_what_lab_code_prints(service):
    info = service.info
    for key in ("version", "build", "serverName", "product_type", "os_name"):
        assert info[key]
    assert info["instance_type"] != "cloud"


# -- indexes and the simple receiver (1.4) --------------------------------------------------------
def test_index_create_get_list_delete(service):
    name = unique("ix")
    created = service.indexes.create(name)
    assert created.name == name
    assert name in service.indexes
    assert service.indexes[name]["totalEventCount"] == "0"
    assert name in [ix.name for ix in service.indexes.list()]
    service.indexes.delete(name)
    assert name not in service.indexes
    with pytest.raises(KeyError):
        service.indexes[name]
    with pytest.raises(KeyError):
        service.indexes.delete(name)


def test_index_create_twice_is_409(service, index):
    with pytest.raises(binding.HTTPError) as err:
        service.indexes.create(index)
    assert err.value.status == 409


def test_bad_index_name_is_400_and_creates_nothing(service):
    before = {ix.name for ix in service.indexes}
    with pytest.raises(binding.HTTPError) as err:
        service.indexes.create("Bad Name")
    assert err.value.status == 400
    assert {ix.name for ix in service.indexes} == before


def test_index_submit_makes_the_event_searchable(service, index):
    service.indexes[index].submit(
        "café user=alice action=login".encode(), sourcetype="lab:kv", host="h1", source="lab.py"
    )
    rows = _rows(service.jobs.oneshot(f"search index={index}", output_mode="json"))
    assert len(rows) == 1
    row = rows[0]
    assert row["_raw"] == "café user=alice action=login"
    assert (row["index"], row["sourcetype"], row["host"], row["source"]) == (
        index,
        "lab:kv",
        "h1",
        "lab.py",
    )
    assert service.indexes[index]["totalEventCount"] == "1"


# -- search jobs (1.5, 1.6) -----------------------------------------------------------------------
def test_oneshot_json_results_are_strings(service, splunk, index):
    _events(index, 6, splunk)
    stream = service.jobs.oneshot(
        f"search index={index} | stats count by user",
        output_mode="json",
        earliest_time="0",
        latest_time="now",
        count=0,
    )
    rows = _rows(stream)
    assert sorted((r["user"], r["count"]) for r in rows) == [
        ("alice", "2"),
        ("bob", "2"),
        ("carol", "2"),
    ]


def test_oneshot_time_range_and_event_fields(service, splunk, index):
    _events(index, 3, splunk)
    rows = _rows(
        service.jobs.oneshot(
            f"search index={index} n=1",
            output_mode="json",
            earliest_time="1700000001",
            latest_time="1700000002",
        )
    )
    assert [r["n"] for r in rows] == ["1"]
    assert rows[0]["_time"] == "2023-11-14T22:13:21.000+00:00"


def test_oneshot_without_output_mode_is_the_xml_results_document(service, splunk, index):
    _events(index, 2, splunk)
    body = service.jobs.oneshot(f"search index={index} | table n user").read()
    assert body.startswith(b"<?xml")
    assert b"<results preview='0'>" in body
    assert b"<field k='user'>" in body


def test_oneshot_count_defaults_to_100_and_count_0_means_all(service, splunk, index):
    _events(index, 120, splunk)
    assert len(_rows(service.jobs.oneshot(f"search index={index}", output_mode="json"))) == 100
    rows = _rows(service.jobs.oneshot(f"search index={index}", output_mode="json", count=0))
    assert len(rows) == 120


def test_job_create_poll_results_v2(service, splunk, index):
    _events(index, 4, splunk)
    job = _wait(service.jobs.create(f"search index={index} | stats count", earliest_time="0"))
    assert job["dispatchState"] == "DONE"
    assert job["resultCount"] == "1"
    assert _rows(job.results(output_mode="json", count=0)) == [{"count": "4"}]
    assert _rows(job.preview(output_mode="json")) == [{"count": "4"}]  # final once done
    assert job.sid in [j.sid for j in service.jobs.list()]
    job.cancel()
    assert job.sid not in [j.sid for j in service.jobs.list()]


def test_job_results_on_the_v1_tree(splunk, splunk_v1, index):
    _events(index, 3, splunk)
    job = _wait(splunk_v1.jobs.create(f"search index={index} | sort n | table n"))
    assert job.path.startswith("search/jobs/")
    assert [r["n"] for r in _rows(job.results(output_mode="json"))] == ["0", "1", "2"]
    assert [r["n"] for r in _rows(job.events(output_mode="json"))] == ["0", "1", "2"]


@pytest.fixture
def splunk_v1(splunk):
    """splunklib as it talks to a Splunk older than 9.0.2: search/jobs, results by GET."""
    service = splunk.connect()
    service._splunk_version = (8, 2, 12)
    assert service.disable_v2_api
    return service


def test_blocking_job_is_done_at_once(service, splunk, index):
    _events(index, 2, splunk)
    job = service.jobs.create(f"search index={index}", exec_mode="blocking")
    assert job.is_done()
    assert job["eventCount"] == "2"


def test_job_create_output_mode_json_returns_the_sid(service, index):
    job = service.jobs.create(f"search index={index}", output_mode="json")
    assert _wait(job).sid


def test_export_streams_one_result_per_line(service, splunk, index):
    _events(index, 3, splunk)
    stream = service.jobs.export(f"search index={index} | sort n | table n", output_mode="json")
    lines = [json.loads(line) for line in stream.read().splitlines() if line.strip()]
    assert [line["result"]["n"] for line in lines] == ["0", "1", "2"]
    assert lines[-1]["lastrow"] is True
    assert all(line["preview"] is False for line in lines)


def test_export_through_the_reader(service, splunk, index):
    _events(index, 2, splunk)
    reader = results.JSONResultsReader(
        service.jobs.export(f"search index={index} | stats count", output_mode="json")
    )
    assert [r for r in reader if isinstance(r, dict)] == [{"count": "2"}]
    assert reader.is_preview is False


def test_results_in_csv_and_json_rows(service, splunk, index):
    _events(index, 2, splunk)
    job = _wait(service.jobs.create(f"search index={index} | sort n | table n user"))
    assert job.results(output_mode="csv").read().decode() == "n,user\n0,alice\n1,bob\n"
    rows = json.loads(job.results(output_mode="json_rows").read())
    assert rows["fields"] == ["n", "user"] and rows["rows"] == [["0", "alice"], ["1", "bob"]]


def test_results_paging_with_offset_and_count(service, splunk, index):
    _events(index, 5, splunk)
    job = _wait(service.jobs.create(f"search index={index} | sort n | table n"))
    page = _rows(job.results(output_mode="json", offset=1, count=2))
    assert [r["n"] for r in page] == ["1", "2"]


def test_multivalue_fields_are_lists_of_strings(service, splunk, index):
    _events(index, 3, splunk)
    rows = _rows(
        service.jobs.oneshot(
            f"search index={index} | stats values(user) as users", output_mode="json"
        )
    )
    assert rows == [{"users": ["alice", "bob", "carol"]}]


# -- saved searches (1.7) -------------------------------------------------------------------------
ALERT = {
    "cron_schedule": "*/5 * * * *",
    "is_scheduled": True,
    "actions": "webhook",
    "action.webhook": "1",
    "action.webhook.param.url": "http://127.0.0.1:9/hook",
    "alert_type": "number of events",
    "alert_comparator": "greater than",
    "alert_threshold": "0",
    "alert.digest_mode": "1",
    "alert.suppress": "1",
    "alert.suppress.period": "10m",
    "alert.suppress.fields": "user",
    "alert.track": "1",
    "dispatch.earliest_time": "-15m",
    "dispatch.latest_time": "now",
    "description": "lab alert",
}


def test_saved_search_lifecycle(service, splunk, index):
    name = unique("Lab Alert")
    saved = service.saved_searches.create(name, f"search index={index} | stats count", **ALERT)
    assert saved.name == name
    assert saved["is_scheduled"] == "1"
    assert saved["action.webhook.param.url"] == ALERT["action.webhook.param.url"]
    assert saved["alert.suppress.fields"] == "user"
    assert saved["action.webhook"] == "1"
    assert name in service.saved_searches
    assert name in [s.name for s in service.saved_searches.list()]

    again = service.saved_searches[name]
    again.update(description="changed", **{"alert.suppress.period": "1h"})
    again.refresh()
    assert again["description"] == "changed"
    assert again["alert.suppress.period"] == "1h"
    assert again["search"] == f"search index={index} | stats count"

    _events(index, 3, splunk)
    job = _wait(again.dispatch(**{"dispatch.earliest_time": "0"}))
    assert job["isSavedSearch"] == "1" and job["label"] == name
    assert _rows(job.results(output_mode="json")) == [{"count": "3"}]
    assert job.sid in [j.sid for j in again.history()]

    again.delete()
    assert name not in service.saved_searches
    with pytest.raises(KeyError):
        service.saved_searches.delete(name)


def test_saved_search_delete_by_name_with_spaces(service):
    name = unique("two words")
    service.saved_searches.create(name, "search index=main")
    service.saved_searches.delete(name)
    assert name not in service.saved_searches


def test_saved_search_attributes_are_stored_verbatim(splunk, lab_world):
    name = unique("verbatim")
    splunk.connect().saved_searches.create(name, "search index=main", **ALERT)
    path = lab_world.world.state_dir("splunk") / "saved_searches.json"
    stored = next(s for s in json.loads(path.read_text()) if s["name"] == name)
    assert stored["attrs"]["is_scheduled"] == "True"
    assert stored["attrs"]["action.webhook.param.url"] == ALERT["action.webhook.param.url"]


def test_saved_search_duplicate_is_409(service):
    name = unique("dup")
    service.saved_searches.create(name, "search index=main")
    with pytest.raises(binding.HTTPError) as err:
        service.saved_searches.create(name, "search index=main")
    assert err.value.status == 409
    service.saved_searches.delete(name)


def test_with_owner_and_app_paths_use_servicesns(splunk, index):
    service = splunk.connect(owner="nobody", app="search")
    name = unique("ns")
    saved = service.saved_searches.create(name, f"search index={index}")
    assert saved.access.owner == "nobody" and saved.access.app == "search"
    assert service.saved_searches[name].name == name
    service.saved_searches.delete(name)


# -- macros and lookups ---------------------------------------------------------------------------
def test_macros_through_the_api(service, splunk, index):
    name = unique("mac").replace("-", "_")
    service.macros.create(name, f"index={index} sourcetype=lab:json")
    assert service.macros[name].definition == f"index={index} sourcetype=lab:json"
    _events(index, 2, splunk)
    rows = _rows(service.jobs.oneshot(f"search `{name}` | stats count", output_mode="json"))
    assert rows == [{"count": "2"}]
    service.macros[name].update(definition=f"index={index} n=1")
    rows = _rows(service.jobs.oneshot(f"search `{name}` | stats count", output_mode="json"))
    assert rows == [{"count": "1"}]


def test_macro_with_arguments(service, splunk, index):
    name = unique("by").replace("-", "_")
    service.macros.create(f"{name}(1)", f"index={index} user=$who$", args="who")
    _events(index, 3, splunk)
    rows = _rows(service.jobs.oneshot(f'search `{name}("bob")` | stats count', output_mode="json"))
    assert rows == [{"count": "1"}]


def test_macros_through_confs(service):
    assert "macros" in service.confs
    stanza = service.confs["macros"]["cloudtrail"]
    assert "sourcetype=aws:cloudtrail" in stanza["definition"]


def test_lookup_uploaded_with_outputlookup_is_listed(service):
    name = unique("owners") + ".csv"
    service.jobs.oneshot(
        f'| makeresults | eval account="123456789012", owner="secops" | table account owner '
        f"| outputlookup {name}",
        output_mode="json",
    ).read()
    names = [e.name for e in client.Collection(service, "data/lookup-table-files")]
    assert name in names
    rows = _rows(service.jobs.oneshot(f"| inputlookup {name}", output_mode="json"))
    assert rows == [{"account": "123456789012", "owner": "secops"}]


def test_saved_search_disable_and_enable_as_splunklib_calls_them(service):
    name = f"toggle-{uuid.uuid4().hex[:6]}"
    saved = service.saved_searches.create(name, "search index=main | head 1")
    try:
        saved.disable()
        assert saved.refresh()["disabled"] == "1"
        saved.enable()
        assert saved.refresh()["disabled"] == "0"
    finally:
        service.saved_searches.delete(name)

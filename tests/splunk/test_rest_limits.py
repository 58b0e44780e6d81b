"""The management API and the SPL engine under hostile input (the hardening issue's findings):
searches are bounded and can be stopped, bad input is a clean 4xx in splunkd's error shape, a
stranger's body is never read; plus a property-based test that no parameters make it answer 5xx.

Most tests talk to one in-process service (werkzeug's test client); the ones about a search
that must be stopped talk to the session world over HTTP, as a student's client does.
"""

from __future__ import annotations

import base64
import io
import json
import socket
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from labstack.splunk.app import build
from labstack.splunk.config import Config
from labstack.splunk.spl import SPLError, limits
from labstack.splunk.store import EventStore
from tests.splunk.splunklab import http, unique

PASSWORD = "pw"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
#: A search that runs for minutes unless it is stopped.
ENDLESS = "| makeresults count=50000" + ' | eval x=len("abc")' * 5000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    state = tmp_path_factory.mktemp("splunk")
    config = Config(
        PASSWORD, "hec-token", state_dir=state, webhook_allowlist=(r"^https?://127\.0\.0\.1[:/]",)
    )
    app = build(config, web_url="http://127.0.0.1:1")
    app.start()
    yield app
    app.stop()


@pytest.fixture
def api(app):
    return Client(app.api)


def _messages(resp) -> list[str]:
    return [m["text"] for m in resp.json["messages"]]


def _oneshot(api, search: str):
    form = {"search": search, "exec_mode": "oneshot", "output_mode": "json"}
    return api.post("/services/search/jobs", data=form, headers=AUTH)


# -- searches are bounded -------------------------------------------------------------------------
def test_makeresults_count_is_capped_with_splunks_limit(api):
    resp = _oneshot(api, "| makeresults count=100000000")
    assert resp.status_code == 400
    assert "maxresultrows" in _messages(resp)[0] and "makeresults" in _messages(resp)[0]
    assert _oneshot(api, f"| makeresults count={limits.MAKERESULTS_MAX}").status_code == 200


def test_rows_past_the_limit_are_cut_with_a_warning(monkeypatch):
    monkeypatch.setattr("labstack.splunk.spl.relation.MAX_RESULT_ROWS", 3)
    store = EventStore()
    store.add([{"_time": t, "index": "main", "_raw": f"e{t}"} for t in range(5)])
    found = store.search("search *")
    assert len(found.rows) == 3
    assert any("truncated" in m["text"] for m in found.messages)


def test_a_catastrophic_regex_fails_its_search_instead_of_running_on(monkeypatch):
    monkeypatch.setattr("labstack.splunk.spl.regexes.REGEX_SECONDS", 0.05)
    store = EventStore()
    store.add([{"_time": 1, "index": "main", "_raw": "a" * 5000 + "!"}])
    with pytest.raises(SPLError, match="match_limit"):
        store.search(r'search * | where match(_raw, "^(\w+\s?)*$")')


def test_a_search_past_its_time_limit_is_stopped():
    store = EventStore()
    with pytest.raises(SPLError, match="time limit"):
        store.search(ENDLESS, guard=limits.Guard(max_seconds=0.5))


def test_a_search_whose_client_is_gone_is_stopped():
    store = EventStore()
    with pytest.raises(SPLError, match="cancelled"):
        store.search(ENDLESS, guard=limits.Guard(alive=lambda: False))


def test_deleting_a_job_stops_its_search(app, api):
    job = app.jobs.create(ENDLESS)
    assert job.state == "RUNNING"
    assert api.delete(f"/services/search/jobs/{job.sid}", headers=AUTH).status_code == 200
    assert job.done.wait(120)
    assert job.state == "FAILED" and job.messages == [("FATAL", limits.CANCELLED)]


def test_the_control_endpoint_cancels_a_running_job(app, api):
    job = app.jobs.create(ENDLESS)
    resp = api.post(
        f"/services/search/jobs/{job.sid}/control", data={"action": "cancel"}, headers=AUTH
    )
    assert resp.status_code == 200
    assert job.done.wait(120) and job.state == "FAILED"


def test_an_export_whose_client_hung_up_is_stopped(api):
    mine, theirs = socket.socketpair()
    theirs.close()  # the client has gone away
    try:
        form = {"search": ENDLESS, "output_mode": "json"}
        resp = api.post("/services/search/jobs/export", data=form, headers=AUTH,
                        environ_overrides={"werkzeug.socket": mine})  # fmt: skip
    finally:
        mine.close()
    assert resp.status_code == 400
    assert _messages(resp) == [limits.CANCELLED]


def test_hec_answers_while_a_search_runs(splunk, service):
    """Searches run on their own threads: HEC's health and ingest are served meanwhile."""
    job = service.jobs.create(ENDLESS)
    try:
        assert job.refresh()["dispatchState"] == "RUNNING"
        health = http().get(splunk.hec_url + "/services/collector/health", timeout=30)
        assert health.json()["code"] == 17
        sent = splunk.hec("/services/collector/event", json.dumps({"event": "during a search"}))
        assert sent.json() == {"text": "Success", "code": 0}
        assert job.refresh()["dispatchState"] == "RUNNING"
    finally:
        job.cancel()


# -- bad input is a clean 4xx ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "search",
    [
        '| makeresults | eval x=if(match("a", "("), 1, 0)',
        '| makeresults | eval x=strftime(1e20, "%Y")',
        '| makeresults | eval x=split("a,b", ",") | eval y=tonumber(x)',
        "| makeresults | eval x=" + "(" * 5000 + "1" + ")" * 5000,
        "| makeresults | where " + "NOT " * 5000 + "true()",
        '| makeresults | rex "(?<x>"',
        '| makeresults | regex "["',
    ],
    ids=["bad-regex", "strftime-1e20", "tonumber-mv", "deep-eval", "deep-not", "rex", "regex"],
)
def test_hostile_spl_is_a_search_error(api, search):
    resp = _oneshot(api, search)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["messages"][0]["type"] == "FATAL"


@pytest.mark.parametrize("value", ["1e400", "nan", "inf", "-1e400", "x"])
def test_a_count_that_is_no_integer_is_400(api, value):
    resp = api.get("/services/saved/searches", query_string={"count": value, "output_mode": "json"},
                   headers=AUTH)  # fmt: skip
    assert resp.status_code == 400
    assert _messages(resp) == [f"Argument 'count' must be an integer, got '{value}'."]


def test_deep_json_body_is_400(api):
    body = '{"search": ' + "[" * 100000 + "]" * 100000 + "}"
    resp = api.post(
        "/services/search/jobs?output_mode=json",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert _messages(resp) == ["Request body is not valid JSON."]


def test_a_strangers_body_is_not_read(app):
    class Unread(io.RawIOBase):
        """A 50 MB body that fails the test if anything reads it."""

        def read(self, *args):
            raise AssertionError("the body of an unauthenticated request was read")

    environ = {"wsgi.input": Unread(), "CONTENT_LENGTH": str(50 * 1024 * 1024)}
    resp = Client(app.api).post("/services/search/jobs", environ_overrides=environ)
    assert resp.status_code == 401


def test_a_body_past_the_limit_is_413(api, monkeypatch):
    monkeypatch.setattr("labstack.splunk.api.core.MAX_CONTENT_LENGTH", 100)
    resp = api.post(
        "/services/search/jobs?output_mode=json", data={"search": "x" * 200}, headers=AUTH
    )
    assert resp.status_code == 413 and resp.json["messages"][0]["type"] == "ERROR"


# -- saved searches and webhooks are checked before they are stored -------------------------------
def _create_saved(api, **attrs):
    data = {"name": unique("ss"), "search": "| makeresults", "output_mode": "json", **attrs}
    return api.post("/services/saved/searches", data=data, headers=AUTH), data["name"]


def test_a_saved_search_that_does_not_parse_is_not_saved(api, app):
    resp, name = _create_saved(api, search="index=main | nosuchcommand x")
    assert resp.status_code == 400
    assert _messages(resp) == ["In handler 'savedsearch': Unknown search command 'nosuchcommand'."]
    assert app.saved.get(name) is None


def test_updating_a_saved_search_to_one_that_does_not_parse_changes_nothing(api, app):
    resp, name = _create_saved(api)
    assert resp.status_code == 201
    update = api.post(f"/services/saved/searches/{name}", data={"search": "| nosuch"}, headers=AUTH)
    assert update.status_code == 400
    assert app.saved.get(name).attrs["search"] == "| makeresults"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/", "http://"])
def test_a_webhook_url_that_is_not_http_is_refused_naming_it(api, url):
    resp, _ = _create_saved(api, actions="webhook", **{"action.webhook.param.url": url})
    assert resp.status_code == 400
    assert url in _messages(resp)[0] and "http://" in _messages(resp)[0]


def test_the_webhook_allow_list_is_kept_and_shown(api):
    refused, _ = _create_saved(
        api, actions="webhook", **{"action.webhook.param.url": "https://evil.example/x"}
    )
    assert refused.status_code == 400 and "allow-list" in _messages(refused)[0]
    allowed, _ = _create_saved(
        api, actions="webhook", **{"action.webhook.param.url": "http://127.0.0.1:9/x"}
    )
    assert allowed.status_code == 201
    conf = api.get("/services/configs/conf-alert_actions/webhook?output_mode=json", headers=AUTH)
    assert conf.json["entry"][0]["content"] == {
        "enable_allowlist": "1",
        "allowlist.webhook1": r"^https?://127\.0\.0\.1[:/]",
    }


def test_the_local_worlds_allow_list_is_off(service):
    content = json.loads(
        service.get("configs/conf-alert_actions/webhook", output_mode="json").body.read()
    )
    assert content["entry"][0]["content"] == {"enable_allowlist": "0"}


def test_indexes_and_searches_survive_events_stored_with_impossible_times(app, api):
    name = unique("ix")
    app.store.add([{"_time": t, "index": name, "_raw": "x"} for t in (-1e12, 1e20, 5)])
    indexes = api.get(f"/services/data/indexes/{name}?output_mode=json", headers=AUTH)
    assert indexes.status_code == 200
    for search in (
        f"search index={name}",
        f"search index={name} | bin _time span=1h | stats count by _time",
    ):
        assert _oneshot(api, search).status_code == 200


# -- property-based: nothing a client sends makes splunkd answer 5xx ------------------------------
_text = st.text(max_size=30) | st.sampled_from(
    ["1e400", "nan", "-1", "0", "\ud800", "*", "|", "`x`"]
)
_params = st.dictionaries(
    st.sampled_from(["search", "count", "offset", "output_mode", "earliest_time", "latest_time",
                     "now", "exec_mode", "name", "f", "action", "ttl", "cron_schedule",
                     "actions", "action.webhook.param.url", "alert.track", "disabled"]),
    _text,
    max_size=5,
)  # fmt: skip
_endpoints = st.sampled_from(
    [
        ("GET", "/services/data/indexes"),
        ("POST", "/services/data/indexes"),
        ("GET", "/services/saved/searches"),
        ("POST", "/services/saved/searches"),
        ("POST", "/services/search/jobs"),
        ("GET", "/services/search/jobs/export"),
        ("POST", "/services/search/jobs/nosuchsid/control"),
        ("GET", "/servicesNS/admin/search/configs/conf-macros"),
        ("POST", "/services/receivers/simple"),
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoint=_endpoints, params=_params, as_json=st.booleans())
def test_no_parameters_make_splunkd_answer_5xx(api, endpoint, params, as_json):
    method, path = endpoint
    # Text goes on the wire as UTF-8; a lone surrogate as the bytes a hostile client would send.
    wire = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items()})
    if method == "GET":
        resp = api.get(path, query_string=wire, headers=AUTH)
    elif as_json:
        headers = {**AUTH, "Content-Type": "application/json"}
        resp = api.post(path, data=json.dumps(params), headers=headers)
    else:
        headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
        resp = api.post(path, data=wire, headers=headers)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    assert api.get("/services/server/info", headers=AUTH).status_code == 200


def test_an_error_that_echoes_a_lone_surrogate_is_still_an_answer():
    """Found by the property test: ``name=\\ud800`` made the 400's own text unencodable (500)."""
    from labstack.splunk.api.core import ApiError, Splunkd

    for mode in ("xml", "json"):
        answer = Splunkd.error(ApiError(400, "Index name=\ud800, Must begin with a letter"), mode)
        assert answer.status_code == 400
        assert b"name=\\\\ud800" in answer.get_data() or b"name=\\ud800" in answer.get_data()

"""splunkd's REST conventions over plain HTTP: paths, error shapes, bad SPL, lookups, restarts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import splunklib.binding as binding
import splunklib.results as results

from helpers.runtime.home import private_dir
from tests.splunk.splunklab import http, splunk_process, unique

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def api(splunk):
    """A requests session logged in with a session key, like Splunk Web's own calls."""
    session = http()
    resp = session.post(
        splunk.url + "/services/auth/login",
        data={"username": "admin", "password": splunk.password, "output_mode": "json"},
        timeout=10,
    )
    assert resp.status_code == 200
    session.headers["Authorization"] = f"Splunk {resp.json()['sessionKey']}"
    session.base = splunk.url
    return session


def _messages(body: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(body)
    assert root.tag == "response"
    return [(m.get("type"), m.text) for m in root.iter("msg")]


# -- authentication -------------------------------------------------------------------------------
def test_login_xml_shape(splunk):
    resp = http().post(
        splunk.url + "/services/auth/login",
        data=f"username=admin&password={splunk.password}&cookie=1",  # no Content-Type, as splunklib
        timeout=10,
    )
    assert resp.status_code == 200
    key = ET.fromstring(resp.content).findtext("./sessionKey")
    assert key
    # cookie=1 asks for the session as a cookie too, named after the management port (splunkd).
    port = urlsplit(splunk.url).port
    assert resp.cookies.get(f"splunkd_{port}") == key
    plain = http().post(
        splunk.url + "/services/auth/login",
        data=f"username=admin&password={splunk.password}",
        timeout=10,
    )
    assert plain.status_code == 200 and "Set-Cookie" not in plain.headers


def test_login_failure_shape(splunk):
    resp = http().post(
        splunk.url + "/services/auth/login", data={"username": "admin", "password": "x"}, timeout=10
    )
    assert resp.status_code == 401
    assert _messages(resp.content) == [("WARN", "Login failed")]


@pytest.mark.parametrize("mode", ["xml", "json"])
def test_unauthenticated_shape(splunk, mode):
    resp = http().get(splunk.url + f"/services/data/indexes?output_mode={mode}", timeout=10)
    assert resp.status_code == 401
    if mode == "json":
        assert resp.json() == {
            "messages": [{"type": "WARN", "text": "call not properly authenticated"}]
        }
    else:
        assert _messages(resp.content) == [("WARN", "call not properly authenticated")]


def test_session_cookie_is_accepted(splunk):
    key = splunk.connect().token.removeprefix("Splunk ")
    resp = http().get(
        splunk.url + "/services/server/info", headers={"Cookie": f"splunkd_8089={key}"}, timeout=10
    )
    assert resp.status_code == 200


# -- paths ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/services/data/indexes/main",
        "/services/data/indexes/main/",
        "/servicesNS/nobody/search/data/indexes/main",
        "/servicesNS/-/-/data/indexes/main",
    ],
)
def test_namespaces_and_trailing_slashes_reach_one_handler(api, path):
    resp = api.get(api.base + path, timeout=10)
    assert resp.status_code == 200
    entries = ET.fromstring(resp.content).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["main"]


def test_every_entry_has_alternate_link_and_acl(api):
    resp = api.get(api.base + "/services/data/indexes?count=-1", timeout=10)
    for entry in ET.fromstring(resp.content).findall(f"{ATOM}entry"):
        links = {link.get("rel"): link.get("href") for link in entry.findall(f"{ATOM}link")}
        assert links["alternate"].startswith("/servicesNS/nobody/system/data/indexes/")
        assert 'name="eai:acl"' in ET.tostring(entry, encoding="unicode")


def test_plus_and_percent_encoded_names(api, service):
    name = unique("a b")
    service.saved_searches.create(name, "search index=main")
    for quoted in (name.replace(" ", "+"), name.replace(" ", "%20")):
        resp = api.get(api.base + f"/services/saved/searches/{quoted}", timeout=10)
        assert resp.status_code == 200, quoted
    service.saved_searches.delete(name)


def test_json_listing_shape(api):
    data = api.get(api.base + "/services/data/indexes?output_mode=json", timeout=10).json()
    main = next(e for e in data["entry"] if e["name"] == "main")
    assert main["acl"]["owner"] == "nobody" and main["links"]["alternate"]
    assert data["paging"]["total"] >= 1


def test_unknown_endpoint_is_404(api):
    resp = api.get(api.base + "/services/no/such/thing", timeout=10)
    assert resp.status_code == 404
    assert _messages(resp.content) == [("ERROR", "Not Found")]


def test_unknown_sid_is_404_fatal(api):
    resp = api.get(api.base + "/services/search/v2/jobs/123.456", timeout=10)
    assert resp.status_code == 404
    assert _messages(resp.content) == [("FATAL", "Unknown sid.")]


def test_unknown_saved_search_is_keyerror(service):
    with pytest.raises(KeyError):
        service.saved_searches["no such search"]


# -- bad SPL --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spl", "text"),
    [
        ("index=main", "Unknown search command 'index'."),
        ("search index=main | frobnicate", "Unknown search command 'frobnicate'."),
    ],
)
def test_bad_spl_gets_splunks_error_everywhere(service, spl, text):
    with pytest.raises(binding.HTTPError) as err:
        service.jobs.create(spl)
    assert err.value.status == 400 and text in str(err.value)
    assert _messages(err.value.body) == [("FATAL", text)]
    with pytest.raises(binding.HTTPError) as err:
        service.jobs.oneshot(spl, output_mode="json")
    assert err.value.status == 400
    assert json.loads(err.value.body) == {"messages": [{"type": "FATAL", "text": text}]}
    with pytest.raises(binding.HTTPError) as err:
        service.jobs.export(spl, output_mode="json")
    assert err.value.status == 400


def test_malformed_spl_is_an_error_not_a_traceback(service):
    with pytest.raises(binding.HTTPError) as err:
        service.jobs.oneshot('search index=main | stats count by "', output_mode="json")
    assert err.value.status == 400
    text = json.loads(err.value.body)["messages"][0]["text"]
    assert "Traceback" not in text and text


def test_missing_search_is_400(api):
    resp = api.post(
        api.base + "/services/search/v2/jobs", data={"exec_mode": "oneshot"}, timeout=10
    )
    assert resp.status_code == 400


# -- lookups through Splunk's staging upload ------------------------------------------------------
def test_lookup_table_file_upload_from_the_staging_area(api, lab_world):
    staging = private_dir(lab_world.world.state_dir("splunk") / "lookup_tmp")  # as the lab's
    name = unique("offices") + ".csv"
    (staging / name).write_text("ip,office\n52.94.236.248,Seattle\n")
    resp = api.post(
        api.base + "/servicesNS/nobody/search/data/lookup-table-files",
        data={"name": name, "eai:data": str(staging / name)},
        timeout=10,
    )
    assert resp.status_code == 201
    assert api.get(api.base + f"/services/data/lookup-table-files/{name}").status_code == 200
    stream = api.post(
        api.base + "/services/search/v2/jobs/export",
        data={"search": f"| inputlookup {name}", "output_mode": "json"},
        timeout=10,
    )
    rows = [json.loads(line)["result"] for line in stream.text.splitlines() if line.strip()]
    assert rows == [{"ip": "52.94.236.248", "office": "Seattle"}]


def test_lookup_upload_outside_the_staging_area_is_refused(api, tmp_path):
    outside = tmp_path / "x.csv"
    outside.write_text("a\n1\n")
    resp = api.post(
        api.base + "/services/data/lookup-table-files",
        data={"name": "x.csv", "eai:data": str(outside)},
        timeout=10,
    )
    assert resp.status_code == 400
    assert outside.exists()
    assert api.get(api.base + "/services/data/lookup-table-files/x.csv").status_code == 404


# -- state survives a restart ---------------------------------------------------------------------
def test_events_saved_searches_and_macros_survive_a_restart(tmp_path):
    state = tmp_path / "splunk"
    with splunk_process(state) as splunk:
        service = splunk.connect()
        service.indexes.create("keep")
        resp = splunk.hec("/services/collector/event", '{"index": "keep", "event": {"a": 1}}')
        assert resp.status_code == 200
        service.saved_searches.create("Kept", "search index=keep", cron_schedule="*/5 * * * *")
        service.macros.create("kept_macro", "index=keep")
    with splunk_process(state) as splunk:
        service = splunk.connect()
        assert "keep" in service.indexes
        assert service.saved_searches["Kept"]["cron_schedule"] == "*/5 * * * *"
        reader = results.JSONResultsReader(
            service.jobs.oneshot("search `kept_macro` | stats count", output_mode="json")
        )
        assert [r for r in reader if isinstance(r, dict)] == [{"count": "1"}]


def test_old_session_keys_do_not_survive_a_restart(tmp_path):
    state = tmp_path / "splunk"
    with splunk_process(state) as splunk:
        key = splunk.connect().token
    with splunk_process(state) as splunk:
        service = splunk.connect(token=key)
        with pytest.raises(binding.AuthenticationError):
            service.indexes.list()


# -- refused requests change nothing ---------------------------------------------------------------
def test_saved_search_without_name_or_search_is_refused(api, service):
    before = [s.name for s in service.saved_searches]
    for data in ({"search": "search index=main"}, {"name": unique("x")}):
        resp = api.post(api.base + "/services/saved/searches", data=data, timeout=10)
        assert resp.status_code == 400
        assert _messages(resp.content)[0][0] == "ERROR"
    assert [s.name for s in service.saved_searches] == before


def test_macro_whose_arguments_do_not_match_its_name_is_refused(service):
    name = unique("m").replace("-", "_")
    with pytest.raises(binding.HTTPError) as err:
        service.macros.create(f"{name}(2)", "index=main x=$a$", args="a")
    assert err.value.status == 400
    assert f"{name}(2)" not in service.macros


def test_simple_receiver_to_a_missing_index_stores_nothing(api, service):
    index = unique("nope")
    resp = api.post(api.base + f"/services/receivers/simple?index={index}", data=b"x=1", timeout=10)
    assert resp.status_code == 400
    assert index not in service.indexes


def test_a_refused_search_leaves_no_job(service):
    with pytest.raises(binding.HTTPError):
        service.jobs.create("search index=main | frobnicate")
    assert not [j for j in service.jobs.list() if "frobnicate" in j["search"]]

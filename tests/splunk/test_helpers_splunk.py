"""helpers.splunk against the running stand-in (and, for retries, against a scripted HEC)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from helpers import splunk as hs
from helpers.config import MissingSetting, Settings
from tests.splunk.splunklab import unique

CLOUDTRAIL = [
    {
        "eventTime": f"2026-11-02T09:00:0{i}Z",
        "eventName": name,
        "sourceIPAddress": ip,
        "recipientAccountId": "012345678901",
        "userIdentity": {"type": "IAMUser", "userName": "dev-alice"},
        "requestParameters": {"port": 3389},
    }
    for i, (name, ip) in enumerate(
        [("StopLogging", "77.88.8.8"), ("DescribeInstances", "52.94.236.248"), ("GetObject", "x")]
    )
]


@pytest.fixture
def settings(lab_world) -> Settings:
    return Settings(_env_file=None, **{k.lower(): v for k, v in lab_world.settings.items()})


@pytest.fixture
def service(settings):
    return hs.connect(settings)


def test_connect_with_password_and_with_token(lab_world, settings):
    assert hs.connect(settings).info["version"]
    token_only = Settings(
        _env_file=None,
        splunk_url=settings.splunk_url,
        splunk_token=lab_world.settings["SPLUNK_TOKEN"],
        splunk_username="",
        splunk_password="",
    )
    assert "main" in hs.connect(token_only).indexes


def test_missing_settings_are_named(monkeypatch):
    for name in ("SPLUNK_URL", "SPLUNK_HEC_URL"):
        monkeypatch.delenv(name, raising=False)
    empty = Settings(_env_file=None)
    with pytest.raises(MissingSetting, match="SPLUNK_URL"):
        hs.connect(empty)
    with pytest.raises(MissingSetting, match="SPLUNK_HEC_URL"):
        hs.send_events([{"a": 1}], settings=empty)


def test_send_events_then_search_as_a_dataframe(service, settings):
    index = unique("hs")
    hs.ensure_index(index, service=service)
    sent = hs.send_events(
        CLOUDTRAIL,
        sourcetype="aws:cloudtrail",
        index=index,
        source="s3://trail",
        host="aws",
        time_field="eventTime",
        settings=settings,
        batch_events=2,
    )
    assert sent == 3
    frame = hs.search(f"index={index} | sort _time", earliest=0, service=service)
    assert list(frame["eventName"]) == ["StopLogging", "DescribeInstances", "GetObject"]
    assert isinstance(frame["_time"].dtype, pd.DatetimeTZDtype)
    assert frame["_time"].iloc[0] == pd.Timestamp("2026-11-02T09:00:00Z")
    assert frame["recipientAccountId"].iloc[0] == "012345678901"  # ids stay text
    assert frame["requestParameters.port"].iloc[0] == 3389  # numbers become numbers
    assert set(frame["host"]) == {"aws"} and set(frame["source"]) == {"s3://trail"}
    assert not [c for c in frame.columns if c.startswith("_") and c not in ("_time", "_raw")]
    stats = hs.search(
        f"search index={index} | stats count by eventName | sort eventName",
        earliest=0,
        service=service,
    )
    assert stats.to_dict("records")[0] == {"eventName": "DescribeInstances", "count": 1}


def test_search_time_range(service, settings):
    index = unique("hs")
    hs.ensure_index(index, service=service)
    hs.send_events(CLOUDTRAIL, index=index, time_field="eventTime", settings=settings)
    frame = hs.search(
        f"index={index}",
        earliest="2026-11-02T09:00:01",
        latest="2026-11-02T09:00:02",
        service=service,
    )
    assert list(frame["eventName"]) == ["DescribeInstances"]


def test_search_errors_carry_splunks_text(service):
    with pytest.raises(hs.SearchError, match="Unknown search command 'frobnicate'"):
        hs.search("index=main | frobnicate", service=service)


def test_empty_result_is_an_empty_frame(service):
    frame = hs.search(f"index=main {unique('nothing')}", earliest=0, service=service)
    assert frame.empty


def test_hec_rejection_names_the_record(settings):
    records = [{"eventTime": "2026-11-02T09:00:00Z"}] * 3
    with pytest.raises(hs.HecError) as err:
        hs.send_events(records, index=unique("missing"), settings=settings, batch_events=2)
    assert err.value.code == 7 and err.value.record == 0
    assert "Incorrect index" in str(err.value)


def test_bad_time_value_is_a_clear_error(settings):
    with pytest.raises(ValueError, match="record 1: eventTime='yesterday'"):
        hs.send_events(
            [{"eventTime": "2026-11-02T09:00:00Z"}, {"eventTime": "yesterday"}],
            time_field="eventTime",
            settings=settings,
        )


def test_raw_string_records(service, settings):
    index = unique("hs")
    hs.ensure_index(index, service=service)
    hs.send_events(["line one", "line two"], index=index, sourcetype="lab:text", settings=settings)
    frame = hs.search(f"index={index}", earliest=0, service=service)
    assert sorted(frame["_raw"]) == ["line one", "line two"]


@pytest.mark.parametrize(
    "table",
    [
        'ip,office,note\n52.94.236.248,Seattle,"comma, and ""quotes"""\n13.107.42.14,Redmond,\n',
        pd.DataFrame(
            {
                "ip": ["52.94.236.248", "13.107.42.14"],
                "office": ["Seattle", "Redmond"],
                "note": ['comma, and "quotes"', None],
            }
        ),
        [
            {"ip": "52.94.236.248", "office": "Seattle", "note": 'comma, and "quotes"'},
            {"ip": "13.107.42.14", "office": "Redmond"},
        ],
    ],
    ids=["csv", "dataframe", "records"],
)
def test_upload_lookup_round_trip(service, table):
    name = unique("offices")
    assert hs.upload_lookup(name, table, service=service) == 2
    frame = hs.search(f"| inputlookup {name}.csv", service=service)
    assert frame.to_dict("records")[0] == {
        "ip": "52.94.236.248",
        "office": "Seattle",
        "note": 'comma, and "quotes"',
    }
    assert frame["office"].tolist() == ["Seattle", "Redmond"]


def test_upload_lookup_rejects_bad_input(service):
    with pytest.raises(ValueError, match="header"):
        hs.upload_lookup("empty", "", service=service)
    with pytest.raises(ValueError, match="letters"):
        hs.upload_lookup("../etc/passwd", "a\n1\n", service=service)


def test_define_macro_creates_then_updates(service, settings):
    index = unique("hs")
    hs.ensure_index(index, service=service)
    hs.send_events(CLOUDTRAIL, index=index, settings=settings)
    name = unique("m").replace("-", "_")
    hs.define_macro(name, f"index={index} eventName=StopLogging", service=service)
    assert len(hs.search(f"`{name}`", earliest=0, service=service)) == 1
    hs.define_macro(name, f"index={index}", service=service)
    assert len(hs.search(f"`{name}`", earliest=0, service=service)) == 3
    hs.define_macro(f"{name}_by", f"index={index} eventName=$e$", ["e"], service=service)
    assert len(hs.search(f"`{name}_by(GetObject)`", earliest=0, service=service)) == 1


# -- retries, against a scripted collector (unit level) --------------------------------------------
class _Scripted(BaseHTTPRequestHandler):
    script: list[int] = []
    bodies: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.script.pop(0) if self.script else 200
        if status == 200:
            self.bodies.append(body)
        reply = {200: {"text": "Success", "code": 0}, 503: {"text": "Server is busy", "code": 9}}
        data = json.dumps(reply.get(status, {"text": "Invalid token", "code": 4})).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setattr(hs, "HEC_BACKOFF", 0.01)
    _Scripted.script, _Scripted.bodies = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (
        server,
        Settings(
            _env_file=None,
            splunk_hec_url=f"http://127.0.0.1:{server.server_address[1]}",
            splunk_hec_token="t",
        ),
    )
    server.shutdown()


def test_busy_collector_is_retried(scripted):
    _, settings = scripted
    _Scripted.script = [503, 503]
    assert hs.send_events([{"a": 1}, {"a": 2}], settings=settings) == 2
    assert len(_Scripted.bodies) == 1
    lines = [json.loads(line) for line in _Scripted.bodies[0].splitlines()]
    assert [list(line)[-1] for line in lines] == ["event", "event"]  # "event" goes last


def test_other_rejections_are_not_retried(scripted):
    _, settings = scripted
    _Scripted.script = [403]
    with pytest.raises(hs.HecError, match="Invalid token"):
        hs.send_events([{"a": 1}], settings=settings)
    assert _Scripted.bodies == []


def test_batches_respect_the_byte_limit(scripted):
    _, settings = scripted
    records = [{"blob": "x" * 400} for _ in range(10)]
    assert hs.send_events(records, settings=settings, batch_bytes=1000) == 10
    assert len(_Scripted.bodies) == 5
    assert all(len(body) <= 1000 for body in _Scripted.bodies)


def test_qualify():
    assert hs.qualify("  index=main") == "search index=main"
    assert hs.qualify("searchable=1") == "search searchable=1"
    assert hs.qualify("| tstats count") == "| tstats count"

"""HEC refuses input that would break it or the searches later (the hardening issue's findings):
times outside Splunk's range, bombs of compressed bodies, deep or ill-encoded JSON; and a slow
sender does not take an ingest slot while its body trickles in. Plus a property-based test: no
body or header a sender can send makes HEC answer 5xx."""

from __future__ import annotations

import json
import socket
import threading
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from helpers.runtime.serve import Server
from labstack.splunk import hec
from labstack.splunk.app import build
from labstack.splunk.config import Config
from labstack.splunk.store import EventStore
from tests.splunk.splunklab import http

TOKEN = "t"
AUTH = {"Authorization": f"Splunk {TOKEN}"}


@pytest.fixture(scope="module")
def store():
    store = EventStore()
    yield store
    store.close()


@pytest.fixture
def client(store):
    return Client(hec.HecApp(store, TOKEN))


def _post(client, body, headers=None, path="/services/collector/event"):
    return client.post(path, data=body, headers={**AUTH, **(headers or {})})


@pytest.mark.parametrize("when", [-1e12, 1e20, "nan", "inf", "1e400", -1])
def test_time_outside_splunks_range_is_invalid_data_format(client, store, when):
    before = store.indexes()["main"]["totalEventCount"]
    body = json.dumps({"event": "ok"}) + json.dumps({"time": when, "event": "bad"})
    resp = _post(client, body)
    assert resp.status_code == 400
    assert resp.json == {"text": "Invalid data format", "code": 6, "invalid-event-number": 1}
    assert store.indexes()["main"]["totalEventCount"] == before


def test_a_time_in_range_is_kept(client, store):
    assert _post(client, json.dumps({"time": 9999999999, "event": "late"})).status_code == 200
    assert _post(client, json.dumps({"time": "0", "event": "epoch"})).status_code == 200


def test_a_compressed_body_that_expands_past_the_limit_is_413(client, monkeypatch):
    monkeypatch.setattr(hec, "MAX_CONTENT_LENGTH", 1000)
    bomb = zlib.compress(b'{"event": "' + b"a" * 5000 + b'"}')
    resp = _post(client, bomb, {"Content-Encoding": "deflate"})
    assert resp.status_code == 413
    assert resp.json == {"text": "Content too large", "code": 27}


def test_a_truncated_gzip_body_is_invalid_data_format(client):
    deflater = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    body = deflater.compress(b'{"event": "x"}') + deflater.flush()
    resp = _post(client, body[:-6], {"Content-Encoding": "gzip"})
    assert resp.status_code == 400 and resp.json["code"] == 6
    assert _post(client, body, {"Content-Encoding": "gzip"}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"event": ' + "[" * 100000 + "]" * 100000 + "}",
        '{"event": "\\ud800"}',
        '{"event": {"k": "\\udfff"}}',
        '{"event": "x", "host": "\\ud800"}',
    ],
    ids=["deep", "lone-surrogate", "surrogate-in-object", "surrogate-in-host"],
)
def test_deep_or_ill_encoded_json_is_invalid_data_format(client, body):
    resp = _post(client, body)
    assert resp.status_code == 400
    assert resp.json == {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}


def test_a_slow_body_does_not_hold_an_ingest_slot(store):
    app = hec.HecApp(store, TOKEN)
    release = threading.Event()
    reading = threading.Barrier(hec.MAX_CONCURRENT + 1)

    class SlowBody:
        """A request body whose sender has not finished sending it."""

        def read(self, *args):
            reading.wait()
            release.wait()
            return b""

    def slow_sender():
        environ = {"wsgi.input": SlowBody(), "CONTENT_LENGTH": "100"}
        Client(app).post("/services/collector/event", headers=AUTH, environ_overrides=environ)

    senders = [threading.Thread(target=slow_sender) for _ in range(hec.MAX_CONCURRENT)]
    for sender in senders:
        sender.start()
    reading.wait()  # every slow sender is in the middle of its body
    try:
        assert _post(Client(app), '{"event": "on time"}').json == {"text": "Success", "code": 0}
    finally:
        release.set()
        for sender in senders:
            sender.join()


@pytest.mark.parametrize("preallocate", [hec.PREALLOCATE, 16])
def test_a_body_sent_in_pieces_is_read_whole(store, monkeypatch, preallocate):
    """Read into a buffer of its declared length, or (past PREALLOCATE) as it arrives."""
    monkeypatch.setattr(hec, "PREALLOCATE", preallocate)
    lines = [
        json.dumps({"index": "main", "event": {"piece": n, "pad": "x" * 5000}}) for n in range(40)
    ]
    body = "\n".join(lines).encode()
    with (
        Server(hec.HecApp(store, TOKEN)) as server,
        socket.create_connection((server.host, server.port)) as sender,
    ):
        head = (
            f"POST /services/collector/event HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Splunk {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sender.sendall(head.encode())
        for start in range(0, len(body), 65_000):
            sender.sendall(body[start : start + 65_000])
        sender.settimeout(30)
        answer = b""
        while b"}" not in answer:
            answer += sender.recv(4096)
    assert b"HTTP/1.1 200" in answer and b'"Success"' in answer
    found = store.search("search index=main piece=* pad=* | stats dc(piece) AS n").rows
    assert int(found[0]["n"]) == 40


_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_envelope = st.fixed_dictionaries(
    {},
    optional={
        "event": _json,
        "time": _json,
        "host": _json,
        "source": _json,
        "sourcetype": _json,
        "index": _json,
        "fields": _json,
    },
)
_bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(_envelope, max_size=3).map(lambda es: "\n".join(json.dumps(e) for e in es).encode()),
    _json.map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_bodies,
    path=st.sampled_from(
        ["/services/collector/event", "/services/collector/raw", "/services/collector"]
    ),
    encoding=st.sampled_from([None, "gzip", "deflate", "br"]),
    query=st.dictionaries(
        st.sampled_from(["index", "host", "sourcetype", "channel"]), st.text(max_size=8)
    ),
)
def test_no_body_makes_hec_answer_5xx(client, body, path, encoding, query):
    headers = {"Content-Encoding": encoding} if encoding else {}
    resp = client.post(path, data=body, headers={**AUTH, **headers}, query_string=query)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert set(resp.json) <= {"text", "code", "invalid-event-number"}
    assert client.get("/services/collector/health").status_code == 200


@pytest.fixture
def api_app(tmp_path):
    app = build(Config("pw", TOKEN, state_dir=tmp_path), web_url="http://127.0.0.1:1")
    yield app.api
    app.store.close()


@pytest.mark.parametrize(
    ("which", "path", "auth", "body"),
    [
        ("hec", "/services/collector/event", f"Splunk {TOKEN}", '{"event": "x"}'),
        ("api", "/services/search/jobs", "Basic YWRtaW46cHc=", "search=|makeresults"),
    ],
)
def test_a_stalled_sender_is_disconnected_and_others_are_served(
    store, api_app, which, path, auth, body
):
    """The services' read timeout: a body that stops arriving closes its connection."""
    app = hec.HecApp(store, TOKEN) if which == "hec" else api_app
    with Server(app, read_timeout=0.2) as server:
        stalled = socket.create_connection((server.host, server.port))
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
        stalled.sendall(f"{head}Content-Length: 1000\r\n\r\n{body[:5]}".encode())
        stalled.settimeout(30)
        answer = b""
        while chunk := stalled.recv(4096):  # until the server closes the connection
            answer += chunk
        stalled.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
        form = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
        sent = http().post(server.url + path, data=body, headers=form, timeout=30)
        assert sent.status_code in (200, 201)

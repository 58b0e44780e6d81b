"""helpers.hec: the one HEC client (what each refusal means) and the event encoder."""

from __future__ import annotations

import json
import socket

import pytest

from helpers import hec, splunk
from helpers.config import Settings
from helpers.hec import HecClient, HecError
from helpers.runtime.serve import Server


class ScriptedHec:
    """A WSGI HEC answering each POST with the next scripted (status, JSON body)."""

    def __init__(self):
        self.script: list[tuple[int, object]] = []
        self.bodies: list[bytes] = []
        self.headers: list[dict] = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.headers.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        status, reply = self.script.pop(0) if self.script else (200, {"text": "Success", "code": 0})
        if status == 200:
            self.bodies.append(body)
        data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        start_response(f"{status} X", [("Content-Length", str(len(data)))])
        return [data]


@pytest.fixture
def scripted():
    app = ScriptedHec()
    with Server(app) as server:
        yield app, server.url


@pytest.mark.parametrize(
    ("status", "reply", "kind"),
    [
        (503, {"text": "Server is busy", "code": 9}, "unavailable"),
        (500, b"oops", "unavailable"),
        (429, {"text": "slow down"}, "unavailable"),
        (403, {"text": "Invalid token", "code": 4}, "config"),
        (400, {"text": "Incorrect index", "code": 7, "invalid-event-number": 0}, "config"),
        (400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 3}, "data"),
        (413, {"text": "Content too large"}, "too_large"),
    ],
)
def test_each_refusal_has_a_kind(scripted, status, reply, kind):
    app, url = scripted
    app.script = [(status, reply)]
    with pytest.raises(HecError) as err:
        HecClient(url, "t").send(b'{"event": 1}')
    assert err.value.kind == kind and err.value.status == status
    if isinstance(reply, dict):
        assert reply["text"] in str(err.value)
        assert err.value.code == reply.get("code")
        assert err.value.event_number == reply.get("invalid-event-number")


def test_a_200_with_an_error_code_is_not_accepted(scripted):
    app, url = scripted
    app.script = [(200, {"text": "Invalid data format", "code": 6})]
    with pytest.raises(HecError) as err:
        HecClient(url, "t").send(b"{}")
    assert err.value.kind == "data"


def test_accepted_bodies_carry_the_token_and_a_channel(scripted):
    app, url = scripted
    with HecClient(url, "secret-token") as client:
        client.send(b'{"event": "a"}')
        client.send(b'{"event": "b"}')
    assert app.bodies == [b'{"event": "a"}', b'{"event": "b"}']
    assert {h["HTTP_AUTHORIZATION"] for h in app.headers} == {"Splunk secret-token"}
    assert len({h["HTTP_X_SPLUNK_REQUEST_CHANNEL"] for h in app.headers}) == 1
    assert "secret-token" not in repr(client)


def test_an_unreachable_hec_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(HecError) as err:
            HecClient(f"http://127.0.0.1:{port}", "t", timeout=(2, 2)).send(b"{}")
    assert err.value.kind == "unavailable" and "HEC unreachable" in str(err.value)
    assert err.value.status is None


def test_urls_from_a_base_or_the_full_endpoint():
    base = HecClient("https://splunk.example.com:8088", "t")
    full = HecClient("https://splunk.example.com:8088/services/collector/event", "t")
    assert base.event_url == full.event_url
    assert base.health_url == full.health_url == "https://splunk.example.com:8088" + hec.HEALTH_PATH


def test_the_error_names_the_callers_record():
    err = HecError("data", "Invalid data format", 400, 6, event_number=2).at(first=10)
    assert err.record == 12 and "at record 12" in str(err)
    assert HecError("config", "Invalid token", 403, 4).at(5).record is None


def test_batches_put_event_last_and_respect_limits():
    records = [{"eventTime": "2026-11-02T14:01:02Z", "n": n} for n in range(5)]
    out = list(hec.batches(records, {"index": "main"}, time_field="eventTime", max_events=2))
    assert [first for first, _ in out] == [0, 2, 4]
    events = [json.loads(line) for _, body in out for line in body.splitlines()]
    assert [list(e) for e in events] == [["time", "index", "event"]] * 5
    assert events[0]["time"] == 1793628062.0
    big = [{"blob": "x" * 400} for _ in range(4)]
    assert all(len(body) <= 1000 for _, body in hec.batches(big, {}, max_bytes=1000))


def test_raw_lines_take_their_time_from_a_function():
    lines = ["1793628062 first", "1793628070 second", "soon third"]
    out = list(hec.batches(lines[:2], {}, time_field=lambda line: line.split()[0]))
    events = [json.loads(line) for _, body in out for line in body.splitlines()]
    assert [(e["time"], e["event"]) for e in events] == [
        (1793628062.0, lines[0]),
        (1793628070.0, lines[1]),
    ]
    with pytest.raises(ValueError, match="record 2: time='soon' is not a time"):
        list(hec.batches(lines, {}, time_field=lambda line: line.split()[0]))


def test_huge_integers_still_encode():
    assert json.loads(hec.event_line({"n": 2**70}, {}))["event"]["n"] == 2**70


def test_send_events_and_the_ingester_share_the_client_and_error():
    import helpers.ingest

    assert helpers.ingest.HecClient is HecClient and helpers.ingest.HecError is HecError
    assert splunk.HecError is HecError


def test_send_events_retries_an_unavailable_hec_and_numbers_refused_records(scripted, monkeypatch):
    app, url = scripted
    monkeypatch.setattr(splunk, "HEC_BACKOFF", 0.01)
    settings = Settings(_env_file=None, splunk_hec_url=url, splunk_hec_token="t")
    app.script = [(503, {"text": "Server is busy", "code": 9})]
    assert splunk.send_events([{"a": 1}], settings=settings) == 1
    app.script = [(200, {"code": 0}), (400, {"text": "bad", "code": 6, "invalid-event-number": 1})]
    with pytest.raises(HecError) as err:
        splunk.send_events([{"a": n} for n in range(4)], settings=settings, batch_events=2)
    assert err.value.record == 3

"""The HTTP Event Collector: accepts and rejects as Splunk does (wire spec 1.9).

Status codes and texts follow Splunk's "Troubleshoot HTTP Event Collector" table (codes 0-17).
"""

from __future__ import annotations

import base64
import gzip
import json
import random

import pytest
import splunklib.results as results
from werkzeug.test import Client

from labstack.splunk import hec
from tests.splunk.splunklab import http, unique

CHANNEL = "0e8a6a4e-4b8a-4f7e-9a66-3a1f3b9c2d11"


def _count(service, index: str) -> int:
    reader = results.JSONResultsReader(
        service.jobs.oneshot(f"search index={index} | stats count", output_mode="json")
    )
    return int(next(r for r in reader if isinstance(r, dict))["count"])


def _event(index: str, **extra) -> str:
    return json.dumps({"index": index, "sourcetype": "lab:json", "event": {"k": "v"}, **extra})


# -- over HTTP ------------------------------------------------------------------------------------
def test_health_needs_no_token(splunk):
    resp = http().get(splunk.hec_url + "/services/collector/health", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"text": "HEC is healthy", "code": 17}


@pytest.mark.parametrize(
    "path", ["/services/collector/event", "/services/collector", "/services/collector/event/1.0"]
)
def test_event_endpoints_accept_concatenated_objects(splunk, service, index, path):
    body = _event(index) + _event(index) + "\n  " + _event(index)
    resp = splunk.hec(path, body)
    assert resp.status_code == 200
    assert resp.json() == {"text": "Success", "code": 0}
    assert _count(service, index) == 3


def test_event_metadata_and_raw(splunk, service, index):
    body = json.dumps(
        {
            "time": "1700000000.5",
            "host": "web-1",
            "source": "lab.py",
            "sourcetype": "aws:cloudtrail",
            "index": index,
            "event": {"eventName": "PutBucketPolicy", "user": "alice"},
        }
    )
    body += json.dumps({"event": "plain text line", "index": index})
    assert splunk.hec("/services/collector/event", body).status_code == 200
    reader = results.JSONResultsReader(
        service.jobs.oneshot(f"search index={index} | sort _time", output_mode="json")
    )
    second, first = [r for r in reader if isinstance(r, dict)]
    assert second["_time"] == "2023-11-14T22:13:20.500+00:00"
    assert (second["host"], second["source"], second["sourcetype"]) == (
        "web-1",
        "lab.py",
        "aws:cloudtrail",
    )
    assert json.loads(second["_raw"]) == {"eventName": "PutBucketPolicy", "user": "alice"}
    assert second["eventName"] == "PutBucketPolicy"
    assert first["_raw"] == "plain text line"
    assert (first["sourcetype"], first["source"]) == ("httpevent", "http:lab")


def test_basic_auth_with_the_token_as_password(splunk, service, index):
    basic = base64.b64encode(f"x:{splunk.hec_token}".encode()).decode()
    resp = splunk.hec("/services/collector", _event(index), {"Authorization": f"Basic {basic}"})
    assert resp.status_code == 200
    assert _count(service, index) == 1


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({"Authorization": ""}, 401, {"text": "Token is required", "code": 2}),
        ({"Authorization": "Bearer abc"}, 401, {"text": "Invalid authorization", "code": 3}),
        ({"Authorization": "Splunk wrong"}, 403, {"text": "Invalid token", "code": 4}),
    ],
)
def test_bad_tokens(splunk, service, index, headers, status, body):
    resp = splunk.hec("/services/collector/event", _event(index), headers)
    assert resp.status_code == status
    assert resp.json() == body
    assert _count(service, index) == 0


def _bad(code: int, text: str) -> dict:
    return {"text": text, "code": code, "invalid-event-number": 1}


FORMAT = _bad(6, "Invalid data format")


@pytest.mark.parametrize(
    ("payload", "status", "body"),
    [
        ("", 400, {"text": "No data", "code": 5}),
        ("   \n ", 400, {"text": "No data", "code": 5}),
        ("{EVENT}", 400, FORMAT),
        ('{"event": "x"', 400, FORMAT),
        ("[1, 2]", 400, FORMAT),
        ('{"host": "h"}', 400, _bad(12, "Event field is required")),
        ('{"event": ""}', 400, _bad(13, "Event field cannot be blank")),
        ('{"event": null}', 400, _bad(13, "Event field cannot be blank")),
        ('{"event": 1, "time": "soon"}', 400, FORMAT),
        (
            '{"event": 1, "fields": {"a": {"b": 1}}}',
            400,
            _bad(15, "Error in handling indexed fields"),
        ),
        ('{"event": {"a": [1,]}}', 400, FORMAT),
    ],
)
def test_bad_payloads_change_nothing(splunk, service, index, payload, status, body):
    """A good event first, then the bad one: the error names event 1 and nothing is stored."""
    good = _event(index) + "\n" if payload.strip() else ""
    if payload.startswith("{") and '"index"' not in payload:
        payload = payload[:1] + f'"index": "{index}", ' + payload[1:]
    resp = splunk.hec("/services/collector/event", good + payload)
    assert resp.status_code == status
    expected = dict(body)
    if not good and "invalid-event-number" in expected:
        expected["invalid-event-number"] = 0
    assert resp.json() == expected
    assert _count(service, index) == 0


def test_incorrect_index_names_the_event(splunk, service, index):
    body = _event(index) + _event(index) + _event("no-such-index")
    resp = splunk.hec("/services/collector/event", body)
    assert resp.status_code == 400
    assert resp.json() == {"text": "Incorrect index", "code": 7, "invalid-event-number": 2}
    assert _count(service, index) == 0
    assert "no-such-index" not in service.indexes


def test_not_utf8_is_invalid_data_format(splunk, service, index):
    resp = splunk.hec("/services/collector/event", _event(index).encode() + b"\xff\xfe")
    assert resp.status_code == 400 and resp.json()["code"] == 6
    assert _count(service, index) == 0


def test_raw_endpoint_one_event_per_line(splunk, service, index):
    body = "first line user=alice\n\nsecond line user=bob\n"
    resp = splunk.hec(
        f"/services/collector/raw?index={index}&sourcetype=lab:kv&host=h9",
        body,
        {"X-Splunk-Request-Channel": CHANNEL},
    )
    assert resp.status_code == 200 and resp.json()["code"] == 0
    reader = results.JSONResultsReader(
        service.jobs.oneshot(f"search index={index} | sort _raw", output_mode="json")
    )
    rows = [r for r in reader if isinstance(r, dict)]
    assert [r["_raw"] for r in rows] == ["first line user=alice", "second line user=bob"]
    assert {r["sourcetype"] for r in rows} == {"lab:kv"} and {r["host"] for r in rows} == {"h9"}


def test_raw_channel_as_query_parameter(splunk, service, index):
    resp = splunk.hec(f"/services/collector/raw?channel={CHANNEL}&index={index}", "one")
    assert resp.status_code == 200
    assert _count(service, index) == 1


def test_invalid_channel(splunk, service, index):
    resp = splunk.hec(
        f"/services/collector/raw?index={index}", "x", {"X-Splunk-Request-Channel": "not-a-guid"}
    )
    assert resp.status_code == 400
    assert resp.json() == {"text": "Invalid data channel", "code": 11}
    assert _count(service, index) == 0


def test_gzip_body(splunk, service, index):
    body = gzip.compress((_event(index) * 3).encode())
    resp = splunk.hec("/services/collector/event", body, {"Content-Encoding": "gzip"})
    assert resp.status_code == 200
    assert _count(service, index) == 3


def test_ack_is_disabled(splunk):
    resp = splunk.hec("/services/collector/ack", '{"acks": [0]}')
    assert resp.status_code == 400
    assert resp.json() == {"text": "ACK is disabled", "code": 14}


def test_unknown_path_is_404(splunk):
    resp = splunk.hec("/services/collector/nope", "{}")
    assert resp.status_code == 404
    assert resp.json()["code"] == 404


# -- the parser on its own ------------------------------------------------------------------------
def _random_event(rng: random.Random) -> dict:
    event = rng.choice(
        [
            {"eventName": "StopLogging", "n": rng.randint(0, 9), "tags": ["a", "b"]},
            {"nested": {"event": "inner", "list": [1, 2.5, None, True]}},
            'a plain string with "quotes" and \\ backslashes and ünïcödé',
            {"text": "comma, then brace }", "x": "NaN as text"},
            42,
        ]
    )
    obj = {"event": event}
    for key in rng.sample(["time", "host", "source", "sourcetype", "index", "fields"], 3):
        obj[key] = {
            "time": rng.choice([1700000000, 1700000000.25, "1700000001"]),
            "host": "h",
            "source": "s",
            "sourcetype": "st",
            "index": "main",
            "fields": {"env": "lab", "n": 1, "many": ["x", "y"]},
        }[key]
    if rng.random() < 0.5:  # "event" last, as helpers.splunk writes it
        obj["event"] = obj.pop("event")
    return obj


@pytest.mark.parametrize("seed", range(20))
def test_fast_and_general_parsers_agree(seed):
    rng = random.Random(seed)
    objs = [_random_event(rng) for _ in range(rng.randint(1, 30))]
    compact = rng.random() < 0.5
    sep = (",", ":") if compact else (", ", ": ")
    body = "\n".join(json.dumps(o, separators=sep, ensure_ascii=rng.random() < 0.5) for o in objs)
    defaults = hec.Defaults(now=5.0)
    general = hec._parse_each(body, defaults)
    assert hec.parse_events(body, defaults) == general
    for row, obj in zip(general, objs, strict=True):
        event = obj["event"]
        assert (row["_raw"] if isinstance(event, str) else json.loads(row["_raw"])) == event


def test_object_events_are_stored_as_compact_json_strings_as_they_are():
    body = '{"time": 1, "event": {"b":  1,   "a": [1, 2], "s": "caf\\u00e9"}}\n{"event": " x "}'
    first, second = hec.parse_events(body, hec.Defaults(now=0.0))
    assert first["_raw"] == '{"b":1,"a":[1,2],"s":"café"}'
    assert second["_raw"] == " x "


@pytest.mark.parametrize(
    "body",
    [
        '{"event": {"a": 1,}}',  # trailing comma: DuckDB would accept it, JSON does not
        '{"event": {"a": nan}}',
        '{"event": {"a": 1}} {"event": {"a": 1,]}}',
        '{"event": {"a": 1}}x',
    ],
)
def test_lax_json_is_rejected(body):
    with pytest.raises(hec.HecError) as err:
        hec.parse_events(body, hec.Defaults(now=0.0))
    assert err.value.status == hec.INVALID_FORMAT


def test_a_deleted_index_is_refused_at_once(splunk, service):
    index = unique("gone")
    service.indexes.create(index)
    assert splunk.hec("/services/collector/event", _event(index)).status_code == 200
    service.indexes.delete(index)
    resp = splunk.hec("/services/collector/event", _event(index))
    assert resp.status_code == 400 and resp.json()["code"] == 7
    assert index not in service.indexes


def test_an_index_created_through_the_api_is_usable_at_once(splunk, service):
    index = unique("new")
    assert splunk.hec("/services/collector/event", _event(index)).status_code == 400
    service.indexes.create(index)
    assert splunk.hec("/services/collector/event", _event(index)).status_code == 200
    service.indexes.delete(index)


def test_big_integers_and_nan_follow_pythons_json_rules():
    body = '{"event": {"big": 123456789012345678901234567890, "x": NaN}}'
    (row,) = hec.parse_events(body, hec.Defaults(now=0.0))
    assert json.loads(row["_raw"])["big"] == 123456789012345678901234567890


def test_a_body_over_the_size_limit_is_413_and_stores_nothing(monkeypatch):
    """On the app itself, with a stand-in store: no request that large goes over the wire."""

    class Store:
        added: list = []

        def indexes(self):
            return {"main": {}}

        def add(self, events):
            self.added.extend(events)

    monkeypatch.setattr(hec, "MAX_CONTENT_LENGTH", 100)
    app = hec.HecApp(Store(), "t")
    resp = Client(app).post(
        "/services/collector/event",
        data=json.dumps({"event": "x" * 200}),
        headers={"Authorization": "Splunk t"},
    )
    assert resp.status_code == 413
    assert resp.json == {"text": "Content too large", "code": 27}
    assert Store.added == []

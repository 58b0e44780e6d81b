"""Installing the catalog as Splunk saved searches: the attributes, a fake client's calls, and the
real thing through splunklib against the lab's Splunk-compatible server."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from splunklib.binding import HTTPError

from helpers import detections
from helpers.config import Settings
from helpers.splunk import install_detections, send_events

HOOK = "http://127.0.0.1:9/splunk"


def test_realtime_detection_is_a_per_result_realtime_alert():
    detection = detections.get("security-group-open-to-world")
    params = detections.saved_search_params(detection, HOOK)
    assert params == {
        "search": detection.search,
        "description": f"{detection.title}. {detection.description}",
        "is_scheduled": "1",
        "cron_schedule": "*/5 * * * *",
        "dispatch.earliest_time": "rt",
        "dispatch.latest_time": "rt",
        "alert_type": "always",
        "alert.digest_mode": "0",
        "alert.severity": "5",
        "alert.track": "1",
        "alert.suppress": "1",
        "alert.suppress.period": "1m",
        "alert.suppress.fields": "resource,account",
        "actions": "webhook",
        "action.webhook": "1",
        "action.webhook.param.url": HOOK,
        "disabled": "0",
    }


def test_scheduled_detection_counts_results_over_its_window():
    detection = dataclasses.replace(
        detections.get("root-account-usage"), realtime=False, enabled=False
    )
    params = detections.saved_search_params(detection, HOOK)
    assert params["dispatch.earliest_time"] == "-20m@m"
    assert params["dispatch.latest_time"] == "now"
    assert (params["alert_type"], params["alert_comparator"], params["alert_threshold"]) == (
        "number of events",
        "greater than",
        "0",
    )
    assert params["alert.digest_mode"] == "0"
    assert params["alert.suppress.fields"] == "resource,account,source_ip"
    assert params["disabled"] == "1"


# -- a fake splunklib Service: what install asks of the client ----------------------------------
class FakeSaved:
    def __init__(self, name, search, params):
        self.name, self.content = name, {"search": search, **params}
        self.updates = 0

    def update(self, **params):
        self.content.update(params)
        self.updates += 1
        return self

    def refresh(self):
        return self


class FakeCollection(dict):
    def create(self, name, search, **params):
        self[name] = FakeSaved(name, search, params)
        return self[name]


class FakeJobs:
    def __init__(self):
        self.searches = []

    def oneshot(self, spl, **kwargs):
        self.searches.append(spl)
        return type("Stream", (), {"read": lambda self: b"{}"})()


class FakeService:
    def __init__(self, macros=None):
        self.macros = dict(macros or {})
        self.saved_searches = FakeCollection()
        self.jobs = FakeJobs()

    def get(self, path, **kwargs):
        name = path.rsplit("/", 1)[-1]
        if name not in self.macros:
            raise HTTPError(_Response(404))
        return self.macros[name]

    def post(self, path, **kwargs):
        assert path == "configs/conf-macros"
        self.macros[kwargs["name"]] = kwargs["definition"]


class _Response:
    def __init__(self, status):
        self.status, self.reason, self.headers = status, "Not Found", []
        self.body = type("Body", (), {"read": lambda self: b""})()


def test_install_creates_then_updates_and_defines_what_the_searches_need():
    service = FakeService()
    done = install_detections(HOOK, service=service, index="security")
    ids = [d.id for d in detections.load()]
    assert done == dict.fromkeys(ids, "created")
    assert service.macros == {"cloudtrail": "index=security sourcetype=aws:cloudtrail"}
    assert any("outputlookup allowed_countries.csv" in s for s in service.jobs.searches)
    saved = service.saved_searches["cloudtrail-logging-stopped"]
    assert saved.content["search"] == detections.get("cloudtrail-logging-stopped").search
    assert saved.content["action.webhook.param.url"] == HOOK

    again = install_detections(HOOK + "/v2", service=service)
    assert again == dict.fromkeys(ids, "updated")
    assert saved.updates == 1 and saved.content["action.webhook.param.url"] == HOOK + "/v2"


def test_install_keeps_a_site_macro():
    service = FakeService(macros={"cloudtrail": "index=aws sourcetype=aws:cloudtrail"})
    install_detections(HOOK, service=service, catalog=[detections.get("guardduty-disabled")])
    assert service.macros == {"cloudtrail": "index=aws sourcetype=aws:cloudtrail"}
    assert list(service.saved_searches) == ["guardduty-disabled"]


# -- the real client against the lab's Splunk-compatible server ---------------------------------
@pytest.fixture(scope="module")
def splunk(tmp_path_factory):
    splunklab = pytest.importorskip("tests.splunk.splunklab")
    with splunklab.splunk_process(tmp_path_factory.mktemp("detections-splunk") / "state") as found:
        yield found


def test_install_through_splunklib_then_each_search_finds_its_positives(splunk):
    from tests.splunk.splunklab import http

    service = splunk.connect(owner="nobody", app="search")
    catalog = detections.load()
    assert install_detections(HOOK, service=service) == {d.id: "created" for d in catalog}
    assert install_detections(HOOK, service=service) == {d.id: "updated" for d in catalog}

    saved = service.saved_searches["access-key-used-from-unexpected-country"]
    assert saved["search"] == detections.get("access-key-used-from-unexpected-country").search
    assert saved["dispatch.earliest_time"] == "rt"
    assert saved["alert.suppress.fields"] == "resource,account"
    assert saved["action.webhook.param.url"] == HOOK
    assert service.get("configs/conf-macros/cloudtrail").status == 200
    rows = _rows(service.jobs.oneshot("| inputlookup allowed_countries.csv", output_mode="json"))
    assert [r["country"] for r in rows] == ["United States"]

    # Every example, with run-unique event ids, through HEC; then each detection's search.
    run = uuid.uuid4().hex[:8]
    expected: dict[str, set[str]] = {}
    records = []
    for detection in catalog:
        for kind in ("positive", "negative"):
            for number, (_, record) in enumerate(detection.examples(kind)):
                event_id = f"{run}-{detection.id}-{kind}-{number}"
                records.append({**record, "eventID": event_id})
                if kind == "positive":
                    expected.setdefault(detection.id, set()).add(event_id)
    settings = Settings(splunk_hec_url=splunk.hec_url, splunk_hec_token=splunk.hec_token)
    send_events(
        records, sourcetype="aws:cloudtrail", time_field="eventTime", settings=settings,
        session=http(),
    )  # fmt: skip
    for detection in catalog:
        found = _rows(service.jobs.oneshot(detection.search, output_mode="json", count=0))
        mine = {r["eventID"] for r in found if r["eventID"].startswith(f"{run}-{detection.id}-")}
        assert mine == expected[detection.id], detection.id


def _rows(stream) -> list[dict]:
    import json

    return json.loads(stream.read())["results"]

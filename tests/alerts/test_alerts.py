"""Alerting over HTTP: splunklib creates and dispatches saved searches, HEC sends events, a local
receiver sees the webhooks (wire spec 1.7 and 1.10)."""

from __future__ import annotations

import json

import pytest
import splunklib.results as splunk_results
from splunklib.binding import HTTPError

from helpers.receivers import Receiver
from labstack.world import free_port
from tests.alerts.alertlab import TIMEOUT, wait_for
from tests.splunk.splunklab import http

FAILS = [
    {"user": "alice", "action": "fail", "src": "10.0.0.1"},
    {"user": "bob", "action": "fail", "src": "10.0.0.2"},
    {"user": "alice", "action": "fail", "src": "10.0.0.3"},
]
THRESHOLD = {"alert_type": "number of events", "alert_comparator": "greater than"}


def _none_fired(alerts, saved, receiver) -> None:
    # dispatch evaluates before it answers once the job is done, so the record is final here
    assert alerts.fired(saved.name) == []
    assert not [p for p in receiver.payloads if p["search_name"] == saved.name]


def test_threshold_met_fires_the_webhook_with_splunks_payload(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create(
        "search index={index} action=fail", receiver.url, **THRESHOLD, alert_threshold="2"
    )
    job = alerts.dispatch(saved)
    [body] = receiver.wait(1, timeout=TIMEOUT)
    assert set(body) == {"result", "sid", "results_link", "search_name", "owner", "app"}
    assert body["sid"] == job.sid
    assert body["search_name"] == saved.name
    assert (body["owner"], body["app"]) == ("nobody", "search")
    assert job.sid in body["results_link"] and body["results_link"].startswith("http")
    first = next(splunk_results.JSONResultsReader(job.results(output_mode="json", count=1)))
    assert body["result"] == first  # the first result row, values as strings
    assert all(isinstance(v, str | list) for v in body["result"].values())
    [fired] = alerts.fired(saved.name)
    assert fired["sid"] == job.sid and fired["result_count"] == "3"
    wait_for(lambda: alerts.fired(saved.name)[0]["webhook_status"] == "delivered")


def test_threshold_not_met_does_not_fire(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create(
        "search index={index} action=fail", receiver.url, **THRESHOLD, alert_threshold="3"
    )
    alerts.dispatch(saved)
    _none_fired(alerts, saved, receiver)


@pytest.mark.parametrize(
    ("attrs", "fires"),
    [
        ({"alert_type": "number of results", "alert_comparator": "equal to",
          "alert_threshold": "2"}, True),
        ({"alert_type": "number of results", "alert_comparator": "not equal to",
          "alert_threshold": "2"}, False),
        ({"alert_type": "number of results", "alert_comparator": "less than",
          "alert_threshold": "1"}, False),
        ({"alert_type": "number of hosts", "alert_comparator": "greater than",
          "alert_threshold": "0"}, True),
        ({"alert_type": "custom", "alert_condition": "search count > 1"}, True),
        ({"alert_type": "custom", "alert_condition": "where count > 5"}, False),
        ({"alert_type": "always"}, True),
    ],
)  # fmt: skip
def test_conditions(alerts, receiver, attrs, fires):
    alerts.send(*FAILS)
    search = "search index={index} action=fail | stats count by user, host"
    saved = alerts.create(search, receiver.url, **attrs)
    alerts.dispatch(saved)
    if fires:
        [body] = receiver.wait(1)
        assert body["result"]["user"] in ("alice", "bob")
    else:
        _none_fired(alerts, saved, receiver)


def test_rises_by_compares_with_the_previous_run(alerts, receiver):
    saved = alerts.create(
        "search index={index} action=fail",
        receiver.url,
        alert_type="number of events",
        alert_comparator="rises by",
        alert_threshold="1",
    )
    alerts.send(FAILS[0])
    alerts.dispatch(saved)  # first run: nothing to compare with
    alerts.send(FAILS[1])
    alerts.dispatch(saved)  # 1 -> 2: rose by 1, not more
    _none_fired(alerts, saved, receiver)
    alerts.send(*FAILS)
    alerts.dispatch(saved)  # 2 -> 5
    receiver.wait(1)
    assert len(alerts.fired(saved.name)) == 1


def test_digest_mode_fires_once_per_search(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url,
                          **{"alert.digest_mode": "1"})  # fmt: skip
    alerts.dispatch(saved)
    receiver.wait(1)
    assert len(alerts.fired(saved.name)) == 1
    assert len(receiver.payloads) == 1


def test_per_result_fires_once_per_result(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url,
                          **{"alert.digest_mode": "0"})  # fmt: skip
    job = alerts.dispatch(saved)
    bodies = receiver.wait(3)
    assert sorted(b["result"]["src"] for b in bodies) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert {b["sid"] for b in bodies} == {job.sid}
    assert len(alerts.fired(saved.name)) == 3


def test_throttle_by_fields_suppresses_the_same_value_and_fires_another(alerts, receiver):
    saved = alerts.create(
        "search index={index} action=fail | dedup user",
        receiver.url,
        **{
            "alert.digest_mode": "0",
            "alert.suppress": "1",
            "alert.suppress.period": "1h",
            "alert.suppress.fields": "user",
        },
    )
    alerts.send(*FAILS)
    alerts.dispatch(saved)
    first = receiver.wait(2)
    assert sorted(b["result"]["user"] for b in first) == ["alice", "bob"]
    alerts.send({"user": "carol", "action": "fail"}, {"user": "alice", "action": "fail"})
    alerts.dispatch(saved)
    receiver.wait(3)
    assert len(alerts.fired(saved.name)) == 3
    assert [b["result"]["user"] for b in receiver.payloads[2:]] == ["carol"]


def test_throttle_without_fields_suppresses_the_whole_alert(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url,
                          **{"alert.suppress": "1", "alert.suppress.period": "10m"})  # fmt: skip
    alerts.dispatch(saved)
    receiver.wait(1)
    alerts.dispatch(saved)
    assert len(alerts.fired(saved.name)) == 1


def test_a_receiver_that_is_down_gets_the_webhook_when_it_comes_back(alerts):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    alerts.send(FAILS[0])
    saved = alerts.create("search index={index} action=fail", url)
    alerts.dispatch(saved)
    wait_for(
        lambda: int(alerts.fired(saved.name)[0]["webhook_attempts"]) >= 2,
        what="a retried delivery",
    )
    fired = alerts.fired(saved.name)[0]
    assert fired["webhook_status"] == "pending" and fired["webhook_error"]
    with Receiver(port=port) as late:
        [body] = late.wait(1, timeout=60)  # the backoff grows; the wait only bounds a failure
        assert body["search_name"] == saved.name
        wait_for(lambda: alerts.fired(saved.name)[0]["webhook_status"] == "delivered")


def test_dispatch_returns_a_job_splunklib_can_read(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail | stats count", receiver.url)
    job = alerts.dispatch(saved)
    rows = list(splunk_results.JSONResultsReader(job.results(output_mode="json")))
    assert rows == [{"count": "3"}]
    assert job["isSavedSearch"] == "1" and job["label"] == saved.name
    assert receiver.wait(1)[0]["result"] == {"count": "3"}


def test_dispatch_without_trigger_actions_does_not_alert(alerts, receiver):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url)
    job = saved.dispatch()
    wait_for(job.is_done)
    _none_fired(alerts, saved, receiver)


def test_real_time_per_result_alert_fires_as_events_are_indexed(alerts, receiver):
    saved = alerts.create(
        "search index={index} sourcetype=aws:cloudtrail eventName=AuthorizeSecurityGroupIngress",
        receiver.url,
        **{
            "dispatch.earliest_time": "rt",
            "dispatch.latest_time": "rt",
            "cron_schedule": "* * * * *",
            "alert_type": "always",
            "alert.digest_mode": "0",
            "alert.suppress": "1",
            "alert.suppress.period": "1h",
            "alert.suppress.fields": "groupId",
        },
    )
    opened = {"eventName": "AuthorizeSecurityGroupIngress", "groupId": "sg-1"}
    alerts.send(opened, {"eventName": "DescribeInstances"}, sourcetype="aws:cloudtrail")
    [body] = receiver.wait(1, timeout=TIMEOUT)
    assert body["result"]["groupId"] == "sg-1"
    assert body["sid"].startswith("rt_scheduler__")
    # the same group again is throttled; another group fires
    alerts.send(opened, sourcetype="aws:cloudtrail")
    alerts.send({**opened, "groupId": "sg-2"}, sourcetype="aws:cloudtrail")
    second = receiver.wait(2, timeout=TIMEOUT)[1]
    assert second["result"]["groupId"] == "sg-2"
    assert len(alerts.fired(saved.name)) == 2


def test_real_time_searches_ignore_other_indexes_and_disabled_alerts(alerts, receiver, service):
    other = alerts.create("search index={index} eventName=Stop*", receiver.url,
                          **{"dispatch.earliest_time": "rt-5m", "dispatch.latest_time": "rt",
                             "alert.digest_mode": "0", "disabled": "1"})  # fmt: skip
    saved = alerts.create("search index={index} eventName=Stop*", receiver.url,
                          **{"dispatch.earliest_time": "rt-5m", "dispatch.latest_time": "rt",
                             "alert.digest_mode": "0"})  # fmt: skip
    alerts.send({"eventName": "StopLogging"}, index="main")
    alerts.send({"eventName": "StopLogging", "n": "1"})
    [body] = receiver.wait(1)
    assert body["search_name"] == saved.name and body["result"]["n"] == "1"
    assert alerts.fired(other.name) == []


def test_a_paused_real_time_alert_stays_silent_until_resumed(alerts, receiver, service):
    """helpers.splunk.pause_alert / resume_alert: what notebooks 05 and 06 do while a person
    works an incident the automation would otherwise answer."""
    from helpers import splunk

    saved = alerts.create("search index={index} eventName=Stop*", receiver.url,
                          **{"dispatch.earliest_time": "rt-5m", "dispatch.latest_time": "rt",
                             "alert.digest_mode": "0"})  # fmt: skip
    assert splunk.pause_alert(saved.name, service=service) is True
    assert splunk.pause_alert(saved.name, service=service) is False  # already paused
    assert service.saved_searches[saved.name]["disabled"] == "1"
    alerts.send({"eventName": "StopLogging", "n": "paused"})
    splunk.resume_alert(saved.name, service=service)
    alerts.send({"eventName": "StopLogging", "n": "resumed"})
    [body] = receiver.wait(1)  # the second event's alert: the first, had it fired, came before
    assert body["result"]["n"] == "resumed"
    assert len(alerts.fired(saved.name)) == 1
    assert splunk.pause_alert("no-such-alert", service=service) is False


def test_fired_alerts_are_listed_through_splunklib(alerts, receiver, service):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url,
                          **{"alert.digest_mode": "0", "alert.severity": "5"})  # fmt: skip
    job = alerts.dispatch(saved)
    receiver.wait(3)
    groups = {g.name: g for g in service.fired_alerts}
    assert "-" in groups and groups[saved.name].count == 3
    listed = groups[saved.name].alerts.list()
    assert len(listed) == 3
    content = listed[0].content
    assert content["savedsearch_name"] == saved.name and content["sid"] == job.sid
    assert content["severity"] == "5" and content["digest_mode"] == "0"
    assert int(content["trigger_time"]) > 0
    # the saved search's own view of its alerts, and one alert by name
    assert len(service.saved_searches[saved.name].fired_alerts.list()) == 3
    one = service.get(f"alerts/fired_alerts/{listed[0].name}", output_mode="json")
    assert json.loads(one.body.read())["entry"][0]["content"]["sid"] == job.sid
    wait_for(lambda: {a["webhook_status"] for a in alerts.fired(saved.name)} == {"delivered"})


def test_fired_alerts_need_authentication(splunk):
    response = http().get(splunk.url + "/services/alerts/fired_alerts", timeout=10)
    assert response.status_code == 401


def test_unknown_fired_alert_group_is_a_key_error(service):
    with pytest.raises(KeyError):
        service.fired_alerts["no-such-search-or-alert"]


def test_alerts_page_and_results_link(splunk, alerts, receiver):
    alerts.send(FAILS[0])
    saved = alerts.create("search index={index} action=fail", receiver.url)
    alerts.dispatch(saved)
    [body] = receiver.wait(1)
    session = http()
    page = session.get(splunk.url + "/en-US/app/search/alerts", timeout=10)
    assert page.status_code == 200 and "Triggered alerts" in page.text
    link = session.get(body["results_link"], timeout=10, allow_redirects=False)
    assert link.status_code == 302 and "/alerts?sid=" in link.headers["Location"]


def test_a_real_time_alert_dispatched_by_hand_runs_over_its_window(alerts, receiver):
    alerts.send({"eventName": "StopLogging", "trail": "t1"})
    rt = {"dispatch.earliest_time": "rt-1h", "dispatch.latest_time": "rt", "cron_schedule": ""}
    saved = alerts.create("search index={index} eventName=StopLogging", **rt)  # no webhook yet
    saved.update(**{"actions": "webhook", "action.webhook.param.url": receiver.url})
    job = alerts.dispatch(saved)
    [body] = receiver.wait(1)
    assert body["sid"] == job.sid and body["result"]["trail"] == "t1"


def test_real_time_count_condition_counts_over_the_window(alerts, receiver):
    saved = alerts.create(
        "search index={index} action=fail",
        receiver.url,
        **{
            "dispatch.earliest_time": "rt-10m",
            "dispatch.latest_time": "rt",
            "alert_type": "number of events",
            "alert_comparator": "greater than",
            "alert_threshold": "2",
            "alert.suppress": "1",
            "alert.suppress.period": "1h",
        },
    )
    for event in FAILS:  # one at a time: each batch alone is never more than 2 events
        alerts.send(event)
    [body] = receiver.wait(1)
    assert body["search_name"] == saved.name
    # had it fired on fewer than three events, the throttle would have held this one back
    assert [f["result_count"] for f in alerts.fired(saved.name)] == ["3"]


@pytest.mark.parametrize(
    ("attrs", "named"),
    [
        ({"cron_schedule": "every minute"}, "cron_schedule"),
        ({"alert_type": "number of cats"}, "alert_type"),
        ({"alert_comparator": "bigger than"}, "alert_comparator"),
        ({"alert_threshold": "ten"}, "alert_threshold"),
        ({"alert.suppress.period": "soon"}, "alert.suppress.period"),
    ],
)
def test_bad_alert_settings_are_rejected_and_change_nothing(alerts, receiver, attrs, named):
    with pytest.raises(HTTPError) as created:
        alerts.create("search index={index}", receiver.url, **attrs)
    assert created.value.status == 400 and named in str(created.value)
    saved = alerts.create("search index={index}", receiver.url, alert_threshold="1")
    with pytest.raises(HTTPError) as updated:
        saved.update(**attrs)
    assert updated.value.status == 400 and named in str(updated.value)
    assert saved.refresh()["alert_threshold"] == "1"
    assert all(saved[key] != value for key, value in attrs.items())


def test_untracked_alerts_send_webhooks_but_are_not_listed(alerts, receiver, service):
    alerts.send(*FAILS)
    saved = alerts.create("search index={index} action=fail", receiver.url,
                          **{"alert.track": "0"})  # fmt: skip
    job = alerts.dispatch(saved)
    assert receiver.wait(1)[0]["sid"] == job.sid
    assert alerts.fired(saved.name) == []  # as Splunk: only alert.track=1 is a triggered alert
    assert saved.name not in {g.name for g in service.fired_alerts}

    def delivered():
        response = service.get("alerts/webhook_deliveries", output_mode="json")
        mine = [d for d in json.loads(response.body.read())["deliveries"] if d["sid"] == job.sid]
        return mine and mine[0]["status"] == "delivered"

    wait_for(delivered, what="the delivery listed as delivered")

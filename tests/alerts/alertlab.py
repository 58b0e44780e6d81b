"""Test helpers for alerting: saved searches through splunklib, events through HEC, polling."""

from __future__ import annotations

import json
import time

from tests.splunk.splunklab import Splunk, unique

#: Generous: these waits bound a failure, they do not measure speed.
TIMEOUT = 30.0


def wait_for(check, timeout: float = TIMEOUT, interval: float = 0.05, what: str = "condition"):
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Alerts:
    """One test's alerts and events in its own index."""

    def __init__(self, splunk: Splunk, service, index: str):
        self.splunk, self.service, self.index = splunk, service, index
        self.names: list[str] = []

    def create(self, search: str, url: str | None = None, **attrs):
        """A saved search over this test's index (``{index}`` in ``search`` is filled in),
        scheduled and tracked, with a webhook to ``url`` when given."""
        name = unique("alert")
        params = {"is_scheduled": "1", "cron_schedule": "0 0 1 1 *", "alert.track": "1"}
        if url:
            params.update({"actions": "webhook", "action.webhook.param.url": url})
        params.update(attrs)
        saved = self.service.saved_searches.create(name, search.format(index=self.index), **params)
        self.names.append(name)
        return saved

    def send(self, *events: dict, sourcetype="lab:alert", index=None, time: float | None = None):
        envelope = {"index": index or self.index, "sourcetype": sourcetype}
        if time is not None:
            envelope["time"] = time
        body = "\n".join(json.dumps({**envelope, "event": e}) for e in events)
        response = self.splunk.hec("/services/collector/event", body)
        assert response.status_code == 200, response.text
        return response

    def fired(self, name: str) -> list[dict]:
        """The fired alerts of one saved search, as the JSON API lists them (newest first)."""
        response = self.service.get(f"alerts/fired_alerts/{name}", output_mode="json", count=0)
        return [e["content"] for e in json.loads(response.body.read())["entry"]]

    def dispatch(self, saved, **kwargs):
        """``dispatch(trigger_actions=1)`` and wait for the job, as lab code does."""
        job = saved.dispatch(trigger_actions=1, **kwargs)
        wait_for(job.is_done, what=f"job {job.sid}")
        return job

    def cleanup(self) -> None:
        for name in self.names:
            if name in self.service.saved_searches:
                self.service.saved_searches.delete(name)

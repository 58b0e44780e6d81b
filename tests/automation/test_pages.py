"""What a person watching the demo sees: the automation's pages and the Slack bot, in a browser.

Headless Chromium opens the incidents list and one incident's page for incidents created by a
Splunk webhook (hostile fields shown as text, no script runs), and types ``/secbot status`` in
the wired world's Slack channel view to get the automation's answer.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from tests.automation.test_server import _row

pytestmark = pytest.mark.stack

#: Resources as an attacker names them (an alert() that ran would block the page: the test fails).
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>"]
TITLE = "<b>Opened</b> <script>window.__xss=5</script><img src=x onerror=window.__xss=6>"
#: Set LAB_SCREENSHOTS=<folder> to keep each page's screenshot there (they are never committed).
SHOTS = os.environ.get("LAB_SCREENSHOTS")


def _shot(browser, name: str, tmp_path: Path) -> Path:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return browser.screenshot(folder / f"{name}.png")


@pytest.fixture(scope="module")
def hostile(wired) -> list[dict]:
    """Incidents whose resource and title are HTML, created through the Splunk webhook."""
    tag = uuid.uuid4().hex[:6]
    rows = [_row(resource=f"{payload} {tag}", title=TITLE) for payload in HOSTILE]
    for row in rows:
        assert wired.post_alert(row, sid=f"rt_pages_{tag}").status_code == 202
    return [wired.wait_state(r["dedup_key"], "planned") for r in rows]


def _no_script_ran(browser) -> None:
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.querySelectorAll('main script').length") == 0
    assert browser.evaluate("typeof window.__xss") == "undefined"


def test_the_incidents_page_shows_hostile_fields_as_text(browser, wired, hostile, tmp_path):
    browser.open(wired.url + "/")
    browser.wait_for("!!document.querySelector('#incidents tbody tr')", "the incidents table")
    text = browser.text()
    for incident in hostile:
        assert incident["resource"] in text
        assert incident["ticket"] in text
    _no_script_ran(browser)
    state = "#incidents tr.planned .state.planned"
    assert browser.visible(state)
    colour = browser.evaluate(
        f"getComputedStyle(document.querySelector('{state}')).backgroundColor"
    )
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(229, 231, 235)")  # its state's own colour
    _shot(browser, "incidents", tmp_path)
    # A row's link opens that incident, however odd its dedup key.
    browser.click(f"#incidents a[href='/incidents/{_quoted(hostile[1])}']")
    browser.wait_for(
        "location.pathname.startsWith('/incidents/') && document.readyState === 'complete'"
        " && !!document.getElementById('timeline')",
        "the incident's page",
    )
    assert hostile[1]["dedup_key"] in browser.text()
    _no_script_ran(browser)


def _quoted(incident: dict) -> str:
    """The dedup key as the list's link writes it (Jinja's urlencode keeps /)."""
    return urllib.parse.quote(incident["dedup_key"], safe="/")


def test_an_incident_page_shows_its_timeline_and_actions(browser, wired, hostile, tmp_path):
    incident = hostile[1]
    path = "/incidents/" + urllib.parse.quote(incident["dedup_key"], safe="")
    browser.open(wired.url + path)
    browser.wait_for("!!document.querySelector('#timeline li')", "the timeline")
    text = browser.text()
    assert TITLE in text and incident["resource"] in text
    assert browser.evaluate("document.getElementById('state').textContent") == "planned"
    steps = browser.evaluate("[...document.querySelectorAll('#timeline li')].length")
    assert steps == len(incident["timeline"])
    assert browser.visible("#actions")
    _no_script_ran(browser)
    link = browser.evaluate("document.querySelector('#ticket a').getAttribute('href')")
    assert link == incident["ticket_url"] and link.startswith("http")
    _shot(browser, "incident", tmp_path)


def test_the_pages_carry_a_csp_and_deny_framing(wired, hostile):
    http = requests.Session()
    http.trust_env = False
    key = urllib.parse.quote(hostile[0]["dedup_key"], safe="")
    for path in ("/", f"/incidents/{key}"):
        resp = http.get(wired.url + path, timeout=10)
        assert resp.status_code == 200
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp or "unsafe-inline" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "<img" not in resp.text and "<script>" not in resp.text


class _Inbox:
    def counts(self) -> dict:
        return {"ready": 0, "in_flight": 0, "dead": 0}

    def dead_letters(self, limit: int = 50) -> list:
        return []


class _Store:
    def __init__(self, incident: dict):
        self.incident = incident

    def get(self, key: str) -> dict | None:
        return self.incident if key == self.incident["dedup_key"] else None

    def list(self, state=None, limit: int = 500) -> list[dict]:
        return [self.incident]

    def counts(self) -> dict:
        return {self.incident["state"]: 1}


class _Automation:
    """Just enough of an Automation to render the pages for one stored incident."""

    def __init__(self, incident: dict):
        self.store, self.inbox = _Store(incident), _Inbox()


@pytest.mark.parametrize("url", ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:x",
                                 "data:text/html,<script>alert(1)</script>"])  # fmt: skip
def test_a_javascript_ticket_url_is_never_a_link_target(hostile, url):
    from helpers.automation.app import AutomationApp

    incident = dict(hostile[0], ticket_url=url)
    app = AutomationApp(_Automation(incident), splunk_token="t", jira_secret=None,
                        slack_secret=None)  # fmt: skip
    client = Client(app)
    key = urllib.parse.quote(incident["dedup_key"], safe="")
    for path in ("/", f"/incidents/{key}"):
        page = client.get(path).get_data(as_text=True)
        assert incident["ticket"] in page
        assert "javascript:" not in page.lower() and "data:text" not in page


def test_secbot_status_typed_in_the_slack_view_shows_the_answer(browser, wired, tmp_path):
    row = _row(title="Security group opened to the world")
    assert wired.post_alert(row, sid=f"rt_cmd_{uuid.uuid4().hex[:6]}").status_code == 202
    incident = wired.wait_state(row["dedup_key"], "planned")
    ticket = incident["ticket"]
    slack = wired.env["SLACK_API_URL"].rstrip("/").removesuffix("/api")
    channel = incident["slack"]["channel"]

    browser.open(f"{slack}/archives/{channel}?as=bob")
    assert browser.visible("#compose input[name=text]")
    browser.type("#compose input[name=text]", f"/secbot status {ticket}")
    browser.press_enter()
    answer = f"ticket {ticket}"
    browser.wait_for(
        f"document.body.innerText.includes({json.dumps(answer)})", "the automation's answer"
    )
    text = browser.text()
    line = next(x for x in text.splitlines() if answer in x)
    assert "planned" in line and incident["resource"] in line
    assert "Only visible to bob" in text
    assert browser.evaluate("typeof window.__xss") == "undefined"
    _shot(browser, "slack-secbot", tmp_path)
    # Alice never sees bob's ephemeral answer.
    browser.open(f"{slack}/archives/{channel}?as=alice")
    assert answer not in browser.text()

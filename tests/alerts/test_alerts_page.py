"""A person's view of fired alerts: headless Chromium logs in on the search page, follows the
"Triggered alerts" link and finds the alert with its webhook delivered, and the delivery."""

from __future__ import annotations

import json


def test_the_alerts_page_lists_a_fired_alert_and_its_delivery(browser, splunk, alerts, receiver):
    alerts.send({"user": "alice", "action": "fail"})
    saved = alerts.create("search index={index} action=fail", receiver.url)
    alerts.dispatch(saved)
    receiver.wait(1)

    browser.open(splunk.url + "/en-US/app/search/search")
    browser.wait_for("!!document.querySelector('#login:not(.hidden)')", "the login form")
    browser.evaluate(
        f"document.getElementById('password').value = {json.dumps(splunk.password)};"
        "document.getElementById('login').requestSubmit()"
    )
    browser.wait_for("!!sessionStorage.getItem('splunkSessionKey')", "the login")
    browser.click("a[href='/en-US/app/search/alerts']")
    row = f"Array.from(document.querySelectorAll('#alerts tbody tr'))" \
          f".find(tr => tr.innerText.includes({json.dumps(saved.name)}))"  # fmt: skip
    browser.wait_for(f"!!({row}) && ({row}).innerText.includes('delivered')", "the alert row")
    deliveries = "document.querySelector('#deliveries tbody').innerText"
    browser.wait_for(f"{deliveries}.includes({json.dumps(saved.name)})", "the delivery row")
    assert saved.name in browser.text()

"""The search page: log in, type SPL, read the results table, the fields and saved searches."""

from __future__ import annotations

import json

import pytest

from tests.browser.cdp import Browser
from tests.splunk.splunklab import http, unique


@pytest.mark.parametrize("path", ["/", "/en-US/app/search/search"])
def test_the_page_is_served_without_login(splunk, path):
    resp = http().get(splunk.url + path, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert 'id="spl"' in resp.text
    assert "<script>" not in resp.text and "<style>" not in resp.text  # all code is static


def test_page_values_are_escaped(splunk):
    """A sid from the query string reaches the alerts page only as escaped text."""
    resp = http().get(
        splunk.url + "/en-US/app/search/alerts", params={"sid": '"><script>x()</script>'},
        timeout=10,
    )  # fmt: skip
    assert resp.status_code == 200 and resp.headers["X-Frame-Options"] == "DENY"
    assert "<script>x()" not in resp.text
    assert "&#34;&gt;&lt;script&gt;x()&lt;/script&gt;" in resp.text


@pytest.mark.parametrize(("name", "kind"), [("search.js", "text/javascript"),
                                            ("alerts.css", "text/css")])  # fmt: skip
def test_the_pages_scripts_and_styles_are_served(splunk, name, kind):
    resp = http().get(f"{splunk.url}/en-US/static/lab/{name}", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(kind)
    assert http().get(f"{splunk.url}/en-US/static/lab/../app.py", timeout=10).status_code == 404


def _set(browser: Browser, selector: str, value: str) -> None:
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")


def test_search_results_fields_and_saved_searches(browser, splunk, service):
    index = unique("web")
    service.indexes.create(index)
    body = "\n".join(
        json.dumps({"index": index, "event": {"user": user, "action": "login"}})
        for user in ["alice", "bob", "alice"]
    )
    assert splunk.hec("/services/collector/event", body).status_code == 200
    saved = unique("Web Alert")
    service.saved_searches.create(saved, f"search index={index} user=bob")

    browser.open(splunk.url + "/")
    browser.wait_for("!document.querySelector('#login').classList.contains('hidden')", "login")
    _set(browser, "#password", "wrong")
    browser.click("#login button")
    browser.wait_for("document.querySelector('#login-error').textContent", "login error")
    _set(browser, "#password", splunk.password)
    browser.click("#login button")
    browser.wait_for(
        "!document.querySelector('#search-view').classList.contains('hidden')", "search"
    )

    _set(browser, "#spl", f"index={index} | stats count by user")  # no leading "search"
    browser.click("#search-form button")
    browser.wait_for("document.querySelectorAll('#table tr').length === 3", "results table")
    cells = browser.evaluate(
        "[...document.querySelectorAll('#table tr')].map(r => r.innerText.split('\\t'))"
    )
    assert cells == [["user", "count"], ["alice", "2"], ["bob", "1"]]
    fields = browser.evaluate(
        "[...document.querySelectorAll('#field-list li')].map(li => li.firstChild.textContent)"
    )
    assert fields == ["user", "count"]
    assert "2 results" in browser.evaluate("document.querySelector('#status').textContent")

    _set(browser, "#spl", f"index={index} | frobnicate")
    browser.click("#search-form button")
    browser.wait_for(
        "document.querySelector('#status').classList.contains('error')", "the error message"
    )
    assert "Unknown search command 'frobnicate'" in browser.evaluate(
        "document.querySelector('#status').textContent"
    )

    browser.click("#tab-saved")
    browser.wait_for(f"document.body.innerText.includes({json.dumps(saved)})", "saved searches")
    row = browser.evaluate(
        "[...document.querySelectorAll('#saved-table tr')]"
        f".find(r => r.innerText.includes({json.dumps(saved)})).innerText"
    )
    assert f"search index={index} user=bob" in row
    browser.evaluate(
        "[...document.querySelectorAll('#saved-table tr')]"
        f".find(r => r.innerText.includes({json.dumps(saved)})).querySelector('button').id = 'open'"
    )
    browser.click("#open")
    browser.wait_for("document.querySelectorAll('#table tr').length === 2", "saved search results")
    assert "bob" in browser.evaluate("document.querySelector('#table').innerText")
    service.saved_searches.delete(saved)
    service.indexes.delete(index)

"""The jobs page in headless Chromium: jobs and runs with their status, a hostile parameter and a
hostile error shown as text, and an executed notebook's own scripts held in a sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import jobs
from helpers.config import Settings
from helpers.runtime.serve import Server
from tests.jobs.jobslab import jobs_file, write_notebook

#: An alert() that ran would block the page and fail the test; a set __xss would be seen.
PARAMETER = "<img src=x onerror=window.__xss=1>"
ERROR = "<script>window.__xss=2</script> & <b>bold</b>"
#: What an executed notebook may display: raw HTML with a script (nbconvert keeps it as it is).
DISPLAYED = "<p id='shown'>shown</p><script>window.__xss=3; document.title='owned'</script>"
SHOTS = os.environ.get("LAB_SCREENSHOTS")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A jobs page over an archive with one succeeded, one failed and one displaying run."""
    folder = tmp_path_factory.mktemp("page")
    path = jobs_file(
        folder / "book",
        {
            "greet": {"schedule": "*/5 * * * *", "description": "says hello"},
            "broken": {"notebook": "fail", "description": "always fails"},
            "display": {"notebook": "display.ipynb"},
        },
    )
    write_notebook(
        folder / "book" / "display.ipynb",
        f"PAYLOAD = {DISPLAYED!r}",
        "from IPython.display import HTML, display\ndisplay(HTML(PAYLOAD))",
    )
    settings = Settings(_env_file=None, jobs_file=path, jobs_archive=folder / "archive")
    service = jobs.build(settings, scheduling=False)
    runs = {
        "greet": service.runner.run(service.jobs["greet"], {"GREETING": PARAMETER}),
        "broken": service.runner.run(service.jobs["broken"], {"MESSAGE": ERROR}),
        "display": service.runner.run(service.jobs["display"]),
    }
    assert [r.status for r in runs.values()] == ["succeeded", "failed", "succeeded"]
    with Server(service.app) as server:
        yield server.url, runs


def _shot(browser, name: str, tmp_path: Path) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    browser.screenshot(folder / f"jobs-{name}.png")


def test_the_page_lists_jobs_and_runs_with_hostile_text_as_text(browser, site, tmp_path):
    url, runs = site
    browser.open(url + "/")
    browser.wait_for("!!document.querySelector('#runs tbody tr[data-run]')", "the runs table")
    text = browser.text()
    for name in ("greet", "broken", "display", "says hello", "*/5 * * * *", "by hand"):
        assert name in text
    assert json.dumps(PARAMETER) in text  # the parameter, shown as the text it is
    assert "RuntimeError: " + ERROR in text  # the error too
    injected = "document.querySelectorAll('main img, main script, main b').length"
    assert browser.evaluate(injected) == 0
    assert browser.evaluate("typeof window.__xss") == "undefined"
    failed = f"#runs tr[data-run='{runs['broken'].id}'] .status.failed"
    assert browser.visible(failed)
    colour = browser.evaluate(f"getComputedStyle(document.querySelector({failed!r})).color")
    assert colour == "rgb(127, 29, 29)"  # failed runs are red
    assert browser.visible("#jobs tr[data-job='broken'] .status.failed")  # its last run
    _shot(browser, "page", tmp_path)


def test_a_run_s_html_opens_from_the_page_in_a_sandbox_that_runs_no_script(browser, site, tmp_path):
    url, runs = site
    run = runs["display"]
    browser.open(url + "/")
    link = f"#runs tr[data-run='{run.id}'] a.html"
    browser.wait_for(f"!!document.querySelector({link!r})", "the run's HTML link")
    browser.click(link)
    browser.wait_for(
        f"location.pathname === '/runs/display/{run.id}/notebook.html'"
        " && document.readyState === 'complete' && !!document.getElementById('shown')",
        "the executed notebook",
    )
    assert browser.evaluate("typeof window.__xss") == "undefined"  # its script did not run
    assert browser.evaluate("document.title") != "owned"
    assert browser.evaluate("window.origin") == "null"  # an opaque origin: not the page's
    _shot(browser, "run", tmp_path)


def test_each_job_s_own_page_lists_only_its_runs(browser, site):
    url, runs = site
    browser.open(f"{url}/jobs/greet")
    browser.wait_for("!!document.querySelector('#runs tbody tr[data-run]')", "greet's runs")
    assert browser.evaluate("document.querySelectorAll('#runs tbody tr[data-run]').length") == 1
    assert runs["greet"].id in browser.text() and runs["broken"].id not in browser.text()

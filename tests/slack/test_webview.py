"""The web view: Block Kit rendering, escaping, and clicking a button through the page's form."""

from __future__ import annotations

import re

import pytest
import requests

from labstack.slack.webview import mrkdwn

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Bucket made public"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Severity* high <http://jira.local/SEC-4|SEC-4>"},
        "fields": [
            {"type": "mrkdwn", "text": "*Actor*\ndev-alice"},
            {"type": "mrkdwn", "text": "*Resource*\n`payroll-exports`"},
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "dedup key `k1`"}]},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approve_remediation",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "SEC-4",
            }
        ],
    },
]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold* and _it_", "<b>bold</b> and <i>it</i>"),
        ("`code` ~gone~", "<code>code</code> <s>gone</s>"),
        ("<https://x.test/a?b=1&c=2|link>", '<a href="https://x.test/a?b=1&amp;c=2">link</a>'),
        ("a\nb", "a<br>b"),
        ("<script>alert(1)</script>", "<b>@script</b>alert(1)<b>@/script</b>"),
        ("&lt;b&gt; stays text", "&lt;b&gt; stays text"),
        ("snake_case_name", "snake_case_name"),
        (":red_circle: high :no_such_emoji:", "\U0001f534 high :no_such_emoji:"),
    ],
)
def test_mrkdwn(text, html):
    assert mrkdwn(text) == html


@pytest.mark.stack
def test_channel_page_renders_block_kit(admin, client, channel):
    client.chat_postMessage(channel=channel["id"], text="fallback", blocks=BLOCKS)
    page = admin.page(f"/archives/{channel['id']}")
    assert "<h3>Bucket made public</h3>" in page
    assert '<a href="http://jira.local/SEC-4">SEC-4</a>' in page
    assert '<div class="fields"><div><b>Actor</b><br>dev-alice</div>' in page
    assert '<div class="context">dedup key <code>k1</code></div>' in page
    assert 'data-action-id="approve_remediation">Approve</button>' in page
    assert f"#{channel['name']}" in admin.page("/")


@pytest.mark.stack
def test_message_text_is_escaped(admin, client, channel):
    client.chat_postMessage(channel=channel["id"], text='<img src=x onerror="alert(1)">')
    page = admin.page(f"/archives/{channel['id']}")
    assert "<img src=x" not in page


@pytest.mark.stack
def test_threads_show_under_their_parent(admin, client, channel):
    parent = client.chat_postMessage(channel=channel["id"], text="parent message")
    client.chat_postMessage(channel=channel["id"], text="reply message", thread_ts=parent["ts"])
    client.chat_postMessage(channel=channel["id"], text="later message")
    page = admin.page(f"/archives/{channel['id']}")
    order = [page.index(t) for t in ("parent message", "reply message", "later message")]
    assert order == sorted(order)
    assert re.search(r'class="msg reply"[^>]*>.*?reply message', page)


@pytest.mark.stack
def test_clicking_the_form_delivers_and_shows_the_outcome(admin, client, channel, receiver):
    posted = client.chat_postMessage(channel=channel["id"], text="approve?", blocks=BLOCKS)
    admin.set_request_url(receiver.url)
    try:
        session = requests.Session()
        session.trust_env = False
        resp = session.post(
            f"{admin.root}/archives/{channel['id']}/click",
            data={"ts": posted["ts"], "action_id": "approve_remediation", "user": "bob"},
            timeout=10,
        )
    finally:
        admin.set_request_url(None)
    assert resp.status_code == 200  # after the 303 back to the channel
    assert receiver.wait(timeout=10)[-1].user == "bob"
    assert "bob clicked “Approve” · delivered to the request URL (HTTP 200)" in resp.text


@pytest.mark.stack
def test_unknown_channel_page_is_404(admin):
    with pytest.raises(requests.HTTPError):
        admin.page("/archives/CNOPE")

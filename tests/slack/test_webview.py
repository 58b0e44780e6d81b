"""The web view: Block Kit rendering, escaping, and clicking a button through the page's form."""

from __future__ import annotations

import re

import pytest
import requests

from labstack.slack.session import COOKIE
from labstack.slack.webview import mrkdwn
from tests.slack.lab import ViewUser

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
    bob = ViewUser(admin.root, "bob")
    admin.set_request_url(receiver.url)
    try:
        resp = bob.click(channel["id"], posted["ts"], "approve_remediation")
    finally:
        admin.set_request_url(None)
    assert resp.status_code == 200  # after the 303 back to the channel
    assert receiver.wait(timeout=10)[-1].user == "bob"
    assert "bob clicked “Approve” · delivered to the request URL (HTTP 200)" in resp.text


@pytest.mark.stack
def test_a_click_acts_as_the_signed_in_user_only(admin, client, channel, receiver):
    posted = client.chat_postMessage(channel=channel["id"], text="approve?", blocks=BLOCKS)
    alice = ViewUser(admin.root, "alice")
    data = {"csrf": alice.csrf(channel["id"]), "ts": posted["ts"],
            "action_id": "approve_remediation", "user": "bob"}  # fmt: skip
    admin.set_request_url(receiver.url)
    try:
        assert alice.post(f"/archives/{channel['id']}/click", data).status_code == 200
    finally:
        admin.set_request_url(None)
    assert receiver.wait(timeout=10)[-1].user == "alice"  # the form's "user" is not believed


def _altered(token: str) -> str:
    """``token`` with its last character changed, so it is never the token itself."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


def _forged_clicks(admin, channel, other, ts):
    """(why, session, form, headers) of clicks that are not a person on the channel's page."""
    alice = ViewUser(admin.root, "alice")
    token = alice.csrf(channel["id"])
    form = {"ts": ts, "action_id": "approve_remediation"}
    stranger = requests.Session()
    stranger.trust_env = False
    return [
        ("no session, no token", stranger, form, {}),
        ("no session, alice's token", stranger, {**form, "csrf": token}, {}),
        ("session, no token", alice.http, form, {}),
        ("session, a wrong token", alice.http, {**form, "csrf": _altered(token)}, {}),
        ("another channel's token", alice.http, {**form, "csrf": alice.csrf(other["id"])}, {}),
        (
            "another site's form",
            alice.http,
            {**form, "csrf": token},
            {"Origin": "http://evil.example"},
        ),
        (
            "a cross-site fetch",
            alice.http,
            {**form, "csrf": token},
            {"Sec-Fetch-Site": "cross-site"},
        ),
    ]


@pytest.mark.stack
def test_forged_clicks_are_refused_and_nothing_is_sent(admin, client, channel, receiver):
    posted = client.chat_postMessage(channel=channel["id"], text="approve?", blocks=BLOCKS)
    other = admin.new_channel()
    admin.set_request_url(receiver.url)
    try:
        for why, session, form, headers in _forged_clicks(admin, channel, other, posted["ts"]):
            resp = session.post(
                f"{admin.root}/archives/{channel['id']}/click", data=form, headers=headers,
                timeout=10,
            )  # fmt: skip
            assert resp.status_code == 403, why
    finally:
        admin.set_request_url(None)
    assert receiver.received == [] and receiver.rejected == 0
    assert "clicked" not in ViewUser(admin.root).page(channel["id"])


@pytest.mark.stack
def test_a_spoofed_host_never_becomes_the_signed_response_url(admin, client, channel, receiver):
    posted = client.chat_postMessage(channel=channel["id"], text="approve?", blocks=BLOCKS)
    alice = ViewUser(admin.root)
    alice.page(channel["id"])
    # requests matches cookies against a Host header that was set: send the session by hand
    cookie = f"{COOKIE}={alice.http.cookies[COOKIE]}"
    admin.set_request_url(receiver.url)
    try:
        resp = alice.click(
            channel["id"], posted["ts"], "approve_remediation", Host="evil.example", Cookie=cookie
        )
        assert resp.status_code == 200, resp.text
    finally:
        admin.set_request_url(None)
    click = receiver.wait(timeout=10)[-1]
    assert click.response_url.startswith(admin.root + "/actions/")


@pytest.mark.stack
def test_the_view_ships_a_strict_csp_and_no_framing(admin, channel):
    resp = ViewUser(admin.root).http.get(f"{admin.root}/archives/{channel['id']}", timeout=10)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


HOSTILE = [
    {"type": "section", "text": "a string, not a text object <b>x</b>"},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "a1",
                "text": {"type": "plain_text", "text": "Go"},
                "style": 'primary" onmouseover="alert(1)',
            },
            {
                "type": "button",
                "action_id": "a2",
                "text": {"type": "plain_text", "text": "Link"},
                "url": "javascript:alert(2)",
            },
        ],
    },
    {"type": "image", "image_url": "javascript:alert(3)", "alt_text": "pic"},
]


@pytest.mark.stack
def test_hostile_blocks_and_attachments_are_drawn_harmless(admin, channel):
    from slack_sdk.webhook import WebhookClient

    hook = WebhookClient(channel["webhook_url"])
    resp = hook.send(text="x", blocks=HOSTILE)
    assert resp.status_code in (200, 400)  # stored or refused: either way the page must work
    attachment = {"color": "red;background:url(http://evil.example/x)", "text": "att"}
    assert hook.send(text="y", attachments=[attachment]).body == "ok"
    page = ViewUser(admin.root).page(channel["id"])
    assert "onmouseover" not in page and "javascript:" not in page
    assert "evil.example" not in page


@pytest.mark.stack
def test_unknown_channel_page_is_404(admin):
    with pytest.raises(requests.HTTPError):
        admin.page("/archives/CNOPE")

"""splunkd endpoints the SDK's own integration tests reach (tools/sdk_suite.py), through
splunklib against a private Splunk whose management port speaks HTTPS (LAB_SPLUNK_TLS=on), as a
default splunkd does: bulletin messages, restart, server settings, capabilities, the parser,
job control, index settings and the stream receiver, saved-search ACLs, suppression and
schedules, macros, the login cookie and splunkd's own log in ``_internal``.

Every unhappy path answers Splunk's error shape (an HTTPError with a 4xx status) and changes
nothing."""

from __future__ import annotations

import itertools
import json
import re
import socket
import ssl
import stat
import time
import warnings
from urllib.parse import urlsplit

import pytest
import splunklib.binding as binding
import splunklib.client as client
import splunklib.results as results

from labstack.splunk import tls
from tests.splunk.splunklab import http, splunk_process, unique

TLS_ON = {"LAB_SPLUNK_TLS": "on"}


@pytest.fixture(scope="module")
def splunkd(tmp_path_factory):
    """A private Splunk with HTTPS on its management port (the state folder beside it)."""
    state = tmp_path_factory.mktemp("splunkd") / "splunk"
    with splunk_process(state, env=TLS_ON) as splunk:
        splunk.state_dir = state
        yield splunk


@pytest.fixture
def service(splunkd):
    return splunkd.connect()


def _eventually(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _status(call) -> int:
    with pytest.raises(binding.HTTPError) as err:
        call()
    return err.value.status


# -- HTTPS -----------------------------------------------------------------------------------
def test_management_port_speaks_https_with_a_private_self_signed_certificate(splunkd, service):
    assert splunkd.url.startswith("https://")
    assert service.info["version"].count(".") == 2
    folder = splunkd.state_dir / "tls"
    for name in (tls.CERT_FILE, tls.KEY_FILE):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # a client that verifies refuses it: it is self-signed, as splunkd's own certificate is
    parts = urlsplit(splunkd.url)
    strict = ssl.create_default_context()
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        strict.wrap_socket(raw, server_hostname=parts.hostname)


def test_plain_http_is_not_answered_on_the_https_port(splunkd):
    parts = urlsplit(splunkd.url)
    with pytest.raises(OSError):
        http().get(f"http://{parts.hostname}:{parts.port}/services/server/info", timeout=10)


def test_a_second_start_keeps_the_certificate(tmp_path):
    folder = tmp_path / "tls"
    first = tls.ensure_certificate(folder)[0].read_bytes()
    assert tls.ensure_certificate(folder)[0].read_bytes() == first
    assert tls.server_context(folder).minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_tls_setting_that_is_neither_on_nor_off_is_refused(value):
    with pytest.raises(ValueError, match="LAB_SPLUNK_TLS"):
        tls.tls_enabled({"LAB_SPLUNK_TLS": value})


# -- bulletin messages, restart, settings --------------------------------------------------------
def test_messages_post_replace_read_and_delete(service):
    name = unique("msg")
    service.messages.create(name, value="first", severity="info")
    service.messages.create(name, value="second", severity="warn")  # same name: replaced
    assert [m.name for m in service.messages].count(name) == 1
    assert service.messages[name].value == "second"
    assert service.messages[name]["severity"] == "warn"
    service.messages.delete(name)
    assert name not in service.messages


def test_bad_messages_are_refused_and_nothing_is_posted(service):
    name = unique("msg")
    assert _status(lambda: service.messages.create(name, value="x", severity="loud")) == 400
    assert _status(lambda: service.post("messages", name=name)) == 400  # no value
    assert name not in service.messages
    assert _status(lambda: service.delete(f"messages/{name}")) == 404


def test_restart_ends_sessions_and_clears_restart_required(splunkd, service):
    other = splunkd.connect()
    service.restart(timeout=60)  # posts restart_required, restarts, waits until it is gone
    assert not service.restart_required
    assert service.apps.get().status == 200  # restart() logged its own client in again
    assert _status(lambda: other.get("apps/local")) == 401  # an old session key is gone
    assert splunkd.connect().apps.get().status == 200


def test_settings_are_read_edited_and_need_a_restart(service):
    settings = service.settings
    for key in ("SPLUNK_HOME", "SPLUNK_DB", "mgmtHostPort", "serverName", "sessionTimeout"):
        assert key in settings.content
    assert settings["pass4SymmKey"] == "********"
    before = settings["sessionTimeout"]
    settings.update(sessionTimeout="42h")
    assert settings.refresh()["sessionTimeout"] == "42h"
    assert service.restart_required
    settings.update(sessionTimeout=before)
    service.restart(timeout=60)


def test_a_setting_splunkd_does_not_have_is_refused_and_nothing_changes(service):
    before = dict(service.settings.content)
    status = _status(lambda: service.post("server/settings/settings", sessionTimeout="9h", x="1"))
    assert status == 400
    assert _status(lambda: service.settings.update(sessionTimeout="a while")) == 400
    assert service.settings.refresh().content["sessionTimeout"] == before["sessionTimeout"]


def test_capabilities_and_server_info(service):
    assert "change_own_password" in service.capabilities
    info = service.info
    for key in ("licenseKeys", "licenseSignature", "master_guid", "os_build", "licenseState"):
        assert key in info


def test_parser_answers_commands_or_a_400(service):
    assert service.parse('search * abc="def" | dedup abc').status == 200
    assert _status(lambda: service.parse("xyzzy")) == 400
    assert _status(lambda: service.parse("search * | nosuchcommand")) == 400


# -- logins ------------------------------------------------------------------------------------
def test_login_hands_out_the_session_as_a_splunkd_cookie_that_alone_authenticates(splunkd):
    first = client.Service(**_where(splunkd), username="admin", password=splunkd.password)
    first.login()
    [(name, value)] = first.get_cookies().items()
    assert name == f"splunkd_{urlsplit(splunkd.url).port}"
    second = client.Service(**_where(splunkd), cookie=f"{name}={value}")
    assert second.apps.get().status == 200
    stranger = client.Service(**_where(splunkd), cookie=f"{name}=not-a-session")
    assert _status(lambda: stranger.apps.get()) == 401


def _where(splunkd) -> dict:
    parts = urlsplit(splunkd.url)
    return {"host": parts.hostname, "port": parts.port, "scheme": parts.scheme}


# -- jobs ----------------------------------------------------------------------------------------
def test_job_control_changes_the_job(service):
    job = service.jobs.create("search index=_internal | head 3")
    assert _eventually(job.is_done)
    job.pause()
    assert job.refresh()["isPaused"] == "1"
    job.unpause()
    assert job.refresh()["isPaused"] == "0"
    job.finalize()
    assert job.refresh()["isFinalized"] == "1"
    job.set_priority(3)
    assert job.refresh()["priority"] == "3"
    job.enable_preview()
    assert job.refresh()["isPreviewEnabled"] == "1"
    job.set_ttl(1234)
    assert job.refresh()["ttl"] == "1234"
    for key in ("cursorTime", "eventSorting", "remoteSearch", "searchProviders", "keywords"):
        assert key in job.content
    job.cancel()


def test_bad_job_control_is_refused_and_changes_nothing(service):
    job = service.jobs.create("search index=_internal | head 1")
    assert _status(lambda: job.set_priority(99)) == 400
    assert _status(lambda: job.post("control", action="explode")) == 400
    assert _status(lambda: job.set_ttl(-5)) == 400
    content = job.refresh().content
    assert content["priority"] == "5" and content["ttl"] != "-5"
    job.cancel()


def test_internal_holds_splunkds_access_log_and_index_star_leaves_it_out(service):
    service.apps.get()  # at least one request logged

    def found(spl):
        rows = results.JSONResultsReader(service.jobs.oneshot(spl, output_mode="json"))
        return [r for r in rows if isinstance(r, dict)]

    assert _eventually(lambda: found("search index=_internal sourcetype=splunkd_access | head 1"))
    [row] = found("search index=_internal sourcetype=splunkd_access apps | head 1 | table _raw")
    assert '"GET /services/apps/local' in row["_raw"]
    assert found("search index=* sourcetype=splunkd_access | head 1") == []
    assert found("search index=_internal sourcetype=splunkd loader starting")  # its start


def test_export_of_nothing_still_ends_with_a_last_row(service):
    stream = service.jobs.export("search index=main nothing-matches-this", output_mode="json")
    reader = results.JSONResultsReader(stream)
    assert [r for r in reader if isinstance(r, dict)] == []
    assert reader.is_preview is False


# -- indexes -------------------------------------------------------------------------------------
@pytest.fixture
def index(service):
    name = unique("ix")
    created = service.indexes.create(name)
    yield created
    if name in service.indexes:
        service.indexes.delete(name)


def test_disable_and_enable_an_index(service, index):
    index.disable()
    assert index.refresh()["disabled"] == "1"
    assert _status(lambda: index.submit(b"refused")) == 400
    index.enable()
    assert index.refresh()["disabled"] == "0"
    index.submit(b"accepted")
    assert _eventually(lambda: index.refresh()["totalEventCount"] == "1")


def test_bad_index_settings_are_refused_and_nothing_changes(service, index):
    assert _status(lambda: index.update(noSuchSetting="1")) == 400
    assert _status(lambda: index.update(disabled="perhaps")) == 400
    assert index.refresh()["disabled"] == "0"
    index.update(frozenTimePeriodInSecs="86400")
    assert index.refresh()["frozenTimePeriodInSecs"] == "86400"


def test_splunkds_own_indexes_are_there_and_stay(service):
    assert service.indexes.get_default() == "main"
    for name in ("_audit", "_internal", "main", "summary"):
        assert name in service.indexes
    assert _status(lambda: service.indexes.delete("_audit")) == 400
    assert "_audit" in service.indexes


def test_attach_streams_one_event_per_line_over_tls(service, index):
    with index.attached_socket(sourcetype="lab:stream") as sock:
        sock.send(b"first line\r\nsecond line\r\n")
    assert _eventually(lambda: index.refresh()["totalEventCount"] == "2")


# -- saved searches ------------------------------------------------------------------------------
@pytest.fixture
def saved(service):
    name = unique("ss")
    created = service.saved_searches.create(name, "search index=_internal | head 1")
    yield created
    if name in service.saved_searches:
        service.saved_searches.delete(name)


def test_saved_search_acl(saved):
    assert saved.access["perms"] is None
    saved.acl_update(sharing="global", owner="admin", **{"perms.read": "admin, power"})
    assert (saved.access["owner"], saved.access["sharing"]) == ("admin", "global")
    assert saved.access["perms"]["read"] == ["admin", "power"]


def test_bad_saved_search_acl_is_refused_and_nothing_changes(service, saved):
    post = saved.post  # body=: splunklib reads a sharing= keyword as the call's namespace
    assert _status(lambda: post("acl", body={"owner": "admin"})) == 400  # no sharing
    assert _status(lambda: post("acl", body={"owner": "admin", "sharing": "everyone"})) == 400
    assert saved.refresh().access["sharing"] == "app"


def test_suppress_and_unsuppress(saved):
    assert saved.suppressed == 0
    saved.suppress(100)
    assert 0 < saved.suppressed <= 100
    saved.unsuppress()
    assert saved.suppressed == 0
    assert _status(lambda: saved.post("suppress", expiration="-1")) == 400


def test_scheduled_times_follow_the_cron_schedule(saved):
    assert saved.scheduled_times() == []  # not scheduled
    saved.update(cron_schedule="*/5 * * * *", is_scheduled=True)
    times = saved.scheduled_times(earliest_time="now", latest_time="+1h")
    assert len(times) in (12, 13)
    assert {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {300.0}
    assert _status(lambda: saved.get("scheduled_times", earliest_time="not a time")) == 400


def test_history_lists_its_dispatches(saved):
    assert saved.history() == []
    job = saved.dispatch()
    assert job.sid in [j.sid for j in saved.history()]
    assert saved.refresh()["triggered_alert_count"] == "0"
    for key in ("dispatch.buckets", "action.summary_index", "restart_on_searchpeer_add"):
        assert key in saved.content


# -- macros --------------------------------------------------------------------------------------
def test_macro_fields_acl_and_delete(service):
    name = unique("mac") + "(1)"
    macro = service.macros.create(
        name, 'eval value="$v$"', args="v", validation="$v$ > 10", errormsg="too small"
    )
    assert (macro.args, macro.validation, macro.errormsg, macro.iseval) == (
        "v", "$v$ > 10", "too small", "0",
    )  # fmt: skip
    macro.update(iseval=True)
    assert macro.refresh()["iseval"] == "1"
    assert macro.access["perms"] is None
    macro.acl_update(sharing="app", owner="admin", **{"perms.read": "admin, nobody"})
    assert macro.access["perms"]["read"] == ["admin", "nobody"]
    service.macros.delete(name)
    assert name not in service.macros
    assert _status(lambda: service.delete(f"configs/conf-macros/{name}")) == 404


def test_bad_macro_fields_are_refused_and_nothing_is_made(service):
    name = unique("mac")
    assert _status(lambda: service.macros.create(name, "eval x=1", iseval="sometimes")) == 400
    assert name not in service.macros


def test_a_macro_expands_in_a_search(service):
    name = unique("mac")
    service.macros.create(name, 'eval test="123"')
    stream = service.jobs.oneshot(f"| makeresults count=1 | `{name}`", output_mode="json")
    rows = [r for r in results.JSONResultsReader(stream) if isinstance(r, dict)]
    assert [r["test"] for r in rows] == ["123"]
    service.macros.delete(name)


def _oneshot(service, spl: str) -> list[dict]:
    stream = service.jobs.oneshot(spl, output_mode="json")
    return [r for r in results.JSONResultsReader(stream) if isinstance(r, dict)]


@pytest.mark.parametrize(
    ("validation", "errormsg", "refused", "sound"),
    [
        ("low < high", "low must be below high", "low must be below high", True),
        ("$low$ < $high$", "", "The arguments of macro", True),  # $name$ too; a default message
        ('if(low < high, null(), "the range is upside down")', "", "upside down", True),
        ("low <", "", "The validation of macro", False),  # a broken rule is named, never a 500
    ],
)
def test_a_macro_checks_its_arguments_before_it_expands(
    service, validation, errormsg, refused, sound
):
    name = unique("range")
    service.macros.create(f"{name}(2)", 'eval low="$low$", high="$high$"', args="low,high",
                          validation=validation, errormsg=errormsg)  # fmt: skip
    try:
        if sound:
            rows = _oneshot(service, f"| makeresults count=1 | `{name}(12, 34)`")
            assert [(r["low"], r["high"]) for r in rows] == [("12", "34")]
        with pytest.raises(binding.HTTPError, match=re.escape(refused)) as err:
            _oneshot(service, f"| makeresults count=1 | `{name}(34, 12)`")
        assert err.value.status == 400
    finally:
        service.macros.delete(f"{name}(2)")


# -- the toolkit follows the scheme --------------------------------------------------------------
def test_the_toolkit_connects_over_https_when_splunk_url_says_so(splunkd):
    from helpers import splunk as toolkit
    from helpers.config import Settings

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in splunkd.settings().items()})
    service = toolkit.connect(settings)
    assert service.scheme == "https"
    frame = toolkit.search("| makeresults count=2", service=service)
    assert len(frame) == 2


def test_hec_speaks_https_too_as_splunklib_posts_to_it(splunkd):
    """A default splunkd serves HEC over HTTPS as well (the SDK's own test_hec_event)."""
    parts = urlsplit(splunkd.hec_url)
    assert parts.scheme == "https"
    hec = client.connect(host=parts.hostname, port=parts.port, scheme="https",
                         token=splunkd.hec_token)  # fmt: skip
    index = unique("hec-tls")
    splunkd.connect().indexes.create(index)
    body = json.dumps({"index": index, "event": "over https"})
    assert client.Endpoint(hec, "/services/collector/event").post("", body=body).status == 200
    service = splunkd.connect()
    assert _eventually(lambda: service.indexes[index].refresh()["totalEventCount"] == "1")


def test_the_toolkit_sends_to_https_hec_as_its_verification_setting_says(splunkd):
    from helpers import splunk as toolkit
    from helpers.config import Settings
    from helpers.hec import HecError

    settings = {k.lower(): v for k, v in splunkd.settings().items()}
    record = [{"event": "checked"}]
    # the default checks the certificate against the system's CAs: a self-signed one fails at
    # once (a setting to fix, not an outage to wait out), and the message says which setting
    with pytest.raises(HecError, match="SPLUNK_HEC_VERIFY=false") as refused:
        toolkit.send_events(record, sourcetype="t", settings=Settings(_env_file=None, **settings))
    assert refused.value.kind == "config"
    off = Settings(_env_file=None, **settings, splunk_hec_verify="false")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("default")
        assert toolkit.send_events(record, sourcetype="t", settings=off) == 1
    # the setting chose not to check: no InsecureRequestWarning at every batch
    assert not [w for w in warned if "Unverified HTTPS" in str(w.message)]
    # or pin it: the certificate itself is the CA bundle that signed it
    pinned = str(splunkd.state_dir / "tls" / tls.CERT_FILE)
    strict = Settings(_env_file=None, **settings, splunk_hec_verify=pinned)
    assert toolkit.send_events(record, sourcetype="t", settings=strict) == 1


# -- users ---------------------------------------------------------------------------------------
def test_a_user_made_over_rest_logs_in_and_is_removed(splunkd, service):
    name = unique("user")
    service.users.create(username=name, password="pass-word-1", roles=["user"])
    assert name in service.users
    assert service.users[name]["roles"] == ["user"]
    own = splunkd.connect(username=name, password="pass-word-1")
    assert own.macros.create(unique("mine"), 'eval mine="1"').name
    service.users.delete(name)
    assert name not in service.users
    assert _status(lambda: own.get("apps/local")) == 401  # their sessions went with them
    with pytest.raises(binding.AuthenticationError):
        splunkd.connect(username=name, password="pass-word-1")


def test_bad_users_are_refused_and_nothing_is_made(service):
    name = unique("user")
    assert _status(lambda: service.users.create(name, "pw", roles=["emperor"])) == 400
    assert name not in service.users
    assert _status(lambda: service.post("authentication/users", name=name, roles="user")) == 400
    assert name not in service.users
    service.users.create(name, "pw", roles="user")
    assert _status(lambda: service.users.create(name, "pw", roles="user")) == 409
    service.users.delete(name)
    with pytest.raises(KeyError):  # splunklib's answer to a 404 on delete
        service.users.delete(name)
    assert _status(lambda: service.delete("authentication/users/admin")) == 400


# -- fired alerts ----------------------------------------------------------------------------------
def test_a_deleted_saved_search_takes_its_fired_alerts_with_it(service):
    name = unique("alert")
    saved = service.saved_searches.create(
        name, "| makeresults count=1", alert_type="always", **{"alert.track": "1"},
        is_scheduled="1", cron_schedule="0 0 1 1 *",
    )  # fmt: skip
    saved.dispatch(trigger_actions=1)
    assert _eventually(lambda: saved.refresh().alert_count == 1)
    assert name in service.fired_alerts
    service.saved_searches.delete(name)
    assert name not in service.fired_alerts

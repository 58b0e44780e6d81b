"""`lab export splunk-app`: the catalog as a Splunk app, read back from its files, and installed
into a private local Splunk through splunklib, where it must alert like install_detections."""

from __future__ import annotations

import io
import tarfile
import time

import pytest
from splunklib.binding import HTTPError

from helpers import detections, splunk, splunk_app
from helpers.receivers import Receiver
from labstack.splunk.conf import ConfError, parse
from tests.conftest import private_world

HOOK = "https://automation.example.com/splunk/webhook/TOKEN"
APP = splunk_app.APP_NAME


def read(path) -> dict[str, str]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive if m.isfile()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return splunk_app.build(tmp_path_factory.mktemp("app"), webhook_url=HOOK, index="security")


def test_savedsearches_conf_is_the_catalog(built):
    stanzas = parse(read(built)[f"{APP}/default/savedsearches.conf"])
    catalog = detections.load()
    assert set(stanzas) == {d.id for d in catalog}
    for detection in catalog:
        expected = detections.saved_search_params(detection, HOOK)
        assert stanzas[detection.id] == expected, detection.id
        assert stanzas[detection.id]["search"] == detection.search  # multi-line SPL survives


def test_macro_lookups_transforms_and_app_conf(built):
    files = read(built)
    macros = parse(files[f"{APP}/default/macros.conf"])
    assert macros[detections.MACRO]["definition"] == detections.macro_definition("security")
    transforms = parse(files[f"{APP}/default/transforms.conf"])
    lookups = detections.lookups()
    assert {s: v["filename"] for s, v in transforms.items()} == {
        name.removesuffix(".csv"): name for name in lookups
    }
    for name, text in lookups.items():
        assert files[f"{APP}/lookups/{name}"] == text
    app = parse(files[f"{APP}/default/app.conf"])
    assert app["package"]["id"] == APP
    assert app["launcher"]["version"]
    assert parse(files[f"{APP}/metadata/default.meta"])[""]["export"] == "system"


def test_archive_is_one_folder_reproducible_and_private(built, tmp_path):
    with tarfile.open(built) as archive:
        names = archive.getnames()
        assert all(n == APP or n.startswith(f"{APP}/") for n in names)
        assert {m.mtime for m in archive} == {splunk_app.EPOCH}
    again = splunk_app.build(tmp_path, webhook_url=HOOK, index="security")
    assert again.read_bytes() == built.read_bytes()
    assert built.stat().st_mode & 0o777 == 0o600  # the webhook URL carries a token


def test_sns_variant_uses_the_add_on_action(tmp_path):
    path = splunk_app.build(tmp_path / "sns.tgz", sns_topic="lab-alerts", sns_region="us-east-1")
    stanza = parse(read(path)[f"{APP}/default/savedsearches.conf"])["root-account-usage"]
    assert stanza["actions"] == "aws_sns_alert"
    assert stanza["action.aws_sns_alert.param.topic_name"] == "lab-alerts"
    assert "action.webhook.param.url" not in stanza


def test_a_value_that_conf_cannot_hold_is_refused():
    with pytest.raises(splunk_app.ConfError, match="backslash"):
        splunk_app.conf_text({"x": {"search": "index=main \\"}})
    with pytest.raises(splunk_app.ConfError, match="key"):
        splunk_app.conf_text({"x": {"a = b": "1"}})


def test_conf_parser_names_the_bad_line():
    with pytest.raises(ConfError, match="line 2"):
        parse("[ok]\nno equals sign here\n", "x.conf")


# -- installed into a private Splunk ----------------------------------------------------------
@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with private_world(tmp_path_factory.mktemp("splunk-app") / ".lab", only=("splunk",)):
        yield splunk.connect()


ALERT_KEYS = ("search", "cron_schedule", "dispatch.earliest_time", "dispatch.latest_time",
              "alert_type", "alert.digest_mode", "alert.severity", "alert.suppress",
              "alert.suppress.period", "alert.suppress.fields", "actions",
              "action.webhook.param.url", "disabled", "qualifiedSearch")  # fmt: skip


def snapshot(service) -> dict[str, dict[str, str]]:
    ids = {d.id for d in detections.load()}
    return {
        s.name: {k: s.content.get(k) for k in ALERT_KEYS}
        for s in service.saved_searches
        if s.name in ids
    }


def fire_every_detection(receiver: Receiver) -> set[str]:
    """Send one positive example of each detection; the detections that alerted."""
    records = [d.positives[0].records()[0] for d in detections.load()]
    before = len(receiver.payloads)
    splunk.send_events(records, sourcetype="aws:cloudtrail", index="main")
    expected = len(records)
    deadline = time.monotonic() + 60
    while len(receiver.payloads) - before < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return {p["result"]["detection"] for p in receiver.payloads[before:]}


def test_installed_app_alerts_as_install_detections_does(service, tmp_path):
    with Receiver() as receiver:
        path = splunk_app.build(tmp_path, webhook_url=receiver.url)
        assert splunk.install_app(path, service=service) is True
        assert service.apps[APP]["version"]
        assert service.saved_searches["root-account-usage"].access.app == APP
        from_app = snapshot(service)
        fired_by_app = fire_every_detection(receiver)

        service.apps.delete(APP)
        assert snapshot(service) == {}
        splunk.install_detections(receiver.url, service=service, fresh=True)
        assert snapshot(service) == from_app
        fired_by_rest = fire_every_detection(receiver)
        for name in from_app:
            service.saved_searches.delete(name)
    ids = {d.id for d in detections.load() if d.enabled}
    assert fired_by_app == fired_by_rest == ids


def tar_bytes(files: dict[str, str], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


APP_CONF = "[launcher]\nversion = 1\n"
BAD = {
    "not an archive": (b"hello", "not a .tgz"),
    "path traversal": (tar_bytes({"evil/default/app.conf": APP_CONF, "../x": "1"}), "unsafe"),
    "a symlink": (tar_bytes({"evil/default/app.conf": APP_CONF}, "evil/link"), "not a file"),
    "two folders": (tar_bytes({"a/default/app.conf": APP_CONF, "b/x": "1"}), "one folder"),
    "no app.conf": (tar_bytes({"evil/default/macros.conf": "[m]\ndefinition = x\n"}), "app.conf"),
    "bad alert setting": (
        tar_bytes(
            {
                "evil/default/app.conf": APP_CONF,
                "evil/default/savedsearches.conf": "[evil]\nsearch = index=main\n"
                "is_scheduled = 1\nactions = webhook\naction.webhook.param.url = http://x/\n"
                "alert.suppress = 1\nalert.suppress.period = soon\n",
            }
        ),
        "evil",
    ),
    "a saved search with no search": (
        tar_bytes(
            {
                "evil/default/app.conf": APP_CONF,
                "evil/default/savedsearches.conf": "[evil]\ncron_schedule = * * * * *\n",
            }
        ),
        "needs 'search'",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_archive_is_refused_and_changes_nothing(service, tmp_path, case):
    data, message = BAD[case]
    path = tmp_path / "app.tgz"
    path.write_bytes(data)
    apps_before = {a.name for a in service.apps}
    saved_before = {s.name for s in service.saved_searches}
    with pytest.raises(HTTPError) as failure:
        service.apps.create(str(path), filename=True)
    assert failure.value.status == 400
    assert message in str(failure.value)
    assert {a.name for a in service.apps} == apps_before
    assert {s.name for s in service.saved_searches} == saved_before


def test_install_needs_update_to_replace_and_a_real_path(service, tmp_path):
    path = splunk_app.build(tmp_path, webhook_url="http://127.0.0.1:9/hook")
    service.saved_searches.create(detections.load()[0].id, "index=main")
    with pytest.raises(HTTPError, match="already exist in another app") as failure:
        service.apps.create(str(path), filename=True)
    assert failure.value.status == 409
    service.saved_searches.delete(detections.load()[0].id)
    service.post("apps/local", name=str(path), filename=True, update=True)
    with pytest.raises(HTTPError, match="update=true") as failure:
        service.apps.create(str(path), filename=True)
    assert failure.value.status == 409
    with pytest.raises(HTTPError, match="absolute file path"):
        service.apps.create("relative.tgz", filename=True)
    with pytest.raises(HTTPError, match="from a file only"):
        service.apps.create("my_app")
    with pytest.raises(HTTPError, match="built in"):
        service.apps.delete("search")
    service.apps.delete(APP)


def test_lab_export_writes_the_app_and_names_a_missing_setting(tmp_path, monkeypatch, capsys):
    from helpers.config import get_settings
    from labstack.cli import main

    out = tmp_path / "lab-app.tgz"
    assert main(["export", "splunk-app", "--out", str(out), "--webhook-url", HOOK]) == 0
    assert (
        parse(read(out)[f"{APP}/default/savedsearches.conf"])["root-account-usage"][
            "action.webhook.param.url"
        ]
        == HOOK
    )
    assert "keep it private" in capsys.readouterr().out

    monkeypatch.setenv("AUTOMATION_SPLUNK_WEBHOOK_URL", "")
    get_settings.cache_clear()
    try:
        assert main(["export", "splunk-app", "--out", str(tmp_path / "x.tgz")]) == 2
    finally:
        get_settings.cache_clear()
    assert "AUTOMATION_SPLUNK_WEBHOOK_URL" in capsys.readouterr().err
    assert not (tmp_path / "x.tgz").exists()

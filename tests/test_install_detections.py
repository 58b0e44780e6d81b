"""helpers.splunk.install_detections: the catalog as saved searches on the running Splunk."""

import pytest

from helpers import detections, splunk

pytestmark = pytest.mark.stack


def test_install_detections_creates_then_updates(lab_world):
    url = "http://127.0.0.1:9/splunk/alerts"
    first = splunk.install_detections(url)
    ids = {d.id for d in detections.load() if d.enabled}
    assert set(first) >= ids
    assert splunk.install_detections(url) == dict.fromkeys(first, "updated")
    saved = splunk.connect().saved_searches[next(iter(ids))]
    assert saved["action.webhook.param.url"] == url


def test_install_detections_names_the_missing_setting(lab_world, monkeypatch):
    from helpers.config import MissingSetting, load_settings

    settings = load_settings(automation_splunk_webhook_url="")
    with pytest.raises(MissingSetting, match="AUTOMATION_SPLUNK_WEBHOOK_URL"):
        splunk.install_detections(settings=settings)

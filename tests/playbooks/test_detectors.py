"""``re-enable-guardduty`` and ``restart-config-recorder`` against the emulated account: a
disabled detector is enabled, a stopped recorder records again, and ``verify`` reads it back.
GuardDuty uses a detector of the test's own; AWS Config allows one recorder per region, so that
test uses the lab's and leaves it recording."""

from __future__ import annotations

import pytest

from helpers import playbooks
from helpers.incident import Incident
from helpers.playbooks import Plan
from tests.playbooks.conftest import ACCOUNT

pytestmark = pytest.mark.stack

GUARDDUTY = playbooks.get("re-enable-guardduty")
CONFIG = playbooks.get("restart-config-recorder")


@pytest.fixture
def detector(clients):
    guardduty = clients.aws("guardduty")
    found = guardduty.create_detector(Enable=True)["DetectorId"]
    yield found
    guardduty.delete_detector(DetectorId=found)


def _status(clients, detector: str) -> str:
    return clients.aws("guardduty").get_detector(DetectorId=detector)["Status"]


def test_a_disabled_detector_is_enabled_and_rolls_back(clients, detector):
    clients.aws("guardduty").update_detector(DetectorId=detector, Enable=False)
    incident = Incident("guardduty-disabled", detector, ACCOUNT)
    assert not GUARDDUTY.verify(incident, clients).ok
    plan = GUARDDUTY.plan(incident, clients)
    assert [(c.operation, c.params) for c in plan.changes] == [
        ("UpdateDetector", {"DetectorId": detector, "Enable": True})
    ]
    GUARDDUTY.apply(plan, clients)
    assert _status(clients, detector) == "ENABLED"
    verification = GUARDDUTY.verify(incident, clients)
    assert verification.ok and verification.observed == {"status": "ENABLED"}
    assert GUARDDUTY.plan(incident, clients).nothing_to_do == f"detector {detector} is enabled"
    GUARDDUTY.apply(Plan(GUARDDUTY.name, detector, changes=plan.rollback), clients)
    assert _status(clients, detector) == "DISABLED"


def test_a_detector_tagged_auto_remediate_off_is_exempt(clients):
    guardduty = clients.aws("guardduty")
    detector = guardduty.create_detector(Enable=False, Tags={"auto-remediate": "off"})["DetectorId"]
    try:
        plan = GUARDDUTY.plan(Incident("guardduty-disabled", detector, ACCOUNT), clients)
        assert plan.changes == [] and plan.exempt.endswith("auto-remediate=off")
        assert _status(clients, detector) == "DISABLED"
    finally:
        guardduty.delete_detector(DetectorId=detector)


def test_a_deleted_detector_with_another_one_left_has_nothing_to_do(clients, detector):
    """The lab's own detector remains, so a deleted one is not recreated."""
    guardduty = clients.aws("guardduty")
    gone = guardduty.create_detector(Enable=True)["DetectorId"]
    guardduty.delete_detector(DetectorId=gone)
    plan = GUARDDUTY.plan(Incident("guardduty-disabled", gone, ACCOUNT), clients)
    assert plan.changes == [] and "is gone and another one exists" in plan.nothing_to_do


@pytest.fixture
def recorder(clients):
    """The lab's configuration recorder, recording again after the test."""
    config = clients.aws("config")
    name = config.describe_configuration_recorders()["ConfigurationRecorders"][0]["name"]
    yield name
    status = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])
    if not status["ConfigurationRecordersStatus"][0]["recording"]:
        config.start_configuration_recorder(ConfigurationRecorderName=name)


def test_a_stopped_recorder_records_again_and_rolls_back(clients, recorder):
    config = clients.aws("config")
    config.stop_configuration_recorder(ConfigurationRecorderName=recorder)
    incident = Incident("config-recorder-stopped", recorder, ACCOUNT)
    assert not CONFIG.verify(incident, clients).ok
    plan = CONFIG.plan(incident, clients)
    assert [c.operation for c in plan.changes] == ["StartConfigurationRecorder"]
    CONFIG.apply(plan, clients)
    assert CONFIG.verify(incident, clients).ok
    assert CONFIG.plan(incident, clients).nothing_to_do == f"recorder {recorder} is recording"
    CONFIG.apply(Plan(CONFIG.name, recorder, changes=plan.rollback), clients)
    assert not CONFIG.verify(incident, clients).ok


def test_a_recorder_that_does_not_exist_has_nothing_to_do(clients):
    incident = Incident("config-recorder-stopped", "no-such-recorder", ACCOUNT)
    plan = CONFIG.plan(incident, clients)
    assert plan.changes == []
    assert plan.nothing_to_do == "configuration recorder no-such-recorder no longer exists"
    assert not CONFIG.verify(incident, clients).ok

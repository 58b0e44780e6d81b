"""``restart-cloudtrail-logging`` against the emulated CloudTrail, on trails of the tests' own
(each logging into a bucket of its own, so no record reaches the lab's pipeline twice): a stopped
trail starts, reduced selectors (basic or advanced) are restored with their data-event selectors
kept, a narrowed trail records global and other-region events again, a deleted trail is
recreated, and ``verify`` reads each back."""

from __future__ import annotations

import pytest

from helpers import playbooks
from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Plan
from tests.playbooks.conftest import ACCOUNT, unique

pytestmark = pytest.mark.stack

PLAYBOOK = playbooks.get("restart-cloudtrail-logging")
DATA = {
    "ReadWriteType": "WriteOnly",
    "IncludeManagementEvents": False,
    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::some-bucket/"]}],
}
DATA_ADVANCED = {
    "Name": "S3 objects",
    "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
    ],
}


@pytest.fixture
def trail(clients, bucket):
    """A logging, multi-region trail of the test's own (in its own bucket); deleted after."""
    cloudtrail = clients.aws("cloudtrail")
    name = unique("t-trail")
    cloudtrail.create_trail(
        Name=name, S3BucketName=bucket(), IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True
    )
    cloudtrail.start_logging(Name=name)
    yield name
    if any(t["Name"] == name for t in cloudtrail.describe_trails()["trailList"]):
        cloudtrail.delete_trail(Name=name)


def _incident(name: str, detection: str = "cloudtrail-logging-stopped") -> Incident:
    return Incident(detection, name, ACCOUNT)


def _fix(clients, name: str, detection: str = "cloudtrail-logging-stopped") -> Plan:
    incident = _incident(name, detection)
    before = PLAYBOOK.verify(incident, clients)
    assert not before.ok, before.details
    plan = PLAYBOOK.plan(incident, clients)
    assert plan.changes, plan.describe()
    PLAYBOOK.apply(plan, clients)
    after = PLAYBOOK.verify(incident, clients)
    assert after.ok, after.details
    assert PLAYBOOK.plan(incident, clients).nothing_to_do  # and it stays fixed
    return plan


def _selectors(clients, name: str) -> dict:
    found = clients.aws("cloudtrail").get_event_selectors(TrailName=name)
    return {k: found.get(k) or [] for k in ("EventSelectors", "AdvancedEventSelectors")}


def _describe(clients, name: str) -> dict:
    """The trail named ``name`` (moto's describe_trails ignores trailNameList)."""
    trails = clients.aws("cloudtrail").describe_trails()["trailList"]
    return next(t for t in trails if t["Name"] == name)


def _logging(clients, name: str) -> bool:
    return clients.aws("cloudtrail").get_trail_status(Name=name)["IsLogging"]


def test_a_logging_trail_has_nothing_to_do(clients, trail):
    plan = PLAYBOOK.plan(_incident(trail), clients)
    assert plan.changes == [] and "is logging every management event" in plan.nothing_to_do
    assert PLAYBOOK.verify(_incident(trail), clients).ok


def test_a_stopped_trail_starts_logging_and_rolls_back(clients, trail):
    clients.aws("cloudtrail").stop_logging(Name=trail)
    plan = _fix(clients, trail)
    assert [c.operation for c in plan.changes] == ["StartLogging"]
    assert _logging(clients, trail)
    PLAYBOOK.apply(Plan(PLAYBOOK.name, trail, changes=plan.rollback), clients)
    assert not _logging(clients, trail)


@pytest.mark.parametrize(
    "reduced",
    [
        {"ReadWriteType": "All", "IncludeManagementEvents": False},
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},
        {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
    ],
    ids=["management-off", "write-only", "read-only"],
)
def test_reduced_selectors_are_restored_keeping_data_selectors(clients, trail, reduced):
    cloudtrail = clients.aws("cloudtrail")
    cloudtrail.put_event_selectors(TrailName=trail, EventSelectors=[reduced, DATA])
    reduced_back = _selectors(clients, trail)["EventSelectors"]
    plan = _fix(clients, trail, "cloudtrail-logging-reduced")
    assert [c.operation for c in plan.changes] == ["PutEventSelectors"]
    selectors = _selectors(clients, trail)["EventSelectors"]
    assert {"ReadWriteType": "All", "IncludeManagementEvents": True} in selectors
    assert [s["DataResources"] for s in selectors if s.get("DataResources")] == [
        DATA["DataResources"]
    ]
    PLAYBOOK.apply(Plan(PLAYBOOK.name, trail, changes=plan.rollback), clients)
    assert _selectors(clients, trail)["EventSelectors"] == reduced_back


def test_the_scenarios_selectors_data_only_read_only_are_restored(clients, trail):
    """What cloudtrail-event-selectors puts: read-only S3 data events, no management events."""
    clients.aws("cloudtrail").put_event_selectors(
        TrailName=trail,
        EventSelectors=[
            {
                "ReadWriteType": "ReadOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    _fix(clients, trail, "cloudtrail-logging-reduced")
    selectors = _selectors(clients, trail)["EventSelectors"]
    assert selectors[0] == {"ReadWriteType": "All", "IncludeManagementEvents": True}
    assert selectors[1]["DataResources"] == [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]


def test_advanced_selectors_without_management_events_are_restored(clients, trail):
    clients.aws("cloudtrail").put_event_selectors(
        TrailName=trail, AdvancedEventSelectors=[DATA_ADVANCED]
    )
    plan = _fix(clients, trail, "cloudtrail-logging-reduced")
    advanced = _selectors(clients, trail)["AdvancedEventSelectors"]
    assert DATA_ADVANCED in advanced  # the data selector is kept
    assert any(
        s["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]
        for s in advanced
    )
    PLAYBOOK.apply(Plan(PLAYBOOK.name, trail, changes=plan.rollback), clients)
    assert _selectors(clients, trail)["AdvancedEventSelectors"] == [DATA_ADVANCED]


def test_advanced_selectors_keeping_only_read_only_management_are_restored(clients, trail):
    read_only = {
        "Name": "reads",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["true"]},
        ],
    }
    clients.aws("cloudtrail").put_event_selectors(
        TrailName=trail, AdvancedEventSelectors=[read_only]
    )
    _fix(clients, trail, "cloudtrail-logging-reduced")
    assert read_only not in _selectors(clients, trail)["AdvancedEventSelectors"]


def test_complete_advanced_selectors_are_left_alone(clients, trail):
    complete = [
        {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        DATA_ADVANCED,
    ]
    clients.aws("cloudtrail").put_event_selectors(TrailName=trail, AdvancedEventSelectors=complete)
    plan = PLAYBOOK.plan(_incident(trail), clients)
    assert plan.changes == [] and plan.nothing_to_do
    assert PLAYBOOK.verify(_incident(trail), clients).ok


@pytest.mark.parametrize(
    "narrowed",
    [{"IncludeGlobalServiceEvents": False}, {"IsMultiRegionTrail": False}],
    ids=["no-global-events", "single-region"],
)
def test_a_trail_narrowed_by_update_trail_is_widened_again(clients, trail, narrowed):
    clients.aws("cloudtrail").update_trail(Name=trail, **narrowed)
    plan = _fix(clients, trail, "cloudtrail-logging-reduced")
    assert [c.operation for c in plan.changes] == ["UpdateTrail"]
    found = _describe(clients, trail)
    assert found["IsMultiRegionTrail"] and found["IncludeGlobalServiceEvents"]
    PLAYBOOK.apply(Plan(PLAYBOOK.name, trail, changes=plan.rollback), clients)
    found = _describe(clients, trail)
    for key, value in narrowed.items():
        assert found[key] is value


def test_stopped_and_reduced_both_fixed_in_one_plan(clients, trail):
    cloudtrail = clients.aws("cloudtrail")
    cloudtrail.put_event_selectors(
        TrailName=trail, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}]
    )
    cloudtrail.stop_logging(Name=trail)
    plan = _fix(clients, trail)
    assert [c.operation for c in plan.changes] == ["PutEventSelectors", "StartLogging"]


def test_a_deleted_trail_is_recreated_from_the_account_bucket_and_logs(clients, bucket):
    """CLOUDTRAIL_BUCKET names the bucket; here a settings copy points it at a bucket of the
    test's own, so the recreated trail does not deliver into the lab's pipeline."""
    own = bucket()
    name = unique("t-deleted")
    settings = clients.settings.model_copy(update={"cloudtrail_bucket": own,
                                                   "cloudtrail_trail": name})  # fmt: skip
    scoped = Clients(settings)
    cloudtrail = scoped.aws("cloudtrail")
    cloudtrail.create_trail(Name=name, S3BucketName=own)
    cloudtrail.delete_trail(Name=name)
    incident = Incident("cloudtrail-logging-stopped", name, ACCOUNT)
    assert PLAYBOOK.verify(incident, scoped).details == f"trail {name} does not exist"
    try:
        plan = PLAYBOOK.plan(incident, scoped)
        assert [c.operation for c in plan.changes] == ["CreateTrail", "StartLogging"]
        assert plan.changes[0].params["S3BucketName"] == own
        PLAYBOOK.apply(plan, scoped)
        found = _describe(scoped, name)
        assert found["S3BucketName"] == own and found["IsMultiRegionTrail"]
        assert found["IncludeGlobalServiceEvents"]
        assert cloudtrail.get_trail_status(Name=name)["IsLogging"]
        assert PLAYBOOK.verify(incident, scoped).ok
    finally:
        if any(t["Name"] == name for t in cloudtrail.describe_trails()["trailList"]):
            cloudtrail.delete_trail(Name=name)


def test_a_deleted_trail_without_a_bucket_setting_has_nothing_to_do(clients):
    name = unique("t-gone")
    settings = clients.settings.model_copy(update={"cloudtrail_bucket": None,
                                                   "cloudtrail_trail": name})  # fmt: skip
    plan = PLAYBOOK.plan(Incident("cloudtrail-logging-stopped", name, ACCOUNT), Clients(settings))
    assert plan.changes == [] and "CLOUDTRAIL_BUCKET is not set" in plan.nothing_to_do


def test_only_the_accounts_trail_is_recreated(clients):
    """Another trail's tags went with it, so nobody can tell it was meant to stay deleted."""
    assert clients.settings.cloudtrail_trail == "lab-trail"  # the local world names its trail
    plan = PLAYBOOK.plan(
        Incident("cloudtrail-logging-stopped", unique("t-practice"), ACCOUNT), clients
    )
    assert plan.changes == [] and "CLOUDTRAIL_TRAIL=lab-trail" in plan.nothing_to_do


def test_a_trail_tagged_auto_remediate_off_is_exempt_and_left_stopped(clients, trail):
    cloudtrail = clients.aws("cloudtrail")
    arn = _describe(clients, trail)["TrailARN"]
    cloudtrail.add_tags(ResourceId=arn, TagsList=[{"Key": "auto-remediate", "Value": "no"}])
    cloudtrail.stop_logging(Name=trail)
    plan = PLAYBOOK.plan(_incident(trail), clients)
    assert plan.changes == [] and plan.exempt == f"trail {trail} is tagged auto-remediate=no"
    assert not _logging(clients, trail)

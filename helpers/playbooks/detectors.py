"""``re-enable-guardduty`` and ``restart-config-recorder``: the account's detectors run again.

>>> from helpers.incident import Incident
>>> ReEnableGuardDuty().plan(Incident("guardduty-disabled", "d-1", "123456789012"),
...                          clients).describe()                           # doctest: +SKIP
'- enable GuardDuty detector d-1: guardduty.update_detector(DetectorId=..., Enable=True)'
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan, Playbook, Verification, playbook

__all__ = ["ReEnableGuardDuty", "RestartConfigRecorder"]


@playbook
class ReEnableGuardDuty(Playbook):
    """Enable the disabled GuardDuty detector again (or create one when it was deleted)."""

    name = "re-enable-guardduty"
    description = "Enable the GuardDuty detector again; create one if it was deleted."
    permissions = (
        "guardduty:GetDetector",
        "guardduty:ListDetectors",
        "guardduty:UpdateDetector",
        "guardduty:CreateDetector",
    )

    def _detector(self, clients: Clients, detector: str) -> dict | None:
        try:
            return clients.aws("guardduty").get_detector(DetectorId=detector)
        except ClientError as err:
            if err.response["Error"]["Code"] in (
                "BadRequestException",
                "ResourceNotFoundException",
            ):
                return None
            raise

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        detector = incident.resource
        plan = Plan(self.name, detector)
        found = self._detector(clients, detector)
        if found is None:
            if clients.aws("guardduty").list_detectors()["DetectorIds"]:
                plan.nothing_to_do = f"detector {detector} is gone and another one exists"
                return plan
            plan.changes.append(
                Change(
                    "guardduty",
                    "CreateDetector",
                    {"Enable": True},
                    "create a GuardDuty detector (the old one was deleted)",
                )
            )
            plan.diff = f"GuardDuty detector {detector}: deleted -> a new, enabled detector"
            return plan
        if clients.policy.protected(found.get("Tags") or {}):
            key = clients.policy.protected_key
            plan.exempt = f"detector {detector} is tagged {key}={found['Tags'][key]}"
            return plan
        if found.get("Status") == "ENABLED":
            plan.nothing_to_do = f"detector {detector} is enabled"
            return plan
        params = {"DetectorId": detector}
        plan.changes.append(
            Change(
                "guardduty",
                "UpdateDetector",
                {**params, "Enable": True},
                f"enable GuardDuty detector {detector}",
            )
        )
        plan.rollback.append(
            Change(
                "guardduty",
                "UpdateDetector",
                {**params, "Enable": False},
                f"disable detector {detector} again",
            )
        )
        plan.diff = f"GuardDuty detector {detector}: {found.get('Status')} -> ENABLED"
        return plan

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        found = self._detector(clients, incident.resource)
        if found is None:
            ids = clients.aws("guardduty").list_detectors()["DetectorIds"]
            enabled = [d for d in ids if self._detector(clients, d).get("Status") == "ENABLED"]
            ok = bool(enabled)
            return Verification(ok, f"enabled detectors: {enabled or 'none'}", {"detectors": ids})
        status = found.get("Status")
        return Verification(
            status == "ENABLED", f"detector {incident.resource} is {status}", {"status": status}
        )


@playbook
class RestartConfigRecorder(Playbook):
    """Start the AWS Config configuration recorder again.

    >>> RestartConfigRecorder().plan(Incident("config-recorder-stopped", "default",
    ...                              "123456789012"), clients).describe()  # doctest: +SKIP
    'AWS Config recorder default: stopped -> recording\\n- start recorder default: ...'
    """

    name = "restart-config-recorder"
    description = "Start the AWS Config recorder again."
    permissions = (
        "config:DescribeConfigurationRecorderStatus",
        "config:DescribeDeliveryChannels",
        "config:StartConfigurationRecorder",
        "config:StopConfigurationRecorder",  # the rollback
    )

    def _status(self, clients: Clients, name: str) -> dict | None:
        try:
            found = clients.aws("config").describe_configuration_recorder_status(
                ConfigurationRecorderNames=[name]
            )["ConfigurationRecordersStatus"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "NoSuchConfigurationRecorderException":
                return None
            raise
        return found[0] if found else None

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        name = incident.resource
        plan = Plan(self.name, name)
        status = self._status(clients, name)
        if status is None:
            plan.nothing_to_do = f"configuration recorder {name} no longer exists"
            return plan
        if status.get("recording"):
            plan.nothing_to_do = f"recorder {name} is recording"
            return plan
        channels = clients.aws("config").describe_delivery_channels()["DeliveryChannels"]
        if not channels:
            plan.nothing_to_do = f"recorder {name} has no delivery channel: a person must add one"
            return plan
        param = {"ConfigurationRecorderName": name}
        plan.changes.append(
            Change("config", "StartConfigurationRecorder", param, f"start recorder {name}")
        )
        plan.rollback.append(
            Change("config", "StopConfigurationRecorder", param, f"stop recorder {name}")
        )
        plan.diff = f"AWS Config recorder {name}: stopped -> recording"
        return plan

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        status = self._status(clients, incident.resource)
        if status is None:
            return Verification(False, f"recorder {incident.resource} does not exist")
        recording = bool(status.get("recording"))
        return Verification(
            recording, f"recorder {incident.resource} recording={recording}", {"status": status}
        )

"""The playbook registry, walked: every playbook declares its IAM actions, describes itself and
carries a docstring example; every detection names a registered playbook or ``none``."""

from __future__ import annotations

import inspect
import re

import pytest

from helpers import detections, playbooks
from tests.playbooks.conftest import PLAYBOOKS

ACTION = re.compile(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+")
REGISTRY = playbooks.load()
#: Detections that, by design, have no automatic fix (a person decides): issue 10.
NOTIFY_ONLY = {"console-login-without-mfa", "root-account-usage"}
#: IAM actions whose name is not the API operation's (``service:Operation``).
IAM_ACTION = {
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
}


def test_the_registry_holds_the_playbooks_detections_name():
    assert set(REGISTRY.names()) >= {"notify-only", *PLAYBOOKS}


@pytest.mark.parametrize("name", REGISTRY.names())
def test_each_playbook_declares_permissions_a_description_and_an_example(name):
    playbook = REGISTRY.get(name)
    assert playbook.name == name
    assert playbook.description.strip()
    if name == "notify-only":
        assert playbook.permissions == ()
    else:
        assert playbook.permissions, f"{name} declares no IAM actions"
        bad = [p for p in playbook.permissions if not ACTION.fullmatch(p)]
        assert not bad, f"{name}: not service:Action: {bad}"
        assert len(set(playbook.permissions)) == len(playbook.permissions)
    cls = type(playbook)
    doc = (cls.__doc__ or "") + (inspect.getmodule(cls).__doc__ or "")
    examples = [line for line in doc.splitlines() if line.strip().startswith(">>>")]
    assert examples, f"{name} has no docstring example"
    assert any(cls.__name__ in line for line in examples), (
        f"{name}: no docstring example uses {cls.__name__}"
    )


def test_the_permissions_union_is_sorted_and_complete():
    union = playbooks.permissions()
    assert union == sorted(set(union))
    assert {p for pb in REGISTRY for p in pb.permissions} == set(union)


def test_the_changes_plans_make_are_declared_permissions():
    """Each Change a module's playbooks can plan (read from its source) is one of their actions."""
    modules: dict[object, set[str]] = {}
    for playbook in REGISTRY:
        modules.setdefault(inspect.getmodule(type(playbook)), set()).update(playbook.permissions)
    for module, declared in modules.items():
        calls = re.findall(r'Change\(\s*"([a-z0-9]+)",\s*"([A-Za-z]+)"', inspect.getsource(module))
        actions = {IAM_ACTION.get(call, f"{call[0]}:{call[1]}") for call in calls}
        assert actions <= declared, f"{module.__name__}: undeclared {actions - declared}"
        if declared:
            assert actions, f"{module.__name__}: no Change found (the pattern is stale?)"


def test_every_detection_names_a_registered_playbook_or_none():
    named = {d.id: d.playbook for d in detections.load()}
    unknown = {d: p for d, p in named.items() if p != "none" and p not in REGISTRY}
    assert not unknown, f"detections naming unregistered playbooks: {unknown}"
    assert {d for d, p in named.items() if p == "none"} == NOTIFY_ONLY

"""The ``lab`` command against the wired world: incidents, playbooks, simulate --revert."""

from __future__ import annotations

import json

import pytest

from labstack import cli

pytestmark = pytest.mark.stack


@pytest.fixture
def lab_home(wired, monkeypatch):
    monkeypatch.setenv("LAB_HOME", str(wired.world.home))
    for key, value in wired.env.items():
        monkeypatch.setenv(key, value)
    return wired


def test_simulate_remembers_its_run_and_revert_undoes_it(lab_home, capsys):
    assert cli.main(["simulate", "s3-block-public-access-removed"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert cli.main(["simulate", "--revert", "s3-block-public-access-removed"]) == 0
    assert "reverted s3-block-public-access-removed" in capsys.readouterr().out
    assert cli.main(["simulate", "--revert", "s3-block-public-access-removed"]) == 2
    assert "nothing to revert" in capsys.readouterr().err
    assert done["resources"]["bucket"]


def test_unknown_names_and_missing_incidents_are_errors_not_tracebacks(lab_home, capsys):
    assert cli.main(["simulate", "no-such-attack"]) == 2
    assert "unknown scenario 'no-such-attack'; known:" in capsys.readouterr().err
    assert cli.main(["incidents", "no:such:incident"]) == 2
    assert "HTTP 404" in capsys.readouterr().err


def test_incidents_and_playbooks_print_what_the_server_knows(lab_home, capsys):
    assert cli.main(["incidents", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert set(listed) == {"incidents", "dead_letters"}
    assert cli.main(["playbooks", "permissions", "--json"]) == 0
    actions = json.loads(capsys.readouterr().out)
    assert "ec2:RevokeSecurityGroupIngress" in actions and "iam:UpdateAccessKey" in actions
    assert cli.main(["playbooks"]) == 0
    assert "disable-access-key" in capsys.readouterr().out

"""The lab command reports a service's or a setting's failure in one line (exit 2), and lets a
bug's traceback through."""

from __future__ import annotations

import pytest

from helpers.jira import JiraHelperError
from helpers.splunk import SearchError
from labstack import cli


@pytest.mark.parametrize("error", [SearchError("HTTP 409 CONFLICT -- taken"),
                                   JiraHelperError("Jira refused the incident")])  # fmt: skip
def test_an_expected_failure_is_one_line(monkeypatch, capsys, error):
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_env", fail)
    assert cli.main(["env"]) == 2
    err = capsys.readouterr().err
    assert err == f"lab: {type(error).__name__}: {error}\n"


def test_a_bug_is_not_hidden(monkeypatch):
    def fail(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_env", fail)
    with pytest.raises(ZeroDivisionError):
        cli.main(["env"])

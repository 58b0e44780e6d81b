"""The exercises' checks tell real mistakes apart, not only empty answers: each wrong solution
below is one a student could write, and its hint names what is wrong. And a check never raises,
nor shows a secret."""

from __future__ import annotations

import pytest

from helpers import checks, splunk
from helpers.checks import Hint, check, student
from helpers.config import Settings


def test_a_check_answers_with_a_pass_or_a_hint_and_never_raises():
    @check
    def check_answer(answer):
        if answer is None:
            raise Hint("write the answer", "it is a number")
        if answer == "boom":
            raise RuntimeError("Splunk is down")
        return "right"

    assert repr(check_answer(42)) == "✅ right"
    hint = check_answer(None)
    assert not hint.passed and hint.text == "💡 write the answer\n   - it is a number"
    broken = check_answer("boom")
    assert not broken.passed and "RuntimeError: Splunk is down" in broken.text
    assert "<br>" in hint._repr_html_() and "<script>" not in check_answer("<script>")._repr_html_()


def test_the_students_exception_becomes_a_hint_naming_it():
    def close_world_ingress():
        raise KeyError("IpRanges")

    with pytest.raises(Hint, match=r"close_world_ingress\(\) raised KeyError: 'IpRanges'"):
        student(close_world_ingress)


def test_a_secret_in_a_hint_is_redacted(monkeypatch):
    settings = Settings(_env_file=None, splunk_password="hunter2-password", jira_token="abc")
    monkeypatch.setattr(checks, "get_settings", lambda: settings)

    @check
    def check_login():
        raise Hint("login failed for admin:hunter2-password (token abc)")

    assert check_login().text == "💡 login failed for admin:••• (token abc)"  # abc: too short


stack = pytest.mark.stack


@stack
def test_revoking_whole_rules_is_caught(lab_world):
    from helpers.aws import session
    from helpers.checks import security_group as exercise

    practice = exercise.setup()
    ec2 = session().client("ec2")
    [group] = ec2.describe_security_groups(GroupIds=[practice.group_id])["SecurityGroups"]
    world = [
        p
        for p in group["IpPermissions"]
        if any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", []))
    ]
    ec2.revoke_security_group_ingress(GroupId=practice.group_id, IpPermissions=world)
    result = exercise.check_closed(practice, {"revoked": ["all of it"], "kept": []})
    exercise.cleanup()
    assert not result.passed
    text = result.text
    assert "tcp 22 is still open to ::/0 (the IPv6 internet counts too" in text
    assert "tcp 443 from 0.0.0.0/0 was revoked, but the policy allows it" in text
    assert "198.51.100.0/24 on tcp 8080-8090 was revoked too" in text
    assert "10.0.0.0/16" not in text  # the private rule had no world range: it stayed


@stack
def test_a_search_that_forgets_failed_calls_is_told_which_event(lab_world):
    from helpers.checks import spl as exercise

    exercise.setup()
    naive = (
        "`exercise_events` eventName=AuthorizeSecurityGroupIngress"
        " (requestParameters.ipPermissions.items{}.ipRanges.items{}.cidrIp=*/0"
        " OR requestParameters.ipPermissions.items{}.ipv6Ranges.items{}.cidrIpv6=*/0"
        " OR requestParameters.cidrIp=*/0)"
        " | eval resource='requestParameters.groupId' | table eventID resource"
    )
    result = exercise.check_search(naive)
    assert not result.passed
    assert result.lines == (
        "found, but they are not world-open ingress: 'world-open rule that was denied'",
    )
    ipv4_only = naive.replace(
        " OR requestParameters.ipPermissions.items{}.ipv6Ranges.items{}.cidrIpv6=*/0", ""
    ).replace("eventName=", "NOT errorCode=* eventName=")
    missed = exercise.check_search(ipv4_only)
    assert "not found yet: 'IPv6 world range in ipv6Ranges', 'IPv6 world written as" in missed.text
    assert (
        exercise.check_search(ipv4_only + " | fields - eventID").lines[0].startswith("keep eventID")
    )


@stack
def test_an_enricher_that_pastes_the_account_into_the_search_is_caught(lab_world):
    from helpers.checks import enrichment as exercise
    from helpers.enrich import enricher
    from helpers.runtime.registry import Registry

    lookup = exercise.setup()
    registry = Registry("enricher")

    @enricher(exercise.ENRICHER, timeout=5.0, registry=registry)
    def account_owner(incident, clients):
        spl = f"| inputlookup {lookup} | search account_id={incident.account}"
        rows = splunk.search(spl, earliest=None, latest=None, service=clients.splunk())
        if rows.empty:
            return {"known": False, "reason": "not in the table"}
        return {"known": True, **rows.iloc[0].to_dict()}

    result = exercise.check_enricher(registry)
    assert not result.passed
    assert result.lines[0].startswith("account '*' is not in the table: answer known=False")


@stack
def test_a_handler_that_always_creates_a_ticket_is_told_about_the_duplicate(lab_world):
    from helpers import jira
    from helpers.checks import ticket as exercise

    def handle_alert(payload, client):
        if "result" not in payload:
            raise ValueError("no result")
        row = dict(payload["result"], evidence=[payload["result"]])
        return jira.open_or_update_incident(row, client=client, repeat_comment=False).key

    assert exercise.check_handler(handle_alert).lines[0].startswith("the repeat found SEC-")

    def always_new(payload, client):
        row = payload["result"]
        fields = {"project": {"key": "SEC"}, "summary": row["resource"], "issuetype": {"name":
                  "Task"}, "priority": {"name": "High"},
                  jira.field_id(client, "Dedup Key"): row["dedup_key"]}  # fmt: skip
        return client.create_issue(fields=fields).key

    hint = exercise.check_handler(always_new).lines[0]
    assert hint.startswith("the same alert twice gave SEC-") and ", SEC-" in hint

"""Fired alerts (``alerts/fired_alerts``) and the lab's outbox listing (``alerts/deliveries``;
``alerts/webhook_deliveries`` lists the webhook ones, as before there were other actions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.alerting.state import Delivery, Fired
from labstack.splunk.api.core import JSON, XML, ApiError, Call, Splunkd


def _alerting(api: Splunkd):
    alerting = api.alerting
    if alerting is None:
        raise ApiError(404, "Alerting is not running in this server.")
    return alerting


def webhook_conf(api: Splunkd, call: Call) -> Response:
    """``configs/conf-alert_actions/webhook``: the webhook allow-list, as Splunk 9 keeps it."""
    allowlist = _alerting(api).actions["webhook"].settings.webhook_allowlist
    content = {"enable_allowlist": "1" if allowlist else "0"}
    content.update({f"allowlist.webhook{n}": pattern for n, pattern in enumerate(allowlist, 1)})
    entity = atom.Entity("webhook", "configs/conf-alert_actions", content, owner="nobody",
                         app="alert_webhook")  # fmt: skip
    return api.feed(call, "conf-alert_actions", [entity])


def _rendered(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _alert_entity(alerting, fired: Fired) -> atom.Entity:
    deliveries = alerting.state.deliveries(fired.id)
    content = {
        "actions": fired.actions,
        "alert_type": fired.alert_type,
        "digest_mode": "1" if fired.digest else "0",
        "expiration_time_rendered": _rendered(fired.expires),
        "savedsearch_name": fired.search,
        "severity": fired.severity,
        "sid": fired.sid,
        "trigger_time": str(int(fired.trigger_time)),
        "trigger_time_rendered": _rendered(fired.trigger_time),
        "triggered_alerts": "1",
        "result_count": str(fired.result_count),
        "trigger_mode": fired.mode,
    }
    last: dict[str, Delivery] = {d.action: d for d in deliveries}  # each action's latest
    for action, delivery in last.items():
        content.update(
            {
                f"{action}_target": delivery.target,
                f"{action}_status": delivery.status,
                f"{action}_attempts": str(delivery.attempts),
                f"{action}_error": delivery.last_error,
            }
        )
    if "webhook" in last:
        http_status = last["webhook"].http_status
        content["webhook_url"] = last["webhook"].target
        content["webhook_http_status"] = "" if http_status is None else str(http_status)
    return atom.Entity(fired.name, "alerts/fired_alerts", content, owner=fired.owner,
                       app=fired.app, sharing="app", updated=fired.trigger_time)  # fmt: skip


def _group_entity(name: str, count: int, owner="nobody", app="search") -> atom.Entity:
    content = {"triggered_alert_count": str(count)}
    return atom.Entity(name, "alerts/fired_alerts", content, owner=owner, app=app, sharing="app")


def list_fired_groups(api: Splunkd, call: Call) -> Response:
    """One entry per saved search that has fired (``-`` first: all of them)."""
    alerting = _alerting(api)
    fired = alerting.state.fired(tracked_only=True)
    groups: dict[str, list[Fired]] = {}
    for item in fired:
        groups.setdefault(item.search, []).append(item)
    entities = [_group_entity("-", len(fired))]
    for name in sorted(groups, key=str.lower):
        first = groups[name][0]
        entities.append(_group_entity(name, len(groups[name]), first.owner, first.app))
    return api.listing(call, "alerts/fired_alerts", entities)


def list_fired(api: Splunkd, call: Call) -> Response:
    """The fired alerts of one saved search (``-``: all), or one fired alert by its name."""
    alerting = _alerting(api)
    name = call.args["name"]
    if name == "-":
        fired = alerting.state.fired(tracked_only=True)
    else:
        fired = alerting.state.fired(name, tracked_only=True)
        if not fired and api.saved.get(name) is None:
            fired = [f for f in alerting.state.fired(tracked_only=True) if f.name == name]
            if not fired:
                raise ApiError(404, f"Could not find object id={name}")
    entities = [_alert_entity(alerting, f) for f in fired]
    return api.listing(call, "alerts/fired_alerts", entities)


def delete_fired(api: Splunkd, call: Call) -> Response:
    if not _alerting(api).state.delete_fired(call.args["name"]):
        raise ApiError(404, f"Could not find object id={call.args['name']}")
    return api.feed(call, "alerts/fired_alerts", [])


def _deliveries(api: Splunkd, call: Call, action: str | None, title: str) -> Response:
    alerting = _alerting(api)
    wanted = action or call.get("action") or None
    out = [
        {
            "id": d.id, "action": d.action, "search_name": d.search, "sid": d.sid,
            "target": d.target, "url": d.target, "status": d.status, "attempts": d.attempts,
            "last_error": d.last_error, "http_status": d.http_status, "created": d.created,
            "finished": d.finished, "next_attempt": d.next_attempt,
        }
        for d in alerting.state.deliveries()
        if wanted is None or d.action == wanted
    ]  # fmt: skip
    if call.mode == "json":
        return Response(json.dumps({"deliveries": out}), content_type=JSON)
    entities = [
        atom.Entity(
            str(d["id"]),
            f"alerts/{title}",
            {k: "" if v is None else str(v) for k, v in d.items()},
            owner="nobody",
            app="search",
        )
        for d in out
    ]
    return Response(atom.feed(title, entities, call.base), content_type=XML)


def list_deliveries(api: Splunkd, call: Call) -> Response:
    """The lab's outbox (not a Splunk endpoint): every action's deliveries, newest first
    (``action=aws_sns_alert`` keeps one action's)."""
    return _deliveries(api, call, None, "deliveries")


def list_webhook_deliveries(api: Splunkd, call: Call) -> Response:
    """The webhook deliveries only (the listing's name from before there were other actions)."""
    return _deliveries(api, call, "webhook", "webhook_deliveries")

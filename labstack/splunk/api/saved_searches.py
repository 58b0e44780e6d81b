"""Saved searches (``saved/searches``): list, create, update, delete, dispatch and history.

Alert settings are vetted by the alerting (``Alerting.check``) before a search is stored, so a
bad setting is a 400 naming the attribute, as on Splunk."""

from __future__ import annotations

import functools
import logging
import time

from croniter import croniter
from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import (
    ApiError,
    Call,
    Splunkd,
    acl_request,
    namespace_of,
    one_of,
    placed,
)
from labstack.splunk.api.search_jobs import job_entity, spl_error
from labstack.splunk.namespace import Namespace
from labstack.splunk.saved import Missing, qualified
from labstack.splunk.spl import SPLError
from labstack.splunk.spl.timeutil import parse_time

log = logging.getLogger("labstack.splunk.api")


_SAVED_ACL_PARAMS = ("output_mode", "name", "owner", "app", "sharing")


#: Sharing levels an ACL may set.
#: Scheduled times listed at most (a ``* * * * *`` search over a long window).
MAX_SCHEDULED_TIMES = 10_000


def _fired_of(api: Splunkd, saved, tracked_only: bool = False) -> list:
    """Its fired alerts (they name their search; a namesake elsewhere has its own owner/app)."""
    fired = api.alerting.state.fired(saved.name, tracked_only=tracked_only)
    if [s.key for s in api.saved.named(saved.name)] in ([], [saved.key]):
        return fired
    return [f for f in fired if (f.owner, f.app) == (saved.owner, saved.app)]


def _saved_entity(api: Splunkd, saved) -> atom.Entity:
    content = saved.content()
    if api.alerting is not None:
        content["triggered_alert_count"] = str(len(_fired_of(api, saved, tracked_only=True)))
    return atom.Entity(
        saved.name,
        "saved/searches",
        content,
        owner=saved.owner,
        app=saved.app,
        sharing=saved.sharing,
        updated=saved.updated,
        perms=saved.perms,
    )


def _matches(api: Splunkd, call: Call) -> list:
    """The saved searches the path names that its namespace sees (several only with ``-``)."""
    found = api.saved.named(call.args["name"], namespace_of(call))
    if not found:
        raise ApiError(404, f"Could not find object id={call.args['name']}")
    return found


def _saved(api: Splunkd, call: Call):
    """The one saved search the path names (409 when a wildcard namespace sees several)."""
    return one_of(_matches(api, call), call, "savedsearch")


def _gone_is_404(handler):
    """A change whose search was deleted (or moved) after it was looked up answers 404, as
    one looked up a moment later would, not 500."""

    @functools.wraps(handler)
    def wrapped(api: Splunkd, call: Call) -> Response:
        try:
            return handler(api, call)
        except Missing:
            raise ApiError(404, f"Could not find object id={call.args['name']}") from None

    return wrapped


def _runs_in(owner: str, app: str) -> Namespace:
    """Where a saved search runs (the macros it expands): as its owner, in its app."""
    return Namespace(owner, app)


def _check_saved(api: Splunkd, name: str, attrs: dict, where: Namespace) -> None:
    """A search that would not parse (in ``where``), or alert settings the alerting refuses:
    400."""
    if "search" in attrs:
        try:
            api.store.check_search(qualified(attrs["search"]), where)
        except SPLError as exc:
            raise ApiError(400, f"In handler 'savedsearch': {exc}") from None
    if api.alerting is None:
        return
    try:
        api.alerting.check(name, attrs)
    except ValueError as exc:
        raise ApiError(400, f"In handler 'savedsearch': {exc}") from None


def list_saved(api: Splunkd, call: Call) -> Response:
    found = api.saved.visible(namespace_of(call))
    return api.listing(call, "savedsearch", [_saved_entity(api, s) for s in found])


def create_saved(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'savedsearch': Missing required argument: name")
    if call.get("search") is None:
        raise ApiError(400, "In handler 'savedsearch': Missing required argument: search")
    owner, app, sharing = namespace_of(call).home(*placed(call, "savedsearch", "owner", "app"))
    _check_saved(api, name, call.flat(skip=_SAVED_ACL_PARAMS), _runs_in(owner, app))
    attrs = call.flat(skip=_SAVED_ACL_PARAMS)
    try:
        saved = api.saved.create(name, attrs, owner=owner, app=app, sharing=sharing)
    except KeyError:
        raise ApiError(
            409, f"In handler 'savedsearch': An object with name={name} already exists"
        ) from None
    return api.feed(call, "savedsearch", [_saved_entity(api, saved)], status=201)


def get_saved(api: Splunkd, call: Call) -> Response:
    """Every saved search of the name the namespace sees: one, or several under ``-``."""
    return api.feed(call, "savedsearch", [_saved_entity(api, s) for s in _matches(api, call)])


@_gone_is_404
def update_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    if "name" in call.params:
        raise ApiError(
            400, "In handler 'savedsearch': Argument \"name\" is not supported by this handler."
        )
    attrs = {**saved.attrs, **call.flat(skip=_SAVED_ACL_PARAMS)}
    _check_saved(api, saved.name, attrs, _runs_in(saved.owner, saved.app))
    saved = api.saved.update(saved.key, call.flat(skip=_SAVED_ACL_PARAMS))
    return api.feed(call, "savedsearch", [_saved_entity(api, saved)])


@_gone_is_404
def disable_saved(api: Splunkd, call: Call) -> Response:
    """``saved/searches/<name>/disable``: as setting ``disabled=1`` (splunklib's ``disable()``)."""
    saved = api.saved.update(_saved(api, call).key, {"disabled": "1"})
    return api.feed(call, "savedsearch", [_saved_entity(api, saved)])


@_gone_is_404
def enable_saved(api: Splunkd, call: Call) -> Response:
    """``saved/searches/<name>/enable``: as setting ``disabled=0``."""
    saved = api.saved.update(_saved(api, call).key, {"disabled": "0"})
    return api.feed(call, "savedsearch", [_saved_entity(api, saved)])


@_gone_is_404
def delete_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    api.saved.delete(saved.key)
    if api.alerting is not None:  # its fired alerts go with it, as on splunkd
        for fired in _fired_of(api, saved):
            api.alerting.state.delete_fired(fired.name)
    return api.feed(call, "savedsearch", [])


@_gone_is_404
def dispatch_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    attrs = saved.content()
    search = attrs["qualifiedSearch"]
    for key, value in call.params.items():
        if key.startswith("args."):
            search = search.replace(f"${key[5:]}$", value[-1])
    earliest = call.get("dispatch.earliest_time", attrs.get("dispatch.earliest_time")) or None
    latest = call.get("dispatch.latest_time", attrs.get("dispatch.latest_time")) or None
    # A real-time alert dispatched by hand runs once over its window (rt-5m: -5m; rt: all time).
    earliest, latest = (
        (t[2:] or None) if t and t.lower().startswith("rt") else t for t in (earliest, latest)
    )
    now_text = call.get("dispatch.now") or call.get("now")
    try:
        now = float(now_text) if now_text else None
    except ValueError:
        raise ApiError(400, f"Invalid value for 'dispatch.now': {now_text}", "FATAL") from None
    try:
        job = api.jobs.create(
            search, earliest, latest, now, params=call.flat(skip=("output_mode",)),
            label=saved.name, namespace=_runs_in(saved.owner, saved.app),
        )  # fmt: skip
    except SPLError as exc:
        raise spl_error(exc) from None
    if api.alerting is not None:
        try:
            api.alerting.on_dispatch(saved, job, call.flat())
        except Exception:
            log.exception("alert actions failed for %s", saved.name)
    return api.sid_response(call, job.sid)


def saved_history(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    return api.listing(call, "history", [job_entity(j) for j in api.jobs.history(saved.name)])


@_gone_is_404
def saved_acl(api: Splunkd, call: Call) -> Response:
    """``saved/searches/<name>/acl``: owner and sharing (both required), ``perms.read`` and
    ``perms.write`` (comma-separated roles)."""
    saved = _saved(api, call)
    owner, sharing, perms = acl_request(call, "savedsearch", saved.perms)
    try:
        saved = api.saved.set_acl(saved.key, owner, sharing, perms or None)
    except KeyError as exc:
        raise ApiError(
            409, f"In handler 'savedsearch': An object with name={saved.name} already exists "
            f"there ({exc.args[0]})."
        ) from None  # fmt: skip
    return api.feed(call, "savedsearch", [_saved_entity(api, saved)])


def _suppress_entity(saved) -> atom.Entity:
    remaining = max(int(saved.suppressed_until - time.time()), 0)
    content = {"suppressed": "1" if remaining else "0", "expiration": str(remaining),
               "suppressionKey": ""}  # fmt: skip
    return atom.Entity("suppress", f"saved/searches/{saved.name}", content, owner=saved.owner,
                       app=saved.app, sharing=saved.sharing)  # fmt: skip


def get_suppress(api: Splunkd, call: Call) -> Response:
    """``saved/searches/<name>/suppress``: whether the scheduler skips it, for how long."""
    return api.feed(call, "suppress", [_suppress_entity(_saved(api, call))])


@_gone_is_404
def set_suppress(api: Splunkd, call: Call) -> Response:
    """``expiration=<seconds>`` suppresses the search that long; ``0`` lifts it."""
    saved = _saved(api, call)
    seconds = call.integer("expiration", -1)
    if seconds < 0:
        raise ApiError(
            400, "In handler 'savedsearch': Argument 'expiration' must be seconds (0 or more)."
        )
    saved = api.saved.suppress(saved.key, time.time() + seconds if seconds else 0.0)
    return api.feed(call, "suppress", [_suppress_entity(saved)])


def scheduled_times(api: Splunkd, call: Call) -> Response:
    """``saved/searches/<name>/scheduled_times``: when its cron schedule runs it between
    ``earliest_time`` and ``latest_time`` (epoch seconds; none for an unscheduled search)."""
    saved = _saved(api, call)
    now = time.time()
    earliest, latest = call.get("earliest_time") or "now", call.get("latest_time") or "+1h"
    try:
        start, end = parse_time(earliest, now), parse_time(latest, now)
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'savedsearch': {exc}") from None
    if start is None or end is None:
        raise ApiError(400, "In handler 'savedsearch': earliest_time and latest_time are needed.")
    content = saved.content()
    cron = content.get("cron_schedule", "")
    times: list[str] = []
    if content.get("is_scheduled") == "1" and cron and croniter.is_valid(cron):
        it = croniter(cron, start - 1)
        while len(times) < MAX_SCHEDULED_TIMES:
            moment = it.get_next(float)
            if moment > end:
                break
            times.append(str(int(moment)))
    entity = atom.Entity(saved.name, "saved/searches", {**content, "scheduled_times": times},
                         owner=saved.owner, app=saved.app, sharing=saved.sharing,
                         perms=saved.perms)  # fmt: skip
    return api.feed(call, "savedsearch", [entity])

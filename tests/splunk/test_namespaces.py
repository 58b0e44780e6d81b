"""Knowledge objects in namespaces, through splunklib: one name as admin's private object and as
the search app's shared one, each read, changed, run and deleted in its own namespace."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import duckdb
import pytest
import splunklib.binding as binding
import splunklib.client as client
import splunklib.results as results

from helpers import splunk as helpers_splunk
from labstack.splunk.store import EventStore
from tests.splunk.splunklab import http, splunk_process, unique

PRIVATE = client.namespace(owner="admin", app="search", sharing="user")
SHARED = client.namespace(owner="nobody", app="search", sharing="app")


@pytest.fixture
def any_ns(splunk):
    """splunklib in the ``-/-`` namespace: every object of every owner and app."""
    return splunk.connect(owner="-", app="-")


@pytest.fixture
def name(any_ns):
    """A fresh name; whatever was made under it is deleted afterwards, in each namespace."""
    made = unique("ns")
    yield made
    for collection in (any_ns.saved_searches, any_ns.macros):
        for entity in [e for e in collection if e.name == made]:
            entity.delete()


def _rows(stream) -> list[dict]:
    return [r for r in results.JSONResultsReader(stream) if isinstance(r, dict)]


def _status(call) -> int:
    with pytest.raises(binding.HTTPError) as err:
        call()
    return err.value.status


def _eventually(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.2)
    return predicate()


# -- saved searches ------------------------------------------------------------------------------
def test_one_name_in_two_namespaces_is_two_saved_searches(splunk, any_ns, name):
    searches = any_ns.saved_searches
    searches.create(name, "search index=main shared", namespace=SHARED)
    searches.create(name, "search index=main private", namespace=PRIVATE)

    with pytest.raises(client.AmbiguousReferenceException):
        searches[name]  # -/- sees both
    assert sorted(s.access.sharing for s in searches if s.name == name) == ["app", "user"]
    assert searches[name, SHARED]["search"] == "search index=main shared"
    private = searches[name, PRIVATE]
    assert (private.access.owner, private.access.sharing) == ("admin", "user")
    assert private["search"] == "search index=main private"

    # each namespace reads its own; the user's context prefers the private one
    shared_ns = splunk.connect(owner="nobody", app="search")
    assert shared_ns.saved_searches[name]["search"] == "search index=main shared"
    assert splunk.connect().saved_searches[name]["search"] == "search index=main private"

    private.update(description="mine")
    assert searches[name, SHARED]["description"] != "mine"
    private.delete()
    assert [s.access.sharing for s in searches if s.name == name] == ["app"]
    assert searches[name]["search"] == "search index=main shared"


def test_exact_duplicate_is_409_and_an_ambiguous_change_is_409_naming_both(any_ns, name):
    searches = any_ns.saved_searches
    searches.create(name, "search index=main", namespace=SHARED)
    assert _status(lambda: searches.create(name, "search index=main", namespace=SHARED)) == 409
    searches.create(name, "search index=main", namespace=PRIVATE)
    with pytest.raises(binding.HTTPError) as err:
        any_ns.delete(f"saved/searches/{name}")  # -/-: which one?
    assert err.value.status == 409
    assert "sharing=user" in str(err.value) and "sharing=app" in str(err.value)
    assert len([s for s in searches if s.name == name]) == 2


def test_moving_a_search_onto_another_of_its_name_is_409(any_ns, name):
    searches = any_ns.saved_searches
    searches.create(name, "search index=main", namespace=SHARED)
    private = searches.create(name, "search index=main", namespace=PRIVATE)
    assert _status(lambda: private.acl_update(sharing="app", owner="admin")) == 409
    assert private.refresh().access.sharing == "user"


def test_the_alert_that_matches_fires_not_its_namesake(splunk, any_ns, index, name):
    alert = {"is_scheduled": "1", "dispatch.earliest_time": "rt", "dispatch.latest_time": "rt",
             "alert_type": "number of events", "alert_comparator": "greater than",
             "alert_threshold": "0", "alert.track": "1"}  # fmt: skip
    searches = any_ns.saved_searches
    searches.create(name, f"search index={index} marker=shared", namespace=SHARED, **alert)
    searches.create(name, f"search index={index} marker=private", namespace=PRIVATE, **alert)
    event = {"time": time.time(), "index": index, "event": {"marker": "private"}}
    assert splunk.hec("/services/collector/event", json.dumps(event)).status_code == 200

    def fired():
        return [f for g in any_ns.fired_alerts if g.name == name for f in g.alerts]

    found = _eventually(fired)
    assert found, "the private alert did not fire"
    time.sleep(1)  # a wrong second alert would have fired by now
    assert [f["sid"].split("__")[1] for f in fired()] == ["admin"]
    assert searches[name, PRIVATE]["triggered_alert_count"] == "1"


# -- macros --------------------------------------------------------------------------------------
def test_one_macro_name_in_two_namespaces_and_searches_expand_their_own(splunk, any_ns, name):
    name = name.replace("-", "_")
    macros = any_ns.macros
    macros.create(name, 'makeresults | eval who="shared"', namespace=SHARED)
    macros.create(name, 'makeresults | eval who="private"', namespace=PRIVATE)
    with pytest.raises(client.AmbiguousReferenceException):
        macros[name]
    assert macros[name, SHARED].definition == 'makeresults | eval who="shared"'

    def who(service) -> str:
        rows = _rows(service.jobs.oneshot(f"| `{name}`", output_mode="json"))
        return rows[0]["who"]

    assert who(splunk.connect(owner="admin", app="search")) == "private"
    assert who(splunk.connect(owner="nobody", app="search")) == "shared"

    macros[name, PRIVATE].delete()
    assert [m.access.sharing for m in macros if m.name == name] == ["app"]
    assert who(splunk.connect(owner="admin", app="search")) == "shared"
    macros.delete(name)
    assert name not in macros


# -- state from before namespaces ----------------------------------------------------------------
def test_state_from_before_namespaces_is_adopted(tmp_path):
    state = tmp_path / "splunk"
    state.mkdir()
    old = {"name": "Old Alert", "attrs": {"search": "search index=main", "is_scheduled": "True"},
           "owner": "admin", "app": "search", "sharing": "app", "updated": 1.0, "perms": None,
           "suppressed_until": 0.0}  # fmt: skip
    (state / "saved_searches.json").write_text(json.dumps([old]))
    con = duckdb.connect(str(state / "events.duckdb"))
    con.execute("CREATE TABLE macros (name VARCHAR PRIMARY KEY, definition VARCHAR, args VARCHAR)")
    con.execute("INSERT INTO macros VALUES ('old_macro(1)', 'index=main user=$u$', '[\"u\"]')")
    con.close()
    kept = {"iseval": "0", "description": "kept", "owner": "admin", "app": "search",
            "sharing": "app", "perms": {"read": ["*"]}}  # fmt: skip
    meta = {"old_macro(1)": kept}
    (state / "macros_meta.json").write_text(json.dumps(meta))

    with splunk_process(state) as splunk:
        service = splunk.connect(owner="-", app="-")
        saved = service.saved_searches["Old Alert"]
        assert (saved.access.owner, saved.access.sharing) == ("admin", "app")
        assert saved["is_scheduled"] == "1"
        macro = service.macros["old_macro(1)"]
        assert (macro.definition, macro.args, macro["description"]) == (
            "index=main user=$u$", "u", "kept",
        )  # fmt: skip
        # shared globally: every app's searches expanded it before namespaces, and still do
        assert (macro.access.owner, macro.access.sharing) == ("admin", "global")
        assert macro.access["perms"]["read"] == ["*"]
        # and it is one object among others now: a private namesake can join it
        service.macros.create("old_macro(1)", "index=main", args="u", namespace=PRIVATE)
        assert len([m for m in service.macros if m.name == "old_macro(1)"]) == 2
    assert not (state / "macros_meta.json").exists()
    con = duckdb.connect(str(state / "events.duckdb"))
    tables = {
        t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()
    assert "macros" not in tables and "macro_objects" in tables  # the old table, once adopted
    assert json.loads((state / "saved_searches.json").read_text())[0]["name"] == "Old Alert"


def _old_state(state, searches: list[dict], macros: dict[str, str], throttles=()) -> None:
    """A state folder as the stand-in wrote it before namespaces: saved searches one per name,
    macros in the ``macros`` table, throttles by search name."""
    state.mkdir(parents=True, exist_ok=True)
    base = {"owner": "nobody", "app": "search", "sharing": "app", "updated": 1.0, "perms": None,
            "suppressed_until": 0.0}  # fmt: skip
    (state / "saved_searches.json").write_text(json.dumps([{**base, **s} for s in searches]))
    con = duckdb.connect(str(state / "events.duckdb"))
    con.execute("CREATE TABLE macros (name VARCHAR PRIMARY KEY, definition VARCHAR, args VARCHAR)")
    for name, definition in macros.items():
        con.execute("INSERT INTO macros VALUES (?, ?, '[]')", [name, definition])
    con.close()
    db = sqlite3.connect(str(state / "alerts.sqlite"))
    db.execute(
        "CREATE TABLE throttle (search TEXT, key TEXT, until REAL, PRIMARY KEY (search, key))"
    )
    db.executemany("INSERT INTO throttle VALUES (?, ?, ?)", throttles)
    db.commit()
    db.close()


def test_an_installed_apps_searches_from_before_namespaces_keep_working(tmp_path):
    """Before namespaces every object was seen from every app: an installed app's saved search
    (in its own app) was found from the search app, where the lab's helpers look, and expanded
    the ``cloudtrail`` macro (kept, as every macro, in the one table). Adopted, both still hold,
    and the search's throttle still holds it back."""
    app = "cloudsec_lab_detections"
    marker = unique("m").replace("-", "_")
    alert = {"is_scheduled": "1", "dispatch.earliest_time": "rt", "dispatch.latest_time": "rt",
             "alert_type": "number of events", "alert_comparator": "greater than",
             "alert_threshold": "0", "alert.track": "1", "alert.suppress": "1",
             "alert.suppress.period": "1h"}  # fmt: skip
    searches = [
        {"name": "App Detection", "app": app, "attrs": {"search": "search `cloudtrail` x=1"}},
        {"name": "App Throttled", "app": app,
         "attrs": {**alert, "search": f"search index=main marker={marker} kind=throttled"}},
        {"name": "App Control", "app": app,
         "attrs": {**alert, "search": f"search index=main marker={marker} kind=control"}},
    ]  # fmt: skip
    until = time.time() + 3600
    _old_state(tmp_path / "splunk", searches, {"cloudtrail": "index=main sourcetype=aws"},
               throttles=[("App Throttled", "", until)])  # fmt: skip
    # a start that stopped once its event store was open: the adoption is not half done
    EventStore(str(tmp_path / "splunk" / "events.duckdb")).close()

    with splunk_process(tmp_path / "splunk") as splunk:
        lab = splunk.connect(owner="nobody", app="search")  # helpers.splunk's namespace
        assert "App Detection" in lab.saved_searches
        assert helpers_splunk.pause_alert("App Detection", service=lab) is True
        helpers_splunk.resume_alert("App Detection", service=lab)
        job = lab.saved_searches["App Detection"].dispatch()  # its search expands `cloudtrail`
        assert _eventually(lambda: job.refresh().is_done())
        assert job["dispatchState"] == "DONE"

        for kind in ("throttled", "control"):
            fields = {"marker": marker, "kind": kind}
            event = {"time": time.time(), "index": "main", "event": fields}
            assert splunk.hec("/services/collector/event", json.dumps(event)).status_code == 200
        any_ns = splunk.connect(owner="-", app="-")

        def fired(name):
            return [f for g in any_ns.fired_alerts if g.name == name for f in g.alerts]

        assert _eventually(lambda: fired("App Control")), "real-time alerting did not run"
        time.sleep(1)
        assert fired("App Throttled") == [], "its throttle from before was forgotten"


def test_concurrent_creates_of_one_macro_make_one_and_409_the_rest(splunk, any_ns, name):
    """A create is one step: of several at once, one is made (201) and each other is told the
    macro exists (409), none replacing it unseen."""
    name = name.replace("-", "_")
    url = f"{splunk.url}/servicesNS/nobody/search/configs/conf-macros"
    auth = {"Authorization": f"Bearer {splunk.token}"}
    answers: dict[int, int] = {}

    def create(i: int) -> None:
        form = {"name": name, "definition": f"index=main n={i}", "output_mode": "json"}
        answers[i] = http().post(url, data=form, headers=auth, timeout=30).status_code

    for _ in range(10):  # a race: give it several chances
        threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        made = [i for i, status in answers.items() if status == 201]
        assert sorted(answers.values()) == [201] + [409] * 11, answers
        assert any_ns.macros[name, SHARED].definition == f"index=main n={made[0]}"
        any_ns.macros.delete(name)
        answers.clear()


def test_a_create_whose_form_names_nobody_makes_a_shared_search(splunk, any_ns, name):
    """``owner=nobody`` in the form of a create under a user's namespace: the search is the
    app's (nobody owns nothing privately), found where it was made."""
    url = f"{splunk.url}/servicesNS/admin/search/saved/searches"
    auth = {"Authorization": f"Bearer {splunk.token}"}
    form = {"name": name, "search": "search index=main", "owner": "nobody", "output_mode": "json"}
    made = http().post(url, data=form, headers=auth, timeout=30)
    assert made.status_code == 201
    assert made.json()["entry"][0]["acl"]["sharing"] == "app"
    found = http().get(f"{url}/{name}", params={"output_mode": "json"}, headers=auth, timeout=30)
    assert found.status_code == 200
    assert (
        splunk.connect(owner="nobody", app="search").saved_searches[name].access.owner == "nobody"
    )


def test_a_change_racing_a_delete_is_a_404_never_a_500(splunk, name):
    """Edits, disables, ACL posts and deletes of one search at once: each answers as splunkd
    would, the search there or gone (200, 404), none with an internal error."""
    base = f"{splunk.url}/servicesNS/nobody/search/saved/searches"
    auth = {"Authorization": f"Bearer {splunk.token}"}
    changes = [("", {"description": "d"}), ("/disable", {}),
               ("/acl", {"owner": "nobody", "sharing": "global"})]  # fmt: skip
    answers: list[int] = []

    def change(path: str, form: dict) -> None:
        url = f"{base}/{name}{path}"
        answers.append(http().post(url, data=form, headers=auth, timeout=30).status_code)

    def delete() -> None:
        answers.append(http().delete(f"{base}/{name}", headers=auth, timeout=30).status_code)

    for _ in range(15):
        form = {"name": name, "search": "search index=main"}
        assert http().post(base, data=form, headers=auth, timeout=30).status_code == 201
        threads = [threading.Thread(target=change, args=c) for c in changes for _ in range(2)]
        threads += [threading.Thread(target=delete) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(answers) <= {200, 404}, sorted(answers)
        answers.clear()


def test_dash_is_no_place_for_an_object(splunk, any_ns, name):
    """``-`` is any owner or app in a namespace: an ACL post or a create naming it as where the
    object lives is a 400 in splunkd's error shape, and the object stays where it was."""
    searches = any_ns.saved_searches
    saved = searches.create(name, "search index=main", namespace=SHARED)
    macro = any_ns.macros.create(name.replace("-", "_"), "index=main", namespace=SHARED)
    for entity, form in ((saved, {"owner": "-", "sharing": "user"}),
                         (macro, {"owner": "-", "sharing": "app"}),
                         (macro, {"owner": "nobody", "sharing": "app", "app": "-"})):  # fmt: skip
        assert _status(lambda e=entity, f=form: e.post("acl", body=f)) == 400
    assert (saved.refresh().access.owner, saved.access.sharing) == ("nobody", "app")
    assert (macro.refresh().access.owner, macro.access.app) == ("nobody", "search")
    url = f"{splunk.url}/servicesNS/nobody/search/saved/searches"
    auth = {"Authorization": f"Bearer {splunk.token}"}
    for place in ({"owner": "-"}, {"app": "-"}):
        form = {"name": f"{name}-2", "search": "search index=main", **place, "output_mode": "json"}
        made = http().post(url, data=form, headers=auth, timeout=30)
        assert made.status_code == 400 and made.json()["messages"][0]["type"] == "ERROR"
    assert f"{name}-2" not in [s.name for s in searches]
    macro.delete()

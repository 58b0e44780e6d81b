"""Saved searches, kept verbatim in a JSON file under the state directory.

Attributes are stored exactly as clients sent them (``is_scheduled=True``,
``action.webhook.param.url``...) so the alerting scheduler can read them back; :func:`flag`
reads Splunk booleans, and :meth:`SavedSearch.content` adds Splunk's defaults when the API
echoes a search.

>>> import tempfile, pathlib
>>> store = SavedSearches(pathlib.Path(tempfile.mkdtemp()) / "saved.json")
>>> _ = store.create("Lab Alert", {"search": "search index=main", "is_scheduled": "True"})
>>> flag(store.get("Lab Alert").attrs["is_scheduled"])
True
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labstack.splunk.namespace import DEFAULT_APP, Namespace, describe, identity

#: Every namespace (``/servicesNS/-/-/``).
ANY = Namespace()
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}

#: Attributes Splunk echoes as "1"/"0" whatever spelling the client used.
BOOLEAN_KEYS = {
    "is_scheduled",
    "is_visible",
    "disabled",
    "alert.digest_mode",
    "alert.suppress",
    "alert.track",
    "action.webhook",
    "action.email",
    "action.script",
    "action.lookup",
    "action.populate_lookup",
    "action.rss",
    "action.summary_index",
    "action.logevent",
    "realtime_schedule",
    "run_on_startup",
    "dispatch.lookups",
}

#: What real Splunk echoes for a saved search nobody configured further (a representative set).
DEFAULTS = {
    "actions": "",
    "action.email": "0",
    "action.populate_lookup": "0",
    "action.rss": "0",
    "action.script": "0",
    "action.summary_index": "0",
    "action.webhook": "0",
    "action.webhook.param.url": "",
    "alert.digest_mode": "1",
    "alert.expires": "24h",
    "alert.severity": "3",
    "alert.suppress": "0",
    "alert.suppress.fields": "",
    "alert.suppress.period": "",
    "alert.track": "0",
    "alert_comparator": "",
    "alert_condition": "",
    "alert_threshold": "",
    "alert_type": "always",
    "cron_schedule": "",
    "description": "",
    "disabled": "0",
    "dispatch.buckets": "0",
    "dispatch.earliest_time": "",
    "dispatch.latest_time": "",
    "dispatch.lookups": "1",
    "dispatch.max_count": "500000",
    "dispatch.max_time": "0",
    "dispatch.reduce_freq": "10",
    "dispatch.spawn_process": "1",
    "dispatch.time_format": "%FT%T.%Q%:z",
    "dispatch.ttl": "2p",
    "is_scheduled": "0",
    "is_visible": "1",
    "max_concurrent": "1",
    "next_scheduled_time": "",
    "realtime_schedule": "1",
    "request.ui_dispatch_app": "",
    "request.ui_dispatch_view": "",
    "restart_on_searchpeer_add": "1",
    "run_on_startup": "0",
    "schedule_window": "0",
    "search": "",
}


def flag(value) -> bool:
    """A Splunk boolean (``1``, ``true``, ``True``, ``0``...) as a Python bool.

    >>> flag("True"), flag("0"), flag(1)
    (True, False, True)
    """
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    try:
        return float(text) != 0
    except ValueError:
        return False


@dataclass
class SavedSearch:
    name: str
    attrs: dict[str, str]
    owner: str = "nobody"
    app: str = "search"
    sharing: str = "app"
    updated: float = field(default_factory=time.time)
    #: The object's own permissions (``{"read": [...], "write": [...]}``), set through its
    #: ``acl`` endpoint; None until then (splunkd shows an empty ``perms``).
    perms: dict | None = None
    #: Until when (epoch seconds) the scheduler is told to skip it (``suppress``); 0: not.
    suppressed_until: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        """What tells it from a search of the same name elsewhere (see :func:`identity`)."""
        return identity(self.name, self.owner, self.app, self.sharing)

    @property
    def search(self) -> str:
        return self.attrs.get("search", "")

    def content(self) -> dict[str, str]:
        """The attributes as the API echoes them: defaults, then the stored values."""
        content = dict(DEFAULTS)
        for key, value in self.attrs.items():
            content[key] = ("1" if flag(value) else "0") if key in BOOLEAN_KEYS else value
        content["qualifiedSearch"] = qualified(content.get("search", ""))
        return content


def qualified(search: str) -> str:
    """The search as Splunk runs it: ``search `` prefixed unless it starts with a command."""
    text = search.strip()
    return text if text.startswith(("search ", "|")) or text == "search" else f"search {text}"


class Missing(LookupError):
    """No saved search has that key (any more: deleted or moved meanwhile). Not a KeyError,
    which :meth:`SavedSearches.set_acl` raises for a place that is taken."""


class SavedSearches:
    """Thread-safe, file-backed saved searches, told apart by :attr:`SavedSearch.key` (the
    same name may be a user's private search and an app's shared one); which of them a request
    sees is :class:`~labstack.splunk.namespace.Namespace`'s to say. ``listeners`` hear
    ``(key, saved)`` about every change (``saved`` None: deleted).

    The file is a list of searches; files from before namespaces (one search per name) read
    as they are: each search keeps the owner, app and sharing it had, until
    :meth:`adopt_pre_namespace` widens what it must to keep them seen where they were."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._items: dict[tuple[str, str, str], SavedSearch] = {}
        self.listeners: list[Callable[[tuple, SavedSearch | None], None]] = []
        if self.path.exists():
            for item in json.loads(self.path.read_text() or "[]"):
                saved = SavedSearch(**item)
                self._items[saved.key] = saved

    def adopt_pre_namespace(self) -> list[SavedSearch]:
        """A file from before namespaces, whose every search was seen from every app: a search
        shared in an app other than the search app (an installed app's) becomes global, so the
        search app (where the lab's helpers look: ``/servicesNS/nobody/search/``) still finds
        it. The searches changed (no listener is told: call it before any listens)."""
        with self._lock:
            moved = [s for s in self._items.values() if s.sharing == "app" and s.app != DEFAULT_APP]
            for saved in moved:
                saved.sharing = "global"  # the key stays: app and global share a place
            if moved:
                self._save()
        return moved

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(s) for s in self._items.values()], indent=1))
        os.replace(tmp, self.path)

    def _item(self, key: tuple) -> SavedSearch:
        try:
            return self._items[key]
        except KeyError:
            raise Missing(key) from None

    def _notify(self, key: tuple, saved: SavedSearch | None) -> None:
        for listener in list(self.listeners):
            listener(key, saved)

    def list(self) -> list[SavedSearch]:
        with self._lock:
            return sorted(self._items.values(), key=lambda s: (s.name.lower(), s.key))

    def visible(self, namespace: Namespace) -> list[SavedSearch]:
        """The searches ``namespace`` lists (see :meth:`Namespace.visible`)."""
        with self._lock:
            return namespace.visible(self._items.values())

    def named(self, name: str, namespace: Namespace = ANY) -> list[SavedSearch]:
        """The searches called ``name`` that ``namespace`` sees (any: every one)."""
        with self._lock:
            return namespace.named(self._items.values(), name)

    def get(self, name: str, namespace: Namespace = ANY) -> SavedSearch | None:
        """The search called ``name`` in ``namespace``: the most specific one, None if none."""
        found = self.named(name, namespace)
        return found[0] if found else None

    def create(
        self, name: str, attrs: dict[str, str], owner="nobody", app="search", sharing="app"
    ) -> SavedSearch:
        """A new search; KeyError when one with its name lives in that very place."""
        with self._lock:
            saved = SavedSearch(name, dict(attrs), owner=owner, app=app, sharing=sharing)
            if saved.key in self._items:
                raise KeyError(name)
            self._items[saved.key] = saved
            self._save()
        self._notify(saved.key, saved)
        return saved

    def update(self, key: tuple, attrs: dict[str, str]) -> SavedSearch:
        with self._lock:
            saved = self._item(key)
            saved.attrs.update(attrs)
            saved.updated = time.time()
            self._save()
        self._notify(key, saved)
        return saved

    def set_acl(self, key: tuple, owner: str, sharing: str, perms: dict | None) -> SavedSearch:
        """Change who owns the search, how it is shared and its permissions. Moving it onto
        another search's place (private to shared, or back) is a KeyError naming that one."""
        with self._lock:
            saved = self._item(key)
            moved = identity(saved.name, owner, saved.app, sharing)
            if moved != key and moved in self._items:
                raise KeyError(describe(self._items[moved]))
            saved.owner, saved.sharing = owner, sharing
            if perms is not None:
                saved.perms = perms
            saved.updated = time.time()
            del self._items[key]
            self._items[moved] = saved
            self._save()
        if moved != key:
            self._notify(key, None)
        self._notify(moved, saved)
        return saved

    def suppress(self, key: tuple, until: float) -> SavedSearch:
        with self._lock:
            saved = self._item(key)
            saved.suppressed_until = until
            self._save()
        return saved

    def delete(self, key: tuple) -> None:
        with self._lock:
            self._item(key)
            del self._items[key]
            self._save()
        self._notify(key, None)

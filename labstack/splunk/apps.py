"""Apps installed from a file (``apps/local`` with ``filename=true``), as splunkd installs them.

An app archive (``.tgz`` or ``.spl``) holds one folder named after the app, with ``default/*.conf``,
``lookups/*.csv`` and ``metadata/``. Installing reads the whole archive and checks every file
before anything changes: a bad archive is refused with the reason and leaves the Splunk as it was.
What the local Splunk understands of an app: ``app.conf`` (label, version, visibility),
``savedsearches.conf``, ``macros.conf`` and ``lookups/*.csv``; other files are kept in the record
but have no effect here.

Its saved searches and macros live in the app, shared with it, or with every app when
``metadata/default.meta`` exports them (``export = system``). An app still cannot bring a saved
search whose name another app already uses (a rule from before knowledge objects had
namespaces, kept).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tarfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from labstack.splunk.conf import ConfError, parse
from labstack.splunk.saved import Missing

#: Limits on what an archive may hold (an app is configuration, not data).
MAX_MEMBERS = 2000
MAX_BYTES = 50 * 1024 * 1024
APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: Apps every splunkd has; they cannot be installed over or removed.
BUILT_IN = {"search": "Search & Reporting", "launcher": "Home", "system": "System"}


class AppError(ValueError):
    """An app that cannot be installed or removed; ``status`` is the HTTP answer."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


@dataclass
class App:
    name: str
    label: str
    version: str
    visible: bool = True
    saved_searches: list[str] = field(default_factory=list)
    macros: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    installed: float = field(default_factory=time.time)


@dataclass
class Contents:
    """An archive, read and checked: the app's name and its files' text."""

    name: str
    files: dict[str, str]

    def conf(self, name: str) -> dict[str, dict[str, str]]:
        text = self.files.get(f"default/{name}")
        return {} if text is None else parse(text, f"{self.name}/default/{name}")

    def sharing(self, kind: str) -> str:
        """How the app shares its objects of ``kind`` (``savedsearches``): ``global`` when
        ``metadata/default.meta`` exports them (``export = system``), else ``app``."""
        text = self.files.get("metadata/default.meta")
        meta = {} if text is None else parse(text, f"{self.name}/metadata/default.meta")
        for stanza in (kind, ""):
            if "export" in meta.get(stanza, {}):
                return "global" if meta[stanza]["export"].strip() == "system" else "app"
        return "app"


def read_archive(path: Path) -> Contents:
    """The archive's files (text), or :class:`AppError` naming what is wrong with it."""
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise AppError(400, f"The app file does not exist: {path}") from None
    except (tarfile.TarError, OSError) as exc:
        raise AppError(400, f"{path} is not a .tgz or .spl app archive: {exc}") from None
    files: dict[str, str] = {}
    tops: set[str] = set()
    total = 0
    with archive:
        for count, member in enumerate(archive, 1):
            parts = PurePosixPath(member.name).parts
            if count > MAX_MEMBERS:
                raise AppError(400, f"{path}: more than {MAX_MEMBERS} files")
            if member.name.startswith("/") or ".." in parts or not parts:
                raise AppError(400, f"{path}: unsafe path in the archive: {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise AppError(400, f"{path}: {member.name!r} is not a file or folder")
            tops.add(parts[0])
            total += member.size
            if total > MAX_BYTES:
                raise AppError(400, f"{path}: more than {MAX_BYTES // 2**20} MB when unpacked")
            if member.isfile() and len(parts) > 1:
                data = archive.extractfile(member).read()
                try:
                    files["/".join(parts[1:])] = data.decode("utf-8")
                except UnicodeDecodeError:
                    files["/".join(parts[1:])] = ""  # binary (icons): kept by name only
    if len(tops) != 1:
        raise AppError(400, f"{path}: an app archive holds one folder, found {sorted(tops)}")
    name = tops.pop()
    if not APP_NAME.fullmatch(name):
        raise AppError(400, f"{path}: {name!r} is not a valid app name")
    if "default/app.conf" not in files:
        raise AppError(400, f"{path}: the app has no default/app.conf")
    return Contents(name, files)


class Apps:
    """The installed apps, kept in a JSON file; installs go through the store and saved searches.

    ``check(name, attrs)`` vets a saved search's settings before anything is stored (the
    alerting's check), so a bad stanza refuses the whole app."""

    def __init__(self, path: Path, store, saved, check=None):
        self.path, self.store, self.saved, self.check = Path(path), store, saved, check
        self._lock = threading.Lock()
        self._apps: dict[str, App] = {}
        if self.path.exists():
            self._apps = {a["name"]: App(**a) for a in json.loads(self.path.read_text() or "[]")}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump([asdict(a) for a in self._apps.values()], out, indent=1)
        os.replace(tmp, self.path)

    def list(self) -> list[App]:
        built_in = [App(n, label, "9.2.1", saved_searches=[]) for n, label in BUILT_IN.items()]
        with self._lock:
            return sorted([*built_in, *self._apps.values()], key=lambda a: a.name)

    def get(self, name: str) -> App | None:
        return next((a for a in self.list() if a.name == name), None)

    def install(self, path: Path, update: bool = False) -> tuple[App, bool]:
        """Install or, with ``update``, replace the app in ``path``; ``(app, created)``."""
        contents = read_archive(path)
        with self._lock:
            name = contents.name
            if name in BUILT_IN:
                raise AppError(409, f"App '{name}' is built in and cannot be replaced")
            previous = self._apps.get(name)
            if previous and not update:
                raise AppError(409, f"App '{name}' already exists; install with update=true")
            try:
                app, searches, macros, lookups = self._plan(contents)
            except ConfError as exc:
                raise AppError(400, str(exc)) from None
            self._check_names(app)
            for macro, definition in macros.items():
                self.store.set_macro(
                    macro, definition, app=name, sharing=contents.sharing("macros")
                )
            for lookup, text in lookups.items():
                self.store.put_lookup(lookup, text)
            sharing = contents.sharing("savedsearches")
            for search, attrs in searches.items():
                found = self._own(search, name)
                if found is None:
                    self.saved.create(search, attrs, owner="nobody", app=name, sharing=sharing)
                    continue
                self.saved.update(found.key, attrs)
                if found.sharing != sharing:
                    self.saved.set_acl(found.key, found.owner, sharing, None)
            for stale in set(previous.saved_searches if previous else ()) - set(searches):
                if (found := self._own(stale, name)) is not None:
                    self._delete(found.key)
            self._apps[name] = app
            self._save()
        return app, previous is None

    def _plan(self, contents: Contents):
        """Everything the app would change, checked, before any of it is applied."""
        conf = contents.conf("app.conf")
        searches = {}
        for stanza, attrs in contents.conf("savedsearches.conf").items():
            if stanza == "default":
                continue
            if "search" not in attrs:
                raise ConfError(f"savedsearches.conf [{stanza}]: a saved search needs 'search'")
            if self.check is not None:
                try:
                    self.check(stanza, attrs)
                except ValueError as exc:
                    raise ConfError(f"savedsearches.conf [{stanza}]: {exc}") from None
            searches[stanza] = attrs
        macros = {}
        for stanza, attrs in contents.conf("macros.conf").items():
            if stanza != "default":
                if "definition" not in attrs:
                    raise ConfError(f"macros.conf [{stanza}]: a macro needs 'definition'")
                macros[stanza] = attrs["definition"]
        lookups = {}
        for path, text in contents.files.items():
            if path.startswith("lookups/") and path.endswith(".csv") and path.count("/") == 1:
                if not text.strip():
                    raise ConfError(f"{path}: the lookup has no header row")
                lookups[path.removeprefix("lookups/")] = text
        label = conf.get("ui", {}).get("label", contents.name)
        version = conf.get("launcher", {}).get("version", "")
        visible = conf.get("ui", {}).get("is_visible", "true").lower() in ("1", "true")
        app = App(contents.name, label, version, visible, sorted(searches), sorted(macros),
                  sorted(lookups), sorted(contents.files))  # fmt: skip
        return app, searches, macros, lookups

    def _delete(self, key: tuple) -> None:
        """Delete the app's search; one deleted through the API meanwhile is gone already."""
        with contextlib.suppress(Missing):
            self.saved.delete(key)

    def _own(self, search: str, app: str):
        """The app's own (shared) saved search of that name, or None."""
        shared = [s for s in self.saved.named(search) if s.app == app and s.sharing != "user"]
        return shared[0] if shared else None

    def _check_names(self, app: App) -> None:
        taken = [
            s
            for s in app.saved_searches
            if any(found.app != app.name for found in self.saved.named(s))
        ]
        if taken:
            raise AppError(
                409,
                f"App '{app.name}': saved searches already exist in another app: "
                f"{', '.join(taken)} (the local Splunk keeps one saved search per name)",
            )

    def remove(self, name: str) -> None:
        """Uninstall: the app's saved searches go with it (its macros and lookups stay, shared)."""
        with self._lock:
            if name in BUILT_IN:
                raise AppError(400, f"App '{name}' is built in and cannot be removed")
            app = self._apps.pop(name, None)
            if app is None:
                raise AppError(404, f"Could not find object id={name}")
            for search in app.saved_searches:
                if (found := self._own(search, name)) is not None:
                    self._delete(found.key)
            self._save()

"""Where a knowledge object lives and which ones a request sees, as splunkd resolves them.

A knowledge object (a saved search, a macro) lives in an app at one sharing level: ``user``
(its owner's private object), ``app`` (everyone's in its app) or ``global`` (exported to every
app). Its identity is its name, its app and, for a private object, its owner
(:func:`identity`): admin's private ``Lab Alert`` and the search app's shared one are two
objects. An app-level or global object keeps an owner too, but only as a label.

A request's :class:`Namespace` is the ``<owner>/<app>`` of ``/servicesNS/<owner>/<app>/...``
(``-`` is any). ``/services/`` is the user's own context, as on splunkd: the user asking, in
the search app, except that every app's objects are seen too (the stand-in has no default app
per user; lab apps install their searches in their own app). A namespace sees its owner's
private objects in its app, its app's objects and every global one. When both owner and app
are named (and under ``/services/``), one object answers for a name: the most specific
(private, then the app's own, then one from another app), as splunkd layers ``local.meta``;
with a wildcard every visible object is listed.

>>> from types import SimpleNamespace as O
>>> mine = O(name="x", owner="admin", app="search", sharing="user")
>>> shared = O(name="x", owner="nobody", app="search", sharing="app")
>>> [o.sharing for o in Namespace("admin", "search").visible([shared, mine])]
['user']
>>> [o.sharing for o in Namespace("nobody", "search").visible([shared, mine])]
['app']
>>> [o.sharing for o in Namespace.of("-", "-").visible([shared, mine])]
['user', 'app']
>>> [o.sharing for o in Namespace.of(None, None, user="admin").visible([shared, mine])]
['user']
>>> Namespace("admin", "search").home()
('admin', 'search', 'user')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

__all__ = ["SHARING", "WILDCARD", "Namespace", "Scoped", "describe", "identity"]

#: Any owner or any app.
WILDCARD = "-"
#: Who a knowledge object is shared with: its owner, its app, or every app.
SHARING = ("user", "app", "global")
#: The app an object goes to when the request names none.
DEFAULT_APP = "search"
#: The owner of an object shared with its app when nobody in particular owns it.
NOBODY = "nobody"


class Scoped(Protocol):
    name: str
    owner: str
    app: str
    sharing: str


T = TypeVar("T", bound=Scoped)


def identity(name: str, owner: str, app: str, sharing: str) -> tuple[str, str, str]:
    """What tells two objects apart: (name, app, owner of a private one, else '').

    >>> identity("x", "admin", "search", "user"), identity("x", "admin", "search", "app")
    (('x', 'search', 'admin'), ('x', 'search', ''))
    """
    return (name, app, owner if sharing == "user" else "")


def describe(obj: Scoped) -> str:
    """Where an object lives, for messages: ``owner=admin, app=search, sharing=user``."""
    return f"owner={obj.owner}, app={obj.app}, sharing={obj.sharing}"


@dataclass(frozen=True)
class Namespace:
    """``owner``/``app`` of a request (``-``: any)."""

    owner: str = WILDCARD
    app: str = WILDCARD
    #: Objects of every app are seen (after the app's own): ``/services/``.
    every_app: bool = False

    @classmethod
    def of(cls, owner: str | None, app: str | None, user: str | None = None) -> Namespace:
        """The namespace of a request's path; None, as under ``/services/``, is ``user``'s
        context (any, without a user)."""
        if owner is None and app is None and user:
            return cls(user, DEFAULT_APP, every_app=True)
        return cls(owner or WILDCARD, app or WILDCARD)

    @property
    def exact(self) -> bool:
        """Owner and app both named: one object answers for a name."""
        return WILDCARD not in (self.owner, self.app)

    def sees(self, obj: Scoped) -> bool:
        if obj.sharing == "global":
            return True
        in_app = self.every_app or self.app in (WILDCARD, obj.app)
        if obj.sharing == "user":
            return in_app and self.owner in (WILDCARD, obj.owner)
        return in_app

    def rank(self, obj: Scoped) -> int:
        """How specific an object is here: 0 private, 1 shared in this app, then the same
        from another app (2, 3)."""
        elsewhere = 0 if self.app in (WILDCARD, obj.app) else 2
        return elsewhere + (0 if obj.sharing == "user" else 1)

    def _order(self, obj: Scoped) -> tuple:
        return (obj.name.lower(), obj.name, self.rank(obj), obj.app, obj.owner)

    def visible(self, objects: Iterable[T]) -> list[T]:
        """The objects this namespace lists, by name, the most specific of a name first (the
        only one of it when owner and app are named)."""
        found = sorted((o for o in objects if self.sees(o)), key=self._order)
        if not self.exact:
            return found
        seen: set[str] = set()
        return [o for o in found if not (o.name in seen or seen.add(o.name))]

    def named(self, objects: Iterable[T], name: str) -> list[T]:
        """The visible objects called ``name`` (more than one only with a wildcard)."""
        return self.visible(o for o in objects if o.name == name)

    def effective(self, objects: Iterable[T]) -> dict[str, T]:
        """One object per name, the most specific, as a search run here resolves names."""
        out: dict[str, T] = {}
        for obj in sorted((o for o in objects if self.sees(o)), key=self._order):
            out.setdefault(obj.name, obj)
        return out

    def for_search(self, user: str) -> Namespace:
        """Where a search dispatched here runs (the macros it expands): a wildcard owner is
        the user asking, a wildcard app the search app, as in splunkd's user context.

        >>> Namespace().for_search("admin")
        Namespace(owner='admin', app='search', every_app=False)
        """
        owner = user if self.owner == WILDCARD else self.owner
        app = DEFAULT_APP if self.app == WILDCARD else self.app
        return replace(self, owner=owner, app=app)

    def home(self, owner: str | None = None, app: str | None = None) -> tuple[str, str, str]:
        """Where an object created here goes: (owner, app, sharing). A named owner other than
        ``nobody`` makes it that owner's private object; otherwise it is shared with its app.
        Under ``/services/`` it is shared with the search app, as the stand-in always did.
        ``owner``/``app`` given in the request's form override the path's; ``owner=nobody``
        is nobody's, so shared, whatever the path.

        >>> Namespace("admin", "search").home(owner="nobody")
        ('nobody', 'search', 'app')
        """
        app = app or (self.app if self.app != WILDCARD else DEFAULT_APP)
        private = self.owner not in (WILDCARD, NOBODY) and not self.every_app
        if private and owner != NOBODY:
            return owner or self.owner, app, "user"
        return owner or NOBODY, app, "app"

"""Typed registries for units (detections, playbooks, enrichers, SPL commands, services...).

A registry maps a unique name to one item. Registering a second item under a name already taken
fails loudly, so two files can never silently shadow each other; meta-tests walk the registry.

>>> playbooks = Registry[str]("playbook")
>>> @playbooks.register("revoke-ingress")
... def revoke(): ...
>>> playbooks.names()
['revoke-ingress']
>>> playbooks.add("revoke-ingress", revoke)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
helpers.runtime.registry.DuplicateError: playbook 'revoke-ingress' is registered twice
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["DuplicateError", "Registry", "UnknownError"]

T = TypeVar("T")


class DuplicateError(ValueError):
    """A name is registered twice."""


class UnknownError(KeyError):
    """No item is registered under that name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Registry(Generic[T]):
    """Name -> item, in registration order; ``kind`` names the items in error messages."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a name already taken raises ``DuplicateError``."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._items:
            raise DuplicateError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator form of :meth:`add`."""

        def decorate(item: T) -> T:
            return self.add(name, item)

        return decorate

    def get(self, name: str) -> T:
        """The item named ``name``, or ``UnknownError`` listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise UnknownError(f"unknown {self.kind} {name!r}; known: {known}") from None

    __getitem__ = get

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def values(self) -> list[T]:
        return list(self._items.values())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} items)"

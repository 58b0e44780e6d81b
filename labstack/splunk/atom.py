"""splunkd's response shapes: Atom feeds and entries, their JSON twins, and error messages.

Every entity the API returns goes through :func:`feed` or :func:`entry`, so the details
splunklib depends on (the Atom namespace, ``<link rel="alternate">`` and ``eai:acl`` in every
entry; see the wire spec section 1.2) are written in one place.

>>> e = Entity("lab", "data/indexes", {"totalEventCount": "0"}, owner="nobody", app="system")
>>> "rel=\\"alternate\\"" in feed("indexes", [e], base="http://127.0.0.1:8089")
True
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

ATOM_NS = "http://www.w3.org/2005/Atom"
REST_NS = "http://dev.splunk.com/ns/rest"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

#: The version splunklib sees; 9.x keeps the SDK on the v2 search endpoints.
VERSION = "9.2.1"
BUILD = "78803f08aabb"
GENERATOR = {"build": BUILD, "version": VERSION}


@dataclass
class Entity:
    """One REST entity: its name, the collection path it lives under, and its content."""

    name: str
    collection: str  # e.g. "saved/searches"
    content: dict
    owner: str = "nobody"
    app: str = "system"
    sharing: str = "system"
    updated: float | None = None
    perms: dict | None = field(default_factory=lambda: {"read": ["*"], "write": ["admin"]})

    @property
    def path(self) -> str:
        return f"/servicesNS/{self.owner}/{self.app}/{self.collection}/{quote(self.name, safe='')}"

    def acl(self) -> dict:
        return {
            "app": self.app,
            "can_change_perms": "1",
            "can_list": "1",
            "can_share_app": "1",
            "can_share_global": "1",
            "can_share_user": "1",
            "can_write": "1",
            "modifiable": "1",
            "owner": self.owner,
            "perms": self.perms,
            "removable": "1",
            "sharing": self.sharing,
        }


def iso(ts: float | None = None) -> str:
    """Splunk's timestamp style for Atom ``<updated>``: ``2024-01-01T00:00:00+00:00``."""
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.isoformat(timespec="seconds")


# -- XML ---------------------------------------------------------------------------------------
def xml_text(value) -> str:
    """``value`` as XML character data (``<`` and ``&`` escaped)."""
    return escape(str(value))


def _value_xml(value) -> str:
    if isinstance(value, dict):
        keys = "".join(
            f"<s:key name={quoteattr(str(k))}>{_value_xml(v)}</s:key>" for k, v in value.items()
        )
        return f"<s:dict>{keys}</s:dict>"
    if isinstance(value, list | tuple):
        return (
            "<s:list>" + "".join(f"<s:item>{_value_xml(v)}</s:item>" for v in value) + "</s:list>"
        )
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return escape(str(value))


def _entry_xml(entity: Entity, base: str, root: bool = False) -> str:
    ns = f' xmlns="{ATOM_NS}" xmlns:s="{REST_NS}"' if root else ""
    content = dict(entity.content)
    content["eai:acl"] = entity.acl()
    return (
        f"<entry{ns}>"
        f"<title>{escape(entity.name)}</title>"
        f"<id>{escape(base + entity.path)}</id>"
        f"<updated>{iso(entity.updated)}</updated>"
        f'<link href={quoteattr(entity.path)} rel="alternate"/>'
        f"<author><name>{escape(entity.owner)}</name></author>"
        f'<link href={quoteattr(entity.path)} rel="list"/>'
        f'<link href={quoteattr(entity.path)} rel="edit"/>'
        f'<link href={quoteattr(entity.path)} rel="remove"/>'
        f'<content type="text/xml">{_value_xml(content)}</content>'
        "</entry>"
    )


def feed_xml(title: str, entities: list[Entity], base: str, total: int | None = None) -> str:
    total = len(entities) if total is None else total
    entries = "".join(_entry_xml(e, base) for e in entities)
    return (
        f'{XML_DECL}<feed xmlns="{ATOM_NS}" xmlns:s="{REST_NS}" xmlns:opensearch="{OPENSEARCH_NS}">'
        f"<title>{escape(title)}</title><id>{escape(base)}/services/{escape(title)}</id>"
        f"<updated>{iso()}</updated>"
        f'<generator build="{BUILD}" version="{VERSION}"/>'
        f"<author><name>Splunk</name></author>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:itemsPerPage>{len(entities)}</opensearch:itemsPerPage>"
        f"<opensearch:startIndex>0</opensearch:startIndex>"
        f"<s:messages/>{entries}</feed>"
    )


def entry_xml(entity: Entity, base: str) -> str:
    """A bare ``<entry>`` document (the search job status shape)."""
    return XML_DECL + _entry_xml(entity, base, root=True)


def response_xml(**values) -> str:
    """``<response><sid>..</sid></response>`` and similar flat answers."""
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in values.items())
    return f"{XML_DECL}<response>{inner}</response>"


def messages_xml(messages: list[tuple[str, str]]) -> str:
    msgs = "".join(f"<msg type={quoteattr(t)}>{escape(text)}</msg>" for t, text in messages)
    return f"{XML_DECL}<response><messages>{msgs}</messages></response>"


# -- JSON (output_mode=json) -----------------------------------------------------------------
def _entry_json(entity: Entity, base: str) -> dict:
    return {
        "name": entity.name,
        "id": base + entity.path,
        "updated": iso(entity.updated),
        "links": {
            "alternate": entity.path,
            "list": entity.path,
            "edit": entity.path,
            "remove": entity.path,
        },
        "author": entity.owner,
        "acl": entity.acl(),
        "content": entity.content,
    }


def feed_json(title: str, entities: list[Entity], base: str, total: int | None = None) -> str:
    total = len(entities) if total is None else total
    return json.dumps(
        {
            "links": {"create": f"/services/{title}/_new"},
            "origin": f"{base}/services/{title}",
            "updated": iso(),
            "generator": GENERATOR,
            "entry": [_entry_json(e, base) for e in entities],
            "paging": {"total": total, "perPage": len(entities), "offset": 0},
            "messages": [],
        }
    )


def messages_json(messages: list[tuple[str, str]]) -> str:
    return json.dumps({"messages": [{"type": t, "text": text} for t, text in messages]})


def feed(title: str, entities: list[Entity], base: str, mode: str = "xml", total=None) -> str:
    """A collection listing in the requested output mode."""
    if mode == "json":
        return feed_json(title, entities, base, total)
    return feed_xml(title, entities, base, total)

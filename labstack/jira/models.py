"""What the lab's Jira does to issues: create, edit, transition, comment, assign, link, search.

Routes translate HTTP to these calls; every change is validated first (a bad request changes
nothing), recorded in the issue's history, and announced to ``on_event`` (the webhook outbox)
inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from labstack.jira import catalog, jql
from labstack.jira.catalog import Catalog
from labstack.jira.render import now_iso
from labstack.jira.store import Store

EventSink = Callable[..., None]
SHORT_TEXT_LIMIT = 255  # summary and single-line text custom fields
LONG_TEXT_LIMIT = 32_767  # description, environment, comments
_USER_REFS = ("accountId", "name", "key", "id")  # what names a user, in the order Jira reads them


class JiraError(Exception):
    """An error Jira answers with ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(self, status: int, messages: list[str] | str = (), errors: dict | None = None):
        self.status = status
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.errors = errors or {}
        super().__init__("; ".join(self.messages + [f"{k}: {v}" for k, v in self.errors.items()]))

    def body(self) -> dict:
        return {"errorMessages": self.messages, "errors": self.errors}


def not_on_screen(field_id: str) -> str:
    return f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."


class Jira:
    """The issue operations of one site. ``on_event(name, issue, actor, **extra)`` sees changes."""

    def __init__(self, cat: Catalog, store: Store, on_event: EventSink | None = None):
        self.cat = cat
        self.store = store
        self.on_event = on_event or (lambda *a, **k: None)

    # -- lookups -----------------------------------------------------------------------------------
    def get(self, id_or_key: str) -> dict:
        issue = self.store.issue(id_or_key)
        if issue is None:
            raise JiraError(404, "Issue Does Not Exist")
        return issue

    def _compile(self, query: str, actor: str | None) -> tuple[jql.Query, jql.Context]:
        ctx = jql.Context(
            self.cat,
            current_user=actor,
            issue_by_key=self.store.issue,
            comments_of=lambda issue_id: [
                c["body"] for c in self.store.attached("comments", issue_id)
            ],
        )
        try:
            return jql.compile_query(query, ctx), ctx
        except jql.JqlError as err:
            raise JiraError(400, str(err)) from None

    def search(self, query: str, actor: str | None) -> list[dict]:
        compiled, ctx = self._compile(query, actor)
        return compiled.run(self.store.issues(), ctx)

    def matches(self, issue: dict, query: str) -> bool:
        """True when ``issue`` is in the result of ``query`` (used by webhook filters)."""
        compiled, _ctx = self._compile(query, None)
        return compiled.predicate(issue)

    # -- create / edit -----------------------------------------------------------------------------
    def create(self, fields: dict, update: dict | None, actor: str) -> dict:
        fields = dict(fields or {})
        errors: dict[str, str] = {}
        project = fields.pop("project", None)
        if not isinstance(project, dict) or not (
            str(project.get("id")) == catalog.PROJECT_ID
            or str(project.get("key", "")).upper() == self.cat.config.project.upper()
        ):
            errors["project"] = "valid project is required"
        if "issuetype" not in fields:
            errors["issuetype"] = "issue type is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        now = now_iso()
        doc = {
            "project": self.cat.config.project,
            "summary": "",
            "description": None,
            "environment": None,
            "issuetype": None,
            "status": catalog.INITIAL_STATUS,
            "priority": catalog.DEFAULT_PRIORITY,
            "labels": [],
            "components": [],
            "assignee": None,
            "reporter": actor,
            "creator": actor,
            "resolution": None,
            "resolutiondate": None,
            "created": now,
            "updated": now,
            "custom": {},
        }
        comments = self._apply(doc, fields, update or {}, errors)
        if errors:
            raise JiraError(400, [], errors)
        with self.store.tx():
            issue = self.store.create_issue(doc["project"], doc)
            for body in comments:
                self._add_comment(issue, body, actor, announce=False)
            self.on_event("jira:issue_created", issue, actor, type_name="issue_created")
        return issue

    def edit(self, issue: dict, fields: dict, update: dict, actor: str) -> dict:
        errors: dict[str, str] = {}
        before = _copy(issue)
        for key in ("project", "status"):
            if key in (fields or {}):
                errors[key] = not_on_screen(key)
        doc = _copy(issue)
        comments = self._apply(doc, fields or {}, update or {}, errors)
        if errors:
            raise JiraError(400, [], errors)
        with self.store.tx():
            self._save_changes(before, doc, actor)
            for body in comments:
                self._add_comment(doc, body, actor)
        return doc

    def _save_changes(self, before: dict, doc: dict, actor: str, type_name: str = "") -> dict:
        items = self.changelog_items(before, doc)
        if not items:
            return doc
        doc["updated"] = now_iso()
        self.store.save_issue(doc)
        history = self.store.add(
            "histories", doc["id"], {"author": actor, "created": doc["updated"], "items": items}
        )
        if not type_name:
            only_assignee = {i["field"] for i in items} == {"assignee"}
            type_name = "issue_assigned" if only_assignee else "issue_updated"
        self.on_event(
            "jira:issue_updated",
            doc,
            actor,
            type_name=type_name,
            changelog={"id": str(history["id"]), "items": items},
        )
        return doc

    def _apply(self, doc: dict, fields: dict, update: dict, errors: dict) -> list[str]:
        """Set ``fields`` and run ``update`` operations on ``doc``; return comments to add."""
        comments: list[str] = []
        for key, value in fields.items():
            if key == "comment":
                errors[key] = not_on_screen(key)
                continue
            self._set(doc, key, value, errors)
        for key, ops in (update or {}).items():
            if not isinstance(ops, list):
                errors[key] = f"Field '{key}' update operations must be a list."
                continue
            for op in ops:
                if not isinstance(op, dict) or len(op) != 1:
                    errors[key] = f"Operation on field '{key}' is invalid."
                    continue
                verb, value = next(iter(op.items()))
                if key == "comment" and verb == "add":
                    body = value.get("body") if isinstance(value, dict) else None
                    try:
                        _check_comment(body)
                        comments.append(body)
                    except JiraError as err:
                        errors.update(err.errors)
                elif verb == "set":
                    self._set(doc, key, value, errors)
                elif verb in ("add", "remove") and key in ("labels", "components"):
                    current = list(doc.get(key) or [])
                    probe = {key: list(current)}
                    self._set(probe, key, [value], errors)
                    for item in probe[key]:
                        if verb == "add" and item not in current:
                            current.append(item)
                        elif verb == "remove" and item in current:
                            current.remove(item)
                    if key not in errors:
                        doc[key] = current
                else:
                    errors[key] = f"Operation '{verb}' is not supported on field '{key}'."
        return comments

    def _set(self, doc: dict, key: str, value, errors: dict) -> None:
        f = catalog.field_by_id(key)
        if f is None or not f.editable:
            errors[key] = not_on_screen(key)
            return
        if f.custom:
            if value is not None and f.kind == "number":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    errors[key] = "Operation value must be a number"
                    return
            elif value is not None and not isinstance(value, str):
                errors[key] = "Operation value must be a string"
                return
            elif value is not None and len(value) > SHORT_TEXT_LIMIT:  # a single-line text field
                errors[key] = too_long(SHORT_TEXT_LIMIT)
                return
            doc.setdefault("custom", {})[key] = value
            return
        setter = getattr(self, f"_set_{key}", None)
        if setter is None:
            try:
                doc[key] = _text(key, value)
            except ValueError as err:
                errors[key] = str(err)
            return
        try:
            doc[key] = setter(value)
        except ValueError as err:
            errors[key] = str(err)

    def _set_issuetype(self, value) -> str:
        row = _row(catalog.ISSUE_TYPES, value)
        if row is None:
            raise ValueError("valid issue type is required")
        return row[0]

    def _set_priority(self, value) -> str:
        row = _row(catalog.PRIORITIES, value)
        if row is None:
            raise ValueError("The priority selected is invalid.")
        return row[0]

    def _set_labels(self, value) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("Operation value must be a list of strings")
        for label in value:
            if not label or any(ch.isspace() for ch in label):
                raise ValueError(f"The label '{label}' contains spaces which is invalid.")
            if len(label) > 255:
                raise ValueError("The label must be less than 255 characters.")
        return list(dict.fromkeys(value))

    def _set_components(self, value) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("Operation value must be a list")
        ids = []
        for item in value:
            row = _row(catalog.COMPONENTS, item)
            if row is None:
                shown = item.get("name") or item.get("id") if isinstance(item, dict) else item
                raise ValueError(f"Component name '{shown}' is not valid")
            ids.append(row[0])
        return list(dict.fromkeys(ids))

    def _set_assignee(self, value) -> str | None:
        return self._user(value)

    def _set_reporter(self, value) -> str | None:
        return self._user(value)

    def _user(self, value) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError("expected Object")
        if self.cat.config.cloud and ("name" in value or "key" in value):
            raise ValueError(
                "'accountId' must be the only user identifying query parameter in GDPR strict mode."
            )
        if any(not isinstance(value.get(k), str | None) for k in _USER_REFS):
            raise ValueError("A user's accountId, name, key and id are strings.")
        ident = next((value[k] for k in _USER_REFS if value.get(k)), None)
        if ident in (None, "-1"):
            return None
        user = self.cat.user(ident)
        if user is None:
            raise ValueError(f"User '{ident}' does not exist.")
        return user.name

    # -- workflow ----------------------------------------------------------------------------------
    def transitions(self, issue: dict) -> list[catalog.Transition]:
        return catalog.transitions_from(issue["status"])

    def transition(self, issue: dict, body: dict, actor: str) -> dict:
        wanted = str((body.get("transition") or {}).get("id", ""))
        match = next((t for t in self.transitions(issue) if t.id == wanted), None)
        if match is None:
            raise JiraError(
                400,
                f"Transition id '{wanted}' is not valid for this issue.",
            )
        fields = dict(body.get("fields") or {})
        errors: dict[str, str] = {}
        resolution = fields.pop("resolution", None)
        before, doc = _copy(issue), _copy(issue)
        target = catalog.status(match.to)
        if target.category == "done":
            row = _row(catalog.RESOLUTIONS, resolution) if resolution else None
            if resolution and row is None:
                errors["resolution"] = "The resolution selected is invalid."
            doc["resolution"] = row[0] if row else catalog.DEFAULT_RESOLUTION
            doc["resolutiondate"] = now_iso()
        elif resolution:
            errors["resolution"] = not_on_screen("resolution")
        else:
            doc["resolution"] = None
            doc["resolutiondate"] = None
        doc["status"] = match.to
        comments = self._apply(doc, fields, body.get("update") or {}, errors)
        if errors:
            raise JiraError(400, [], errors)
        with self.store.tx():
            type_name = "issue_resolved" if target.category == "done" else "issue_generic"
            self._save_changes(before, doc, actor, type_name=type_name)
            for text in comments:
                self._add_comment(doc, text, actor)
        return doc

    def assign(self, issue: dict, body: dict, actor: str) -> dict:
        try:
            assignee = self._user(body or None)
        except ValueError as err:
            raise JiraError(400, [], {"assignee": str(err)}) from None
        before, doc = _copy(issue), _copy(issue)
        doc["assignee"] = assignee
        with self.store.tx():
            return self._save_changes(before, doc, actor, type_name="issue_assigned")

    def delete(self, issue: dict, actor: str) -> None:
        with self.store.tx():
            self.on_event("jira:issue_deleted", issue, actor, type_name="issue_deleted")
            self.store.delete_issue(issue["id"])

    # -- comments ----------------------------------------------------------------------------------
    def add_comment(self, issue: dict, body, actor: str) -> dict:
        _check_comment(body)
        with self.store.tx():
            return self._add_comment(issue, body, actor)

    def _add_comment(self, issue: dict, body: str, actor: str, announce: bool = True) -> dict:
        now = now_iso()
        comment = self.store.add(
            "comments", issue["id"], {"author": actor, "body": body, "created": now, "updated": now}
        )
        issue = self.store.issue(issue["id"])
        issue["updated"] = now
        self.store.save_issue(issue)
        if announce:
            self.on_event("comment_created", issue, actor, comment=comment)
            self.on_event(
                "jira:issue_updated", issue, actor, type_name="issue_commented", comment=comment
            )
        return comment

    def comment(self, issue: dict, comment_id: str) -> dict:
        doc = self.store.get("comments", comment_id)
        if doc is None or doc["id"] not in {
            c["id"] for c in self.store.attached("comments", issue["id"])
        }:
            raise JiraError(404, f"Can not find a comment for the id: {comment_id}.")
        return doc

    def update_comment(self, issue: dict, comment_id: str, body, actor: str) -> dict:
        doc = self.comment(issue, comment_id)
        _check_comment(body)
        doc.update(body=body, updated=now_iso(), update_author=actor)
        with self.store.tx():
            self.store.update("comments", doc)
            self.on_event("comment_updated", issue, actor, comment=doc)
        return doc

    def delete_comment(self, issue: dict, comment_id: str, actor: str) -> None:
        doc = self.comment(issue, comment_id)
        with self.store.tx():
            self.store.remove("comments", doc["id"])
            self.on_event("comment_deleted", issue, actor, comment=doc)

    # -- links -------------------------------------------------------------------------------------
    def link(self, body: dict, actor: str) -> int:
        kind = body.get("type") or {}
        row = _row(catalog.LINK_TYPES, kind)
        if row is None:
            name = kind.get("name") or kind.get("id")
            raise JiraError(404, f"No issue link type with name '{name}' found.")
        ends = []
        for side in ("inwardIssue", "outwardIssue"):
            ref = body.get(side) or {}
            issue = self.store.issue(ref.get("key") or ref.get("id") or "")
            if issue is None:
                raise JiraError(404, f"Issue Does Not Exist: {ref.get('key') or ref.get('id')}")
            ends.append(issue)
        comment = (body.get("comment") or {}).get("body")
        with self.store.tx():
            link_id = self.store.add_link(row[0], ends[0]["id"], ends[1]["id"])
            if comment:
                self._add_comment(ends[0], comment, actor)
        return link_id

    def add_remote_link(self, issue: dict, body: dict) -> dict:
        obj = body.get("object") or {}
        if not obj.get("url") or not obj.get("title"):
            errors = {k: f"'{k}' is required." for k in ("url", "title") if not obj.get(k)}
            raise JiraError(400, [], errors)
        global_id = body.get("globalId")
        if global_id:  # Jira updates the remote link with the same globalId in place
            for doc in self.store.attached("remotelinks", issue["id"]):
                if doc.get("globalId") == global_id:
                    doc.update({k: body.get(k) for k in ("object", "application", "relationship")})
                    self.store.update("remotelinks", doc)
                    return doc
        fields = {k: body.get(k) for k in ("globalId", "application", "relationship", "object")}
        return self.store.add("remotelinks", issue["id"], fields)

    # -- history -----------------------------------------------------------------------------------
    def changelog_items(self, before: dict, after: dict) -> list[dict]:
        items = []
        for f in catalog.FIELDS:
            if f.id in ("issuekey", "project", "created", "updated", "comment", "issuelinks"):
                continue
            if f.id in ("statusCategory", "creator", "resolutiondate"):
                continue
            old = (before.get("custom") or {}).get(f.id) if f.custom else before.get(f.id)
            new = (after.get("custom") or {}).get(f.id) if f.custom else after.get(f.id)
            if old == new:
                continue
            items.append(
                {
                    "field": f.name if f.custom else f.id,
                    "fieldtype": "custom" if f.custom else "jira",
                    "fieldId": f.id,
                    "from": self._raw(f, old),
                    "fromString": self._display(f, old),
                    "to": self._raw(f, new),
                    "toString": self._display(f, new),
                }
            )
        return items

    def _raw(self, f: catalog.Field, value):
        if f.kind in ("status", "priority", "issuetype", "resolution", "user"):
            return value
        if f.kind == "component":
            return " ".join(value or []) or None
        return None

    def _display(self, f: catalog.Field, value) -> str | None:
        if value is None or value == []:
            return None
        if f.kind == "status":
            return catalog.status(value).name
        if f.kind == "user":
            user = self.cat.users.get(value)
            return user.display_name if user else value
        tables = {
            "priority": catalog.PRIORITIES,
            "issuetype": catalog.ISSUE_TYPES,
            "resolution": catalog.RESOLUTIONS,
        }
        if f.kind in tables:
            return catalog.by_name_or_id(tables[f.kind], value)[1]
        if f.kind == "component":
            return ", ".join(catalog.by_name_or_id(catalog.COMPONENTS, c)[1] for c in value)
        if isinstance(value, list):
            return " ".join(value)
        return str(value)


def _check_comment(body) -> None:
    if not isinstance(body, str) or not body.strip():
        raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
    if len(body) > LONG_TEXT_LIMIT:
        raise JiraError(400, [], {"comment": too_long(LONG_TEXT_LIMIT)})


def too_long(limit: int) -> str:
    return f"The entered text is too long. It exceeds the allowed limit of {limit:,} characters."


def _text(key: str, value) -> str | None:
    """Check a system text field (summary, description, environment) like Jira does."""
    if value is not None and not isinstance(value, str):
        raise ValueError("Operation value must be a string")
    if key != "summary":
        if value is not None and len(value) > LONG_TEXT_LIMIT:
            raise ValueError(too_long(LONG_TEXT_LIMIT))
        return value
    if not (value or "").strip():
        raise ValueError("You must specify a summary of the issue.")
    if "\n" in value or "\r" in value:
        raise ValueError("The summary is invalid because it contains newline characters.")
    if len(value) > SHORT_TEXT_LIMIT:
        raise ValueError("Summary must be less than 255 characters.")
    return value


def _row(table, value) -> tuple | None:
    """A catalog row from ``{"id": ...}``, ``{"name": ...}`` or a bare string."""
    if isinstance(value, dict):
        value = value.get("id") or value.get("name")
    if value is None:
        return None
    return catalog.by_name_or_id(table, value)


def _copy(doc: dict) -> dict:
    copy = dict(doc)
    copy["labels"] = list(doc.get("labels") or [])
    copy["components"] = list(doc.get("components") or [])
    copy["custom"] = dict(doc.get("custom") or {})
    return copy

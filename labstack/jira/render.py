"""Jira's JSON shapes: issues, users, statuses, comments, links (wire spec section 2.4).

The client turns every dict that has a ``self`` URL into a typed resource and raises
AttributeError on a missing key, so every standard field is always present (``null`` when empty).
"""

from __future__ import annotations

from datetime import UTC, datetime

from labstack.jira import catalog
from labstack.jira.catalog import Catalog, User
from labstack.jira.store import Store

EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def now_iso() -> str:
    """Jira's timestamp format, e.g. ``2024-01-01T00:00:00.000+0000``."""
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class Renderer:
    """Builds response bodies with this service's base URL and deployment type."""

    def __init__(self, cat: Catalog, store: Store):
        self.cat = cat
        self.store = store
        self.api = cat.config.base_url.rstrip("/") + "/rest/api/2"

    # -- small objects -----------------------------------------------------------------------------
    def user(self, user: User | None) -> dict | None:
        if user is None:
            return None
        avatar = f"{self.cat.config.base_url}/secure/useravatar?ownerId={user.name}"
        body = {
            "displayName": user.display_name,
            "emailAddress": user.email,
            "active": True,
            "timeZone": "UTC",
            "avatarUrls": {size: avatar for size in ("48x48", "24x24", "16x16", "32x32")},
        }
        if self.cat.config.cloud:
            return {
                "self": f"{self.api}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "accountType": "atlassian",
                **body,
            }
        return {
            "self": f"{self.api}/user?username={user.name}",
            "key": user.name,
            "name": user.name,
            **body,
        }

    def user_by_name(self, name: str | None) -> dict | None:
        return self.user(self.cat.users.get(name)) if name else None

    def status(self, status_id: str) -> dict:
        st = catalog.status(status_id)
        cat_id, cat_name, colour = catalog.STATUS_CATEGORIES[st.category]
        return {
            "self": f"{self.api}/status/{st.id}",
            "description": "",
            "iconUrl": f"{self.cat.config.base_url}/images/icons/statuses/generic.png",
            "name": st.name,
            "id": st.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{cat_id}",
                "id": cat_id,
                "key": st.category,
                "colorName": colour,
                "name": cat_name,
            },
        }

    def priority(self, priority_id: str | None) -> dict | None:
        row = catalog.by_name_or_id(catalog.PRIORITIES, priority_id) if priority_id else None
        if row is None:
            return None
        return {"self": f"{self.api}/priority/{row[0]}", "id": row[0], "name": row[1]}

    def issuetype(self, type_id: str) -> dict:
        row = catalog.by_name_or_id(catalog.ISSUE_TYPES, type_id)
        return {
            "self": f"{self.api}/issuetype/{row[0]}",
            "id": row[0],
            "name": row[1],
            "description": "",
            "subtask": row[2],
            "hierarchyLevel": -1 if row[2] else 0,
        }

    def resolution(self, resolution_id: str | None) -> dict | None:
        row = catalog.by_name_or_id(catalog.RESOLUTIONS, resolution_id) if resolution_id else None
        if row is None:
            return None
        return {"self": f"{self.api}/resolution/{row[0]}", "id": row[0], "name": row[1]}

    def component(self, comp_id: str) -> dict:
        row = catalog.by_name_or_id(catalog.COMPONENTS, comp_id)
        return {"self": f"{self.api}/component/{row[0]}", "id": row[0], "name": row[1]}

    def link_type(self, row: tuple) -> dict:
        type_id, name, inward, outward = row
        return {
            "id": type_id,
            "name": name,
            "inward": inward,
            "outward": outward,
            "self": f"{self.api}/issueLinkType/{type_id}",
        }

    def project(self, expand_types: bool = True) -> dict:
        cfg = self.cat.config
        body = {
            "self": f"{self.api}/project/{catalog.PROJECT_ID}",
            "id": catalog.PROJECT_ID,
            "key": cfg.project,
            "name": catalog.PROJECT_NAME,
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "lead": self.user_by_name(cfg.user),
            "description": "Security incidents opened by the lab's automation.",
            "components": [self.component(c[0]) for c in catalog.COMPONENTS],
            "avatarUrls": {
                "48x48": f"{cfg.base_url}/secure/projectavatar?pid={catalog.PROJECT_ID}"
            },
        }
        if expand_types:
            body["issueTypes"] = [self.issuetype(t[0]) for t in catalog.ISSUE_TYPES]
        return body

    def project_ref(self) -> dict:
        body = self.project(expand_types=False)
        return {k: body[k] for k in ("self", "id", "key", "name", "projectTypeKey", "avatarUrls")}

    # -- comments and histories --------------------------------------------------------------------
    def comment(self, issue: dict, doc: dict) -> dict:
        author = self.user_by_name(doc["author"])
        return {
            "self": f"{self.api}/issue/{issue['id']}/comment/{doc['id']}",
            "id": str(doc["id"]),
            "author": author,
            "body": doc["body"],
            "updateAuthor": self.user_by_name(doc.get("update_author") or doc["author"]),
            "created": doc["created"],
            "updated": doc["updated"],
            "jsdPublic": True,
        }

    def comments_page(self, issue: dict) -> dict:
        docs = self.store.attached("comments", issue["id"])
        items = [self.comment(issue, d) for d in docs]
        return {"comments": items, "maxResults": len(items), "total": len(items), "startAt": 0}

    def history(self, doc: dict) -> dict:
        return {
            "id": str(doc["id"]),
            "author": self.user_by_name(doc["author"]),
            "created": doc["created"],
            "items": doc["items"],
        }

    def changelog(self, issue: dict) -> dict:
        items = [self.history(d) for d in self.store.attached("histories", issue["id"])]
        return {"startAt": 0, "maxResults": len(items), "total": len(items), "histories": items}

    # -- links -------------------------------------------------------------------------------------
    def issue_ref(self, issue: dict) -> dict:
        fields = {
            "summary": issue["summary"],
            "status": self.status(issue["status"]),
            "priority": self.priority(issue.get("priority")),
            "issuetype": self.issuetype(issue["issuetype"]),
        }
        return {
            "id": str(issue["id"]),
            "key": issue["key"],
            "self": f"{self.api}/issue/{issue['id']}",
            "fields": fields,
        }

    def issue_link(self, link: dict, seen_from: int | None = None) -> dict | None:
        row = catalog.by_name_or_id(catalog.LINK_TYPES, link["type_id"])
        inward = self.store.issue(link["inward_id"])
        outward = self.store.issue(link["outward_id"])
        if row is None or inward is None or outward is None:
            return None
        body = {
            "id": str(link["id"]),
            "self": f"{self.api}/issueLink/{link['id']}",
            "type": self.link_type(row),
        }
        # Seen from an issue, Jira shows only the *other* end of the link.
        if seen_from != link["outward_id"]:
            body["outwardIssue"] = self.issue_ref(outward)
        if seen_from != link["inward_id"]:
            body["inwardIssue"] = self.issue_ref(inward)
        return body

    def remote_link(self, issue: dict, doc: dict) -> dict:
        return {
            "id": doc["id"],
            "self": f"{self.api}/issue/{issue['key']}/remotelink/{doc['id']}",
            "globalId": doc.get("globalId"),
            "application": doc.get("application") or {},
            "relationship": doc.get("relationship"),
            "object": doc.get("object") or {},
        }

    # -- issues ------------------------------------------------------------------------------------
    def fields(self, issue: dict) -> dict:
        links = [self.issue_link(x, issue["id"]) for x in self.store.links_of(issue["id"])]
        body = {
            "summary": issue["summary"],
            "description": issue.get("description"),
            "environment": issue.get("environment"),
            "issuetype": self.issuetype(issue["issuetype"]),
            "project": self.project_ref(),
            "status": self.status(issue["status"]),
            "priority": self.priority(issue.get("priority")),
            "labels": list(issue.get("labels") or []),
            "components": [self.component(c) for c in issue.get("components") or []],
            "assignee": self.user_by_name(issue.get("assignee")),
            "reporter": self.user_by_name(issue.get("reporter")),
            "creator": self.user_by_name(issue.get("creator")),
            "resolution": self.resolution(issue.get("resolution")),
            "resolutiondate": issue.get("resolutiondate"),
            "created": issue["created"],
            "updated": issue["updated"],
            "lastViewed": None,
            "duedate": None,
            "fixVersions": [],
            "versions": [],
            "subtasks": [],
            "attachment": [],
            "watches": {
                "self": f"{self.api}/issue/{issue['key']}/watchers",
                "watchCount": 0,
                "isWatching": False,
            },
            "issuelinks": [x for x in links if x],
            "comment": self.comments_page(issue),
        }
        for f in catalog.CUSTOM_FIELDS:
            body[f.id] = (issue.get("custom") or {}).get(f.id)
        return body

    def issue(self, issue: dict, fields: list[str] | None = None, expand: str = "") -> dict:
        all_fields = self.fields(issue)
        if fields and not {"*all", "*navigable"} & set(fields):
            wanted = set()
            for name in fields:
                f = catalog.field_by_id(name) or catalog.field_for_clause(name)
                wanted.add(f.id if f else name)
            all_fields = {k: v for k, v in all_fields.items() if k in wanted}
        body = {
            "expand": EXPAND,
            "id": str(issue["id"]),
            "self": f"{self.api}/issue/{issue['id']}",
            "key": issue["key"],
            "fields": all_fields,
        }
        expands = {e.strip() for e in (expand or "").split(",")}
        if "changelog" in expands:
            body["changelog"] = self.changelog(issue)
        if "names" in expands:
            body["names"] = {f.id: f.name for f in catalog.FIELDS if f.id in all_fields}
        if "transitions" in expands:
            body["transitions"] = [
                self.transition(t) for t in catalog.transitions_from(issue["status"])
            ]
        if "renderedFields" in expands:
            body["renderedFields"] = {"description": issue.get("description")}
        return body

    def transition(self, t: catalog.Transition) -> dict:
        return {
            "id": t.id,
            "name": t.name,
            "to": self.status(t.to),
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "fields": {},
        }

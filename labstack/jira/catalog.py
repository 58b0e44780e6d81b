"""The fixed parts of the lab's Jira: users, statuses and workflow, priorities, fields, link types.

A real Jira is configured by an administrator; the lab's one is configured here, once. Everything
is plain data so routes, JQL and the web view read the same definitions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from labstack.jira.config import Config

# -- deployment ------------------------------------------------------------------------------------

VERSION = (9, 12, 2)
PROJECT_ID = "10000"
PROJECT_NAME = "Security Operations"


# -- users -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    email: str

    @property
    def account_id(self) -> str:
        """A stable Cloud-style account id (Cloud never exposes user names)."""
        return "712020:" + str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.name}.lab.example"))


#: Seeded people tickets can be assigned to: the owners of the lab's teams.
SEEDED_USERS = (
    User("alice", "Alice Nguyen (platform)", "alice@example.com"),
    User("bob", "Bob Okafor (payments)", "bob@example.com"),
    User("carol", "Carol Diaz (secops)", "carol@example.com"),
)


def users_for(config: Config) -> dict[str, User]:
    """Every user of this Jira by name: the automation account first, then the seeded people."""
    users = {config.user: User(config.user, "Lab Automation", f"{config.user}@example.com")}
    users.update({u.name: u for u in SEEDED_USERS if u.name != config.user})
    return users


# -- workflow --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # new | indeterminate | done


STATUS_CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}

STATUSES = (
    Status("10000", "To Do", "new"),
    Status("3", "In Progress", "indeterminate"),
    Status("10001", "Waiting for approval", "indeterminate"),
    Status("10002", "Done", "done"),
)
INITIAL_STATUS = "10000"


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str  # status id
    sources: tuple[str, ...]


TRANSITIONS = (
    Transition("11", "Start Progress", "3", ("10000",)),
    Transition("21", "Stop Progress", "10000", ("3",)),
    Transition("41", "Request Approval", "10001", ("10000", "3")),
    Transition("51", "Approve", "3", ("10001",)),
    Transition("61", "Reject", "10000", ("10001",)),
    Transition("31", "Done", "10002", ("10000", "3")),
    Transition("71", "Reopen", "10000", ("10002",)),
)

RESOLUTIONS = (
    ("10000", "Done"),
    ("10001", "Won't Do"),
    ("10002", "Duplicate"),
    ("10003", "False Positive"),
)
DEFAULT_RESOLUTION = "10000"

# Highest first: JQL compares priorities by this order.
PRIORITIES = (
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
)
DEFAULT_PRIORITY = "3"

ISSUE_TYPES = (
    ("10001", "Task", False),
    ("10002", "Bug", False),
    ("10003", "Incident", False),
    ("10004", "Sub-task", True),
)

COMPONENTS = (
    ("10100", "AWS"),
    ("10101", "IAM"),
    ("10102", "S3"),
    ("10103", "EC2"),
    ("10104", "CloudTrail"),
    # The owning teams (helpers/detections/lookups/teams.csv routes incidents to them).
    ("10105", "Security"),
    ("10106", "Payments"),
    ("10107", "Platform"),
)

LINK_TYPES = (
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
)


def status(status_id: str) -> Status:
    return next(s for s in STATUSES if s.id == status_id)


def transitions_from(status_id: str) -> list[Transition]:
    return [t for t in TRANSITIONS if status_id in t.sources]


def by_name_or_id(table, value) -> tuple | None:
    """The row of ``table`` (id first, name second) whose id or name (any case) is ``value``."""
    text = str(value).strip().lower()
    return next((row for row in table if row[0] == text or row[1].lower() == text), None)


# -- fields ----------------------------------------------------------------------------------------

#: The dedup key custom field the helpers look up by name (ids differ between Jira sites).
DEDUP_FIELD_NAME = "Dedup Key"


@dataclass(frozen=True)
class Field:
    """One issue field. ``kind`` drives JQL operators and edit validation."""

    id: str
    name: str
    kind: str  # text | string | number | user | date | labels | option | project | key | ...
    clause_names: tuple[str, ...] = ()
    custom: bool = False
    editable: bool = False
    schema_type: str = "string"
    orderable: bool = True

    @property
    def clauses(self) -> tuple[str, ...]:
        if self.custom:
            return (self.name, f"cf[{self.id.removeprefix('customfield_')}]")
        return self.clause_names or (self.id,)

    def as_json(self) -> dict:
        schema: dict = {"type": self.schema_type}
        if self.custom:
            kinds = {"text": "textfield", "number": "float", "string": "textfield"}
            schema["custom"] = (
                f"com.atlassian.jira.plugin.system.customfieldtypes:{kinds[self.kind]}"
            )
            schema["customId"] = int(self.id.removeprefix("customfield_"))
        else:
            schema["system"] = self.id
        return {
            "id": self.id,
            "key": self.id,
            "name": self.name,
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": True,
            "searchable": True,
            "clauseNames": list(self.clauses),
            "schema": schema,
        }


FIELDS = (
    Field("summary", "Summary", "text", ("summary",), editable=True),
    Field("description", "Description", "text", ("description",), editable=True),
    Field("environment", "Environment", "text", ("environment",), editable=True),
    Field("project", "Project", "project", ("project",), schema_type="project"),
    Field("issuekey", "Key", "key", ("id", "issue", "issuekey", "key"), orderable=False),
    Field("issuetype", "Issue Type", "issuetype", ("issuetype", "type"), editable=True),
    Field("status", "Status", "status", ("status",), schema_type="status"),
    Field("statusCategory", "Status Category", "statuscategory", ("statusCategory",)),
    Field("priority", "Priority", "priority", ("priority",), editable=True),
    Field("resolution", "Resolution", "resolution", ("resolution",)),
    Field("labels", "Labels", "labels", ("labels",), editable=True, schema_type="array"),
    Field("components", "Components", "component", ("component",), editable=True),
    Field("assignee", "Assignee", "user", ("assignee",), editable=True, schema_type="user"),
    Field("reporter", "Reporter", "user", ("reporter",), editable=True, schema_type="user"),
    Field("creator", "Creator", "user", ("creator",), schema_type="user"),
    Field("created", "Created", "date", ("created", "createdDate"), schema_type="datetime"),
    Field("updated", "Updated", "date", ("updated", "updatedDate"), schema_type="datetime"),
    Field("resolutiondate", "Resolved", "date", ("resolved", "resolutiondate")),
    Field("comment", "Comment", "text", ("comment",), editable=True, schema_type="comments-page"),
    Field("issuelinks", "Linked Issues", "links", ("issueLink",), schema_type="array"),
    Field("customfield_10050", DEDUP_FIELD_NAME, "text", custom=True, editable=True),
    Field("customfield_10051", "Risk Score", "number", custom=True, editable=True),
    Field("customfield_10052", "Detection", "text", custom=True, editable=True),
    Field("customfield_10053", "AWS Account", "text", custom=True, editable=True),
)
CUSTOM_FIELDS = tuple(f for f in FIELDS if f.custom)


def field_by_id(field_id: str) -> Field | None:
    return next((f for f in FIELDS if f.id == field_id), None)


def field_for_clause(name: str) -> Field | None:
    """The field a JQL clause name means (case-insensitive, ``cf[N]`` for custom fields)."""
    wanted = name.strip().lower()
    for f in FIELDS:
        if wanted in (c.lower() for c in f.clauses):
            return f
    return None


@dataclass
class Catalog:
    """Everything fixed about one running Jira, bound to its configuration."""

    config: Config
    users: dict[str, User] = field(init=False)

    def __post_init__(self):
        self.users = users_for(self.config)

    def user(self, ident: str | None) -> User | None:
        """A user by name, account id or e-mail (any case)."""
        if not ident:
            return None
        text = str(ident).lower()
        for u in self.users.values():
            if text in (u.name.lower(), u.account_id.lower(), u.email.lower()):
                return u
        return None

    def search_users(self, query: str) -> list[User]:
        """Users whose name, display name or e-mail starts with ``query`` (like Jira's search)."""
        text = (query or "").lower().strip()
        hits = []
        for u in self.users.values():
            words = [u.name, u.email, u.account_id, *u.display_name.split()]
            if any(w.lower().startswith(text) for w in words) or u.display_name.lower() == text:
                hits.append(u)
        return hits

"""The REST API: Jira's v2 subset the ``jira`` client uses, the webhook admin API, and auth.

Every ``/rest/api/2/...`` route is also served under ``/rest/api/latest/...`` (the client assigns
issues through ``latest``). Auth is HTTP Basic (``JIRA_USER`` + ``JIRA_TOKEN``), a bearer token
(``JIRA_TOKEN``, like a Data Center PAT) or the session cookie from ``/rest/auth/1/session``;
anything else gets Jira's 401 body. ``/status`` and ``serverInfo`` answer anonymously, as Jira does.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from urllib.parse import quote

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from labstack.jira import catalog
from labstack.jira.catalog import VERSION, Catalog
from labstack.jira.models import Jira, JiraError
from labstack.jira.render import Renderer, now_iso
from labstack.jira.store import Store
from labstack.jira.webhooks import Registry

UNAUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
MAX_RESULTS = 1000
CLOUD_SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)

_API = [
    ("/serverInfo", "server_info", ["GET"]),
    ("/myself", "myself", ["GET"]),
    ("/project", "projects", ["GET"]),
    ("/project/<ref>", "project", ["GET"]),
    ("/project/<ref>/components", "project_components", ["GET"]),
    ("/project/<ref>/statuses", "project_statuses", ["GET"]),
    ("/issue/createmeta/<ref>/issuetypes", "createmeta_types", ["GET"]),
    ("/issuetype", "issuetypes", ["GET"]),
    ("/issuetype/<ref>", "issuetype", ["GET"]),
    ("/priority", "priorities", ["GET"]),
    ("/priority/<ref>", "priority", ["GET"]),
    ("/status", "statuses", ["GET"]),
    ("/status/<ref>", "status", ["GET"]),
    ("/resolution", "resolutions", ["GET"]),
    ("/field", "fields", ["GET"]),
    ("/issueLinkType", "link_types", ["GET"]),
    ("/issueLinkType/<ref>", "link_type", ["GET"]),
    ("/issue", "create_issue", ["POST"]),
    ("/issue/<ref>", "issue", ["GET", "PUT", "DELETE"]),
    ("/issue/<ref>/comment", "comments", ["GET", "POST"]),
    ("/issue/<ref>/comment/<cid>", "comment", ["GET", "PUT", "DELETE"]),
    ("/issue/<ref>/transitions", "transitions", ["GET", "POST"]),
    ("/issue/<ref>/assignee", "assignee", ["PUT"]),
    ("/issue/<ref>/remotelink", "remote_links", ["GET", "POST"]),
    ("/issue/<ref>/remotelink/<lid>", "remote_link", ["GET", "DELETE"]),
    ("/issueLink", "create_link", ["POST"]),
    ("/issueLink/<lid>", "issue_link", ["GET", "DELETE"]),
    ("/user", "user", ["GET"]),
    ("/user/search", "user_search", ["GET"]),
    ("/user/assignable/search", "user_search", ["GET"]),
    ("/search", "search", ["GET", "POST"]),
    ("/search/jql", "search_jql", ["GET", "POST"]),
]


def _rules() -> list[Rule]:
    rules = [
        Rule("/status", endpoint="status_check", methods=["GET"]),
        Rule("/rest/auth/1/session", endpoint="session", methods=["GET", "POST", "DELETE"]),
        Rule("/rest/applinks/latest/listApplicationlinks", endpoint="applinks", methods=["GET"]),
        Rule("/rest/webhooks/1.0/webhook", endpoint="webhooks", methods=["GET", "POST"]),
        Rule(
            "/rest/webhooks/1.0/webhook/<hid>", endpoint="webhook", methods=["GET", "PUT", "DELETE"]
        ),
        Rule("/_lab/webhook-deliveries", endpoint="deliveries", methods=["GET"]),
        Rule("/_lab/webhook-deliveries/<int:did>/retry", endpoint="retry", methods=["POST"]),
        Rule("/_lab/faults", endpoint="faults", methods=["GET", "PUT", "DELETE"]),
    ]
    for prefix in ("/rest/api/2", "/rest/api/latest"):
        rules += [Rule(prefix + path, endpoint=name, methods=m) for path, name, m in _API]
    return rules


PUBLIC = {"status_check", "server_info", "session"}
#: How the request-body errors name the JSON type a key must have.
JSON_TYPES = {dict: "an object", list: "an array", str: "a string"}


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    text = "" if body is None else json.dumps(body)
    return Response(text, status, headers=headers, content_type="application/json;charset=UTF-8")


def no_content() -> Response:
    return Response(status=204)


class Api:
    """The WSGI app for the REST API (the web view is mounted beside it in ``app``)."""

    def __init__(self, cat: Catalog, store: Store, jira: Jira, render: Renderer, hooks: Registry):
        self.cat = cat
        self.cfg = cat.config
        self.store = store
        self.jira = jira
        self.render = render
        self.hooks = hooks
        self.url_map = Map(_rules(), strict_slashes=False)
        self.sessions: dict[str, str] = {}
        self.outage_until = 0.0  # the lab's fault switch: 503 for every REST call until then

    def matches(self, path: str) -> bool:
        return path == "/status" or path.startswith(("/rest/", "/_lab/"))

    # -- plumbing ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            actor = self.authenticate(request)
            if actor is None and endpoint not in PUBLIC:
                response = self.unauthorized()
            elif endpoint not in ("faults", "status_check") and time.time() < self.outage_until:
                response = self.unavailable()
            else:
                response = getattr(self, endpoint)(request, actor, **args)
        except JiraError as err:
            response = json_response(err.body(), err.status)
        except HTTPException as err:
            message = "Not Found" if err.code == 404 else (err.description or err.name)
            response = json_response({"errorMessages": [message], "errors": {}}, err.code or 500)
        return response(environ, start_response)

    def unavailable(self) -> Response:
        """What Jira answers during an outage (the lab's fault switch): 503 with Retry-After."""
        left = max(1, int(self.outage_until - time.time()))
        return json_response(
            {"errorMessages": ["Jira is temporarily unavailable (lab fault)."], "errors": {}},
            503,
            headers={"Retry-After": str(left)},
        )

    def faults(self, request, actor):
        """``PUT /_lab/faults {"unavailable_seconds": N}``: every REST call answers 503 for N
        seconds (outage drills); ``DELETE`` ends it; ``GET`` says how long is left."""
        if request.method == "PUT":
            body = self.body(request)
            seconds = body.get("unavailable_seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise JiraError(400, ["unavailable_seconds must be a number of seconds >= 0"])
            self.outage_until = time.time() + float(seconds)
        elif request.method == "DELETE":
            self.outage_until = 0.0
        return json_response({"unavailable_seconds": max(0.0, self.outage_until - time.time())})

    def authenticate(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            if self._same(user, self.cfg.user) and self._same(password, self.cfg.token):
                return self.cfg.user
            return None
        if scheme.lower() == "bearer":
            return self.cfg.user if self._same(value.strip(), self.cfg.token) else None
        cookie = request.cookies.get("JSESSIONID")
        return self.sessions.get(cookie) if cookie else None

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode(), expected.encode())

    def unauthorized(self) -> Response:
        return json_response(
            {"errorMessages": [UNAUTHENTICATED], "errors": {}},
            401,
            {
                "WWW-Authenticate": 'Basic realm="protected-area"',
                "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
            },
        )

    @staticmethod
    def body(request: Request, **shape: type) -> dict:
        """The JSON object in the body; each key named in ``shape`` must have that type if set.

        Deeper types are checked where the values are read (``Jira`` and the webhook registry).
        """
        raw = request.get_data(as_text=True)
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            raise JiraError(400, f"Unexpected character in the request body: {err.msg}.") from None
        except RecursionError:
            raise JiraError(400, "The request body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise JiraError(400, "The request body must be a JSON object.")
        wrong = {
            key: f"Can not deserialize '{key}': expected {JSON_TYPES[kind]}."
            for key, kind in shape.items()
            if data.get(key) is not None and not isinstance(data[key], kind)
        }
        if wrong:
            raise JiraError(400, [], wrong)
        return data

    @staticmethod
    def _list_param(request: Request, name: str) -> list[str]:
        items = []
        for value in request.args.getlist(name):
            items += [v.strip() for v in value.split(",") if v.strip()]
        return items

    # -- service -----------------------------------------------------------------------------------
    def status_check(self, request, actor):
        return json_response({"state": "RUNNING"})

    def server_info(self, request, actor):
        now = now_iso()
        return json_response(
            {
                "baseUrl": self.cfg.base_url,
                "version": ".".join(map(str, VERSION)),
                "versionNumbers": list(VERSION),
                "deploymentType": self.cfg.deployment,
                "buildNumber": VERSION[0] * 1_000_000 + VERSION[1] * 10_000 + VERSION[2],
                "buildDate": "2024-01-01T00:00:00.000+0000",
                "serverTime": now,
                "scmInfo": "lab",
                "serverTitle": "Lab Jira",
            }
        )

    def session(self, request, actor):
        if request.method == "POST":
            body = self.body(request)
            user, password = str(body.get("username", "")), str(body.get("password", ""))
            if not (self._same(user, self.cfg.user) and self._same(password, self.cfg.token)):
                return self.unauthorized()
            sid = secrets.token_hex(16)
            self.sessions[sid] = self.cfg.user
            response = json_response(
                {"session": {"name": "JSESSIONID", "value": sid}, "loginInfo": {}}
            )
            response.set_cookie("JSESSIONID", sid, httponly=True, path="/")
            return response
        if actor is None:
            return self.unauthorized()
        if request.method == "DELETE":
            self.sessions.pop(request.cookies.get("JSESSIONID", ""), None)
            return no_content()
        return json_response(
            {
                "self": f"{self.cfg.base_url}/rest/api/latest/user?username={actor}",
                "name": actor,
                "loginInfo": {"loginCount": 1, "previousLoginTime": now_iso()},
            }
        )

    def applinks(self, request, actor):
        return json_response([])

    def myself(self, request, actor):
        body = self.render.user(self.cat.users[actor])
        body["groups"] = {"size": 1, "items": [{"name": "jira-administrators"}]}
        return json_response(body)

    # -- metadata ----------------------------------------------------------------------------------
    def projects(self, request, actor):
        with_types = "issueTypes" in request.args.get("expand", "")
        return json_response([self.render.project(expand_types=with_types)])

    def project(self, request, actor, ref):
        self._project(ref)
        return json_response(self.render.project())

    def _project(self, ref: str) -> None:
        if ref.upper() != self.cfg.project.upper() and ref != catalog.PROJECT_ID:
            raise JiraError(404, f"No project could be found with key '{ref}'.")

    def project_components(self, request, actor, ref):
        self._project(ref)
        return json_response([self.render.component(c[0]) for c in catalog.COMPONENTS])

    def project_statuses(self, request, actor, ref):
        self._project(ref)
        statuses = [self.render.status(s.id) for s in catalog.STATUSES]
        return json_response(
            [{**self.render.issuetype(t[0]), "statuses": statuses} for t in catalog.ISSUE_TYPES]
        )

    def createmeta_types(self, request, actor, ref):
        self._project(ref)
        types = [self.render.issuetype(t[0]) for t in catalog.ISSUE_TYPES]
        return json_response(
            {"maxResults": 50, "startAt": 0, "total": len(types), "isLast": True, "values": types}
        )

    def issuetypes(self, request, actor):
        return json_response([self.render.issuetype(t[0]) for t in catalog.ISSUE_TYPES])

    def issuetype(self, request, actor, ref):
        if catalog.by_name_or_id(catalog.ISSUE_TYPES, ref) is None or not ref.isdigit():
            raise JiraError(404, f"The issue type with id '{ref}' does not exist")
        return json_response(self.render.issuetype(ref))

    def priorities(self, request, actor):
        return json_response([self.render.priority(p[0]) for p in catalog.PRIORITIES])

    def priority(self, request, actor, ref):
        body = self.render.priority(ref) if ref.isdigit() else None
        if body is None:
            raise JiraError(404, f"Cannot find priority with id '{ref}'.")
        return json_response(body)

    def statuses(self, request, actor):
        return json_response([self.render.status(s.id) for s in catalog.STATUSES])

    def status(self, request, actor, ref):
        for s in catalog.STATUSES:
            if ref.lower() in (s.id, s.name.lower()):
                return json_response(self.render.status(s.id))
        raise JiraError(404, f"The status with id '{ref}' does not exist")

    def resolutions(self, request, actor):
        return json_response([self.render.resolution(r[0]) for r in catalog.RESOLUTIONS])

    def fields(self, request, actor):
        return json_response([f.as_json() for f in catalog.FIELDS])

    def link_types(self, request, actor):
        return json_response(
            {"issueLinkTypes": [self.render.link_type(row) for row in catalog.LINK_TYPES]}
        )

    def link_type(self, request, actor, ref):
        row = catalog.by_name_or_id(catalog.LINK_TYPES, ref)
        if row is None:
            raise JiraError(404, f"No issue link type with id '{ref}' found.")
        return json_response(self.render.link_type(row))

    # -- issues ------------------------------------------------------------------------------------
    def create_issue(self, request, actor):
        body = self.body(request, fields=dict, update=dict)
        if not isinstance(body.get("fields"), dict):
            raise JiraError(400, [], {"project": "valid project is required"})
        issue = self.jira.create(body["fields"], body.get("update"), actor)
        ref = {"id": str(issue["id"]), "key": issue["key"]}
        return json_response({**ref, "self": f"{self.render.api}/issue/{issue['id']}"}, 201)

    def issue(self, request, actor, ref):
        issue = self.jira.get(ref)
        if request.method == "GET":
            fields = self._list_param(request, "fields")
            expand = ",".join(self._list_param(request, "expand"))
            return json_response(self.render.issue(issue, fields or None, expand))
        if request.method == "DELETE":
            self.jira.delete(issue, actor)
            return no_content()
        body = self.body(request, fields=dict, update=dict)
        self.jira.edit(issue, body.get("fields") or {}, body.get("update") or {}, actor)
        return no_content()

    def comments(self, request, actor, ref):
        issue = self.jira.get(ref)
        if request.method == "POST":
            comment = self.jira.add_comment(issue, self.body(request).get("body"), actor)
            return json_response(self.render.comment(issue, comment), 201)
        page = self.render.comments_page(issue)
        if request.args.get("orderBy", "").startswith("-"):
            page["comments"].reverse()
        start = max(0, self._int(request.args.get("startAt") or 0, "startAt"))
        size = max(0, self._int(request.args.get("maxResults") or MAX_RESULTS, "maxResults"))
        page["comments"] = page["comments"][start : start + size]
        page.update(startAt=start, maxResults=size)
        return json_response(page)

    def comment(self, request, actor, ref, cid):
        issue = self.jira.get(ref)
        if request.method == "DELETE":
            self.jira.delete_comment(issue, cid, actor)
            return no_content()
        if request.method == "PUT":
            doc = self.jira.update_comment(issue, cid, self.body(request).get("body"), actor)
            return json_response(self.render.comment(issue, doc))
        return json_response(self.render.comment(issue, self.jira.comment(issue, cid)))

    def transitions(self, request, actor, ref):
        issue = self.jira.get(ref)
        if request.method == "POST":
            body = self.body(request, transition=dict, fields=dict, update=dict)
            self.jira.transition(issue, body, actor)
            return no_content()
        items = self.jira.transitions(issue)
        if request.args.get("transitionId"):
            items = [t for t in items if t.id == request.args["transitionId"]]
        return json_response(
            {"expand": "transitions", "transitions": [self.render.transition(t) for t in items]}
        )

    def assignee(self, request, actor, ref):
        self.jira.assign(self.jira.get(ref), self.body(request), actor)
        return no_content()

    # -- links -------------------------------------------------------------------------------------
    def create_link(self, request, actor):
        body = self.body(request, type=dict, inwardIssue=dict, outwardIssue=dict, comment=dict)
        self.jira.link(body, actor)
        return Response(status=201)

    def issue_link(self, request, actor, lid):
        link = self.store.link(lid)
        if link is None:
            raise JiraError(404, f"No issue link with id '{lid}' exists.")
        if request.method == "DELETE":
            self.store.remove_link(link["id"])
            return no_content()
        return json_response(self.render.issue_link(link))

    def remote_links(self, request, actor, ref):
        issue = self.jira.get(ref)
        if request.method == "POST":
            doc = self.jira.add_remote_link(issue, self.body(request, object=dict))
            body = self.render.remote_link(issue, doc)
            return json_response({"id": body["id"], "self": body["self"]}, 201)
        docs = self.store.attached("remotelinks", issue["id"])
        return json_response([self.render.remote_link(issue, d) for d in docs])

    def remote_link(self, request, actor, ref, lid):
        issue = self.jira.get(ref)
        doc = self.store.get("remotelinks", lid)
        owned = {d["id"] for d in self.store.attached("remotelinks", issue["id"])}
        if doc is None or doc["id"] not in owned:
            raise JiraError(404, f"No remote link with id '{lid}' exists on {issue['key']}.")
        if request.method == "DELETE":
            self.store.remove("remotelinks", doc["id"])
            return no_content()
        return json_response(self.render.remote_link(issue, doc))

    # -- users -------------------------------------------------------------------------------------
    def user(self, request, actor):
        if self.cfg.cloud:
            ident = request.args.get("accountId")
            missing = "accountId"
        else:
            ident = request.args.get("username") or request.args.get("key")
            missing = "username"
        if not ident:
            raise JiraError(400, f"The {missing} query parameter was not provided")
        user = self.cat.user(ident)
        if user is None or (self.cfg.cloud and ident != user.account_id):
            raise JiraError(404, f"The user with the {missing} '{ident}' does not exist")
        return json_response(self.render.user(user))

    def user_search(self, request, actor):
        if self.cfg.cloud:
            query = request.args.get("query") or request.args.get("accountId")
            if request.args.get("username"):
                raise JiraError(
                    400,
                    "The query parameter 'username' is not supported in GDPR mode. "
                    "Use 'query' or 'accountId' instead.",
                )
            if not query:
                raise JiraError(400, "One of 'query' or 'accountId' query parameters must be set.")
        else:
            query = request.args.get("username")
            if not query:
                raise JiraError(400, "The username query parameter was not provided")
        start = max(0, self._int(request.args.get("startAt") or 0, "startAt"))
        size = max(0, self._int(request.args.get("maxResults") or 50, "maxResults"))
        users = self.cat.search_users(query)[start : start + size]
        return json_response([self.render.user(u) for u in users])

    # -- search ------------------------------------------------------------------------------------
    def _search_params(self, request: Request) -> dict:
        if request.method == "POST":
            body = self.body(request, jql=str)
            fields = self._names(body.get("fields"), "fields")
            expand = self._names(body.get("expand"), "expand")
            return {
                "jql": body.get("jql") or "",
                "startAt": body.get("startAt", 0),
                "maxResults": body.get("maxResults", 50),
                "fields": fields,
                "expand": ",".join(expand),
                "nextPageToken": body.get("nextPageToken"),
            }
        return {
            "jql": request.args.get("jql", ""),
            "startAt": request.args.get("startAt", 0),
            "maxResults": request.args.get("maxResults", 50),
            "fields": self._list_param(request, "fields"),
            "expand": ",".join(self._list_param(request, "expand")),
            "nextPageToken": request.args.get("nextPageToken"),
        }

    @staticmethod
    def _names(value, key: str) -> list[str]:
        """A list of names given as a JSON array of strings or one comma-separated string."""
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise JiraError(400, [], {key: f"'{key}' must be an array of strings."})
        return [v.strip() for v in value if v.strip()]

    @staticmethod
    def _int(value, name: str) -> int:
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise JiraError(400, f"The value '{value}' is not valid for '{name}'.") from None

    def search(self, request, actor):
        if self.cfg.cloud:
            raise JiraError(410, CLOUD_SEARCH_GONE)
        params = self._search_params(request)
        start = max(0, self._int(params["startAt"], "startAt"))
        size = min(max(0, self._int(params["maxResults"], "maxResults")), MAX_RESULTS)
        hits = self.jira.search(params["jql"], actor)
        page = hits[start : start + size]
        return json_response(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(hits),
                "issues": [self.render.issue(i, params["fields"], params["expand"]) for i in page],
            }
        )

    def search_jql(self, request, actor):
        if not self.cfg.cloud:
            raise JiraError(404, "null for uri: " + quote(request.path))
        params = self._search_params(request)
        size = min(max(1, self._int(params["maxResults"], "maxResults")), MAX_RESULTS)
        token = params["nextPageToken"]
        start = self._int(token, "nextPageToken") if token else 0
        hits = self.jira.search(params["jql"], actor)
        page = hits[start : start + size]
        fields = params["fields"] or ["id"]
        issues = []
        for issue in page:
            body = self.render.issue(issue, fields, params["expand"])
            if fields == ["id"]:  # Cloud's default: ids only
                body = {"id": body["id"]}
            issues.append(body)
        result = {"issues": issues, "isLast": start + size >= len(hits)}
        if not result["isLast"]:
            result["nextPageToken"] = str(start + size)
        return json_response(result)

    # -- webhooks admin ----------------------------------------------------------------------------
    def webhooks(self, request, actor):
        if request.method == "POST":
            doc = self.store.add_webhook(self.hooks.validate(self.body(request), actor))
            return json_response(self.hooks.render(doc), 201)
        return json_response([self.hooks.render(d) for d in self.store.webhooks()])

    def webhook(self, request, actor, hid):
        doc = self.store.webhook(hid)
        if doc is None:
            raise JiraError(404, f"Webhook with id '{hid}' does not exist.")
        if request.method == "DELETE":
            self.store.remove_webhook(doc["id"])
            return no_content()
        if request.method == "PUT":
            doc = self.hooks.validate(self.body(request), actor, current=doc)
            self.store.save_webhook(doc)
        return json_response(self.hooks.render(doc))

    def deliveries(self, request, actor):
        """Lab-only: recent webhook deliveries, newest first (secrets left out)."""
        hook = request.args.get("webhookId")
        rows = self.store.deliveries(int(hook) if hook and hook.isdigit() else None)
        keep = ("id", "webhook_id", "url", "state", "attempts", "last_error")
        return json_response([{k: r[k] for k in keep} for r in rows])

    def retry(self, request, actor, did):
        """Lab-only: send a parked delivery again (after fixing the receiver)."""
        if not self.store.requeue(did):
            raise JiraError(404, f"No parked webhook delivery with id '{did}'.")
        self.hooks.wake()
        return no_content()

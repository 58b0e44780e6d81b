"""The automation server's API as an OpenAPI 3.1 document (served at ``/openapi.json``).

Schemathesis reads it in the test suite to look for 5xx answers, so the request shapes here are
the ones the server validates.
"""

from __future__ import annotations

from helpers.automation.lifecycle import STATES

__all__ = ["document"]

_ERROR = {
    "description": "the request was refused; the error names the problem",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ACCEPTED = {
    "description": "persisted; the workers take it from here",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"accepted": {"type": "boolean"}, "id": {"type": "integer"}},
            }
        }
    },
}
_ROW = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string"}},
        ]
    },
}


def _path(name: str, kind: str = "string") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                      "maximum": 1000}}  # fmt: skip


def _answers(ok: str, *errors: int) -> dict:
    return {"200": {"description": ok}, **{str(code): _ERROR for code in errors}}


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _form_body(schema: dict) -> dict:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def document(server: str = "") -> dict:
    """The OpenAPI document; ``server`` is the base URL it is served from."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lab automation server",
            "version": "1",
            "description": "Alerts in (Splunk, SNS, Jira, Slack), incidents out.",
        },
        "servers": [{"url": server}] if server else [],
        "paths": {
            "/splunk/webhook/{token}": {
                "post": {
                    "summary": "Splunk's webhook alert action",
                    "parameters": [
                        _path("token"),
                    ],
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["sid", "result"],
                            "properties": {
                                "sid": {"type": "string", "minLength": 1},
                                "search_name": {"type": "string"},
                                "results_link": {"type": "string"},
                                "owner": {"type": "string"},
                                "app": {"type": "string"},
                                "result": _ROW,
                            },
                        }
                    ),
                    "responses": {
                        "202": _ACCEPTED,
                        "400": _ERROR,
                        "403": _ERROR,
                        "413": _ERROR,
                    },
                }
            },
            "/jira/webhook": {
                "post": {
                    "summary": "Jira webhooks, signed with X-Hub-Signature (HMAC-SHA256)",
                    "parameters": [
                        {
                            "name": "X-Hub-Signature",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["webhookEvent", "issue"],
                            "properties": {
                                "webhookEvent": {"type": "string"},
                                "issue": {
                                    "type": "object",
                                    "required": ["key"],
                                    "properties": {"key": {"type": "string"}},
                                },
                            },
                        }
                    ),
                    "responses": {"202": _ACCEPTED, "400": _ERROR, "401": _ERROR},
                }
            },
            "/slack/actions": {
                "post": {
                    "summary": "Slack interactivity (signed, v0)",
                    "requestBody": _form_body(
                        {"type": "object", "properties": {"payload": {"type": "string"}}}
                    ),
                    "responses": _answers("accepted", 400, 401, 503),
                }
            },
            "/slack/commands": {
                "post": {
                    "summary": "The /secbot slash command (signed, v0)",
                    "requestBody": _form_body(
                        {
                            "type": "object",
                            "properties": {
                                "command": {"type": "string"},
                                "text": {"type": "string"},
                                "user_name": {"type": "string"},
                                "response_url": {"type": "string"},
                            },
                        }
                    ),
                    "responses": _answers("the bot's answer", 400, 401, 503),
                }
            },
            "/api/incidents": {
                "get": {
                    "summary": "Incidents, most recently updated first",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(STATES)},
                        },
                        _LIMIT,
                    ],
                    "responses": _answers("the incidents", 400),
                }
            },
            "/api/incidents/{key}": {
                "get": {
                    "summary": "One incident: its timeline and actions",
                    "parameters": [
                        _path("key"),
                    ],
                    "responses": _answers("the incident", 404),
                }
            },
            "/api/incidents/{key}/rollback": {
                "post": {
                    "summary": "Undo the incident's last action (Authorization: Bearer token)",
                    "parameters": [
                        _path("key"),
                    ],
                    "responses": _answers("rolled back", 401, 404),
                }
            },
            "/api/dead-letters": {
                "get": {
                    "summary": "Work that gave up after its retries",
                    "parameters": [
                        _LIMIT,
                    ],
                    "responses": _answers("the dead letters", 400),
                }
            },
            "/api/dead-letters/{id}/replay": {
                "post": {
                    "summary": "Put a dead letter back to work (Authorization: Bearer token)",
                    "parameters": [
                        _path("id", "integer"),
                    ],
                    "responses": _answers("replayed", 401, 404),
                }
            },
            "/api/sweep": {
                "post": {
                    "summary": "What a sweep job found, handled as alerts (Authorization: Bearer "
                    "token)",
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["rows"],
                            "properties": {
                                "rows": {"type": "array", "maxItems": 1000, "items": _ROW},
                                "source": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "200": {"description": "nothing found, nothing stored"},
                        "202": _ACCEPTED,
                        "400": _ERROR,
                        "401": _ERROR,
                        "413": _ERROR,
                    },
                }
            },
            "/api/queue": {
                "get": {
                    "summary": "The inbox's counts",
                    "responses": {"200": {"description": "counts"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                }
            }
        },
    }

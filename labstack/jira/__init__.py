"""A Jira-compatible local service: REST v2 subset, JQL, workflow, webhooks, and a web view.

Modules, one concern each: ``catalog`` (users, workflow, fields), ``store`` (SQLite), ``render``
(Jira's JSON shapes), ``jqlparse`` / ``jql`` / ``textsearch`` (query syntax, meaning, and ``~``
search), ``models`` (issue operations), ``webhooks`` (admin API, outbox, delivery), ``routes``
(REST API), ``web`` (HTML), ``app`` (wiring), ``service`` (registration with the lab).
Run with ``python -m labstack.jira``.
"""

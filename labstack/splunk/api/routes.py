"""The management API's route table: every path the local splunkd answers, in one place.

Paths are as under ``/services/`` (``/servicesNS/<owner>/<app>/`` reaches the same handler;
``search/v2/jobs`` is ``search/jobs``); ``{name}`` captures one decoded segment. The first
route whose pattern matches wins, so fixed segments come before captures (``export``).
"""

from __future__ import annotations

from labstack.splunk.api import (
    alerts,
    apps,
    indexes,
    knowledge,
    messages,
    saved_searches,
    search_jobs,
    server,
    users,
)
from labstack.splunk.api.core import Route

ALL, GET, POST, DELETE = ("GET", "POST"), ("GET",), ("POST",), ("DELETE",)

ROUTES: tuple[Route, ...] = (
    # auth and server
    Route("auth/login", POST, server.login),
    Route("authentication/httpauth-tokens/{token}", DELETE, server.logout),
    Route("authentication/current-context", GET, server.current_context),
    Route("authentication/users", GET, users.list_users),
    Route("authentication/users", POST, users.create_user),
    Route("authentication/users/{name}", GET, users.get_user),
    Route("authentication/users/{name}", DELETE, users.delete_user),
    Route("server/info", GET, server.server_info),
    Route("server/health/splunkd", GET, server.server_health),
    Route("server/settings", GET, server.get_settings),
    Route("server/settings/settings", GET, server.get_settings),
    Route("server/settings/settings", POST, server.update_settings),
    Route("server/control/restart", POST, server.restart),
    Route("authorization/capabilities", GET, server.capabilities),
    Route("search/parser", ALL, server.parser),
    # bulletin messages
    Route("messages", GET, messages.list_messages),
    Route("messages", POST, messages.create_message),
    Route("messages/{name}", GET, messages.get_message),
    Route("messages/{name}", DELETE, messages.delete_message),
    # indexes and the simple receiver
    Route("data/indexes", GET, indexes.list_indexes),
    Route("data/indexes", POST, indexes.create_index),
    Route("data/indexes/{name}", GET, indexes.get_index),
    Route("data/indexes/{name}", POST, indexes.update_index),
    Route("data/indexes/{name}", DELETE, indexes.delete_index),
    Route("data/indexes/{name}/disable", POST, indexes.disable_index),
    Route("data/indexes/{name}/enable", POST, indexes.enable_index),
    Route("receivers/simple", POST, indexes.receivers_simple),
    Route("receivers/stream", POST, indexes.receivers_stream),
    # search jobs
    Route("search/jobs", GET, search_jobs.list_jobs),
    Route("search/jobs", POST, search_jobs.create_job),
    Route("search/jobs/export", ALL, search_jobs.export),
    Route("search/jobs/{sid}", GET, search_jobs.job_status),
    Route("search/jobs/{sid}", DELETE, search_jobs.delete_job),
    Route("search/jobs/{sid}/control", POST, search_jobs.job_control),
    Route("search/jobs/{sid}/results", ALL, search_jobs.job_results),
    Route("search/jobs/{sid}/results_preview", ALL, search_jobs.job_preview),
    Route("search/jobs/{sid}/events", ALL, search_jobs.job_results),
    Route("search/jobs/{sid}/summary", ALL, search_jobs.job_summary),
    Route("search/jobs/{sid}/search.log", GET, search_jobs.job_log),
    # saved searches
    Route("saved/searches", GET, saved_searches.list_saved),
    Route("saved/searches", POST, saved_searches.create_saved),
    Route("saved/searches/{name}", GET, saved_searches.get_saved),
    Route("saved/searches/{name}", POST, saved_searches.update_saved),
    Route("saved/searches/{name}", DELETE, saved_searches.delete_saved),
    Route("saved/searches/{name}/dispatch", POST, saved_searches.dispatch_saved),
    Route("saved/searches/{name}/disable", POST, saved_searches.disable_saved),
    Route("saved/searches/{name}/enable", POST, saved_searches.enable_saved),
    Route("saved/searches/{name}/history", GET, saved_searches.saved_history),
    Route("saved/searches/{name}/acl", POST, saved_searches.saved_acl),
    Route("saved/searches/{name}/suppress", GET, saved_searches.get_suppress),
    Route("saved/searches/{name}/suppress", POST, saved_searches.set_suppress),
    Route("saved/searches/{name}/scheduled_times", GET, saved_searches.scheduled_times),
    # macros
    Route("configs/conf-macros", GET, knowledge.list_macros),
    Route("admin/macros", GET, knowledge.list_macros),
    Route("properties/macros", GET, knowledge.list_macros),
    Route("configs/conf-macros", POST, knowledge.create_macro),
    Route("admin/macros", POST, knowledge.create_macro),
    Route("configs/conf-macros/{name}", GET, knowledge.get_macro),
    Route("admin/macros/{name}", GET, knowledge.get_macro),
    Route("properties/macros/{name}", GET, knowledge.get_macro),
    Route("configs/conf-macros/{name}", POST, knowledge.update_macro),
    Route("admin/macros/{name}", POST, knowledge.update_macro),
    Route("configs/conf-macros/{name}", DELETE, knowledge.delete_macro),
    Route("admin/macros/{name}", DELETE, knowledge.delete_macro),
    Route("configs/conf-macros/{name}/acl", POST, knowledge.macro_acl),
    Route("admin/macros/{name}/acl", POST, knowledge.macro_acl),
    Route("properties", GET, knowledge.list_conf_files),
    Route("configs/conf-alert_actions/webhook", GET, alerts.webhook_conf),
    # lookup table files
    Route("data/lookup-table-files", GET, knowledge.list_lookups),
    Route("data/lookup-table-files", POST, knowledge.upload_lookup),
    Route("data/lookup-table-files/{name}", GET, knowledge.get_lookup),
    Route("data/lookup-table-files/{name}", POST, knowledge.upload_lookup),
    Route("data/lookup-table-files/{name}", DELETE, knowledge.delete_lookup),
    # apps
    Route("apps/local", GET, apps.list_apps),
    Route("apps/local", POST, apps.create_app),
    Route("apps/local/{name}", GET, apps.get_app),
    Route("apps/local/{name}", DELETE, apps.delete_app),
    # fired alerts and the outbox (the alerting's state)
    Route("alerts/fired_alerts", GET, alerts.list_fired_groups),
    Route("alerts/fired_alerts/{name}", GET, alerts.list_fired),
    Route("alerts/fired_alerts/{name}", DELETE, alerts.delete_fired),
    Route("alerts/deliveries", GET, alerts.list_deliveries),
    Route("alerts/webhook_deliveries", GET, alerts.list_webhook_deliveries),
)

"""Generic infrastructure that both ``helpers`` and ``labstack`` may use.

Nothing here knows about AWS, Splunk, Jira or Slack:

- :mod:`helpers.runtime.serve`: run a WSGI app with one health path, graceful SIGTERM and clear
  port errors; in a thread (notebooks, tests) or as a service process.
- :mod:`helpers.runtime.queue`: one durable SQLite work queue (at-least-once, ack after work,
  visibility timeout, retries with backoff and jitter, dead letters to list and replay).
- :mod:`helpers.runtime.registry`: typed registries that refuse duplicates.
"""

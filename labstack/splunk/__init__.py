"""The local world's Splunk: splunkd's management API, the HTTP Event Collector, a search page.

``python -m labstack.splunk`` serves it (``lab up`` does that); ``spl/`` and ``store.py`` are
the SPL engine and the DuckDB event store behind it.
"""

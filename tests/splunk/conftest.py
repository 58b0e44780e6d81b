"""Fixtures for the Splunk tests: the session's world and the official splunklib client."""

from __future__ import annotations

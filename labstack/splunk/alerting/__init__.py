"""Alerting in the local Splunk: saved searches' alert rules, the scheduler, real-time
evaluation, and alert actions delivered through a durable outbox.

- :mod:`.rule`: a saved search's alert settings parsed once into an :class:`AlertRule`;
- :mod:`.conditions`: whether a run triggers, throttle keys;
- :mod:`.engine`: :class:`Alerting`, the scheduler, real-time path and firing;
- :mod:`.actions`: the alert actions (``webhook``, ``aws_sns_alert``), one module each;
- :mod:`.outbox` and :mod:`.state`: the persistent outbox, fired alerts and throttles;
- :mod:`.search` and :mod:`.tokens`: searches over a batch or results; ``$token$`` substitution.
"""

from labstack.splunk.alerting.engine import Alerting, Options
from labstack.splunk.alerting.rule import AlertRule, ConditionError

__all__ = ["AlertRule", "Alerting", "ConditionError", "Options"]

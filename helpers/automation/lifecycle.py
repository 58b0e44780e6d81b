"""The incident lifecycle: a small explicit state machine.

::

    received -> ticketed -> enriched -> planned -> (waiting_for_approval ->) remediating
             -> verified | failed | dismissed | exempt

A finished incident that fires again is *reopened* (back to ``ticketed``) and answered again, on
the same ticket and thread. Each state that maps onto the lab's Jira workflow names the status the
ticket moves to.

>>> can_move("planned", "remediating"), can_move("received", "verified")
(True, False)
>>> JIRA_STATUS["waiting_for_approval"]
'Waiting for approval'
"""

from __future__ import annotations

__all__ = ["FINAL", "JIRA_STATUS", "STATES", "TRANSITIONS", "LifecycleError", "can_move"]

STATES = (
    "received",
    "ticketed",
    "enriched",
    "planned",
    "waiting_for_approval",
    "remediating",
    "verified",
    "failed",
    "dismissed",
    "exempt",
)
FINAL = frozenset({"verified", "failed", "dismissed", "exempt"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"ticketed"}),
    "ticketed": frozenset({"enriched"}),
    "enriched": frozenset({"planned", "exempt", "failed"}),
    "planned": frozenset(
        {"waiting_for_approval", "remediating", "verified", "exempt", "dismissed", "failed"}
    ),
    "waiting_for_approval": frozenset({"remediating", "dismissed", "failed"}),
    "remediating": frozenset({"verified", "failed"}),
    # A finished incident is reopened when it fires again (or a person retries a failure);
    # a person rolling the fix back dismisses it.
    "verified": frozenset({"ticketed", "dismissed"}),
    "failed": frozenset({"ticketed", "remediating", "dismissed"}),
    "dismissed": frozenset({"ticketed"}),
    "exempt": frozenset({"ticketed"}),
}

#: The Jira status each state moves the ticket to (states not listed leave it where it is).
JIRA_STATUS = {
    "ticketed": "To Do",
    "waiting_for_approval": "Waiting for approval",
    "remediating": "In Progress",
    "verified": "Done",
    "dismissed": "Done",
    "exempt": "Done",
}


class LifecycleError(ValueError):
    """A move the lifecycle does not allow."""


def can_move(current: str, target: str) -> bool:
    """Whether ``current -> target`` is a lifecycle move."""
    return target in TRANSITIONS.get(current, frozenset())

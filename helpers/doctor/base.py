"""The doctor's parts: a finding, a check's problem, the shared context and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from helpers.config import Settings, get_settings

TIMEOUT = 10.0
#: The order checks run and print in (a check may need one of an earlier product).
PRODUCTS = ("AWS", "Splunk", "Jira", "Automation", "Slack")


@dataclass
class Finding:
    product: str
    check: str
    status: str  # ok, warn, fail, skip
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class Problem(Exception):
    """A check's failure: what is wrong (``detail``) and how to fix it (``fix``)."""

    def __init__(self, detail: str, fix: str = "", status: str = "fail"):
        super().__init__(detail)
        self.detail, self.fix, self.status = detail, fix, status


def warn(detail: str, fix: str = "") -> Problem:
    return Problem(detail, fix, "warn")


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


@dataclass
class Context:
    """What the checks share: the settings, the clients (made once), and what passed so far."""

    settings: Settings
    passed: set[str] = field(default_factory=set)

    @cached_property
    def aws(self):
        from helpers.aws import session

        return session(self.settings)

    @cached_property
    def splunk(self):
        from helpers import splunk

        return splunk.connect(self.settings)

    @cached_property
    def jira(self):
        from helpers import jira

        return jira.connect(self.settings, max_retries=0, timeout=TIMEOUT)

    @cached_property
    def slack(self):
        from helpers import slack

        return slack.web_client(self.settings)

    def secret(self, name: str) -> str | None:
        value = getattr(self.settings, name)
        return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class Check:
    product: str
    name: str
    run: Callable[[Context], str]
    needs: tuple[str, ...] = ()
    configured: Callable[[Settings], Any] = lambda s: True


CHECKS: list[Check] = []


def check(product: str, name: str, *, needs=(), configured=lambda s: True):
    def register(fn: Callable[[Context], str]) -> Callable[[Context], str]:
        CHECKS.append(Check(product, name, fn, tuple(needs), configured))
        return fn

    return register


# -- running -----------------------------------------------------------------------------------
def run(
    settings: Settings | None = None,
    products: tuple[str, ...] = (),
    checks: tuple[str, ...] = (),
) -> list[Finding]:
    """Every check (of ``products``, or only the ``checks`` named "Product check", when given),
    in order; a check whose prerequisite did not pass is skipped with the reason."""
    ctx = Context(settings or get_settings())
    findings = []
    for item in sorted(CHECKS, key=lambda c: PRODUCTS.index(c.product)):
        label = f"{item.product} {item.name}"
        if (products and item.product.lower() not in products) or (checks and label not in checks):
            continue
        if not item.configured(ctx.settings):
            findings.append(Finding(item.product, item.name, "skip", "not configured"))
            continue
        blocked = [n for n in item.needs if n not in ctx.passed]
        if blocked:
            findings.append(Finding(item.product, item.name, "skip", f"needs: {blocked[0]}"))
            continue
        try:
            detail = item.run(ctx)
        except Problem as problem:
            findings.append(
                Finding(item.product, item.name, problem.status, problem.detail, problem.fix)
            )
            if problem.status == "warn":
                ctx.passed.add(label)
            continue
        except Exception as exc:  # an unexpected answer: reported, not raised
            findings.append(Finding(item.product, item.name, "fail", short(exc)))
            continue
        ctx.passed.add(label)
        findings.append(Finding(item.product, item.name, "ok", detail))
    return findings

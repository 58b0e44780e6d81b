"""Meta-tests over the registries: every command and eval function the issue lists exists, is
documented with an example, and is exercised by the conformance cases."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import pytest
import yaml

import labstack.splunk.spl as spl
from labstack.splunk.spl.commands import COMMANDS, command
from labstack.splunk.spl.commands.stats import AGGREGATES
from labstack.splunk.spl.functions import FUNCTIONS, function

from .test_conformance import HERE

ISSUE_COMMANDS = [
    "search",
    "where",
    "eval",
    "stats",
    "table",
    "fields",
    "rename",
    "sort",
    "head",
    "tail",
    "dedup",
    "top",
    "rare",
    "rex",
    "spath",
    "fillnull",
    "bin",
    "bucket",
    "timechart",
    "iplocation",
    "lookup",
    "inputlookup",
    "outputlookup",
    "makeresults",
    "append",
    "join",
    "eventstats",
    "streamstats",
    "chart",
]
ISSUE_FUNCTIONS = [
    "if",
    "case",
    "coalesce",
    "isnull",
    "isnotnull",
    "like",
    "match",
    "cidrmatch",
    "in",
    "lower",
    "upper",
    "len",
    "substr",
    "replace",
    "split",
    "mvcount",
    "mvindex",
    "mvjoin",
    "tonumber",
    "tostring",
    "now",
    "relative_time",
    "strftime",
    "strptime",
    "mvfilter",
    "mvzip",
]
ISSUE_AGGREGATES = [
    "count",
    "dc",
    "values",
    "list",
    "min",
    "max",
    "avg",
    "sum",
    "earliest",
    "latest",
    "first",
    "last",
]
QUERIES = " ".join(
    case["spl"]
    for path in (HERE / "cases").glob("*.yaml")
    for case in yaml.safe_load(path.read_text())
)


@pytest.mark.parametrize("name", ISSUE_COMMANDS)
def test_issue_command_is_registered_and_tested(name):
    assert name in COMMANDS
    assert re.search(rf"(^|\|)\s*{name}\b", QUERIES, re.M) or f"| {name}" in QUERIES


@pytest.mark.parametrize("name", ISSUE_FUNCTIONS)
def test_issue_function_is_registered_and_tested(name):
    assert name in FUNCTIONS
    assert re.search(rf"\b{name}\(", QUERIES, re.I) or f" {name.upper()} (" in QUERIES


@pytest.mark.parametrize("name", ISSUE_AGGREGATES)
def test_issue_stats_function_is_registered_and_tested(name):
    assert name in AGGREGATES
    assert re.search(rf"\b{name}\(|stats {name}\b|, {name}\b", QUERIES)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_documented_with_an_example(name):
    doc = COMMANDS[name].__doc__ or ""
    assert "``" in doc, f"{name}: the docstring shows an example in ``...``"


def test_duplicate_registrations_fail_loudly():
    with pytest.raises(ValueError):
        command("stats")(type("Again", (), {}))
    with pytest.raises(ValueError):
        function("if", 3)(lambda env, *a: None)


def _modules():
    root = spl.__path__
    names = [f"{spl.__name__}.{m.name}" for m in pkgutil.walk_packages(root)]
    return ["labstack.splunk.store", spl.__name__, *names]


@pytest.mark.parametrize("module", _modules())
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

"""``lab package lambda``: the automation handler and its dependencies as a Lambda deployment zip.

The zip holds the ``helpers`` package (the handler is
``helpers.automation.aws_lambda.lambda_handler``) and every distribution it needs, copied from
this environment's installed files (their ``RECORD``), so nothing is downloaded. It is
reproducible: members are sorted and carry a fixed time and mode, so the same environment gives
the same bytes. The compiled parts (pydantic-core, PyYAML, orjson, maxminddb) are this machine's
builds: build on Linux for the function's architecture, with the Python of its runtime
(``python3.11``); the summary names the binary platforms included.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

#: What the handler imports, directly or through helpers (their own requirements follow).
ROOTS = (
    "boto3", "pydantic-settings", "PyYAML", "requests", "jira", "slack_sdk", "splunk-sdk",
    "geoip2fast", "maxminddb-geolite2", "Werkzeug", "Jinja2", "orjson", "croniter",
)  # fmt: skip
#: What the Lambda Python runtime already has (left out with ``--without-boto3``).
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
HANDLER = "helpers.automation.aws_lambda.lambda_handler"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP = re.compile(r"(^|/)(__pycache__/|[^/]*\.pyc$)|^\.\./")
REPO = Path(__file__).resolve().parents[2]
#: The files of ``helpers`` a wheel would hold (Python, and pyproject's package-data).
SOURCES = {".py", ".yaml", ".yml", ".html", ".csv", ".json", ".js", ".css"}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(roots=ROOTS, without=()) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need (their requirement closure), by name."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if _key(name) in seen or _key(name) in without:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"lab: {name} is not installed here (run make)") from None
        seen[_key(name)] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [seen[k] for k in sorted(seen)]


@dataclass
class Package:
    path: Path
    files: int
    size: int
    sha256: str
    distributions: list[str]
    platforms: list[str]
    glibc: tuple[int, int] | None


def _members(dists) -> dict[str, Path]:
    members: dict[str, Path] = {}
    for source in sorted((REPO / "helpers").rglob("*")):
        relative = source.relative_to(REPO).as_posix()
        if source.suffix in SOURCES and source.is_file() and not SKIP.search(relative):
            members[relative] = source
    for dist in dists:
        for file in dist.files or []:
            name = file.as_posix()
            if SKIP.search(name) or name.endswith(".pth") or "__editable__" in name:
                continue
            members.setdefault(name, Path(file.locate()))
    return members


#: manylinux tags as the glibc they need (PEP 600; the legacy aliases of PEP 513/571/599).
LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _glibc(tag: str) -> tuple[int, int] | None:
    platform = tag.rsplit("-", 1)[-1]
    if found := re.match(r"manylinux_(\d+)_(\d+)_", platform):
        return int(found.group(1)), int(found.group(2))
    return LEGACY.get(platform.split("_", 1)[0])


def _platforms(dists) -> tuple[list[str], tuple[int, int] | None]:
    """The binary wheel tags included, and the newest glibc any of them needs (each
    distribution counts with its most compatible tag)."""
    tags, floor = set(), None
    for dist in dists:
        wheel = dist.read_text("WHEEL") or ""
        own = {line.split(":", 1)[1].strip() for line in wheel.splitlines()
               if line.startswith("Tag:") and not line.endswith("-any")}  # fmt: skip
        needs = [g for g in map(_glibc, own) if g]
        if needs:
            floor = max(floor or min(needs), min(needs))
        tags |= own
    return sorted(tags), floor


def build(out: Path, *, without_boto3: bool = False) -> Package:
    """Write the zip to ``out`` (a folder: ``automation-lambda.zip`` in it); what it holds."""
    dists = distributions(without=RUNTIME if without_boto3 else ())
    path = out / "automation-lambda.zip" if out.suffix != ".zip" else out
    path.parent.mkdir(parents=True, exist_ok=True)
    members = _members(dists)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, source in sorted(members.items()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    tmp.replace(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    names = [f"{d.metadata['Name']}=={d.version}" for d in dists]
    return Package(path, len(members), path.stat().st_size, digest, names, *_platforms(dists))


def cmd_package(args) -> int:
    if sys.version_info[:2] != (3, 11):
        print(f"lab: warning: built with Python {sys.version.split()[0]}; the Terraform "
              "deploys the python3.11 runtime", file=sys.stderr)  # fmt: skip
    package = build(Path(args.out), without_boto3=args.without_boto3)
    print(f"wrote {package.path}: {package.files} files, {package.size / 2**20:.1f} MB")
    print(f"sha256 {package.sha256}")
    print(f"handler {HANDLER}")
    print(f"{len(package.distributions)} distributions: {', '.join(package.distributions)}")
    if package.glibc:
        major, minor = package.glibc
        print(f"compiled parts need glibc {major}.{minor} or newer (Lambda's python3.11 runtime, "
              "Amazon Linux 2, has 2.26)")  # fmt: skip
    else:
        print("pure Python: no compiled parts")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    package = sub.add_parser("package", help="build a deployable artifact ('lambda')")
    what = package.add_subparsers(dest="what", required=True)
    fn = what.add_parser("lambda", help="the automation as an AWS Lambda deployment zip")
    fn.add_argument("--out", default="dist", help="folder or .zip path (default: dist/)")
    fn.add_argument(
        "--without-boto3", action="store_true", help="leave out what the Lambda runtime has"
    )
    fn.set_defaults(func=cmd_package)

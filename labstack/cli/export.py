"""``lab export splunk-app``: the detection catalog as an app for Splunk's "Install app from
file"."""

from __future__ import annotations

import argparse


def cmd_export(args) -> int:
    from helpers import splunk, splunk_app
    from helpers.config import get_settings

    settings = get_settings()
    options = {"index": args.index or settings.splunk_index, "sns_region": settings.aws_region}
    if args.sns_topic:
        options["sns_topic"] = args.sns_topic
    else:
        options["webhook_url"] = args.webhook_url or settings.require(
            "automation_splunk_webhook_url", "where the app's alerts send their webhooks"
        )
    path = splunk_app.build(args.out, **options)
    print(f"wrote {path} (install it with Apps > Manage Apps > Install app from file)")
    if "webhook_url" in options:
        print("it holds the automation server's webhook token: keep it private (mode 0600)")
    if args.install:
        created = splunk.install_app(path)
        done = "installed" if created else "updated"
        print(f"{done} {splunk_app.APP_NAME} on {settings.splunk_url}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="build a deployable artifact ('splunk-app')")
    what = export.add_subparsers(dest="what", required=True)
    app = what.add_parser("splunk-app", help="the detections as a Splunk app (.tgz)")
    app.add_argument("--out", default="dist", help="folder or .tgz path (default: dist/)")
    action = app.add_mutually_exclusive_group()
    action.add_argument("--webhook-url", help="default: AUTOMATION_SPLUNK_WEBHOOK_URL")
    action.add_argument("--sns-topic", help="alert through the AWS add-on's SNS action instead")
    app.add_argument("--index", help="the cloudtrail macro's index (default: SPLUNK_INDEX)")
    app.add_argument(
        "--install",
        action="store_true",
        help="also install it into SPLUNK_URL (a Splunk on this host: it reads the file's path)",
    )
    app.set_defaults(func=cmd_export)

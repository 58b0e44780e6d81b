"""Registers the emulated AWS account (moto + the CloudTrail recorder) as a lab service."""

from labstack.aws.account import load_account
from labstack.services import Service, register


def _settings(ports: dict[str, int], secrets: dict[str, str], scheme: str) -> dict[str, str]:
    account = load_account()
    admin = account.access_key_of(account.default_user)
    return {
        "AWS_ENDPOINT_URL": f"{scheme}://127.0.0.1:{ports['api']}",
        "AWS_DEFAULT_REGION": account.region,
        "AWS_ACCESS_KEY_ID": admin.id,
        "AWS_SECRET_ACCESS_KEY": admin.secret,
        "CLOUDTRAIL_BUCKET": account.trail.bucket,
        "CLOUDTRAIL_QUEUE": account.trail.queue,
        "CLOUDTRAIL_TRAIL": account.trail.name,
        # moto's admin API (reset, seed, the state dump): the lab's own, never an AWS setting.
        "LAB_AWS_ADMIN_TOKEN": secrets["LAB_AWS_ADMIN_TOKEN"],
    }


register(
    Service(
        name="aws",
        module="labstack.aws",
        ports={"api": 4566},
        settings=_settings,
        secrets=("LAB_AWS_ADMIN_TOKEN",),
        description="moto server wrapped by the CloudTrail recorder; its state kept on disk",
    )
)

"""A Slack-compatible workspace for the local world.

It speaks what ``slack_sdk`` speaks: incoming webhooks (one secret URL per channel), the Web API
methods the lab uses (``auth.test``, ``chat.postMessage``, ``chat.update``,
``conversations.list|history|replies``) and interactivity (a clicked button becomes a signed
``block_actions`` POST to the app's Request URL, answered through ``response_url``). A web view
shows each channel's timeline. Run it with ``python -m labstack.slack`` (``lab up`` does).
"""

"""Delivery of the digest to team chat: Slack, Teams, Discord, Mattermost, Matrix, Telegram and
generic JSON webhooks, through apprise.

``post_digest`` posts a saved digest's summary to each webhook once, records every attempt in
the digest history and retries failed ones on the next call; ``build_message`` is the summary
itself, escaped for one chat markup and cut to one service's size limit.
"""

from agent.webhooks.deliver import (
    RETRY_WINDOW,
    full_digest_link,
    post_digest,
    post_to_chat,
    webhooks_for,
)
from agent.webhooks.message import ChatMessage, MessageOptions, build_message
from agent.webhooks.post import AppriseNotifier, Channel, PostReport, PostResult, check_webhooks

__all__ = [
    "RETRY_WINDOW",
    "AppriseNotifier",
    "Channel",
    "ChatMessage",
    "MessageOptions",
    "PostReport",
    "PostResult",
    "build_message",
    "check_webhooks",
    "full_digest_link",
    "post_digest",
    "post_to_chat",
    "webhooks_for",
]

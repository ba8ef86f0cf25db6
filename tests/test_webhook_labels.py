"""Issue 25, item 7 (and item 5 for webhooks): webhook result lines can be told apart without
leaking the token (service, host and a short stable fingerprint of the URL, the same in
`config show`), and a post is given up on at the deadline, not waited for without end."""

from __future__ import annotations

import time

from test_webhooks import (
    TOKEN,
    WebhookServer,
    history,  # noqa: F401 - fixture
    make_digest,
    paper,
    saved,
)

from agent.config import Settings
from agent.config.secrets import mask_webhook_url
from agent.webhooks import post_digest
from agent.webhooks.post import AppriseNotifier


def test_two_webhooks_on_one_host_get_different_labels_without_their_tokens(history):  # noqa: F811
    with WebhookServer() as hooks:
        host = f"127.0.0.1:{hooks.port}"
        good, bad = f"json://{host}/team-a/{TOKEN}", f"json://{host}/team-b/{TOKEN}2"
        hooks.fail[f"/team-b/{TOKEN}2"] = 500
        report = post_digest(saved(history, make_digest([paper(1)])), [good, bad],
                             history=history)  # fmt: skip
    posted, failed = report.results
    assert (posted.status, failed.status) == ("posted", "failed")
    assert posted.channel != failed.channel
    for label in (posted.channel, failed.channel):
        assert label.startswith(f"json://{host}/****")
        assert TOKEN not in label and "team-" not in label
    # stable: the same URL gets the same label, in the results and in `config show`
    assert mask_webhook_url(good) == posted.channel == mask_webhook_url(f" {good} ")
    shown = Settings(digest={"webhooks": [good, bad]}).masked()["digest"]["webhooks"]
    assert shown == [posted.channel, failed.channel]


def test_token_only_urls_are_told_apart_too():
    one, two = (
        mask_webhook_url(f"slack://T1/B1/{TOKEN}"),
        mask_webhook_url(f"slack://T1/B2/{TOKEN}"),
    )
    assert one != two and one.startswith("slack://****") and TOKEN not in one + two


def test_a_post_that_gets_no_answer_is_given_up_at_the_deadline(history):  # noqa: F811
    with WebhookServer() as hooks:
        hooks.delay[f"/slow/{TOKEN}"] = 8.0
        url = f"json://127.0.0.1:{hooks.port}/slow/{TOKEN}"
        started = time.monotonic()
        report = post_digest(saved(history, make_digest([paper(1)])), [url], history=history,
                             notifier=AppriseNotifier(deadline=1.0))  # fmt: skip
        seconds = time.monotonic() - started
    (result,) = report.results
    assert result.status == "failed" and seconds < 4
    assert "no answer within 1 s" in result.reason and TOKEN not in result.reason

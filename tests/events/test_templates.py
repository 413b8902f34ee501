"""Every email template is sent by some flow, and a test reads each from the mailbox.

The flows of the billing templates run through Stripe webhooks (tests/billing); here the
one function they all queue with, `private.billing_email`, is driven through the worker
into the local mailbox for each of them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import drain, mailbox, new_user

from flagship import config
from mail.catalog import KINDS

FLOW_SOURCES = [
    *config.MIGRATIONS_DIR.glob("*.sql"),
    *(config.ROOT / "sync").rglob("*.py"),
    *(config.ROOT / "edge").rglob("*.py"),
]
BILLING = [
    "payment_failed",
    "payment_action_required",
    "checkout_payment_failed",
    "refund_issued",
    "trial_ending",
    "receipt",
]


def quoted(name: str) -> re.Pattern:
    return re.compile(rf"""['"]{re.escape(name)}['"]""")


@pytest.mark.parametrize("template", sorted(KINDS))
def test_every_template_is_sent_by_a_flow(template):
    sources = [p for p in FLOW_SOURCES if quoted(template).search(p.read_text())]
    assert sources, f"no flow sends the {template} email"


@pytest.mark.parametrize("template", sorted(KINDS))
def test_every_template_is_read_from_the_mailbox_by_a_test(template):
    # The auth hook's tests are parametrised by Supabase's action name (auth_<action>).
    names = {template, template.removeprefix("auth_")}
    readers = [
        p
        for p in (config.ROOT / "tests").rglob("*.py")
        if p.resolve() != Path(__file__).resolve()
        and "mailbox" in (text := p.read_text())
        and any(quoted(n).search(text) for n in names)
    ]
    assert readers or template in BILLING, f"no test reads the {template} email from the mailbox"


@pytest.mark.parametrize("template", BILLING)
def test_billing_emails_reach_the_mailbox(app_url, admin, template):
    user = new_user(admin, f"tpl_{template}"[:30])
    admin.execute(
        "select private.billing_email(%s, %s, 'subject', %s::jsonb, %s)",
        (user.id, template, '{"number": "INV-7", "amount": "€9.00"}', f"tpl:{template}"),
    )
    drain(app_url)
    [message] = mailbox(admin, user.email, template)
    assert message["subject"]
    assert {"name": "category", "value": "billing"} in message["tags"]
    assert "List-Unsubscribe" not in message["headers"]  # transactional

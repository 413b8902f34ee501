"""Every email Flagship sends: subject, category and whether it can be unsubscribed.

Categories `account`, `security`, `billing` and `auth` are transactional: no unsubscribe
link, and user settings cannot switch them off (bounces and complaints still suppress all
but `auth`). The others map to `email_categories` in user settings or to a notification
preference, and carry one-click unsubscribe headers.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSACTIONAL = frozenset({"account", "security", "billing", "auth", "learning"})


@dataclass(frozen=True)
class EmailKind:
    subject: str
    category: str

    @property
    def unsubscribable(self) -> bool:
        return self.category not in TRANSACTIONAL


KINDS: dict[str, EmailKind] = {
    "welcome": EmailKind("Welcome to Flagship", "account"),
    "enrollment_confirmation": EmailKind(
        "You are enrolled in {{ course_title or 'a course' }}", "learning"
    ),
    "certificate_issued": EmailKind("Your certificate is ready", "learning"),
    "ctf_starting_soon": EmailKind("{{ event_title or 'Your CTF' }} starts soon", "ctf_events"),
    "payment_failed": EmailKind("Your payment failed", "billing"),
    "receipt": EmailKind("Your Flagship receipt {{ number or '' }}", "billing"),
    "payment_action_required": EmailKind("Confirm your payment", "billing"),
    "checkout_payment_failed": EmailKind("Your payment did not go through", "billing"),
    "refund_issued": EmailKind("Your refund is on its way", "billing"),
    "trial_ending": EmailKind("Your trial ends soon", "billing"),
    "moderation_outcome": EmailKind("A moderator reviewed your content", "account"),
    "notification_digest": EmailKind("Your Flagship digest", "digest"),
    # The category of a notification email is its notification category (replies, ...).
    "notification": EmailKind("{{ headline or 'New notification' }}", "notifications"),
    "entitlement_changed": EmailKind(
        "{{ 'Welcome to ' ~ feature_label if entitled else 'Your plan changed' }}", "billing"
    ),
    "newsletter": EmailKind(
        "{{ campaign_subject | default(headline | default('News from Flagship')) }}", "newsletter"
    ),
    "goodbye": EmailKind("Your Flagship account was deleted", "account"),
    "verify_email": EmailKind("Confirm your new contact email", "security"),
    "auth_signup": EmailKind("Confirm your email", "auth"),
    "auth_magiclink": EmailKind("Your sign-in link", "auth"),
    "auth_recovery": EmailKind("Reset your password", "auth"),
    "auth_email_change": EmailKind("Confirm your new email", "auth"),
    "auth_invite": EmailKind("You are invited to Flagship", "auth"),
    "auth_reauthentication": EmailKind("Your confirmation code", "auth"),
}

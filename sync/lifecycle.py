"""Lifecycle deliveries: certificate issued, entitlement changed, course completed.

`certificate.issued` → the `certificate_issued` email with links to the PDF (the
certificates bucket; the PDF itself is rendered by the files topic queued beside it) and to
the public verification page. `billing.entitlement_changed` → the `entitlement_changed`
email. `learning.course_completed` → the learner's "course completed" notification (which
the notification preferences then email or digest). All idempotent per job.
"""

from __future__ import annotations

from typing import Any

from flagship.database import connect
from flagship.logs import logger
from mail.settings import MailConfig
from sync.email import send_routed
from sync.handlers import Handler, Job, PayloadCall, handler
from sync.settings import WorkerSettings

log = logger("sync.lifecycle")
FEATURE_LABELS = {"pro": "Flagship Pro"}


def certificate_links(settings: MailConfig, payload: dict[str, Any]) -> dict[str, str]:
    """Where the certificate's PDF and verification page live (docs/events.md)."""
    return {
        "pdf_url": (
            f"{settings.public_url}/storage/v1/object/authenticated/certificates/"
            f"{payload['user_id']}/{payload['code']}.pdf"
        ),
        "verify_url": f"{settings.site_url}/certificates/{payload['code']}",
    }


class LifecycleEmail:
    """One email per job, to the user of the payload, built by `data(payload)`."""

    def __init__(self, settings: WorkerSettings, template: str, build) -> None:
        self.url = settings.database_url
        self.mail = settings.mail
        self.template = template
        self.build = build

    def __call__(self, job: Job) -> None:
        data, obj = self.build(self.mail, job.payload)
        with connect(self.url, application_name="flagship-sync-lifecycle") as conn:
            sent = send_routed(
                conn, self.mail, job.idempotency_key, template=self.template,
                user_id=job.payload["user_id"], data=data, obj=obj,
            )  # fmt: skip
            conn.commit()
        log.info("lifecycle email", job_id=job.id, template=self.template, sent=sent)


def certificate_data(mail: MailConfig, p: dict[str, Any]) -> tuple[dict, dict]:
    links = certificate_links(mail, p)
    data = {
        "course_title": p["course_title"],
        "certificate_id": p["code"],
        **links,
        "action_url": links["verify_url"],
        "action_label": "View your certificate",
    }
    return data, {"type": "certificate", "id": p["certificate_id"]}


def entitlement_data(mail: MailConfig, p: dict[str, Any]) -> tuple[dict, dict]:
    data = {
        "feature": p["feature"],
        "feature_label": FEATURE_LABELS.get(p["feature"], p["feature"].replace("_", " ").title()),
        "entitled": bool(p["entitled"]),
        "action_url": f"{mail.site_url}/account/billing",
        "action_label": "Your plan",
    }
    return data, {"type": "entitlement", "id": f"{p['user_id']}:{p['feature']}"}


@handler("certificate.issued")
def certificate_issued(settings: WorkerSettings) -> Handler:
    return LifecycleEmail(settings, "certificate_issued", certificate_data)


@handler("billing.entitlement_changed")
def entitlement_changed(settings: WorkerSettings) -> Handler:
    return LifecycleEmail(settings, "entitlement_changed", entitlement_data)


@handler("learning.course_completed")
def course_completed(settings: WorkerSettings) -> Handler:
    return PayloadCall(settings.database_url, "private.events_course_completed")

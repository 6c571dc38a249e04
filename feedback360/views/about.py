"""The pages that tell people about the service: the privacy notice, the accessibility
statement and how to contact us. Public: a rater reads the privacy notice before answering,
with no account, and nothing on these pages depends on who asks."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template

from ..config import DEMO_ORGANISATION

bp = Blueprint("about", __name__)

# When the accessibility statement was prepared and last reviewed (the GOV.UK model asks for
# both); change them when the service is tested again.
STATEMENT_PREPARED = date(2026, 12, 5)
STATEMENT_REVIEWED = date(2026, 12, 5)


def _contacts() -> dict[str, object]:
    config = current_app.config
    return {"organisation": config["ORGANISATION_NAME"],
            "is_demo_organisation": config["ORGANISATION_NAME"] == DEMO_ORGANISATION,
            "data_protection_contact": config["DATA_PROTECTION_CONTACT"],
            "contact_email": config["CONTACT_EMAIL"]}


@bp.get("/privacy")
def privacy():  # type: ignore[no-untyped-def]
    config = current_app.config
    return render_template("about/privacy.html", **_contacts(),
                           retention={"rater_details": config["RATER_DETAILS_RETENTION_DAYS"],
                                      "answers": config["ANSWER_RETENTION_DAYS"],
                                      "mail": config["MAIL_RETENTION_DAYS"],
                                      "accounts": config["DEACTIVATED_ACCOUNT_RETENTION_DAYS"],
                                      "audit": config["AUDIT_RETENTION_DAYS"]},
                           anonymity_min_group=config["ANONYMITY_MIN_GROUP"],
                           min_trainees=config["COHORT_MIN_TRAINEES"])


@bp.get("/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    return render_template("about/accessibility.html", **_contacts(),
                           prepared=STATEMENT_PREPARED, reviewed=STATEMENT_REVIEWED)


@bp.get("/contact")
def contact():  # type: ignore[no-untyped-def]
    return render_template("about/contact.html", **_contacts())

"""Administration for programme leads: one blueprint, one module per concern.

``users`` (accounts and invitations), ``cohorts`` (intakes), ``imports`` (the CSV import of users)
``coaching`` (coach assignments), ``cycles`` (a trainee's closed cycles and the attributes
they closed with), ``audit`` (the audit trail), ``subject_access`` (everything held about one
person, as a download), ``erasure`` (erasing one person), ``organisations`` (employing trusts
and their sites) and ``placements`` (a trainee's placements, from the person's page). Every
route is for admins only.
"""

from __future__ import annotations

from flask import Blueprint

from ...authz import role_required
from ..scoping import enforce_lead_scope

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every route in this blueprint is for programme leads only."""


bp.before_request(enforce_lead_scope)


# Register the routes on bp.
from . import (  # noqa: E402,F401
    audit,
    coaching,
    cohorts,
    cycles,
    erasure,
    imports,
    organisations,
    placements,
    subject_access,
    users,
)

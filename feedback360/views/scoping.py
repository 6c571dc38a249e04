"""Programme scoping at the door of every blueprint for programme leads (``admin``, ``cohort``,
``cohort_reports``): the rule is ``services/lead_scope.py``; this applies it to each request.

An object outside a scoped lead's programmes is a 404, as if it did not exist (a 403 would tell
them it does); the error handler records it as refused access (``audit_requests.py``). Pages that
belong to unscoped admins alone are a 403, as a page of another role is.
"""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from ..services import lead_scope

# The audit trail, the user import, programme scopes, subject access and erasure (everything
# held about anyone, staff and raters of every programme included): for admins who lead every
# programme.
UNSCOPED_ONLY = frozenset({"admin.audit_trail", "admin.audit_download", "admin.import_users",
                           "admin.confirm_import", "admin.user_programmes",
                           "admin.subject_access_request", "admin.erasure_request",
                           "admin.erase_person"})
# Organisations and their sites are shared by every programme placed there.
UNSCOPED_ONLY |= frozenset({"admin.organisations", "admin.organisation", "admin.new_organisation",
                            "admin.edit_organisation", "admin.delete_organisation",
                            "admin.new_site", "admin.edit_site", "admin.delete_site"})


def enforce_lead_scope() -> None:
    """A ``before_request`` hook. Runs after the blueprint's role check where there is one; a
    person of another role is left to that check (``lead_scope`` scopes admins only)."""
    if not current_user.is_authenticated or not lead_scope.is_scoped(current_user):
        return
    if request.endpoint in UNSCOPED_ONLY:
        abort(403)
    if not lead_scope.reaches_route(current_user, request.view_args or {}):
        abort(404)

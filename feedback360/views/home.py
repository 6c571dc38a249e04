"""The start page: sign-in for visitors, each role's own home for everyone else."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..models import Cohort, User
from ..services import attention, lead_scope

bp = Blueprint("home", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOMES[current_user.role]))


@bp.get("/home/admin")
@role_required("admin")
def admin_home():  # type: ignore[no-untyped-def]
    counts = dict(db.session.execute(
        db.select(User.role, db.func.count()).where(lead_scope.user_filter(current_user))
        .group_by(User.role)).all())
    cohorts = db.session.scalars(db.select(Cohort).where(
        ~Cohort.archived, lead_scope.cohort_filter(current_user)).order_by(Cohort.name)).all()
    return render_template("home/admin.html", counts=counts, cohorts=cohorts,
                           scoped=lead_scope.is_scoped(current_user),
                           attention=attention.for_programme_leads(current_user))


HOMES = {"trainee": "trainee.cycles", "coach": "coach.trainees", "admin": "home.admin_home",
         "champion": "champion.home"}

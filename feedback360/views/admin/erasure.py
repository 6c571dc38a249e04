"""Erasing a person: find them by email (or from their page), see exactly what will go, type
their address to confirm. The service erases and audits; this view commits, then rebuilds the
cohort analyses the erasure touched and says whether any published cohort figure changed."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ...extensions import db
from ...forms import ErasureFindForm, ErasureForm
from ...models import Cohort, User
from ...services import DomainError, cohort_analyses, erasure
from ...text_input import control_character, refusal
from . import bp


def _confirm_page(person: erasure.Person, form: ErasureForm, error: str | None = None,
                  status: int = 200):  # type: ignore[no-untyped-def]
    cohort_ids = erasure.cohorts_concerned(person)
    cohorts = db.session.scalars(db.select(Cohort.name).where(Cohort.id.in_(cohort_ids))
                                 .order_by(Cohort.name)).all() if cohort_ids else []
    return render_template("admin/erasure_confirm.html", person=person, form=form,
                           counts=erasure.preview(person), kinds=erasure.KINDS,
                           cohorts=cohorts, error=error), status


@bp.route("/erasure", methods=["GET", "POST"])
def erasure_request():  # type: ignore[no-untyped-def]
    value = request.args.get("user", "")
    person_user = db.session.get(User, int(value)) if value.isdigit() and len(value) < 10 \
        else None
    form = ErasureFindForm()
    email = person_user.email if person_user is not None else None
    if email is None:
        if not form.validate_on_submit():
            return render_template("admin/erasure.html", form=form), 400 if form.errors else 200
        email = form.email.data
    person = erasure.find(email)
    if person is None:
        return render_template("admin/erasure.html", form=form, nothing_held=email.strip())
    return _confirm_page(person, ErasureForm(email=person.email, formdata=None))


@bp.post("/erasure/confirm")
def erase_person():  # type: ignore[no-untyped-def]
    form = ErasureForm()
    email = (form.email.data or "").strip()[:254]
    # a forged post's control character never reaches the database (PostgreSQL refuses a NUL)
    bad = control_character(email, multi_line=False)
    person = erasure.find(email) if email and not bad else None
    if person is None:  # nobody named (a forged post) or already erased (a second click)
        find = ErasureFindForm(formdata=None)
        if bad:
            find.email.errors = [refusal("Email address", bad)]
        elif not email:
            find.email.errors = ["Enter the email address of the person to erase"]
        refused = bad or not email
        return render_template("admin/erasure.html", form=find,
                               nothing_held=None if refused else email), 400 if refused else 200
    if not form.validate_on_submit():
        return _confirm_page(person, form, status=400)
    if form.confirmation.data.strip().lower() != person.email:
        form.confirmation.errors = [*form.confirmation.errors,
                                    "The address you typed is not this person's"]
        return _confirm_page(person, form, status=400)
    name, cohort_ids = person.name, erasure.cohorts_concerned(person)
    before = erasure.published_figures(cohort_ids)
    try:
        counts = erasure.erase(person, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _confirm_page(person, form, error.message, 409)
    db.session.commit()
    # after the commit: the analyses are stored in their own transaction
    cohort_analyses.refresh(cohort_ids)
    changed = erasure.changed_cohorts(before, erasure.published_figures(cohort_ids))
    return render_template("admin/erasure_done.html", name=name, counts=counts,
                           kinds=erasure.KINDS, changed=changed,
                           rebuilt=bool(cohort_ids))

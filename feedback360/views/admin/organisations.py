"""Organisations (employing trusts) and their sites: list, add, rename, delete when unused.

For admins who lead every programme (``scoping.UNSCOPED_ONLY``): a trust and its sites are shared
by every programme placed there, so a lead limited to some programmes does not rename them.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ...extensions import db
from ...forms.cycles import ConfirmForm
from ...forms.workplace import OrganisationForm, SiteForm
from ...models import Organisation, Site
from ...services import DomainError, organisations
from .. import show_domain_error
from . import bp


@bp.get("/organisations", endpoint="organisations")
def organisations_list():  # type: ignore[no-untyped-def]
    return render_template("workplace/organisations.html", listings=organisations.listings())


@bp.get("/organisations/<int:organisation_id>")
def organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    found = db.get_or_404(Organisation, organisation_id)
    return render_template("workplace/organisation.html", organisation=found)


def _name_page(form, *, heading: str, caption: str | None, back_url: str, button: str):  # type: ignore[no-untyped-def]
    return render_template("workplace/name_form.html", form=form, heading=heading,
                           caption=caption, back_url=back_url, button=button), \
        400 if form.errors else 200


def _saved(form, change, message: str, target: str):  # type: ignore[no-untyped-def]
    """Run ``change`` for a valid form; the redirect, or None to show the form again."""
    if not form.validate_on_submit():
        return None
    try:
        change()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    flash(message, "success")
    return redirect(target)


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():  # type: ignore[no-untyped-def]
    form = OrganisationForm()
    made: list[Organisation] = []
    if form.validate_on_submit():
        try:
            made.append(organisations.create_organisation(form.name.data, by=current_user))
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"{made[0].name} added. Next, add its sites.", "success")
            return redirect(url_for("admin.organisation", organisation_id=made[0].id))
    return _name_page(form, heading="Add an organisation", caption=None,
                      back_url=url_for("admin.organisations"), button="Add organisation")


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit_organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    found = db.get_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=found)
    back = url_for("admin.organisation", organisation_id=found.id)
    done = _saved(form, lambda: organisations.rename_organisation(found, form.name.data,
                                                                  by=current_user),
                  "Organisation saved", back)
    return done or _name_page(form, heading=f"Rename {found.name}", caption="Organisation",
                              back_url=back, button="Save")


@bp.route("/organisations/<int:organisation_id>/sites/new", methods=["GET", "POST"])
def new_site(organisation_id: int):  # type: ignore[no-untyped-def]
    found = db.get_or_404(Organisation, organisation_id)
    form = SiteForm()
    back = url_for("admin.organisation", organisation_id=found.id)
    done = _saved(form, lambda: organisations.add_site(found, form.name.data, by=current_user),
                  "Site added", back)
    return done or _name_page(form, heading="Add a site", caption=found.name, back_url=back,
                              button="Add site")


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def edit_site(site_id: int):  # type: ignore[no-untyped-def]
    site = db.get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    back = url_for("admin.organisation", organisation_id=site.organisation_id)
    done = _saved(form, lambda: organisations.rename_site(site, form.name.data, by=current_user),
                  "Site saved", back)
    return done or _name_page(form, heading=f"Rename {site.name}", caption=site.organisation.name,
                              back_url=back, button="Save")


def _confirm_delete(name: str, references: list[str], delete, back: str, done: str):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            delete()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(back)
        db.session.commit()
        flash(f"{name} deleted", "success")
        return redirect(done)
    return render_template("workplace/confirm.html", form=form, heading=f"Delete {name}?",
                           detail=None, references=references, action="Delete",
                           back_url=back), 400 if form.errors else 200


@bp.route("/organisations/<int:organisation_id>/delete", methods=["GET", "POST"])
def delete_organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    found = db.get_or_404(Organisation, organisation_id)
    return _confirm_delete(
        found.name, organisations.organisation_references(found),
        lambda: organisations.delete_organisation(found, by=current_user),
        url_for("admin.organisation", organisation_id=found.id), url_for("admin.organisations"))


@bp.route("/sites/<int:site_id>/delete", methods=["GET", "POST"])
def delete_site(site_id: int):  # type: ignore[no-untyped-def]
    site = db.get_or_404(Site, site_id)
    back = url_for("admin.organisation", organisation_id=site.organisation_id)
    return _confirm_delete(site.name, organisations.site_references(site),
                           lambda: organisations.delete_site(site, by=current_user), back, back)

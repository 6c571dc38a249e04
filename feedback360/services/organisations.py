"""Organisations (employing trusts) and their sites, kept by programme leads.

Names are compared without case or surrounding spaces: an organisation's name is unique, and a
site's name is unique within its organisation. Nothing is deleted that anything refers to (a
site a placement or a catalogue entry names, an organisation with sites, a champion or a
commitment record): the message says what still refers to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import audit
from ..extensions import db
from ..models import (
    BoardReport,
    CommitmentStatus,
    LeadershipOpportunity,
    Organisation,
    Placement,
    Site,
    User,
)
from . import DomainError

ORGANISATION_NAME_MAX = 200
SITE_NAME_MAX = 120


@dataclass(frozen=True)
class OrganisationListing:
    organisation: Organisation
    sites: int
    placements: int


def _clean(name: str | None, *, what: str, limit: int) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise DomainError(f"Enter the {what}'s name", field="name")
    if len(clean) > limit:
        raise DomainError(f"The {what}'s name must be {limit} characters or fewer", field="name")
    return clean


def listings() -> list[OrganisationListing]:
    placements = dict(db.session.execute(
        db.select(Site.organisation_id, db.func.count(Placement.id))
        .join(Placement, Placement.site_id == Site.id).group_by(Site.organisation_id)).all())
    sites = dict(db.session.execute(
        db.select(Site.organisation_id, db.func.count(Site.id)).group_by(Site.organisation_id)
    ).all())
    organisations = db.session.scalars(db.select(Organisation).order_by(Organisation.name))
    return [OrganisationListing(o, sites.get(o.id, 0), placements.get(o.id, 0))
            for o in organisations]


def all_sites() -> list[Site]:
    """Every site, by organisation then name: what a placement is picked from."""
    return list(db.session.scalars(
        db.select(Site).join(Organisation).order_by(Organisation.name, Site.name)))


def _organisation_named(name: str) -> Organisation | None:
    return db.session.scalar(db.select(Organisation).where(
        db.func.lower(Organisation.name) == name.lower()))


def _check_organisation_name(name: str, keep: Organisation | None) -> None:
    same = _organisation_named(name)
    # SQLite's lower() folds ASCII only: compare the rest here too.
    if same is None:
        same = next((o for o in db.session.scalars(db.select(Organisation))
                     if o.name.casefold() == name.casefold()), None)
    if same is not None and same is not keep:
        raise DomainError(f"There is already an organisation called {same.name}", field="name")


def create_organisation(name: str | None, *, by: User) -> Organisation:
    clean = _clean(name, what="organisation", limit=ORGANISATION_NAME_MAX)
    _check_organisation_name(clean, None)
    organisation = Organisation(name=clean)
    db.session.add(organisation)
    db.session.flush()
    audit.record(by, "organisation.created", f"organisation:{organisation.id}", name=clean)
    return organisation


def rename_organisation(organisation: Organisation, name: str | None, *, by: User) -> bool:
    """Whether anything changed."""
    clean = _clean(name, what="organisation", limit=ORGANISATION_NAME_MAX)
    if clean == organisation.name:
        return False
    _check_organisation_name(clean, organisation)
    before, organisation.name = organisation.name, clean
    db.session.flush()
    audit.record(by, "organisation.renamed", f"organisation:{organisation.id}",
                 name=[before, clean])
    return True


def _check_site_name(organisation: Organisation, name: str, keep: Site | None) -> None:
    for site in db.session.scalars(db.select(Site).filter_by(organisation_id=organisation.id)):
        if site is not keep and site.name.casefold() == name.casefold():
            raise DomainError(f"{organisation.name} already has a site called {site.name}",
                              field="name")


def add_site(organisation: Organisation, name: str | None, *, by: User) -> Site:
    clean = _clean(name, what="site", limit=SITE_NAME_MAX)
    _check_site_name(organisation, clean, None)
    site = Site(organisation_id=organisation.id, name=clean)
    db.session.add(site)
    db.session.flush()
    audit.record(by, "site.created", f"site:{site.id}", name=clean,
                 organisation=organisation.id)
    return site


def rename_site(site: Site, name: str | None, *, by: User) -> bool:
    clean = _clean(name, what="site", limit=SITE_NAME_MAX)
    if clean == site.name:
        return False
    _check_site_name(site.organisation, clean, site)
    before, site.name = site.name, clean
    db.session.flush()
    audit.record(by, "site.renamed", f"site:{site.id}", name=[before, clean])
    return True


def _count(query) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0


def site_references(site: Site) -> list[str]:
    """What still refers to ``site``, in words (empty: it may be deleted)."""
    found = []
    placements = _count(db.select(Placement.id).where(Placement.site_id == site.id))
    if placements:
        found.append(f"{placements} placement{'s' if placements != 1 else ''}")
    entries = _count(db.select(LeadershipOpportunity.id)
                     .where(LeadershipOpportunity.site_id == site.id))
    if entries:
        found.append(f"{entries} catalogue entr{'ies' if entries != 1 else 'y'}")
    return found


def organisation_references(organisation: Organisation) -> list[str]:
    found = []
    checks = (
        (db.select(Site.id).where(Site.organisation_id == organisation.id), "site"),
        (db.select(User.id).where(User.organisation_id == organisation.id), "account"),
        (db.select(CommitmentStatus.id)
         .where(CommitmentStatus.organisation_id == organisation.id), "commitment record"),
        (db.select(BoardReport.id).where(BoardReport.organisation_id == organisation.id),
         "board report"),
    )
    for query, what in checks:
        count = _count(query)
        if count:
            found.append(f"{count} {what}{'s' if count != 1 else ''}")
    return found


def delete_site(site: Site, *, by: User) -> None:
    references = site_references(site)
    if references:
        raise DomainError(f"{site.name} cannot be deleted while "
                          f"anything refers to it ({', '.join(references)})")
    audit.record(by, "site.deleted", f"site:{site.id}", name=site.name)
    db.session.delete(site)
    db.session.flush()


def delete_organisation(organisation: Organisation, *, by: User) -> None:
    references = organisation_references(organisation)
    if references:
        raise DomainError(f"{organisation.name} cannot be deleted while "
                          f"anything refers to it ({', '.join(references)})")
    audit.record(by, "organisation.deleted", f"organisation:{organisation.id}",
                 name=organisation.name)
    db.session.delete(organisation)
    db.session.flush()

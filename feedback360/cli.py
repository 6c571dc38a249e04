"""``flask`` commands for operators and cron. Each command commits its own work once."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

from .extensions import db


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
    app.cli.add_command(deliver_mail_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(instruments_group)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(close_due_cycles_command)
    app.cli.add_command(refresh_cohort_reports_command)
    app.cli.add_command(import_users_command)
    app.cli.add_command(purge_audit_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(seed_opportunities_command)


@click.command("create-admin")
@with_appcontext
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option("--password", help="At least 10 characters; not a common password.")
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create a programme-lead (admin) account, or reset an existing admin's password; either
    way, with a new two-step verification key, printed for their authenticator app."""
    import pyotp

    from .services import DomainError, accounts, two_factor

    try:
        user = accounts.create_admin(email=email, name=name, password=password)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    secret = pyotp.random_base32()
    two_factor.enrol_with_secret(user, secret)
    db.session.commit()
    click.echo(f"Admin account ready: {user.email}")
    click.echo("Signing in also needs a code from an authenticator app. Add this key to one")
    click.echo("(\"enter a key\", time-based), or open the otpauth address on the phone:")
    click.echo(f"  key:      {two_factor.grouped(secret)}")
    click.echo(f"  otpauth:  {two_factor.provisioning_uri(user, secret)}")
    click.echo("Keep the key secret; it is not shown again. Recovery codes are on the account's")
    click.echo("\"Two-step verification\" page once signed in.")


@click.command("deliver-mail")
@with_appcontext
@click.option("--now", "ignore_backoff", is_flag=True,
              help="Retry failed messages at once instead of waiting for their back-off.")
def deliver_mail_command(ignore_backoff: bool) -> None:
    """Deliver queued email that is due (run from cron every minute)."""
    from .mail import deliver_due

    report = deliver_due(ignore_backoff=ignore_backoff)
    click.echo(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
    if report.retrying or report.failed:
        raise SystemExit(1)


def _deliver_now() -> None:
    """Commands that queue mail deliver it before they exit; cron's deliver-mail retries."""
    from .mail import deliver_due

    deliver_due(list(g.pop("outbox_queued", [])))


@click.command("send-reminders")
@with_appcontext
@click.option("--on", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Act as if today were this day (YYYY-MM-DD).")
def send_reminders_command(on_day) -> None:  # type: ignore[no-untyped-def]
    """Remind colleagues who have not answered: 7 and 2 days before the close. Idempotent."""
    from .services.cycles import send_scheduled_reminders, today

    sent = send_scheduled_reminders(on_day.date() if on_day else today())
    db.session.commit()
    _deliver_now()
    click.echo(f"{sent} reminder(s) queued")


@click.command("close-due-cycles")
@with_appcontext
@click.option("--on", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Act as if today were this day (YYYY-MM-DD).")
def close_due_cycles_command(on_day) -> None:  # type: ignore[no-untyped-def]
    """Close every open cycle whose closing date has passed, then bring the cohort reports they
    count in up to date (so a programme lead's first look at a closed launch is not the one
    that builds its analysis). Commits once per cycle; exits 1 if any cycle could not close."""
    from sqlalchemy.exc import SQLAlchemyError

    from .services import DomainError, cohort_analyses
    from .services.cycles import close_due_cycle, due_cycle_ids, today

    closed, failed = [], []
    for cycle_id in due_cycle_ids(on_day.date() if on_day else today()):
        # One transaction per cycle: each is wholly written or wholly still sealed and open,
        # and a cycle that fails does not hold the others back; the next run retries it.
        try:
            if close_due_cycle(cycle_id):
                db.session.commit()
                closed.append(cycle_id)
            else:
                db.session.rollback()
        except (SQLAlchemyError, DomainError) as error:
            db.session.rollback()
            failed.append(cycle_id)
            click.echo(f"cycle {cycle_id} not closed, left open for the next run: "
                       f"{getattr(error, 'message', error)}", err=True)
    _deliver_now()
    click.echo(f"{len(closed)} cycle(s) closed")
    if closed:
        built = cohort_analyses.refresh(cohort_analyses.cohorts_affected(closed))
        click.echo(f"{built} cohort report(s) rebuilt")
    if failed:
        raise click.exceptions.Exit(1)


@click.command("refresh-cohort-reports")
@with_appcontext
@click.option("--cohort", "cohort_ids", type=int, multiple=True,
              help="Only this cohort (by id); repeat for more. Default: every cohort.")
def refresh_cohort_reports_command(cohort_ids: tuple[int, ...]) -> None:
    """Rebuild the stored analysis of every cohort report that is out of date (after changing
    COHORT_MIN_TRAINEES or BLIND_SPOT_THRESHOLD, say). Idempotent."""
    from .models import Cohort
    from .services import cohort_analyses

    known = set(db.session.scalars(db.select(Cohort.id)))
    unknown = sorted(set(cohort_ids) - known)
    if unknown:
        raise click.BadParameter(f"no cohort with id {', '.join(map(str, unknown))}",
                                 param_hint="--cohort")
    built = cohort_analyses.refresh(cohort_ids or known)
    click.echo(f"{built} cohort report(s) rebuilt, {len(cohort_ids or known) - built} up to date")


@click.command("purge-audit")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def purge_audit_command(dry_run: bool) -> None:
    """Delete audit events older than AUDIT_RETENTION_DAYS (run daily from cron). Idempotent;
    each run but a dry run is itself recorded in the trail, with the count and cutoff only."""
    from .services import audit_retention

    result = audit_retention.purge(dry_run=dry_run)
    if result.cutoff is None:
        click.echo("AUDIT_RETENTION_DAYS is 0: audit events are kept forever, none deleted.")
        return
    db.session.commit()
    when = result.cutoff.strftime("%Y-%m-%d %H:%M UTC")
    verb = "would be deleted (dry run)" if dry_run else "deleted"
    click.echo(f"{result.count} audit event(s) from before {when} {verb}.")


@click.command("purge")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count what would go, by kind; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Remove what is past its retention period (run daily from cron): raters' details, answers
    of released cycles, sent mail, deactivated accounts' names, then old audit events. One line
    per kind; each kind commits on its own and is audit-logged with its count only. Idempotent."""
    from .services import audit_retention, retention

    now = retention.now_utc()
    for kind in retention.KINDS:
        done = kind(now, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        if done.cutoff is None:
            click.echo(f"{done.kind}: kept ({done.setting} is 0)")
            continue
        verb = f"would be {done.verb} (dry run)" if dry_run else done.verb
        click.echo(f"{done.kind}: {done.count} {done.noun} {verb}, "
                   f"before {done.cutoff:%Y-%m-%d}")
    audit = audit_retention.purge(dry_run=dry_run)
    if audit.cutoff is None:
        click.echo("audit events: kept (AUDIT_RETENTION_DAYS is 0)")
        return
    db.session.commit()
    verb = "would be deleted (dry run)" if dry_run else "deleted"
    click.echo(f"audit events: {audit.count} event(s) {verb}, before {audit.cutoff:%Y-%m-%d}")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while the app runs: consistent, integrity-checked, then
    audit-logged. On PostgreSQL it says how to use pg_dump instead (README, "Backups")."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import audit
    from .backup import BackupError, backup_sqlite, sqlite_path

    config = current_app.config
    try:
        made = backup_sqlite(sqlite_path(config["SQLALCHEMY_DATABASE_URI"]), path, force=force,
                             busy_timeout_s=config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    # The file's name only: where backups are kept is the operator's business, not the trail's.
    audit.record(None, "backup.made", made.path.name, size=made.size)
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        # The copy is good; say so, but exit 1 so cron reports the missing record.
        raise click.ClickException(f"Backed up to {made.path}, but the audit event could not be "
                                   f"recorded: {getattr(error, 'orig', None) or error}") from None
    click.echo(f"Backed up {made.size:,} bytes to {made.path} in {made.seconds:.2f} s; "
               "integrity check ok.")


@click.command("seed-demo")
@with_appcontext
@click.option("--password", default="feedback360-demo",
              help="The password every demo account gets.")
def seed_demo_command(password: str) -> None:
    """Fill an empty database with a demo programme, cohort and accounts; print the logins."""
    from .demo import DEMO_TOTP_KEY, ready_rater_link, seed_demo
    from .models import Cohort
    from .services import cohort_analyses

    logins = seed_demo(password)
    db.session.commit()
    # as close-due-cycles would have done for the demo's closed cycles
    cohort_analyses.refresh(db.session.scalars(db.select(Cohort.id)))
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    click.echo(f"Demo data ready. Sign in at {base}/ with any of:")
    for role, email in logins:
        click.echo(f"  {role:<8} {email:<40} password: {password}")
    click.echo("The admin also needs a code from an authenticator app, with this demo key (public:")
    click.echo(f"a demo only): {DEMO_TOTP_KEY}, or the current code from")
    click.echo(f"  python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_KEY}').now())\"")
    rater = ready_rater_link()
    if rater is not None:
        trainee, link = rater
        click.echo(f"\nTry the survey as one of {trainee}'s colleagues (no account needed), "
                   f"from an open cycle still waiting for answers:\n  {link}")


@click.group("instruments")
def instruments_group() -> None:
    """Instrument definitions (the YAML files in instruments/)."""


@instruments_group.command("check")
@with_appcontext
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def check_instruments(directory: Path | None) -> None:
    """Validate every instrument file and print a summary of each."""
    from .instruments import InstrumentError, load_directory, summarise

    directory = directory or Path(current_app.config["INSTRUMENTS_DIR"])
    try:
        instruments = load_directory(directory)
    except InstrumentError as error:
        raise click.ClickException(str(error)) from error
    for instrument in instruments.values():
        click.echo(summarise(instrument))
        click.echo()
    click.echo(f"{len(instruments)} instrument(s) valid in {directory}")


@click.command("import-users")
@with_appcontext
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Report what would change; save nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows even if other rows have problems (they are skipped).")
def import_users_command(file, dry_run: bool, skip_invalid: bool) -> None:  # type: ignore[no-untyped-def]
    """Import users from a CSV file (the admin page's rules; see services/roster.py).

    Prints one line per row. Exit status 1, with nothing saved, if the file cannot be read, if
    it is a --dry-run and any row has a problem, or if any row has a problem and --skip-invalid
    was not given; otherwise the good rows are imported (new people are emailed) and it is 0.
    """
    from .services import roster

    try:
        planned = roster.plan(roster.decode(file.read()))
    except roster.RosterFileError as error:
        raise click.ClickException(error.message) from error
    for line, text in _roster_report(planned):
        click.echo(f"line {line}: {text}")
    counts = planned.counts()
    summary = (f"{counts['created']} to create, {counts['updated']} to update, "
               f"{counts['unchanged']} unchanged, {counts['skipped']} with problems")
    if dry_run or (planned.problems and not skip_invalid):
        click.echo(f"{summary}. Nothing was imported"
                   + ("" if dry_run else " (give --skip-invalid to import the good rows)") + ".")
        if planned.problems:
            raise SystemExit(1)
        return
    roster.apply(planned, by=None)
    db.session.commit()
    _deliver_now()
    click.echo(f"Imported: {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged, {counts['skipped']} skipped.")


def _roster_report(planned):  # type: ignore[no-untyped-def]
    """(line, text) for every row of an import plan, in file order."""
    lines = [(row.line, f"error: {'; '.join(row.reasons)}") for row in planned.problems]
    lines += [(row.line, f"create {row.role} {row.email}") for row in planned.creates]
    lines += [(row.line, f"update {row.email} ({', '.join(row.changes)})")
              for row in planned.updates]
    lines += [(row.line, f"unchanged {row.email}") for row in planned.unchanged]
    return sorted(lines)


@click.command("seed-opportunities")
@with_appcontext
def seed_opportunities_command() -> None:
    """Add the FMLM appendix's leadership opportunities missing from the catalogue (an entry a
    lead has edited, closed or declined is left as it is)."""
    from .services import opportunity_seed

    added = opportunity_seed.seed()
    db.session.commit()
    if added:
        noun = "opportunity" if len(added) == 1 else "opportunities"
        click.echo(f"Added {len(added)} leadership {noun} to the catalogue.")
    else:
        click.echo("Every seeded leadership opportunity is already in the catalogue.")

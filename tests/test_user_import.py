"""The CSV import of users: upload, dry run with every bad row by line, confirm, re-import."""

from __future__ import annotations

import io
import secrets

import pytest
from helpers import audit_events, csrf_token, form_fields, path_of, text_of

from feedback360.extensions import db
from feedback360.models import AuditEvent, OutboxMessage, User

NEW_PASSWORD = "plum kettle orbit lantern"
HEADER = "name,email,role,cohort,specialty,training year,site"


@pytest.fixture
def cohorts(make_cohort):
    return {"physics": make_cohort("STP 2026 Medical Physics"),
            "old": make_cohort("STP 2019 Audiology", intake_year=2019, archived=True)}


@pytest.fixture
def admin_client(client, make_user, login):
    admin = make_user("lead@nhs.net", role="admin", name="Lena Lead")
    assert login(client, admin.email).status_code == 302
    return client


def upload(client, content: str | bytes, filename: str = "people.csv"):
    page = client.get("/admin/users/import")
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/admin/users/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(data), filename)})


def confirm(client, preview):
    assert preview.status_code == 200, preview.text
    return client.post("/admin/users/import/confirm",
                       data=form_fields(preview, action="/admin/users/import/confirm"))


def snapshot(app) -> tuple[int, int, int, list[tuple]]:
    with app.app_context():
        count = db.func.count()
        return (db.session.scalar(db.select(count).select_from(User)),
                # a refused form is itself audited (csrf.failed); nothing else may be
                db.session.scalar(db.select(count).select_from(AuditEvent).where(
                    AuditEvent.action != "csrf.failed")),
                db.session.scalar(db.select(count).select_from(OutboxMessage)),
                [tuple(row) for row in db.session.execute(db.select(
                    User.email, User.name, User.cohort_id, User.specialty, User.training_year,
                    User.site).order_by(User.email))])


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


GOOD = csv_of(
    "Amara Okafor,Amara.Okafor@NHS.net,trainee,STP 2026 Medical Physics,Medical Physics,1,Leeds",
    "Dr Priya Sharma,priya.sharma@nhs.net,coach,,,,",
)


def test_dry_run_then_import_invites_new_people_who_can_activate(app, admin_client, smtp,
                                                                  cohorts, client):
    before = snapshot(app)
    preview = upload(admin_client, GOOD)
    assert "Check the import" in preview.text
    assert "2 new people are invited" in preview.text and "amara.okafor@nhs.net" in preview.text
    assert snapshot(app) == before  # the dry run writes nothing
    assert smtp.messages == []

    result = confirm(admin_client, preview)
    assert result.status_code == 200 and "Import complete" in result.text
    assert "2 invited, 0 updated, 0 already up to date, 0 skipped" in result.text
    with app.app_context():
        amara = db.session.scalar(db.select(User).where(User.email == "amara.okafor@nhs.net"))
        assert (amara.name, amara.role, amara.cohort.name, amara.specialty, amara.training_year,
                amara.site, amara.password_hash) == (
            "Amara Okafor", "trainee", "STP 2026 Medical Physics", "Medical Physics", 1, "Leeds",
            None)
        event = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.action == "users.imported"))
        assert event.detail == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0}

    assert sorted(m["To"] for m in smtp.messages) == ["amara.okafor@nhs.net",
                                                       "priya.sharma@nhs.net"]
    [message] = smtp.messages_to("amara.okafor@nhs.net")
    [link] = smtp.links(message)
    visitor = app.test_client()
    page = visitor.get(path_of(link))
    assert page.status_code == 200
    done = visitor.post(path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                             "csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert visitor.get("/", follow_redirects=True).request.path == "/cycles/"


def test_reimport_updates_and_never_duplicates_nor_emails_again(app, admin_client, smtp,
                                                                cohorts, make_cohort):
    confirm(admin_client, upload(admin_client, GOOD))
    smtp.clear()
    again = upload(admin_client, GOOD)
    assert "0 new people are invited" in again.text
    assert "2 people are already up to date" in again.text
    assert "Import 0" not in again.text and "There is nothing to import" in again.text

    later = make_cohort("STP 2027 Medical Physics")
    changed = csv_of("Amara Okafor-Smith,amara.okafor@nhs.net,Trainee,stp 2027 medical physics,"
                     "Medical Physics,2,", "Dr Priya Sharma,PRIYA.SHARMA@nhs.net,coach,,,,")
    preview = upload(admin_client, changed)
    assert "1 existing person is updated" in preview.text
    assert "name, cohort, training year, site" in preview.text
    result = confirm(admin_client, preview)
    assert "0 invited, 1 updated, 1 already up to date, 0 skipped" in result.text
    with app.app_context():
        users = db.session.scalars(db.select(User).where(User.role != "admin")).all()
        assert len(users) == 2
        amara = next(u for u in users if u.email == "amara.okafor@nhs.net")
        assert (amara.name, amara.cohort.name, amara.training_year, amara.site) == (
            "Amara Okafor-Smith", "STP 2027 Medical Physics", 2, None)
        lead = db.session.scalar(db.select(User.id).where(User.role == "admin"))
    assert smtp.messages == []  # existing people, activated or not, get no email

    # One event per person: each created with their details, each update field by field.
    invited = {target: detail for _, target, detail in audit_events(app, "user.invited")}
    assert invited[f"user:{amara.id}"] == {"role": "trainee", "source": "import", "fields": {
        "name": "Amara Okafor", "cohort_id": cohorts["physics"].id,
        "specialty": "Medical Physics", "training_year": 1, "site": "Leeds"}}
    assert len(invited) == 2
    assert audit_events(app, "user.updated") == [(lead, f"user:{amara.id}", {
        "source": "import", "changes": {
            "name": ["Amara Okafor", "Amara Okafor-Smith"],
            "cohort_id": [cohorts["physics"].id, later.id], "training_year": [1, 2],
            "site": ["Leeds", None]}})]


def test_a_column_left_out_leaves_that_detail_alone(app, admin_client, smtp, cohorts,
                                                    make_user):
    make_user("kept@nhs.net", name="Kept Person", cohort=cohorts["physics"], site="Leeds",
              training_year=3)
    preview = upload(admin_client, csv_of("Kept Person,kept@nhs.net,trainee",
                                          header="Name,Email,Role"))
    assert "1 person is already up to date" in preview.text
    confirm_page = upload(admin_client, csv_of("Kept Renamed,kept@nhs.net,trainee",
                                               header="Name,Email,Role"))
    confirm(admin_client, confirm_page)
    with app.app_context():
        kept = db.session.scalar(db.select(User).where(User.email == "kept@nhs.net"))
        assert (kept.name, kept.cohort_id, kept.site, kept.training_year) == (
            "Kept Renamed", cohorts["physics"].id, "Leeds", 3)
    assert smtp.messages == []


@pytest.mark.parametrize("header", [
    "name,email,role,cohort,specialty,training_year,site",
    "Name, EMAIL ,Role,Cohort,Specialty,Training Year,Site",
    "NAME,Email address,role,COHORT,specialty,training-year,site",
])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_header_names_ignore_case_and_spacing_with_or_without_bom(app, admin_client, cohorts,
                                                                  header, bom, newline):
    text = newline.join([header, "Ann Aye,ann@nhs.net,trainee,STP 2026 Medical Physics,"
                                 "Genomics,3,Leeds", ""])
    preview = upload(admin_client, bom + text.encode("utf-8"))
    assert preview.status_code == 200, preview.text
    assert "1 new person is invited" in preview.text
    confirm(admin_client, preview)
    with app.app_context():
        ann = db.session.scalar(db.select(User).where(User.email == "ann@nhs.net"))
        assert (ann.specialty, ann.training_year, ann.site) == ("Genomics", 3, "Leeds")


BAD_ROWS = [
    ("Ann Aye,not-an-email,trainee,,,,", "&#39;not-an-email&#39; is not a valid email address"),
    (",ann@nhs.net,trainee,,,,", "The name is missing"),
    ("Ann Aye,,trainee,,,,", "The email address is missing"),
    ("Ann Aye,ann@nhs.net,doctor,,,,",
     "Unknown role &#39;doctor&#39; (use trainee, coach or admin)"),
    ("Ann Aye,ann@nhs.net,,,,,", "The role is missing"),
    ("Ann Aye,ann@nhs.net,trainee,STP 2099 Nowhere,,,",
     "There is no cohort called &#39;STP 2099 Nowhere&#39; (create it first)"),
    ("Ann Aye,ann@nhs.net,trainee,STP 2019 Audiology,,,",
     "The cohort STP 2019 Audiology is archived"),
    ("Ann Aye,ann@nhs.net,coach,STP 2026 Medical Physics,,,",
     "Only trainees belong to a cohort, not a coach"),
    ("Ann Aye,ann@nhs.net,trainee,,,0,",
     "Training year &#39;0&#39; is not a whole number from 1 to 10"),
    ("Ann Aye,ann@nhs.net,trainee,,,11,", "Training year &#39;11&#39; is not a whole number"),
    ("Ann Aye,ann@nhs.net,trainee,,,two,", "Training year &#39;two&#39; is not a whole number"),
    ("Ann Aye,lead@NHS.net,trainee,,,,",
     "lead@nhs.net already has a programme lead account; an import never changes a role"),
    ("Ann Aye,coach@nhs.net,trainee,,,,",
     "coach@nhs.net already has a coach account; an import never changes a role"),
    ("Ann Aye,ann@nhs.net,trainee,,,,,surplus",
     "The row has 8 values but the header has 7 columns"),
    (f"{'A' * 121},ann@nhs.net,trainee,,,,", "The name is longer than 120 characters"),
    (f"Ann Aye,ann@nhs.net,trainee,,{'S' * 121},,", "The specialty is longer than 120 characters"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_each_bad_row_is_reported_with_its_line_and_skipped(app, admin_client, smtp, cohorts,
                                                            make_user, row, reason):
    make_user("coach@nhs.net", role="coach")
    content = csv_of("Good Person,good@nhs.net,trainee,,,,", "", row)  # the bad row is line 4
    before = snapshot(app)
    preview = upload(admin_client, content)
    assert preview.status_code == 200
    assert "1 row has a problem and will be skipped" in preview.text
    problem = preview.text[preview.text.index('id="problems"'):]
    assert "Line </span>4</td>" in problem and reason in problem
    assert "Import 1 person and skip 1 row" in preview.text
    assert text_of(preview).count("skipped") == 1  # told once (issue 12), not in three places
    assert snapshot(app) == before

    result = confirm(admin_client, preview)
    assert "1 invited, 0 updated, 0 already up to date, 1 skipped" in result.text
    assert reason in result.text  # the skipped row is listed again
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "ann@nhs.net")) is None
    assert [m["To"] for m in smtp.messages] == ["good@nhs.net"]


def test_every_reason_of_a_row_and_a_duplicate_email_name_their_lines(admin_client, cohorts):
    preview = upload(admin_client, csv_of(
        "Ann Aye,ann@nhs.net,trainee,,,,",
        ",ANN@nhs.net,boss,,,99,",
    ))
    problem = preview.text[preview.text.index('id="problems"'):]
    assert "Line </span>3</td>" in problem
    assert ("<li>The name is missing</li><li>ann@nhs.net is already on line 2</li>"
            "<li>Unknown role &#39;boss&#39; (use trainee, coach or admin)</li>"
            "<li>Training year &#39;99&#39; is not a whole number from 1 to 10</li>") in problem


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty"),
    (b"name,email,role\n", "The file has a header row but no people in it"),
    (b"name,email,role,favourite colour\nA,a@nhs.net,trainee,blue\n",
     "Line 1: unknown column &#39;favourite colour&#39;"),
    (b"name,role\nA,trainee\n", "Line 1: the header row needs the column email"),
    (b"name,email,role,Email\n", "Line 1: the column &#39;Email&#39; appears twice"),
    ("name,email,role\nZoë,z@nhs.net,trainee\n".encode("latin-1"), "The file is not UTF-8 text"),
    (b'name,email,role\n"A"x,a@nhs.net,trainee\n', "Line 2: the file is not valid CSV"),
])
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(app, admin_client, content,
                                                             message):
    before = snapshot(app)
    response = upload(admin_client, content)
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in response.text
    assert snapshot(app) == before


def test_no_file_and_too_large_a_file_are_refused(app, admin_client):
    page = admin_client.get("/admin/users/import")
    missing = admin_client.post("/admin/users/import", content_type="multipart/form-data",
                                data={"csrf_token": csrf_token(page)})
    assert missing.status_code == 400 and "Select a CSV file to upload" in missing.text
    limit = app.config["MAX_CONTENT_LENGTH"] // 2
    big = csv_of(*[f"Person {n},p{n}@nhs.net,trainee,,,," for n in range(limit // 20)])
    assert limit < len(big) < app.config["MAX_CONTENT_LENGTH"]
    response = upload(admin_client, big)
    assert response.status_code == 400
    assert f"The file must be {limit // 1024} KB or smaller" in response.text


def test_the_largest_file_accepted_can_be_confirmed(app, admin_client, smtp):
    """Its signed copy must fit in the confirm request, even when it hardly compresses."""
    app.config["MAIL_DELIVER_AFTER_REQUEST"] = False  # the outbox is enough here
    limit = app.config["MAX_CONTENT_LENGTH"] // 2
    rows, size = [], len(HEADER) + 1
    while True:
        row = (f"{secrets.token_hex(50)},p{len(rows)}@nhs.net,trainee,,{secrets.token_hex(50)},"
               f"{1 + len(rows) % 10},{secrets.token_hex(50)}")
        if size + len(row) + 1 > limit:
            break
        rows.append(row)
        size += len(row) + 1
    preview = upload(admin_client, csv_of(*rows))
    assert f"{len(rows)} new people are invited" in preview.text
    fields = form_fields(preview, action="/admin/users/import/confirm")
    assert len(fields["roster"]) < app.config["MAX_CONTENT_LENGTH"] - 4096
    result = admin_client.post("/admin/users/import/confirm", data=fields)
    assert result.status_code == 200, result.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == \
            len(rows)


@pytest.mark.parametrize("tamper", ["edited", "other admin", "no token", "no csrf"])
def test_a_confirmation_not_from_this_admins_preview_imports_nothing(app, admin_client, cohorts,
                                                                     make_user, login, tamper):
    preview = upload(admin_client, GOOD)
    fields = form_fields(preview, action="/admin/users/import/confirm")
    client = admin_client
    if tamper == "edited":
        fields["roster"] = fields["roster"][:-3] + "AAA"
    elif tamper == "other admin":
        client = app.test_client()
        login(client, make_user("other.lead@nhs.net", role="admin"))
        fields["csrf_token"] = csrf_token(client.get("/admin/users"))
    elif tamper == "no token":
        del fields["roster"]
    else:
        del fields["csrf_token"]
    before = snapshot(app)
    response = client.post("/admin/users/import/confirm", data=fields)
    assert response.status_code == 400
    assert "Upload the file again" in response.text or "The form had expired" in response.text
    assert snapshot(app) == before


def test_the_confirmation_checks_the_file_again(app, admin_client, smtp, cohorts, make_user):
    preview = upload(admin_client, GOOD)
    make_user("amara.okafor@nhs.net", role="coach")  # someone else made this account meanwhile
    result = confirm(admin_client, preview)
    assert "1 invited, 0 updated, 0 already up to date, 1 skipped" in result.text
    assert "already has a coach account" in result.text
    assert [m["To"] for m in smtp.messages] == ["priya.sharma@nhs.net"]


@pytest.mark.parametrize("role", ["trainee", "coach"])
@pytest.mark.parametrize("path", ["/admin/users/import", "/admin/users/import/confirm"])
def test_only_admins_import(app, client, make_user, login, role, path):
    login(client, make_user(role=role))
    token = csrf_token(client.get("/", follow_redirects=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 403


# --- The command line ----------------------------------------------------------------------------

@pytest.fixture
def csv_file(tmp_path):
    def write(content: str):
        path = tmp_path / "people.csv"
        path.write_text(content, encoding="utf-8")
        return str(path)
    return write


BAD_FILE = csv_of("Amara Okafor,amara@nhs.net,trainee,STP 2026 Medical Physics,,1,",
                  "Nobody,not-an-email,trainee,,,,")


@pytest.mark.parametrize(("options", "exit_code", "imported"), [
    (["--dry-run"], 1, False),
    ([], 1, False),
    (["--skip-invalid"], 0, True),
])
def test_cli_reports_every_line_and_imports_only_when_told(app, runner, smtp, cohorts, csv_file,
                                                           options, exit_code, imported):
    before = snapshot(app)
    result = runner.invoke(args=["import-users", csv_file(BAD_FILE), *options])
    assert result.exit_code == exit_code, result.output
    assert "line 2: create trainee amara@nhs.net" in result.output
    assert "line 3: error: 'not-an-email' is not a valid email address" in result.output
    if imported:
        assert "Imported: 1 created, 0 updated, 0 unchanged, 1 skipped." in result.output
        assert [m["To"] for m in smtp.messages] == ["amara@nhs.net"]
    else:
        assert "Nothing was imported" in result.output
        assert snapshot(app) == before and smtp.messages == []


def test_cli_imports_a_clean_file_and_a_second_run_changes_nothing(app, runner, smtp, cohorts,
                                                                   csv_file):
    path = csv_file(GOOD)
    dry = runner.invoke(args=["import-users", path, "--dry-run"])
    assert dry.exit_code == 0 and "2 to create" in dry.output
    first = runner.invoke(args=["import-users", path])
    assert first.exit_code == 0 and "Imported: 2 created" in first.output
    assert len(smtp.messages) == 2
    second = runner.invoke(args=["import-users", path])
    assert second.exit_code == 0
    assert "line 2: unchanged amara.okafor@nhs.net" in second.output
    assert "0 created, 0 updated, 2 unchanged" in second.output
    assert len(smtp.messages) == 2


def test_cli_refuses_an_unreadable_file(runner, csv_file):
    result = runner.invoke(args=["import-users", csv_file("email\nx@nhs.net\n")])
    assert result.exit_code == 1
    assert "the header row needs the columns name, role" in result.output

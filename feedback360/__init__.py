"""feedback360: 360-degree leadership feedback for NHS trainees.

``create_app`` builds the Flask application; importing this package has no side effects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    select_autoescape,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory. ``config`` overrides defaults and the environment (tests use it)."""
    from . import config as settings

    # The instance folder holds the SQLite file, the demo's secret key and mailed .eml files.
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("FEEDBACK360_INSTANCE")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(settings.load(app.instance_path, config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    register_templating(app)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_error_pages(app)
    register_cli(app)
    trust_proxies(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Take the client's address, scheme and host from the ``TRUSTED_PROXIES`` nearest proxies.

    Only the right-most n ``X-Forwarded-*`` values are believed (each trusted proxy appends
    one); with 0 the headers are ignored, so a client cannot forge its address for the
    per-address limits or the audit trail."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops)


def register_templating(app: Flask) -> None:
    from .templating import register_template_helpers

    # nhsuk-frontend-jinja's macros rely on ChainableUndefined for optional nested parameters.
    # Flask autoescapes only .html; the NHS.UK macros are .jinja files and must escape too.
    app.jinja_options = {**app.jinja_options, "undefined": ChainableUndefined,
                         "trim_blocks": True, "lstrip_blocks": True,
                         "autoescape": select_autoescape(("html", "htm", "xml", "jinja"))}
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(PROJECT_ROOT / "templates")),
        PackageLoader("nhsuk_frontend_jinja"),
    ])
    register_template_helpers(app)


def register_extensions(app: Flask) -> None:
    from .database import configure_engine, prepare_engine_options
    from .extensions import csrf, db, limiter, login_manager, migrate

    prepare_engine_options(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True,
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    if (app.config["FEEDBACK360_ENV"] == "production" and app.config["RATELIMIT_ENABLED"]
            and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://")):
        # Not refused: one worker on one server is a fair set-up; but say what it costs.
        app.logger.warning("RATELIMIT_STORAGE_URI is memory://: each worker process counts "
                           "sign-in attempts alone, so with several workers or servers the "
                           "limits are that many times looser. Set it to redis://HOST:6379/0.")
    login_manager.init_app(app)
    configure_engine(app)

    from .authz import configure_login_manager

    configure_login_manager(login_manager)


def register_url_converters(app: Flask) -> None:
    from .url_values import register_url_converters as register

    register(app)


def register_blueprints(app: Flask) -> None:
    from .views import (
        about,
        account,
        admin,
        assets,
        auth,
        coach,
        cohort,
        home,
        nominee_review,
        plan,
        reports,
        self_assessment,
        survey,
        trainee,
        two_factor,
    )

    for blueprint in (home.bp, auth.bp, account.bp, admin.bp, trainee.bp, self_assessment.bp,
                      survey.bp, assets.bp, reports.bp, coach.bp, nominee_review.bp, plan.bp,
                      cohort.bp, two_factor.bp, about.bp):
        app.register_blueprint(blueprint)
    from .views.cohort_reports import bp as cohort_reports_bp
    app.register_blueprint(cohort_reports_bp)
    from .views import opportunities, opportunity_admin
    app.register_blueprint(opportunities.bp)
    app.register_blueprint(opportunity_admin.bp)
    from .views.workplace import bp as workplace_bp
    app.register_blueprint(workplace_bp)
    from .views.portfolio import bp as portfolio_bp
    app.register_blueprint(portfolio_bp)
    from .views.observer import bp as observer_bp
    app.register_blueprint(observer_bp)
    from .views.written_feedback import bp as written_feedback_bp
    app.register_blueprint(written_feedback_bp)
    from .views.letters import bp as letters_bp
    app.register_blueprint(letters_bp)
    from .views.evidence import bp as evidence_bp
    app.register_blueprint(evidence_bp)
    from .views import champion, champion_admin, champion_board
    app.register_blueprint(champion.bp)
    app.register_blueprint(champion_board.bp)
    app.register_blueprint(champion_admin.bp)
    from .views.activities import bp as activities_bp
    app.register_blueprint(activities_bp)
    from .views.time_reports import bp as time_reports_bp
    app.register_blueprint(time_reports_bp)
    from .config import DEMO_ORGANISATION

    if (app.config["FEEDBACK360_ENV"] == "production"
            and app.config["ORGANISATION_NAME"] == DEMO_ORGANISATION):
        # Not refused (the service works), but the privacy notice would name no real controller.
        app.logger.warning("ORGANISATION_NAME is the demo's %r: the privacy notice and "
                           "accessibility statement name it. Set ORGANISATION_NAME, "
                           "DATA_PROTECTION_CONTACT and CONTACT_EMAIL.", DEMO_ORGANISATION)


def register_request_hooks(app: Flask) -> None:
    from .log_redaction import install_token_log_filter
    from .mail import register_delivery_after_request
    from .passwords import prepare_dummy_hash
    from .security import register_security_headers
    from .session_lifetime import register_session_lifetime
    from .sign_in_steps import register_sign_in_steps

    register_security_headers(app)
    register_session_lifetime(app)
    register_sign_in_steps(app)
    register_delivery_after_request(app)
    install_token_log_filter(app)
    prepare_dummy_hash(app)


def register_error_pages(app: Flask) -> None:
    from .error_pages import register_error_handlers

    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)

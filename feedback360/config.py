"""Configuration: safe defaults, overridden by environment variables, then by the caller.

``FEEDBACK360_ENV`` picks the profile:

* ``production`` (the default) refuses to start without ``SECRET_KEY`` and sends mail over SMTP;
* ``development`` (what ``make demo`` uses) keeps a generated secret key in the instance folder,
  writes mail to ``.eml`` files and allows cookies over plain HTTP on 127.0.0.1;
* ``testing`` is what the test-suite passes to ``create_app``.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from email_validator import EmailNotValidError, validate_email
from limits import parse_many

from .email_identity import parse_domain_rules

PROFILES = ("production", "development", "testing")
DEMO_ORGANISATION = "Example NHS Foundation Trust"


class ConfigurationError(RuntimeError):
    """The app cannot start safely with the configuration it was given."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else int(value)


def defaults(instance_path: str, profile: str) -> dict[str, Any]:
    production = profile == "production"
    return {
        "FEEDBACK360_ENV": profile,
        "TESTING": profile == "testing",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'feedback360.sqlite'}",
        # No ping before each pooled connection is used: on PostgreSQL it cost 14 ms of app CPU
        # per survey (a quarter of it; bench/README.md, "submit"). A connection the server has
        # dropped fails one request, and SQLAlchemy then renews the whole pool.
        # DATABASE_POOL_PRE_PING=true turns it on where a proxy drops idle connections.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "SQLITE_BUSY_TIMEOUT_MS": 15_000,
        "SECRET_KEY": None,
        "SECRET_KEY_FALLBACKS": [],
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        # None: ``load`` picks ``__Host-feedback360_session`` when the cookie is Secure.
        "SESSION_COOKIE_NAME": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A sign-in ends after this long without a request, and this long after it began
        # whatever happens; checked on the server (session_lifetime.py), not by cookie expiry.
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_MINUTES": 720,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SERVER_BASE_URL": "http://127.0.0.1:5000",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down or dying mid-run must not turn sign-in into a 500: count in memory until
        # it answers again (retried with a back-off), and never fail a request over a count.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
        "RESET_RATE_LIMIT": "5 per minute;20 per hour",
        # Per account (case-folded email), whatever address the attempts come from; counted in
        # RATELIMIT_STORAGE_URI, so shared by every worker and server (account_throttle.py).
        "LOGIN_ACCOUNT_LIMIT": "5 per 15 minutes",
        "RESET_ACCOUNT_LIMIT": "3 per hour",
        # Per client address, on checks of a letter of achievement's code (views/letters.py).
        "VERIFY_RATE_LIMIT": "20 per minute;200 per hour",
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host: with 0 the
        # socket address is the client; with n, the n-th address from the right (ProxyFix).
        "TRUSTED_PROXIES": 0,
        # Roles that must pass a second factor (TOTP) at sign-in: admins always, coaches and
        # trainees when named. Given as text ("admin,coach") or a list; kept as a frozenset.
        "TWO_FACTOR_REQUIRED_ROLES": "admin",
        "MAIL_BACKEND": "smtp" if production else "file",
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_TIMEOUT": 10,
        "MAIL_DEFAULT_SENDER": "feedback360 <no-reply@feedback360.invalid>",
        "MAIL_MAX_ATTEMPTS": 8,
        "MAIL_DELIVER_AFTER_REQUEST": True,
        "ACTIVATION_TOKEN_MAX_AGE": int(timedelta(days=7).total_seconds()),
        "RESET_TOKEN_MAX_AGE": int(timedelta(hours=1).total_seconds()),
        "PASSWORD_MIN_LENGTH": 10,
        "PASSWORD_MAX_LENGTH": 256,
        "PASSWORD_HASH_FAST": profile == "testing",
        "ANONYMITY_MIN_GROUP": 3,
        "ANONYMITY_MIN_TOTAL": 5,
        "COHORT_MIN_TRAINEES": 5,
        # Points on the scale between self and colleagues that make a blind spot (self higher)
        # or a hidden strength (colleagues higher), in cycle and cohort reports alike.
        "BLIND_SPOT_THRESHOLD": 1.0,
        # Domains raters' addresses may have (``nhs.net``, ``*.nhs.uk``); empty allows any.
        # Given as text or a list, kept as ``email_identity.DomainRule``s once checked.
        "RATER_EMAIL_DOMAINS": (),
        # Audit events older than this are deleted by `flask purge-audit`; 0 keeps them forever.
        # Six years: as long as the Limitation Act lets most claims be brought, so a disputed
        # access can still be traced while it can be disputed.
        "AUDIT_RETENTION_DAYS": 2190,
        # How long `flask purge` keeps the rest, in days; 0 keeps it (README, "Configuration",
        # says why these periods). Counted from a cycle's close, a message's sending, an
        # account's deactivation.
        "RATER_DETAILS_RETENTION_DAYS": 365,
        "ANSWER_RETENTION_DAYS": 365,
        "MAIL_RETENTION_DAYS": 30,
        "DEACTIVATED_ACCOUNT_RETENTION_DAYS": 730,
        # Written feedback on an activity (services/written_feedback.py): how long an emailed
        # observer's link works after the latest email, and the spacing and number of reminders.
        "OBSERVER_LINK_MAX_AGE_DAYS": 30,
        "OBSERVER_REMINDER_GAP_DAYS": 7,
        "OBSERVER_REMINDER_MAX": 2,
        "INSTRUMENTS_DIR": str(Path(__file__).resolve().parent.parent / "instruments"),
        # Named in the privacy notice and accessibility statement (views/about.py): who the
        # data controller is, and where people write. The defaults suit the demo only.
        "ORGANISATION_NAME": DEMO_ORGANISATION,
        "DATA_PROTECTION_CONTACT": "data.protection@feedback360.test",
        "CONTACT_EMAIL": "contact@feedback360.test",
    }


def from_environment() -> dict[str, Any]:
    """Settings the operator gave as environment variables (only those actually set)."""
    found: dict[str, Any] = {}
    for name in ("SECRET_KEY", "MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD",
                 "MAIL_DEFAULT_SENDER", "MAIL_BACKEND", "RATELIMIT_STORAGE_URI",
                 "SERVER_BASE_URL", "INSTRUMENTS_DIR", "LOGIN_RATE_LIMIT", "RESET_RATE_LIMIT",
                 "LOGIN_ACCOUNT_LIMIT", "RESET_ACCOUNT_LIMIT", "RATER_EMAIL_DOMAINS",
                 "VERIFY_RATE_LIMIT",
                 "TRUSTED_PROXIES", "BLIND_SPOT_THRESHOLD", "ORGANISATION_NAME",
                 "DATA_PROTECTION_CONTACT", "CONTACT_EMAIL", "TWO_FACTOR_REQUIRED_ROLES"):
        if os.environ.get(name):
            found[name] = os.environ[name]
    if os.environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY_FALLBACKS"):
        found["SECRET_KEY_FALLBACKS"] = [
            key.strip() for key in os.environ["SECRET_KEY_FALLBACKS"].split(",") if key.strip()
        ]
    for name in ("MAIL_PORT", "MAIL_TIMEOUT", "MAX_CONTENT_LENGTH", "ANONYMITY_MIN_GROUP",
                 "ANONYMITY_MIN_TOTAL", "COHORT_MIN_TRAINEES"):
        if os.environ.get(name):
            found[name] = _env_int(name, 0)
    for name in ("SESSION_IDLE_MINUTES", "SESSION_MAX_MINUTES", "AUDIT_RETENTION_DAYS",
                 *DATA_RETENTION_SETTINGS, *OBSERVER_SETTINGS):
        if os.environ.get(name):
            found[name] = os.environ[name]  # checked, with a clear message, by ``load``
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "SESSION_COOKIE_SECURE", "RATELIMIT_ENABLED"):
        if os.environ.get(name) is not None:
            found[name] = _env_bool(name, False)
    if os.environ.get("DATABASE_POOL_PRE_PING") is not None:
        found["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": _env_bool("DATABASE_POOL_PRE_PING", False)}
    return found


def load(instance_path: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults, then environment, then ``overrides``; checked before the app uses them."""
    overrides = dict(overrides or {})
    profile = overrides.get("FEEDBACK360_ENV") or os.environ.get("FEEDBACK360_ENV", "production")
    if profile not in PROFILES:
        raise ConfigurationError(f"FEEDBACK360_ENV must be one of {', '.join(PROFILES)}")
    settings = defaults(instance_path, profile)
    settings.update(from_environment())
    settings.update(overrides)
    settings["FEEDBACK360_ENV"] = profile
    try:
        settings["RATER_EMAIL_DOMAINS"] = parse_domain_rules(settings["RATER_EMAIL_DOMAINS"])
    except ValueError as error:
        raise ConfigurationError(f"RATER_EMAIL_DOMAINS: {error}") from None
    _settle_session_settings(settings)
    _settle_throttle_settings(settings)
    settings["TWO_FACTOR_REQUIRED_ROLES"] = _two_factor_roles(settings["TWO_FACTOR_REQUIRED_ROLES"])
    settings["AUDIT_RETENTION_DAYS"] = _retention_days(settings["AUDIT_RETENTION_DAYS"])
    _settle_data_retention(settings)
    _settle_report_settings(settings)
    _settle_contact_settings(settings)
    _settle_observer_settings(settings)
    if not settings.get("SECRET_KEY"):
        if profile == "production":
            raise ConfigurationError(
                "SECRET_KEY is not set. Production refuses to start without one: set SECRET_KEY "
                "to a long random value (python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        settings["SECRET_KEY"] = _instance_secret_key(Path(instance_path))
    return settings


def _minutes(settings: dict[str, Any], name: str) -> int:
    value = settings[name]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7 * 24 * 60:
        raise ConfigurationError(f"{name} must be a whole number of minutes from 1 to 10080, "
                                 f"not {settings[name]!r}")
    return value


def _settle_session_settings(settings: dict[str, Any]) -> None:
    """Session lifetimes checked, and the cookie's name and scope made to agree with them."""
    idle = settings["SESSION_IDLE_MINUTES"] = _minutes(settings, "SESSION_IDLE_MINUTES")
    longest = settings["SESSION_MAX_MINUTES"] = _minutes(settings, "SESSION_MAX_MINUTES")
    if idle > longest:
        raise ConfigurationError(f"SESSION_IDLE_MINUTES ({idle}) must not be longer than "
                                 f"SESSION_MAX_MINUTES ({longest})")
    # The browser drops the cookie by then anyway; the server's check is what counts.
    settings["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=longest)
    if not settings.get("SESSION_COOKIE_NAME"):
        # A __Host- cookie is only accepted by browsers over HTTPS, for the whole host: no
        # subdomain or sibling path can set or shadow it. Plain HTTP (development) keeps the
        # plain name, or the browser would drop the cookie.
        settings["SESSION_COOKIE_NAME"] = ("__Host-feedback360_session"
                                           if settings["SESSION_COOKIE_SECURE"]
                                           else "feedback360_session")
    if settings["SESSION_COOKIE_NAME"].startswith("__Host-"):
        if not settings["SESSION_COOKIE_SECURE"] or settings.get("SESSION_COOKIE_DOMAIN"):
            raise ConfigurationError("A __Host- session cookie must be Secure and have no "
                                     "Domain: set SESSION_COOKIE_SECURE and no "
                                     "SESSION_COOKIE_DOMAIN")
        settings["SESSION_COOKIE_PATH"] = "/"


def _settle_throttle_settings(settings: dict[str, Any]) -> None:
    """The proxy hop count and the per-account limits checked, so a typo stops the app starting."""
    hops = settings["TRUSTED_PROXIES"]
    if isinstance(hops, str) and hops.strip().isdigit():
        hops = int(hops.strip())
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= 10:
        raise ConfigurationError("TRUSTED_PROXIES must be the number of reverse proxies in front "
                                 f"of the app, a whole number from 0 to 10, not {hops!r}")
    settings["TRUSTED_PROXIES"] = hops
    if str(settings["RATELIMIT_STORAGE_URI"]).startswith(("redis", "valkey")):
        # An unreachable server answers within a second, not after the kernel's TCP timeout.
        settings.setdefault("RATELIMIT_STORAGE_OPTIONS",
                            {"socket_connect_timeout": 1, "socket_timeout": 1})
    for name in ("LOGIN_ACCOUNT_LIMIT", "RESET_ACCOUNT_LIMIT", "LOGIN_RATE_LIMIT",
                 "RESET_RATE_LIMIT", "VERIFY_RATE_LIMIT"):
        try:
            if not parse_many(settings[name]):
                raise ValueError
        except (ValueError, TypeError):
            raise ConfigurationError(
                f"{name} must be limits such as '5 per 15 minutes' (several separated by "
                f"';'), not {settings[name]!r}") from None


def _two_factor_roles(value: Any) -> frozenset[str]:
    """The roles asked for a second factor; admins can export every cohort, so always them."""
    from .models.people import ROLES

    names = value.split(",") if isinstance(value, str) else list(value)
    roles = {str(name).strip().lower() for name in names if str(name).strip()}
    if not roles <= set(ROLES) or "admin" not in roles:
        raise ConfigurationError(
            "TWO_FACTOR_REQUIRED_ROLES must be roles separated by commas, always including admin "
            f"({', '.join(ROLES)}), not {value!r}")
    return frozenset(roles)


def _retention_days(value: Any) -> int:
    """0 (keep forever) or 90 days to 100 years: the database itself never lets the trail's
    last 89 days be deleted (``models.system.RETENTION_FLOOR_DAYS``)."""
    days = int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(days, bool) or not isinstance(days, int) or not (
            days == 0 or 90 <= days <= 36_500):
        raise ConfigurationError("AUDIT_RETENTION_DAYS must be 0 (keep audit events forever) "
                                 f"or a whole number of days from 90 to 36500, not {value!r}")
    return days


DATA_RETENTION_SETTINGS = ("RATER_DETAILS_RETENTION_DAYS", "ANSWER_RETENTION_DAYS",
                           "MAIL_RETENTION_DAYS", "DEACTIVATED_ACCOUNT_RETENTION_DAYS")


def _settle_data_retention(settings: dict[str, Any]) -> None:
    """Each of ``flask purge``'s periods: 0 (keep) or 1 day to 100 years."""
    for name in DATA_RETENTION_SETTINGS:
        value = settings[name]
        days = int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else value
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36_500:
            raise ConfigurationError(f"{name} must be 0 (keep) or a whole number of days from 1 "
                                     f"to 36500, not {value!r}")
        settings[name] = days


# Each observer setting's range: whole numbers only.
OBSERVER_SETTINGS = {"OBSERVER_LINK_MAX_AGE_DAYS": (1, 365), "OBSERVER_REMINDER_GAP_DAYS": (1, 90),
                     "OBSERVER_REMINDER_MAX": (0, 10)}


def _settle_observer_settings(settings: dict[str, Any]) -> None:
    """The observer's link lifetime and reminders: a typo must not mail links that never work
    or remind someone every day."""
    for name, (low, high) in OBSERVER_SETTINGS.items():
        value = settings[name]
        number = int(value.strip()) if isinstance(value, str) and value.strip().isdigit() \
            else value
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise ConfigurationError(f"{name} must be a whole number from {low} to {high}, "
                                     f"not {value!r}")
        settings[name] = number
    if settings["OBSERVER_REMINDER_MAX"] and settings["OBSERVER_REMINDER_GAP_DAYS"] \
            >= settings["OBSERVER_LINK_MAX_AGE_DAYS"]:
        # Each reminder carries a fresh link, but the first email's would die before it came.
        raise ConfigurationError("OBSERVER_REMINDER_GAP_DAYS must be shorter than "
                                 "OBSERVER_LINK_MAX_AGE_DAYS, or links expire before the "
                                 "reminder arrives")


def _settle_report_settings(settings: dict[str, Any]) -> None:
    """The links' base address and the blind-spot threshold checked, so a typo stops the app
    starting instead of mailing broken links or quietly reporting no blind spots."""
    base = settings["SERVER_BASE_URL"]
    parts = urlsplit(base) if isinstance(base, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.query or parts.fragment or not _port_ok(parts):
        raise ConfigurationError("SERVER_BASE_URL must be the address people open the service "
                                 "at, such as https://feedback.example.nhs.uk or "
                                 f"http://127.0.0.1:5101, not {base!r}")
    threshold = settings["BLIND_SPOT_THRESHOLD"]
    try:
        threshold = float(threshold) if not isinstance(threshold, bool) else math.nan
    except (TypeError, ValueError):
        threshold = math.nan
    if not (math.isfinite(threshold) and threshold > 0):
        raise ConfigurationError("BLIND_SPOT_THRESHOLD must be a number of points on the scale "
                                 "greater than 0, such as 1 or 0.75, not "
                                 f"{settings['BLIND_SPOT_THRESHOLD']!r}")
    settings["BLIND_SPOT_THRESHOLD"] = threshold


def _port_ok(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return True


def _settle_contact_settings(settings: dict[str, Any]) -> None:
    """The organisation and the two addresses the public pages print, checked: a typo there
    would send a subject access request nowhere."""
    name = settings["ORGANISATION_NAME"]
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200 or any(
            not character.isprintable() for character in name):
        raise ConfigurationError("ORGANISATION_NAME must be the data controller's name, 1 to 200 "
                                 f"printable characters, not {name!r}")
    settings["ORGANISATION_NAME"] = " ".join(name.split())
    for setting in ("DATA_PROTECTION_CONTACT", "CONTACT_EMAIL"):
        address = settings[setting]
        try:
            # Syntax only: no DNS lookup at start-up; the demo's reserved .test domain passes.
            settings[setting] = validate_email(address.strip(), check_deliverability=False,
                                               test_environment=True).normalized
        except (EmailNotValidError, AttributeError) as error:
            raise ConfigurationError(f"{setting} must be an email address people can write to, "
                                     f"not {address!r}: {error}") from None


def _instance_secret_key(instance_path: Path) -> str:
    """A key generated once and kept in the instance folder, so demo sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key

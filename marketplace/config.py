"""Configuration from the environment. Nothing here runs at import time but class definitions."""
import os
from pathlib import Path

from .clock import CST_ZONE_NAME

BASE_DIR = Path(__file__).resolve().parent.parent

#: Values of SECRET_KEY that must never reach production.
INSECURE_SECRET_KEYS = {"", "dev", "change-me", "dev-insecure-key"}


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production-safe defaults; every value can be overridden by an environment variable."""

    def __init__(self) -> None:
        # Read the environment when the app is created, not when this module is imported.
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
        instance_db = BASE_DIR / "instance" / "marketplace.db"
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{instance_db}")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LANGUAGE", "zh")
        self.BABEL_DEFAULT_TIMEZONE = CST_ZONE_NAME  # the |datetime filter shows times there
        self.LANGUAGES = ["zh", "en"]
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None  # tie the token to the session, not to a clock
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(8 * 1024 * 1024)))
        self.LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
        # Rate limits (Flask-Limiter): memory:// suits one process; give redis://host:6379 with several workers.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.RATELIMIT_STRATEGY = "moving-window"  # no burst of twice the limit at a window's edge
        #: Login and token attempts from one client address, whatever the account (slows spraying).
        self.LOGIN_RATE_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_PER_ADDRESS", "30/minute;300/hour")
        #: Failed attempts on one account from all addresses together (slows a distributed guesser).
        self.LOGIN_RATE_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_PER_ACCOUNT", "10/minute")
        self.REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "20/hour")
        # Maps: Ningxia's borders are a local base layer; tiles only on top when a server is configured here
        # (e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png, or Tianditu in China). Empty: no tile requests.
        self.MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
        self.MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
        # Geocoding: the built-in gazetteer always; an online geocoder (geopy Nominatim) only if asked.
        # The public address of the site (https://host), for links that leave the browser: QR codes on a phone.
        # Empty: the request's host.
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
        self.GEOCODER = os.environ.get("GEOCODER", "gazetteer")  # gazetteer | nominatim
        self.GEOCODER_USER_AGENT = os.environ.get("GEOCODER_USER_AGENT", "ningxia-waste-exchange")
        # Delivery checks: flagged for people to look at, never silently blocking.
        self.RECEIPT_TOLERANCE_PCT = os.environ.get("RECEIPT_TOLERANCE_PCT", "2")
        self.LEGAL_PAYLOAD_KG = int(os.environ.get("LEGAL_PAYLOAD_KG", "35000"))
        self.TRUCK_SPEED_KMH = int(os.environ.get("TRUCK_SPEED_KMH", "80"))
        # Location confidentiality and reservations (README: "Where sites are, and what a proposal holds").
        self.LOCATION_CELL_LAT_DEG = os.environ.get("LOCATION_CELL_LAT_DEG", "0.1")  # >= ~10 km cells
        self.LOCATION_CELL_LON_DEG = os.environ.get("LOCATION_CELL_LON_DEG", "0.125")
        self.SITE_MOVES_PER_DAY = int(os.environ.get("SITE_MOVES_PER_DAY", "3"))
        self.FIND_MATCHES_HOLD_HOURS = int(os.environ.get("FIND_MATCHES_HOLD_HOURS", "4"))
        self.RESERVATION_SHARE_CAP = os.environ.get("RESERVATION_SHARE_CAP", "0.20")
        self.RESERVATION_FLOOR_T = int(os.environ.get("RESERVATION_FLOOR_T", "1000"))
        # Inclusion and consistency proofs per API token (each one reads the tree prefix it covers).
        self.LEDGER_PROOF_RATE_LIMIT = os.environ.get("LEDGER_PROOF_RATE_LIMIT", "20/minute")
        # The ledger's Ed25519 checkpoint key: PEM or a 32-byte seed (hex/base64), else a file made on first use.
        self.LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY", "")
        self.LEDGER_SIGNING_KEY_FILE = os.environ.get("LEDGER_SIGNING_KEY_FILE",
                                                      str(BASE_DIR / "instance" / "ledger_signing_key"))
        #: werkzeug's method for new password hashes (scrypt, n=2^15: slow by design); not read from the environment.
        self.PASSWORD_HASH_METHOD = "scrypt"
        # Production (README "Production"): logs, readiness, metrics.
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT", "")  # json | text; empty: json, text in debug and tests
        self.READY_CHECK_TIMEOUT_MS = int(os.environ.get("READY_CHECK_TIMEOUT_MS", "2000"))
        self.METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # empty: /metrics answers 127.0.0.1 only
        # Background jobs (marketplace/jobs.py): huey's embedded SQLite queue unless told (redis://, postgresql://).
        self.JOBS_URL = os.environ.get("JOBS_URL", f"sqlite:///{BASE_DIR / 'instance' / 'jobs.db'}")
        # Notifications by e-mail (README "Notifications"): off unless SMTP_HOST is set; sent by a background job.
        self.SMTP_HOST = os.environ.get("SMTP_HOST", "")
        self.SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
        self.SMTP_USER = os.environ.get("SMTP_USER", "")
        self.SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
        self.SMTP_FROM = os.environ.get("SMTP_FROM", "")
        self.SMTP_TLS = os.environ.get("SMTP_TLS", "starttls")  # starttls | ssl | none
        self.DEBUG = _bool("FLASK_DEBUG", False)
        self.TESTING = False

    def check(self) -> None:
        """Refuse to run in production with a missing or well-known secret key."""
        if not (self.DEBUG or self.TESTING) and self.SECRET_KEY in INSECURE_SECRET_KEYS:
            raise RuntimeError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
                "value (for example: python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or run with FLASK_DEBUG=1 for local development."
            )


class DevelopmentConfig(Config):
    """Local development: debug on, a throw-away key if none is given."""

    def __init__(self) -> None:
        super().__init__()
        self.DEBUG = True
        self.SECRET_KEY = self.SECRET_KEY or "dev-insecure-key"


class TestingConfig(Config):
    """Tests: a temp or in-memory database given by TEST_DATABASE_URL, CSRF on (tests fetch tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = "testing-secret-key"
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
        self.LOGIN_LOCKOUT_MINUTES = 15
        self.LEDGER_PROOF_RATE_LIMIT = "100000/minute"  # the RFC 9162 test asks for 820 proofs; one test sets it low
        # A fixed Ed25519 seed for tests only: checkpoints never touch instance/ while testing.
        self.LEDGER_SIGNING_KEY = "7e57" * 16
        # One PBKDF2 round instead of scrypt: hashing was a third of the suite's CPU. Tests that time a login
        # set scrypt back (tests/web/test_login_security.py).
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
        # Tasks run when enqueued (after the commit that asked for them); a test that wants the real queue
        # gives its own (tests/web/test_jobs.py).
        self.JOBS_URL = os.environ.get("TEST_JOBS_URL", "immediate://")

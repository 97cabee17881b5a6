"""Fixtures for the web application: an app on a migrated test database, clients, factories, login."""
from __future__ import annotations

import itertools
import os
import re
import tempfile

import pytest
from sqlalchemy import event, select, text

_counter = itertools.count(1)


def _isolated_client_class():
    """A test client whose every request runs in its own application context, as in production.

    The tests hold an app context open (to use the database); Flask would otherwise reuse it for each
    request, sharing `g` (the logged-in user, the chosen language) and the session between requests."""
    import contextvars

    from flask.globals import _cv_app
    from flask.testing import FlaskClient

    class IsolatedClient(FlaskClient):
        def open(self, *args, **kwargs):
            def run():
                _cv_app.set(None)
                return FlaskClient.open(self, *args, **kwargs)

            return contextvars.copy_context().run(run)

    return IsolatedClient


def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """The test database is thrown away after the session: SQLite need not wait for the disk at each commit."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


@pytest.fixture(scope="session")
def _app():
    """One app per test session, its schema built by the Alembic migrations (never create_all)."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.config import TestingConfig
    from marketplace.extensions import db

    tmpdir = None
    if not os.environ.get("TEST_DATABASE_URL"):
        # A file, not :memory:, so that a live server thread (browser tests) sees the same data.
        tmpdir = tempfile.TemporaryDirectory()
        os.environ["TEST_DATABASE_URL"] = f"sqlite:///{tmpdir.name}/test.db"
    app = create_app(TestingConfig)
    app.test_client_class = _isolated_client_class()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_without_fsync)
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if tmpdir is not None:
        del os.environ["TEST_DATABASE_URL"]
        tmpdir.cleanup()


# Reference data the migrations seed; every other row is deleted after each test.
CATALOGUE_TABLES = {"material", "material_grade", "material_parameter", "alembic_version", "tariff_version",
                    "ledger_head", "subsidy_scheme", "reference_factor", "vat_catalogue_row", "production_window"}
#: Tables that refuse UPDATE and DELETE on PostgreSQL (a trigger); emptied between tests by TRUNCATE.
APPEND_ONLY_TABLES = {"audit_entry", "ledger_entry", "ledger_checkpoint"}
#: Tables whose version 1 comes from a migration and stays; later versions are test data.
VERSIONED_TABLES = {"tariff_version", "subsidy_scheme", "reference_factor", "vat_catalogue_row"}


def clean_database(db) -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE organisation SET verified_by_id = NULL"))
        for table in reversed(db.metadata.sorted_tables):
            if table.name == "ledger_head":
                conn.execute(table.update().values(seq=0, hash="0" * 64))  # the chain starts again
            elif table.name in VERSIONED_TABLES:
                conn.execute(table.delete().where(table.c.version > 1))  # keep the migration's version 1
            elif table.name == "production_window":  # the migration's calendar, as it seeded it
                from marketplace.clock import utcnow
                from marketplace.services.calendar import seeded_rows

                conn.execute(table.delete())
                conn.execute(table.insert(), [{**row, "updated_at": utcnow()} for row in seeded_rows()])
            elif table.name in APPEND_ONLY_TABLES and conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {table.name} CASCADE"))  # its trigger refuses DELETE, by design
            elif table.name not in CATALOGUE_TABLES:
                conn.execute(table.delete())


@pytest.fixture
def app(_app):
    from marketplace.extensions import db, limiter

    with _app.app_context():
        yield _app
        clean_database(db)
    limiter.reset()  # the rate limits' counts (all tests come from 127.0.0.1) start again


def demo_rows(db) -> dict[str, list[dict]]:
    """Every row that clean_database would remove (and the ledger head), table by table, parents first."""
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in VERSIONED_TABLES:
                rows[table.name] = [dict(r._mapping) for r in conn.execute(select(table).where(table.c.version > 1))]
            elif table.name == "ledger_head" or table.name not in CATALOGUE_TABLES:
                rows[table.name] = [dict(r._mapping) for r in conn.execute(select(table))]
    return rows


def restore_rows(db, rows: dict[str, list[dict]]) -> None:
    """Put rows taken by demo_rows back into the emptied database, as they were (ids, hashes, signatures).

    Only into the database they came from: its id sequences (PostgreSQL) are already past them."""
    db.session.remove()
    with db.engine.begin() as conn:
        later = []  # a column whose key is added after both tables are filled (organisation.verified_by_id)
        for table in db.metadata.sorted_tables:
            if not rows.get(table.name):
                continue
            if table.name == "ledger_head":
                conn.execute(table.update().values(rows[table.name][0]))
                continue
            alter = [fk.parent.name for fk in table.foreign_keys if fk.use_alter]
            conn.execute(table.insert(), [{**row, **dict.fromkeys(alter)} for row in rows[table.name]])
            later += [(table, row, alter) for row in rows[table.name] if any(row[c] is not None for c in alter)]
        for table, row, alter in later:
            conn.execute(table.update().where(table.c.id == row["id"]).values({c: row[c] for c in alter}))


@pytest.fixture(scope="session")
def _demo_rows(_app):
    """`flask seed-demo` run once per session (a few seconds of CPU), its rows kept in memory."""
    from marketplace.extensions import db

    with _app.app_context():
        result = _app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        rows = demo_rows(db)
        clean_database(db)
    return rows


@pytest.fixture
def demo(app, _demo_rows):
    """The demo market, as `flask seed-demo` leaves it, for this test alone to read or change: the rows of
    the session's one seeding are copied back in, and the `app` fixture empties the database after."""
    from marketplace.extensions import db

    restore_rows(db, _demo_rows)


@pytest.fixture
def db(app):
    from marketplace.extensions import db as _db

    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_org(db):
    """make_org(kind="producer", verified=True, name=None) -> Organisation with a valid credit code."""
    from marketplace.identifiers import make_uscc
    from marketplace.models import Organisation, OrgKind, VerificationStatus

    def make(kind="producer", verified=True, name=None):
        n = next(_counter)
        org = Organisation(name=name or f"测试企业{n}", credit_code=make_uscc(f"91640100MA{n:07d}"),
                           kind=OrgKind(kind),
                           verification=VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING)
        db.session.add(org)
        db.session.commit()
        return org

    return make


PASSWORD = "correct-horse-battery"
#: Staff users (regulators, the operator) made by make_user sign in with this TOTP secret.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def make_user(db, make_org):
    """make_user(kind="producer", role="admin", org=None, verified=True) -> User (password PASSWORD)."""
    from marketplace.models import User, UserRole

    def make(kind="producer", role="admin", org=None, verified=True, email=None):
        org = org or make_org(kind=kind, verified=verified)
        user = User(email=email or f"user{next(_counter)}@example.org", name="测试用户", organisation=org,
                    role=UserRole(role), active=True, failed_logins=0,
                    totp_secret=TOTP_SECRET if org.is_staff else None)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_site(db):
    """make_site(org, **fields) -> Site in Lingwu unless told otherwise."""
    from decimal import Decimal

    from marketplace.models import Site

    def make(org, name="一号厂区", lat="38.094", lon="106.335", county="Lingwu", park="", rail=False):
        site = Site(organisation=org, name=name, lat=Decimal(lat), lon=Decimal(lon), city="Yinchuan",
                    county=county, industrial_park=park, rail_siding=rail, active=True)
        db.session.add(site)
        db.session.commit()
        return site

    return make


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, url="/auth/login") -> str:
    """The session's CSRF token, read from a page that has a form."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def totp_code(user) -> str:
    """The user's current TOTP code, usable once more: the helper forgets the last step the user used
    (on its own connection, so that the test's session and its pending changes are left alone)."""
    import pyotp
    from sqlalchemy import update

    from marketplace.extensions import db
    from marketplace.models import User

    with db.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    return pyotp.TOTP(user.totp_secret).now()


def token_request(user, password=PASSWORD, **extra) -> dict:
    """The JSON body of POST /api/v1/auth/token for `user`, with a TOTP code when the user has a second factor."""
    body = {"email": user.email, "password": password, **extra}
    if user.totp_secret:
        body["totp"] = totp_code(user)
    return body


def login(client, user, password=PASSWORD):
    """Log in through the form; a user with a second factor gets the code step done too."""
    token = csrf_token(client, "/auth/login")
    response = client.post("/auth/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/auth/login/code"):
        response = client.post("/auth/login/code", data={"code": totp_code(user), "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def session_csrf_token(client) -> str:
    """The token a page's form would carry, signed from the raw one Flask-WTF keeps in the session (as
    flask_wtf.csrf.generate_csrf does), without rendering a page for it."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
    return URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps(raw)


def post_form(client, url, data, page=None):
    """POST a form the way a browser does: with the CSRF token of the session (read from `page` if given)."""
    token = csrf_token(client, page) if page else session_csrf_token(client)
    return client.post(url, data={**data, "csrf_token": token})


@pytest.fixture
def mid_year(time_machine):
    """For tests whose subject is not the calendar: the clock at noon in Ningxia on 15 June of this year (it
    keeps ticking), so that "the last weeks" of their tickets lie in this year and this month whatever the day
    the suite runs, 1 January at 01:00 CST included. Ask for it before the fixtures that make data."""
    from datetime import datetime

    from marketplace.clock import CST

    time_machine.move_to(datetime(datetime.now(CST).year, 6, 15, 12, tzinfo=CST))


@pytest.fixture
def logged_in(client, make_user):
    """logged_in(kind="producer", role="admin", ...) -> (client, user), the client logged in as a new user."""
    def make(**kwargs):
        user = make_user(**kwargs)
        login(client, user)
        return client, user

    return make

"""/healthz and /readyz, and what every route answers when the database is down: 503 with Retry-After (JSON on
the API, a plain page elsewhere), never a 500."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from marketplace.ops import health

ROOT = Path(__file__).resolve().parents[2]


def bearer() -> dict:
    """A well-formed token (its lookup needs the database)."""
    from marketplace.services.tokens import PREFIX

    return {"Authorization": f"Bearer {PREFIX}{'x' * 43}"}


@pytest.fixture
def ready_checks():
    """Register readiness checks for one test; the registry is left as it was."""
    saved = dict(health._ready_checks)
    yield health.register_ready_check
    health._ready_checks.clear()
    health._ready_checks.update(saved)


def dead_app(url: str):
    """The application pointed at a database that does not answer."""
    from marketplace import create_app
    from marketplace.config import TestingConfig

    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    return create_app(config)


DEAD_DATABASES = [
    "postgresql+psycopg://app:app@127.0.0.1:9/app?connect_timeout=2",  # nothing listens on the discard port
    "sqlite:////nonexistent-folder/marketplace.db",
]


def test_healthz_answers_without_session_cookie_or_rate_limit(client):
    for _ in range(50):
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json == {"status": "ok"}
    assert "Set-Cookie" not in r.headers
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_readyz_reports_each_check(client, ready_checks):
    ready_checks("queue", lambda: {"depth": 3})
    r = client.get("/readyz")
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert r.json["status"] == "ok"
    assert r.json["checks"]["database"]["ok"] is True
    assert r.json["checks"]["queue"] == {"ok": True, "depth": 3, "ms": r.json["checks"]["queue"]["ms"]}


@pytest.mark.parametrize("check,error", [(lambda: False, None), (lambda: 1 / 0, "ZeroDivisionError")],
                         ids=["false", "raises"])
def test_readyz_is_503_when_a_registered_check_fails(client, ready_checks, check, error):
    ready_checks("queue", check)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
    assert r.json["status"] == "unavailable"
    assert r.json["checks"]["queue"]["ok"] is False and r.json["checks"]["database"]["ok"] is True
    assert r.json["checks"]["queue"].get("error") == error


@pytest.mark.parametrize("url", DEAD_DATABASES, ids=["postgresql", "sqlite"])
def test_database_down_answers_503_not_500(url):
    app = dead_app(url)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the process is up: it touches no database
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json["checks"]["database"]["ok"] is False
    assert r.json["checks"]["database"]["error"] == "OperationalError"
    assert "app:app" not in r.get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/materials")  # reads the catalogue
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert page.mimetype == "text/html" and "briefly unavailable" in page.get_data(as_text=True)
    api = client.get("/api/v1/sites", headers=bearer())
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json == {"error": {"code": "unavailable", "field": None,
                                  "message": api.json["error"]["message"]}}
    form = client.post("/auth/login", data={"email": "a@example.org", "password": "x"})
    assert form.status_code in (400, 503)  # CSRF refuses first, or the database is missing: never 500
    from flask_login.utils import _create_identifier

    with app.test_request_context(headers={"User-Agent": "probe"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        identifier = _create_identifier()  # the client's address and agent, as Flask-Login's strong protection wants
    with client.session_transaction() as session:  # a signed-in visitor: loading the user needs the database
        session.update({"_user_id": "1", "_sv": 1, "_id": identifier, "_fresh": True})
    page = client.get("/", headers={"User-Agent": "probe"})
    assert page.status_code == 503 and "briefly unavailable" in page.get_data(as_text=True)


@pytest.mark.parametrize("error", ["programming", "sqlite"])
def test_other_database_errors_still_are_500s(app, client, monkeypatch, error):
    """Only a lost database is a 503: a query the database refuses is a bug, reported as one."""
    import sqlite3

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from marketplace.services import catalogue

    def broken():
        if error == "sqlite":
            raise OperationalError("SELECT x FROM nowhere", {}, sqlite3.OperationalError("no such table: nowhere"))
        raise ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr("marketplace.main.routes.materials", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        assert client.get("/materials").status_code == 500
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert catalogue.materials  # the real service is untouched


@pytest.mark.postgres_only
def test_a_postgresql_that_stops_under_a_running_app_answers_503(db):
    """A real server (its own, from scripts/pg.sh) stopped while the app holds pooled connections to it."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL")
    from marketplace.services import catalogue

    script = ROOT / "scripts" / "pg.sh"
    folder = Path(tempfile.mkdtemp(prefix="pg-ops-")) / "pg"  # not under pytest's 700 folders: postgres runs it
    url = subprocess.run([str(script), "start", str(folder)], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        from flask_migrate import upgrade

        app = dead_app(url)
        with app.app_context():
            upgrade()
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        assert client.get("/materials").status_code == 200
        subprocess.run([str(script), "stop", str(folder)], check=True)
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json["checks"]["database"]["ok"] is False
        # the catalogue is the process's snapshot (services/catalogue.py): its page needs no database ...
        assert client.get("/materials").status_code == 200
        with app.app_context():
            catalogue.forget()  # ... until a new process (or this one, told to forget) has to read it
        assert client.get("/materials").status_code == 503
        assert client.get("/api/v1/sites", headers=bearer()).status_code == 503
    finally:
        subprocess.run([str(script), "stop", str(folder)], check=False)
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_probes_are_not_redirected_to_https_when_pages_are():
    from marketplace import create_app
    from marketplace.config import TestingConfig

    config = TestingConfig()
    config.SESSION_COOKIE_SECURE = True
    client = create_app(config).test_client()
    assert client.get("/materials").status_code == 302  # pages go to https
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200

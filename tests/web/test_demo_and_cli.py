"""seed-demo, create-staff and the production safety of the configuration."""
import pytest
from sqlalchemy import func, select

from marketplace.models import GenerationRecord, Organisation, OrgKind, Site, User, VerificationStatus
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.conftest import csrf_token, login


def counts(db):
    from marketplace.models import (
        Agreement,
        Baseline,
        DemandListing,
        LedgerEntry,
        Shipment,
        SubsidyClaim,
        SupplyListing,
    )

    return tuple(db.session.scalar(select(func.count(model.id)))
                 for model in (Organisation, User, Site, GenerationRecord, SupplyListing, DemandListing, Agreement,
                               Shipment, LedgerEntry, Baseline, SubsidyClaim))


def test_seed_demo_builds_the_market_and_a_second_run_changes_nothing(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "demo-pass-2026" in result.output and "producer@example.com" in result.output
    first = counts(db)
    by_kind = dict(db.session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all())
    assert by_kind[OrgKind.PRODUCER] >= 25 and by_kind[OrgKind.CONSUMER] >= 40
    months = db.session.scalar(select(func.count(func.distinct(GenerationRecord.month))))
    assert months == 24
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts(db) == first


def test_the_demo_fixture_gives_what_seed_demo_makes(demo, runner, db, make_org, make_user, client):
    """The `demo` fixture copies one seeding's rows back: seeding again finds nothing missing, the ledger's
    chain and checkpoints still verify, and new rows still get fresh ids."""
    from marketplace.services.ledger import verify_ledger

    restored = counts(db)
    assert restored[0] >= 67 and restored[8] > 100
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts(db) == restored
    assert verify_ledger().ok
    assert login(client, make_user(org=make_org())).status_code == 302


def test_demo_sites_lie_in_ningxia(demo, db):
    from marketplace.gazetteer import in_region

    sites = list(db.session.scalars(select(Site)))
    assert sites and all(in_region(s.lat, s.lon) for s in sites)
    assert all(s.county for s in sites)


@pytest.mark.parametrize("email,kind", [("producer@example.com", OrgKind.PRODUCER),
                                        ("consumer@example.com", OrgKind.CONSUMER),
                                        ("regulator@example.com", OrgKind.REGULATOR),
                                        ("admin@example.com", OrgKind.OPERATOR)])
def test_demo_logins_work_through_the_login_form(demo, client, db, email, kind):
    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    if kind in (OrgKind.REGULATOR, OrgKind.OPERATOR):  # the README's fixed secret gives the second step's code
        import pyotp

        from marketplace.services.demo import DEMO_TOTP_SECRETS

        assert response.headers["Location"].endswith("/auth/login/code")
        code = pyotp.TOTP(DEMO_TOTP_SECRETS[email]).now()
        response = client.post("/auth/login/code", data={"code": code, "csrf_token": token})
        assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == email))
    assert user.organisation.kind == kind and user.organisation.verification == VerificationStatus.VERIFIED
    assert client.get("/org/").status_code == 200


def test_create_staff_makes_a_verified_regulator(runner, db):
    result = runner.invoke(args=["create-staff", "--kind", "regulator", "--org-name", "石嘴山市工信局",
                                 "--credit-code", "91350100M000100Y43", "--email", "staff@example.org",
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == "91350100M000100Y43"))
    assert org.kind == OrgKind.REGULATOR and org.is_verified


def test_create_staff_refuses_a_bad_credit_code(runner, db):
    result = runner.invoke(args=["create-staff", "--kind", "operator", "--org-name", "x", "--credit-code", "123",
                                 "--email", "s@example.org", "--password", "a-long-password"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    from marketplace import create_app
    from marketplace.config import Config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config)
    monkeypatch.setenv("SECRET_KEY", "dev")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config)
    monkeypatch.setenv("SECRET_KEY", "a" * 64)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    assert create_app(Config).config["SECRET_KEY"] == "a" * 64


def test_demo_history_is_alive_and_leaves_the_newcomers_path_open(demo, db):
    from marketplace.models import Agreement, Baseline, DemandListing, SubsidyClaim, SupplyListing
    from marketplace.services.ledger import verify_ledger

    check = verify_ledger()
    assert check.ok and check.entries > 100
    assert {c.status for c in db.session.scalars(select(SubsidyClaim))} == {"draft", "submitted", "approved",
                                                                          "rejected", "paid"}
    producer = db.session.scalar(select(User).where(User.email == "producer@example.com"))
    consumer = db.session.scalar(select(User).where(User.email == "consumer@example.com"))
    assert db.session.scalar(select(func.count(Agreement.id)).where(
        Agreement.producer_org_id == producer.organisation_id,
        Agreement.consumer_org_id == consumer.organisation_id)) == 0
    assert db.session.scalar(select(func.count(Baseline.id)).where(
        Baseline.organisation_id == consumer.organisation_id)) == 0
    assert db.session.scalar(select(func.count(SubsidyClaim.id)).where(
        SubsidyClaim.organisation_id == consumer.organisation_id)) == 0
    # and both have open listings to start from
    assert db.session.scalar(select(func.count(SupplyListing.id)).where(
        SupplyListing.organisation_id == producer.organisation_id)) >= 2
    assert db.session.scalar(select(func.count(DemandListing.id)).where(
        DemandListing.organisation_id == consumer.organisation_id)) >= 2

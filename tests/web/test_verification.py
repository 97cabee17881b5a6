"""The operator's and regulators' verification desk."""
from sqlalchemy import select

from marketplace.models import Organisation, VerificationStatus
from tests.web.conftest import post_form


def test_operator_verifies_a_pending_organisation(logged_in, make_org, db):
    client, operator = logged_in(kind="operator")
    pending = make_org(kind="consumer", verified=False, name="待审核砖厂")
    assert "待审核砖厂" in client.get("/admin/organisations?status=pending").get_data(as_text=True)
    r = post_form(client, f"/admin/organisations/{pending.id}", {"decision": "verified", "note": ""})
    assert r.status_code == 302
    db.session.refresh(pending)
    assert pending.verification == VerificationStatus.VERIFIED and pending.verified_by_id == operator.id


def test_rejection_needs_a_reason(logged_in, make_org, db):
    client, _ = logged_in(kind="regulator")
    pending = make_org(kind="producer", verified=False)
    client.get("/lang/en")
    r = post_form(client, f"/admin/organisations/{pending.id}", {"decision": "rejected", "note": ""})
    assert "Give a reason" in r.get_data(as_text=True)
    db.session.refresh(pending)
    assert pending.verification == VerificationStatus.PENDING
    post_form(client, f"/admin/organisations/{pending.id}", {"decision": "rejected", "note": "执照不符"})
    db.session.refresh(pending)
    assert pending.verification == VerificationStatus.REJECTED and pending.verification_note == "执照不符"


def test_staff_organisations_are_not_verified_through_the_desk(logged_in, make_org, db):
    client, _ = logged_in(kind="operator")
    regulator = make_org(kind="regulator")
    r = post_form(client, f"/admin/organisations/{regulator.id}", {"decision": "rejected", "note": "x"})
    assert r.status_code == 403
    db.session.refresh(regulator)
    assert regulator.verification == VerificationStatus.VERIFIED


def test_a_producer_cannot_verify_itself(logged_in, db):
    client, user = logged_in(kind="producer", verified=False)
    r = post_form(client, f"/admin/organisations/{user.organisation_id}", {"decision": "verified"})
    assert r.status_code == 403
    org = db.session.get(Organisation, user.organisation_id)
    assert org.verification == VerificationStatus.PENDING


def test_unknown_decision_is_refused(logged_in, make_org, db):
    client, _ = logged_in(kind="operator")
    pending = make_org(verified=False)
    r = post_form(client, f"/admin/organisations/{pending.id}", {"decision": "bribe"})
    assert r.status_code == 200
    db.session.refresh(pending)
    assert pending.verification == VerificationStatus.PENDING
    assert db.session.scalar(select(Organisation.verification).where(Organisation.id == pending.id)) \
        == VerificationStatus.PENDING

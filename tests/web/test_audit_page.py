"""The audit log's page (regulators and the operator: filter, page, export) and the privileged actions that
write to it; the operator's release of a squatted credit code, end to end through the HTTP client."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.models import AuditEntry, Organisation, VerificationStatus
from tests.web.conftest import PASSWORD, csrf_token, login, post_form

CODE = "91350100M000100Y43"  # a real-looking unified social credit code


def entries(db, action=None):
    db.session.expire_all()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.session.scalars(stmt).all()


# --- who may read it ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status", [("producer", 403), ("consumer", 403), ("both", 403),
                                          ("regulator", 200), ("operator", 200)])
def test_only_regulators_and_the_operator_read_the_audit_log(logged_in, kind, status):
    client, _ = logged_in(kind=kind)
    assert client.get("/admin/audit").status_code == status
    assert client.get("/admin/audit?format=csv").status_code == status
    assert client.get("/admin/audit?format=xlsx").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/admin/audit").status_code == 302


# --- what is written --------------------------------------------------------------------------------------

def test_privileged_actions_are_recorded_with_actor_and_address(app, client, db, make_user, make_org):
    operator = make_user(kind="operator")
    pending = make_org(verified=False)
    login(client, operator)
    post_form(client, f"/admin/organisations/{pending.id}", {"decision": "rejected", "note": "营业执照不符"})
    (entry,) = entries(db, "organisation.verify")
    assert entry.actor_id == operator.id and entry.target_id == pending.id
    assert entry.details["to"] == "rejected" and entry.details["note"] == "营业执照不符"
    assert entry.address == "127.0.0.1"

    # An organisation's administrator adds, promotes and removes a colleague; tokens come and go.
    admin = make_user()
    login(app.test_client(), admin)
    c = app.test_client()
    login(c, admin)
    post_form(c, "/org/users", {"name": "李四", "email": "li@example.org", "password": "colleague-kiln-2026",
                                "role": "member"})
    colleague = db.session.scalar(select(type(admin)).where(type(admin).email == "li@example.org"))
    post_form(c, f"/org/users/{colleague.id}", {f"u{colleague.id}-role": "admin", f"u{colleague.id}-active": "y"})
    post_form(c, f"/org/users/{colleague.id}", {f"u{colleague.id}-role": "admin"})
    post_form(c, "/auth/tokens", {"name": "地磅", "days": "30"}, page="/auth/tokens")
    token = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "token.create"))
    post_form(c, f"/auth/tokens/{token.target_id}/revoke", {}, page="/auth/tokens")
    post_form(c, "/auth/account", {"current_password": PASSWORD, "password": "new-kiln-ash-2027",
                                   "confirm": "new-kiln-ash-2027"})
    actions = [e.action for e in entries(db) if e.actor_id == admin.id]
    assert actions == ["user.add", "user.role", "user.remove", "token.create", "token.revoke", "user.password"]
    assert all(e.actor_org_id == admin.organisation_id for e in entries(db) if e.actor_id == admin.id)


def test_a_new_tariff_version_is_recorded(db, make_user):
    from marketplace.services import tariff

    operator = make_user(kind="operator")
    current = tariff.tariff_in_force()
    data = {name: getattr(current, name) for name in tariff.TARIFF_FIELDS}
    data["proposal_lifetime_hours"] = current.proposal_lifetime_hours
    tariff = tariff.set_tariff(operator, {k: ("" if v is None else str(v)) for k, v in data.items()})
    db.session.commit()
    (entry,) = entries(db, "tariff.version")
    assert entry.target_id == tariff.id and entry.details["version"] == tariff.version


# --- filters and export -----------------------------------------------------------------------------------

def seed_log(db, make_user):
    """Three entries by two organisations, on two CST days."""
    operator, producer = make_user(kind="operator"), make_user(kind="producer")
    at = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 CST on 30 November
    db.session.add_all([
        AuditEntry(at=at, actor_id=operator.id, actor_org_id=operator.organisation_id, action="organisation.verify",
                   target_type="organisation", target_id=producer.organisation_id, details={"to": "verified"},
                   address="10.1.1.1"),
        AuditEntry(at=at + timedelta(hours=1), actor_id=producer.id, actor_org_id=producer.organisation_id,
                   action="token.create", target_type="api_token", target_id=1, details={"name": "=cmd|' /C calc'!A0"},
                   address="10.2.2.2"),
        AuditEntry(at=at + timedelta(hours=2), actor_id=operator.id, actor_org_id=operator.organisation_id,
                   action="tariff.version", target_type="tariff_version", target_id=2, details={}, address="10.1.1.1"),
    ])
    db.session.commit()
    return operator, producer


VERIFY, TOKEN, TARIFF = "Organisation verified, rejected or returned", "API token created", "New tariff version"


def test_the_page_filters_by_action_organisation_and_cst_dates_newest_first(client, db, make_user):
    _operator, producer = seed_log(db, make_user)
    regulator = make_user(kind="regulator")
    login(client, regulator)
    client.get("/lang/en")  # actions are shown by their names
    html = client.get("/admin/audit").get_data(as_text=True).split('id="audit"')[1]
    assert "UTC+8" in html
    assert html.index(TARIFF) < html.index(TOKEN) < html.index(VERIFY)
    assert "2026-11-30 23:30:00" in html  # stored in UTC, shown in China Standard Time

    html = client.get("/admin/audit?action=token.create").get_data(as_text=True)
    assert TOKEN in html.split('id="audit"')[1] and TARIFF not in html.split('id="audit"')[1]

    # The producer's organisation: what it did and what was done to it.
    table = client.get(f"/admin/audit?org={producer.organisation_id}").get_data(as_text=True).split('id="audit"')[1]
    assert TOKEN in table and VERIFY in table and TARIFF not in table

    # 30 November CST holds the verification only; 1 December the other two.
    table = client.get("/admin/audit?since=2026-11-30&until=2026-11-30").get_data(as_text=True).split('id="audit"')[1]
    assert VERIFY in table and TOKEN not in table
    table = client.get("/admin/audit?since=2026-12-01").get_data(as_text=True).split('id="audit"')[1]
    assert VERIFY not in table and TOKEN in table and TARIFF in table


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=9999-12-31", "since=yesterday", "action=made.up",
                                   "org=999999999999999999999", "page=999999999999999999"])
def test_nonsense_filters_are_a_clear_400_never_a_500(logged_in, query):
    client, _ = logged_in(kind="regulator")
    assert client.get(f"/admin/audit?{query}").status_code in (200, 400)
    assert client.get(f"/admin/audit?{query}&format=csv").status_code in (200, 400)


def test_the_export_holds_what_the_filter_shows(client, db, make_user):
    from openpyxl import load_workbook

    operator, producer = seed_log(db, make_user)
    login(client, operator)
    response = client.get("/admin/audit?action=token.create&format=csv&codes=1")  # for machines
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 2 and any("UTC+8" in cell for cell in rows[0])
    assert "token.create" in rows[1] and producer.email in rows[1]
    assert not any(cell.startswith("=") for cell in rows[1])  # no formula reaches a spreadsheet

    response = client.get(f"/admin/audit?org={operator.organisation_id}&format=xlsx&codes=1")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    actions = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert actions == ["tariff.version", "organisation.verify"]


def test_the_page_is_paged(client, db, make_user):
    operator = make_user(kind="operator")
    db.session.add_all([AuditEntry(actor_id=operator.id, actor_org_id=operator.organisation_id, action="token.create",
                                   target_type="", details={"n": n}, address="") for n in range(60)])
    db.session.commit()
    login(client, operator)
    first = client.get("/admin/audit").get_data(as_text=True)
    assert len(re.findall(r"<td>n: \d+</td>", first)) == 50 and "page=2" in first
    assert len(re.findall(r"<td>n: \d+</td>", client.get("/admin/audit?page=2").get_data(as_text=True))) == 10


# --- credit-code disputes -----------------------------------------------------------------------------------

def register(client, org_name, email):
    data = {"org_name": org_name, "credit_code": CODE, "kind": "consumer", "name": "王五", "email": email,
            "password": "brick-maker-kiln-2026", "confirm": "brick-maker-kiln-2026"}
    return client.post("/auth/register", data={**data, "csrf_token": csrf_token(client, "/auth/register")})


def test_a_squatted_credit_code_is_released_and_the_real_firm_registers(app, db, make_user):
    # A squatter registers the firm's public credit code first; the operator rejects it.
    squatter = app.test_client()
    assert register(squatter, "冒名公司", "squat@example.org").status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == CODE))
    operator = make_user(kind="operator")
    staff = app.test_client()
    login(staff, operator)
    post_form(staff, f"/admin/organisations/{org.id}", {"decision": "rejected", "note": "不是该企业"})

    # The real firm is still refused: the code is taken.
    firm = app.test_client()
    firm.get("/lang/en")
    refused = register(firm, "宁夏永宁新型墙材有限公司", "wang@example.org")
    assert refused.status_code == 200 and "already registered" in refused.get_data(as_text=True)

    # A regulator may not release it; the operator must give a reason.
    regulator_client = app.test_client()
    login(regulator_client, make_user(kind="regulator"))
    url = f"/admin/organisations/{org.id}/release-credit-code"
    assert post_form(regulator_client, url, {"reason": "x"}).status_code == 403
    assert post_form(staff, url, {"reason": ""}).status_code == 400
    assert post_form(staff, url, {"reason": "  "}).status_code == 400
    response = post_form(staff, url, {"reason": "营业执照与申请人不符，代码归还原企业"})
    assert response.status_code == 302

    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.credit_code is None and org.released_credit_code == CODE
    (entry,) = entries(db, "organisation.release_credit_code")
    assert entry.actor_id == operator.id and entry.target_id == org.id
    assert entry.details == {"credit_code": CODE, "reason": "营业执照与申请人不符，代码归还原企业"}
    assert CODE in staff.get(f"/admin/organisations/{org.id}").get_data(as_text=True)

    # The real firm registers now, and is the one that holds the code.
    assert register(firm, "宁夏永宁新型墙材有限公司", "wang@example.org").status_code == 302
    holder = db.session.scalar(select(Organisation).where(Organisation.credit_code == CODE))
    assert holder.name == "宁夏永宁新型墙材有限公司" and holder.verification == VerificationStatus.PENDING
    # Nothing to release twice, and the old holder can no longer be verified under no code at all.
    assert post_form(staff, url, {"reason": "again"}).status_code == 400
    assert post_form(staff, f"/admin/organisations/{org.id}", {"decision": "verified", "note": ""}).status_code != 302
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).verification == VerificationStatus.REJECTED


def test_a_pending_squatter_can_be_released_too_and_is_rejected_with_the_reason(app, db, make_user, make_org):
    org = make_org(verified=False)
    code = org.credit_code
    client = app.test_client()
    login(client, make_user(kind="operator"))
    assert post_form(client, f"/admin/organisations/{org.id}/release-credit-code",
                     {"reason": "冒用代码"}).status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.credit_code is None and org.released_credit_code == code
    assert org.verification == VerificationStatus.REJECTED and org.verification_note == "冒用代码"


def test_a_verified_organisations_code_cannot_be_released(app, db, make_user, make_org):
    org = make_org(verified=True)
    client = app.test_client()
    login(client, make_user(kind="operator"))
    assert post_form(client, f"/admin/organisations/{org.id}/release-credit-code",
                     {"reason": "试试"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).credit_code is not None
    assert entries(db, "organisation.release_credit_code") == []

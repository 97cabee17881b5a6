"""Subsidies for new utilisation: bands, the cap, tiers, exclusions, baselines, claims counted once, the
review workflow and its authorisation, loan-interest subsidies, exports."""
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.errors import Conflict, PermissionDenied, ValidationError
from marketplace.models import Baseline, ClaimEntry, ClaimEvent, SubsidyClaim
from marketplace.services import deliveries, subsidies
from marketplace.services.generation import CST
from tests.web.conftest import PASSWORD, login, token_request
from tests.web.deals import make_agreement

NINGXIA_2020 = [{"from_t": "0", "rate": "10"}, {"from_t": "50000", "rate": "20"},
                {"from_t": "100000", "rate": "25"}, {"from_t": "200000", "rate": "30"}]
NO_CAP = Decimal("1000000000")
YEAR = datetime.now(CST).year


@pytest.mark.parametrize("increment,rate,amount", [
    ("49999", "10", "499990.00"), ("50000", "20", "1000000.00"), ("99999", "20", "1999980.00"),
    ("100000", "25", "2500000.00"), ("199999", "25", "4999975.00"), ("200000", "30", "6000000.00"),
    ("0.001", "10", "0.01"),
])
def test_band_edges_whole_increment(increment, rate, amount):
    result = subsidies.compute_amount(Decimal(increment), NINGXIA_2020, "whole", NO_CAP)
    assert (str(result.rate_yuan_per_t), str(result.amount_yuan), result.capped) == (f"{rate}.00", amount, False)


@pytest.mark.parametrize("increment,amount", [
    ("49999", "499990.00"), ("50000", "500000.00"), ("99999", "1499980.00"), ("100000", "1500000.00"),
    ("199999", "3999975.00"), ("200000", "4000000.00"), ("250000", "5500000.00"),
])
def test_tier_by_tier_against_whole_increment(increment, amount):
    tiered = subsidies.compute_amount(Decimal(increment), NINGXIA_2020, "tiered", NO_CAP)
    whole = subsidies.compute_amount(Decimal(increment), NINGXIA_2020, "whole", NO_CAP)
    assert str(tiered.amount_yuan) == amount
    assert tiered.amount_yuan <= whole.amount_yuan


def test_the_cap():
    at = subsidies.compute_amount(Decimal("200000"), NINGXIA_2020, "whole", Decimal("6000000"))
    over = subsidies.compute_amount(Decimal("200001"), NINGXIA_2020, "whole", Decimal("6000000"))
    assert (str(at.amount_yuan), at.capped) == ("6000000.00", False)
    assert (str(over.amount_yuan), over.capped) == ("6000000.00", True)


def test_nothing_for_no_increment():
    for increment in ("0", "-5"):
        result = subsidies.compute_amount(Decimal(increment), NINGXIA_2020, "whole", NO_CAP)
        assert result.amount_yuan == 0


# --- claims from the ledger ------------------------------------------------------------------------------

def deliver(db, deal, kgs, start=1):
    agreement, producer, consumer = deal
    for i, kg in enumerate(kgs, start=start):
        when = (datetime.now(CST) - timedelta(minutes=10 * i)).isoformat()
        s = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"S{agreement.id}-{i}", "truck_plate": "宁A12345", "dispatched_at": when,
            "gross_kg": 15_000 + kg, "tare_kg": 15_000})
        deliveries.confirm_shipment(consumer, s.id, kg)
    db.session.commit()


def baseline(db, user, tonnes, status="approved"):
    b = Baseline(organisation_id=user.organisation_id, year=subsidies.scheme_in_force(YEAR).base_year,
                 tonnes=Decimal(tonnes), evidence="2018 statistics", status=status)
    db.session.add(b)
    db.session.commit()
    return b


@pytest.fixture(autouse=True)
def _in_mid_year(mid_year):
    """The year's arithmetic, not its first hours, is what these tests check (see `mid_year`)."""


@pytest.fixture
def utiliser(make_user, make_site, db):
    """A cement works that received 3 x 30 t of fly ash this year through the platform."""
    deal = make_agreement(make_user, make_site, tonnes=500)
    deliver(db, deal, [30_000, 30_000, 30_000])
    return deal


def test_a_claim_computed_from_the_ledger(utiliser, db):
    _, _, consumer = utiliser
    baseline(db, consumer, "40")
    claim = subsidies.prepare_claim(consumer, YEAR)
    db.session.commit()
    data = subsidies.claim_out(claim).dump()
    assert data == {**data, "year": YEAR, "status": "draft", "eligible_tonnes": "90.000", "baseline_tonnes": "40.000",
                    "increment_tonnes": "50.000", "rate_yuan_per_t": "10.00", "amount_yuan": "500.00",
                    "scheme_version": 1}
    assert db.session.scalar(select(func.count(ClaimEntry.id))) == 3
    assert [e.action for e in claim.events] == ["prepared"]


def test_no_verified_baseline_no_claim(utiliser, db):
    _, _, consumer = utiliser
    with pytest.raises(ValidationError):
        subsidies.prepare_claim(consumer, YEAR)
    baseline(db, consumer, "10", status="rejected")
    with pytest.raises(ValidationError):
        subsidies.prepare_claim(consumer, YEAR)
    baseline(db, consumer, "10", status="pending")
    with pytest.raises(ValidationError):
        subsidies.prepare_claim(consumer, YEAR)
    db.session.rollback()
    assert db.session.scalar(select(func.count(SubsidyClaim.id))) == 0


@pytest.mark.parametrize("baseline_t", ["90", "120"])
def test_zero_or_negative_increment_means_nothing_to_claim(utiliser, db, baseline_t):
    _, _, consumer = utiliser
    baseline(db, consumer, baseline_t)
    with pytest.raises(ValidationError) as error:
        subsidies.prepare_claim(consumer, YEAR)
    assert error.value.field == "year"


def test_a_ledger_entry_is_never_counted_twice(utiliser, db):
    from sqlalchemy.exc import IntegrityError

    _, _, consumer = utiliser
    baseline(db, consumer, "10")
    claim = subsidies.prepare_claim(consumer, YEAR)
    subsidies.submit_claim(consumer, claim.id)
    db.session.commit()
    with pytest.raises(Conflict):  # the year's claim is under review
        subsidies.prepare_claim(consumer, YEAR)
    db.session.rollback()
    entry_id = db.session.scalar(select(ClaimEntry.ledger_entry_id))
    other = SubsidyClaim(organisation_id=consumer.organisation_id, year=YEAR, status="draft",
                         scheme_id=claim.scheme_id, baseline_id=claim.baseline_id, eligible_kg=0, excluded_kg=0,
                         baseline_tonnes=0, increment_tonnes=0, rate_yuan_per_t=0, amount_yuan=0)
    db.session.add(other)
    db.session.flush()
    db.session.add(ClaimEntry(claim_id=other.id, ledger_entry_id=entry_id))
    with pytest.raises(IntegrityError):  # the database itself refuses
        db.session.flush()
    db.session.rollback()


def test_new_deliveries_make_a_top_up_claim_over_the_whole_year(utiliser, db):
    _agreement, _producer, consumer = utiliser
    baseline(db, consumer, "10")
    first = subsidies.prepare_claim(consumer, YEAR)
    subsidies.submit_claim(consumer, first.id)
    db.session.commit()
    subsidies.review_claim(regulator_of(db), first.id, "approve")
    db.session.commit()
    deliver(db, utiliser, [25_000], start=10)
    second = subsidies.prepare_claim(consumer, YEAR)
    db.session.commit()
    assert second.eligible_kg == 25_000  # it counts only the new entry ...
    # ... but the year is computed once: 115 t - 10 t of baseline, less the 800.00 already approved
    assert (str(second.increment_tonnes), str(second.year_total_yuan), str(second.previously_approved_yuan),
            str(second.amount_yuan)) == ("105.000", "1050.00", "800.00", "250.00")


def regulator_of(db, make=None):
    from marketplace.identifiers import make_uscc
    from marketplace.models import Organisation, OrgKind, User, VerificationStatus

    org = Organisation(name="监管部门", credit_code=make_uscc("11640000MB9999999"), kind=OrgKind.REGULATOR,
                       verification=VerificationStatus.VERIFIED)
    user = User(email="reg-helper@example.org", name="reg", organisation=org, active=True, failed_logins=0)
    user.set_password(PASSWORD)
    db.session.add_all([org, user])
    db.session.commit()
    return user


def test_rejection_releases_the_tonnes_for_a_corrected_claim(utiliser, db):
    _, _, consumer = utiliser
    baseline(db, consumer, "10")
    claim = subsidies.prepare_claim(consumer, YEAR)
    subsidies.submit_claim(consumer, claim.id)
    regulator = regulator_of(db)
    with pytest.raises(ValidationError):
        subsidies.review_claim(regulator, claim.id, "reject", "")  # a rejection needs a reason
    subsidies.review_claim(regulator, claim.id, "reject", "磅单差异")
    db.session.commit()
    again = subsidies.prepare_claim(consumer, YEAR)
    db.session.commit()
    assert again.id != claim.id and again.eligible_kg == 90_000
    actions = [e.action for e in db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id))]
    assert actions == ["prepared", "submitted", "rejected"]


@pytest.mark.parametrize("material,use,excluded", [
    ("coal_gangue", "gangue_power", True),     # gangue burnt in gangue power plants
    ("coal_gangue", "bricks_blocks", False),
    ("fly_ash", "gangue_power", False),        # the rule names coal gangue only
    ("gasification_slag", "mine_backfill", True),
    ("fly_ash", "cement", False),
])
def test_exclusions_by_material_and_use(make_user, make_site, db, material, use, excluded):
    deal = make_agreement(make_user, make_site, tonnes=500, material=material)
    agreement, _, consumer = deal
    agreement.use = use
    db.session.commit()
    deliver(db, deal, [30_000, 30_000])
    baseline(db, consumer, "10")
    if excluded:
        with pytest.raises(ValidationError):  # nothing eligible left: no increment
            subsidies.prepare_claim(consumer, YEAR)
        eligible, out = subsidies.unclaimed_entries(consumer.organisation_id, YEAR,
                                                    subsidies.scheme_in_force(YEAR).exclusions)
        assert eligible == [] and len(out) == 2
    else:
        assert subsidies.prepare_claim(consumer, YEAR).eligible_kg == 60_000


def test_own_waste_is_excluded():
    rules = {"own_waste": True, "rules": []}
    assert subsidies.excluded("fly_ash", "cement", 7, 7, rules)
    assert not subsidies.excluded("fly_ash", "cement", 7, 8, rules)
    assert not subsidies.excluded("fly_ash", "cement", 7, 7, {"own_waste": False, "rules": []})


def test_only_regulators_review_and_a_utiliser_cannot_approve_its_own(utiliser, make_user, db):
    _, producer, consumer = utiliser
    baseline(db, consumer, "10")
    claim = subsidies.prepare_claim(consumer, YEAR)
    subsidies.submit_claim(consumer, claim.id)
    db.session.commit()
    for actor in (consumer, producer, make_user(kind="operator")):
        with pytest.raises((PermissionDenied,)):
            subsidies.review_claim(actor, claim.id, "approve")
    with pytest.raises(PermissionDenied):
        subsidies.mark_paid(consumer, claim.id)
    db.session.rollback()
    assert db.session.get(SubsidyClaim, claim.id).status == "submitted"


def token(client, user):
    r = client.post("/api/v1/auth/token", json=token_request(user))
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_the_api_workflow(utiliser, client, make_user, db):
    _, _, consumer = utiliser
    regulator = make_user(kind="regulator")
    c, r = token(client, consumer), token(client, regulator)
    scheme = client.get("/api/v1/subsidy-scheme", headers=c).get_json()
    assert scheme["base_year"] == 2018 and scheme["version"] == 1 and scheme["cap_yuan"] == "6000000.00"
    assert [b["rate_yuan_per_t"] for b in scheme["bands"]] == ["10", "20", "25", "30"]
    assert client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c).status_code == 422  # no baseline
    resp = client.post("/api/v1/baselines", json={"year": 2018, "tonnes": "40", "evidence": "统计年报"}, headers=c)
    assert resp.status_code == 201
    b_id = resp.get_json()["id"]
    assert client.post(f"/api/v1/baselines/{b_id}/review", json={"decision": "approve"}, headers=c).status_code == 403
    assert client.post(f"/api/v1/baselines/{b_id}/review", json={"decision": "approve"},
                       headers=r).get_json()["status"] == "approved"
    resp = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c)
    assert resp.status_code == 201
    claim = resp.get_json()
    assert {k: claim[k] for k in ("year", "status", "eligible_tonnes", "baseline_tonnes", "increment_tonnes",
                                  "rate_yuan_per_t", "amount_yuan", "scheme_version")} == {
        "year": YEAR, "status": "draft", "eligible_tonnes": "90.000", "baseline_tonnes": "40.000",
        "increment_tonnes": "50.000", "rate_yuan_per_t": "10.00", "amount_yuan": "500.00", "scheme_version": 1}
    assert client.post(f"/api/v1/subsidy-claims/{claim['id']}/review", json={"decision": "approve"},
                       headers=r).status_code == 409  # not submitted yet
    assert client.post(f"/api/v1/subsidy-claims/{claim['id']}/submit", headers=c).get_json()["status"] == "submitted"
    assert client.post(f"/api/v1/subsidy-claims/{claim['id']}/review", json={"decision": "approve"},
                       headers=c).status_code == 403
    # the regulator cannot change the figures: an extra field is refused by name, and changes nothing
    refused = client.post(f"/api/v1/subsidy-claims/{claim['id']}/review",
                          json={"decision": "approve", "amount_yuan": "999999.00"}, headers=r)
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "amount_yuan"
    done = client.post(f"/api/v1/subsidy-claims/{claim['id']}/review", json={"decision": "approve"},
                       headers=r).get_json()
    assert done["status"] == "approved" and done["amount_yuan"] == "500.00"
    detail = client.get(f"/api/v1/subsidy-claims/{claim['id']}", headers=r).get_json()
    assert len(detail["ledger_entry_ids"]) == 3 and [e["action"] for e in detail["events"]] == [
        "prepared", "submitted", "approved"]
    stranger = token(client, make_user(kind="consumer"))
    assert client.get(f"/api/v1/subsidy-claims/{claim['id']}", headers=stranger).status_code == 404


def test_baseline_input_is_validated(client, make_user):
    c = token(client, make_user(kind="consumer"))
    for body, field in (({"year": 2018, "tonnes": "-1", "evidence": "x"}, "tonnes"),
                        ({"year": "abc", "tonnes": "1", "evidence": "x"}, "year"),
                        ({"year": 2018, "tonnes": "1", "evidence": ""}, "evidence")):
        resp = client.post("/api/v1/baselines", json=body, headers=c)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field


def test_loan_interest_subsidy(make_user, db):
    user = make_user(kind="consumer")
    with pytest.raises(ValidationError):
        subsidies.submit_loan_project(user, "粉煤灰制砖示范线", YEAR, "4999999.99")
    project = subsidies.submit_loan_project(user, "粉煤灰制砖示范线", YEAR, "5000000")
    assert str(project.subsidy_yuan) == "217500.00"  # 4.35 % of 5,000,000
    with pytest.raises(PermissionDenied):
        subsidies.review_loan_project(user, project.id, "approve")


def test_scheme_versions_are_published_by_regulators(make_user, db):
    regulator = make_user(kind="regulator")
    data = {"name": "2027 call", "base_year": "2024", "effective_from": "2027-01-01", "effective_to": "",
            "bands": "0:12, 80000:22", "mode": "tiered", "cap_yuan": "5000000", "exclude_own_waste": True,
            "excluded_uses": "mine_backfill, gangue_power", "loan_min_yuan": "5000000",
            "loan_benchmark_rate_pct": "3.45"}
    scheme = subsidies.set_scheme(regulator, data)
    db.session.commit()
    assert scheme.version == 2 and subsidies.scheme_in_force(2027).version == 2
    assert subsidies.scheme_in_force(2026).version == 1  # v2 starts in 2027: 2026 stays under v1
    with pytest.raises(PermissionDenied):
        subsidies.set_scheme(make_user(kind="operator"), data)
    with pytest.raises(ValidationError):
        subsidies.set_scheme(regulator, {**data, "bands": "10:12"})
    db.session.rollback()


def test_dashboard_exports_match_the_page(demo, client, db):
    from marketplace.models import User

    login(client, db.session.scalar(select(User).where(User.email == "regulator@example.com")), "demo-pass-2026")
    client.get("/lang/en")  # the exports' headers are in the page's language
    year = YEAR - 1
    page = client.get(f"/subsidies/dashboard?year={year}").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(f"/subsidies/dashboard/claims.xlsx?year={year}").data))
    rows = list(book.active.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert len(data) == 5
    for row in data:
        record = dict(zip(header, row, strict=False))
        assert isinstance(record["Amount (yuan)"], (int, float))  # a number, not text
        assert f'/subsidies/claims/{record["Number"]}"' in page and f'{record["Amount (yuan)"]:,.2f}' in page
    city = client.get(f"/subsidies/dashboard/city.csv?year={year}").get_data(as_text=True).lstrip("\ufeff")
    for line in city.splitlines()[1:]:
        generated = line.split(",")[1]
        assert f"{Decimal(generated):,.3f}" in page

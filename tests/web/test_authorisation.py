"""Every route x every kind of visitor: the expected status. A new route fails this test until it is
added to the matrix, so no route ships without a decision about who may use it."""
from datetime import UTC

import pytest

from marketplace.clock import today_cst
from tests.web.conftest import login, post_form

ROLES = ["anonymous", "producer_admin", "producer_member", "unverified_producer", "consumer", "regulator",
         "operator"]
LOGGED_IN = ROLES[1:]
STAFF = {"regulator", "operator"}


def expect(default, **overrides):
    """Expected status per role: `default` for every role not named."""
    return {role: overrides.get(role, default) for role in ROLES}


PRODUCERS_ONLY = expect(403, anonymous=302, producer_admin=200, producer_member=200, unverified_producer=200)

# (method, rule as in app.url_map, concrete path (with {own_site}, {other_site}, {pending_org}))
MATRIX = [
    ("GET", "/", "/", expect(200)),
    ("GET", "/materials", "/materials", expect(200)),
    ("GET", "/lang/<code>", "/lang/en", expect(302)),
    ("GET", "/auth/login", "/auth/login", expect(302, anonymous=200)),
    ("POST", "/auth/login", "/auth/login", expect(302, anonymous=200)),
    ("GET", "/auth/register", "/auth/register", expect(302, anonymous=200)),
    ("POST", "/auth/register", "/auth/register", expect(302, anonymous=200)),
    ("GET", "/auth/account", "/auth/account", expect(200, anonymous=302)),
    ("POST", "/auth/account", "/auth/account", expect(200, anonymous=302)),
    ("POST", "/auth/logout", "/auth/logout", expect(302)),
    ("GET", "/auth/login/code", "/auth/login/code", expect(302)),  # no password step pending: back to login
    ("POST", "/auth/login/code", "/auth/login/code", expect(302)),
    ("POST", "/auth/account/two-factor", "/auth/account/two-factor", expect(400, anonymous=302)),
    ("GET", "/org/", "/org/", expect(200, anonymous=302)),
    ("GET", "/org/sites", "/org/sites", expect(302)),
    ("GET", "/org/users", "/org/users", expect(403, anonymous=302, producer_admin=200, unverified_producer=200,
                                                consumer=200, regulator=200, operator=200)),
    ("POST", "/org/users", "/org/users", expect(403, anonymous=302, producer_admin=200, unverified_producer=200,
                                                 consumer=200, regulator=200, operator=200)),
    ("POST", "/org/users/<int:user_id>", "/org/users/{other_user}",
     expect(404, anonymous=302, producer_member=403)),
    ("GET", "/org/contact", "/org/contact", expect(403, anonymous=302, producer_admin=200, unverified_producer=200,
                                                    consumer=200, regulator=200, operator=200)),
    ("POST", "/org/contact", "/org/contact", expect(403, anonymous=302, producer_admin=302, unverified_producer=302,
                                                     consumer=302, regulator=302, operator=302)),
    ("GET", "/org/sites/new", "/org/sites/new", expect(200, anonymous=302)),
    ("POST", "/org/sites/new", "/org/sites/new", expect(200, anonymous=302)),
    ("GET", "/org/sites/<int:site_id>/edit", "/org/sites/{own_site}/edit", expect(200, anonymous=302)),
    # a POST that leaves every field out keeps the site as it was (WTForms falls back to the object)
    ("POST", "/org/sites/<int:site_id>/edit", "/org/sites/{own_site}/edit", expect(302)),
    ("POST", "/org/sites/<int:site_id>/edit", "/org/sites/{other_site}/edit", expect(404, anonymous=302)),
    ("GET", "/org/sites/<int:site_id>/edit", "/org/sites/{other_site}/edit", expect(404, anonymous=302)),
    ("POST", "/org/sites/<int:site_id>/archive", "/org/sites/{other_site}/archive", expect(404, anonymous=302)),
    ("POST", "/org/sites/<int:site_id>/delete", "/org/sites/{other_site}/delete", expect(404, anonymous=302)),
    ("POST", "/org/sites/<int:site_id>/default", "/org/sites/{other_site}/default", expect(404, anonymous=302)),
    ("GET", "/generation/", "/generation/", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                   unverified_producer=200)),
    ("POST", "/generation/", "/generation/", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                    unverified_producer=200)),
    ("GET", "/admin/organisations", "/admin/organisations", expect(403, anonymous=302, regulator=200,
                                                                   operator=200)),
    ("GET", "/admin/organisations/<int:org_id>", "/admin/organisations/{pending_org}",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("POST", "/admin/organisations/<int:org_id>", "/admin/organisations/{pending_org}",
     expect(403, anonymous=302, regulator=302, operator=302)),
    ("POST", "/admin/organisations/<int:org_id>/release-credit-code",
     "/admin/organisations/{pending_org}/release-credit-code", expect(403, anonymous=302, operator=400)),
    ("POST", "/admin/users/<int:user_id>/reset-two-factor", "/admin/users/99999/reset-two-factor",
     expect(403, anonymous=302, operator=404)),
    ("GET", "/admin/audit", "/admin/audit", expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/auth/tokens", "/auth/tokens", expect(200, anonymous=302)),
    ("POST", "/auth/tokens", "/auth/tokens", expect(200, anonymous=302)),
    ("POST", "/auth/tokens/<int:token_id>/revoke", "/auth/tokens/{other_token}/revoke", expect(404, anonymous=302)),
    ("GET", "/listings/mine", "/listings/mine", expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>", "/listings/supply", expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>/map.json", "/listings/demand/map.json", expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>/export.<any(csv, xlsx):fmt>", "/listings/supply/export.csv",
     expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>/import-template.csv", "/listings/demand/import-template.csv",
     expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>/new", "/listings/supply/new", PRODUCERS_ONLY),
    ("POST", "/listings/<any(supply, demand):side>/new", "/listings/supply/new", PRODUCERS_ONLY),
    ("GET", "/listings/<any(supply, demand):side>/import", "/listings/supply/import", PRODUCERS_ONLY),
    ("POST", "/listings/<any(supply, demand):side>/import", "/listings/supply/import", PRODUCERS_ONLY),
    ("GET", "/listings/<any(supply, demand):side>/<int:listing_id>", "/listings/supply/{other_supply}",
     expect(200, anonymous=302)),
    ("GET", "/listings/<any(supply, demand):side>/<int:listing_id>", "/listings/supply/{other_draft}",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/listings/<any(supply, demand):side>/<int:listing_id>/edit", "/listings/supply/{other_supply}/edit",
     expect(403, anonymous=302)),
    ("POST", "/listings/<any(supply, demand):side>/<int:listing_id>/edit", "/listings/supply/{other_supply}/edit",
     expect(403, anonymous=302)),
    ("POST", "/listings/<any(supply, demand):side>/<int:listing_id>/status",
     "/listings/supply/{other_supply}/status", expect(403, anonymous=302)),
    ("GET", "/match/rounds/", "/match/rounds/", expect(200, anonymous=302)),
    ("GET", "/match/rounds/new", "/match/rounds/new", expect(403, anonymous=302, regulator=200, operator=200)),
    ("POST", "/match/rounds/new", "/match/rounds/new", expect(403, anonymous=302, regulator=302, operator=302)),
    ("GET", "/match/rounds/<int:round_id>", "/match/rounds/{other_round}",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/match/rounds/<int:round_id>/map.json", "/match/rounds/{other_round}/map.json",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/match/rounds/<int:round_id>/status.json", "/match/rounds/{other_round}/status.json",
     expect(404, anonymous=302, regulator=200, operator=200)),
    # a stranger's private round: hidden from firms; staff see it but cancel only market rounds
    ("POST", "/match/rounds/<int:round_id>/cancel", "/match/rounds/{other_round}/cancel",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/match/proposals/", "/match/proposals/", expect(200, anonymous=302)),
    ("GET", "/match/proposals/<int:proposal_id>", "/match/proposals/{other_proposal}",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("POST", "/match/proposals/<int:proposal_id>/decide", "/match/proposals/{other_proposal}/decide",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/match/agreements/", "/match/agreements/", expect(200, anonymous=302)),
    ("GET", "/match/agreements/<int:agreement_id>", "/match/agreements/{other_agreement}",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/match/tariff", "/match/tariff", expect(403, anonymous=302, regulator=200, operator=200)),
    # seasonal planning: everyone reads the production calendar, regulators publish it; the seasonal desk is staff's
    ("GET", "/seasonal/calendar", "/seasonal/calendar", expect(200, anonymous=302)),
    ("POST", "/seasonal/calendar", "/seasonal/calendar", expect(403, anonymous=302, regulator=200)),
    ("GET", "/seasonal/calendar/<int:window_id>", "/seasonal/calendar/{window}",
     expect(403, anonymous=302, regulator=200)),
    ("POST", "/seasonal/calendar/<int:window_id>", "/seasonal/calendar/{window}",
     expect(403, anonymous=302, regulator=200)),
    ("POST", "/seasonal/calendar/<int:window_id>/delete", "/seasonal/calendar/{window}/delete",
     expect(403, anonymous=302, regulator=302)),
    ("POST", "/seasonal/rounds", "/seasonal/rounds", expect(403, anonymous=302, regulator=302, operator=302)),
    ("GET", "/seasonal/desk", "/seasonal/desk", expect(403, anonymous=302, regulator=200, operator=200)),
    ("POST", "/match/tariff", "/match/tariff", expect(403, anonymous=302, operator=200)),
    ("POST", "/deliveries/agreements/<int:agreement_id>/shipments",
     "/deliveries/agreements/{other_agreement}/shipments", expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/deliveries/agreements/<int:agreement_id>/tickets/new",
     "/deliveries/agreements/{other_agreement}/tickets/new", expect(404, anonymous=302, regulator=403, operator=403)),
    ("POST", "/deliveries/agreements/<int:agreement_id>/tickets/new",
     "/deliveries/agreements/{other_agreement}/tickets/new", expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/deliveries/agreements/<int:agreement_id>/ticket-qr.svg",
     "/deliveries/agreements/{other_agreement}/ticket-qr.svg", expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/deliveries/agreements/<int:agreement_id>/agreement.pdf",
     "/deliveries/agreements/{other_agreement}/agreement.pdf", expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/deliveries/shipments/<int:shipment_id>/confirm", "/deliveries/shipments/{other_shipment}/confirm",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/deliveries/shipments/<int:shipment_id>/confirm-qr.svg",
     "/deliveries/shipments/{other_shipment}/confirm-qr.svg", expect(404, anonymous=302, regulator=200, operator=200)),
    ("POST", "/deliveries/agreements/<int:agreement_id>/shipments/import",
     "/deliveries/agreements/{other_agreement}/shipments/import",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("POST", "/deliveries/shipments/<int:shipment_id>/confirm", "/deliveries/shipments/{other_shipment}/confirm",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("GET", "/deliveries/ledger", "/deliveries/ledger", expect(200, anonymous=302)),
    ("POST", "/deliveries/ledger/verify", "/deliveries/ledger/verify",
     expect(403, anonymous=302, regulator=302, operator=302)),
    ("GET", "/deliveries/ledger/<int:entry_id>/reverse", "/deliveries/ledger/{other_entry}/reverse",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("POST", "/deliveries/ledger/<int:entry_id>/reverse", "/deliveries/ledger/{other_entry}/reverse",
     expect(403, anonymous=302, regulator=422, operator=422)),
    ("GET", "/deliveries/utilisation", "/deliveries/utilisation", expect(403, anonymous=302, regulator=200,
                                                                         operator=200)),
    ("GET", "/deliveries/utilisation.<any(csv, xlsx):fmt>", "/deliveries/utilisation.xlsx",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/subsidies/", "/subsidies/", expect(200, anonymous=302)),
    ("POST", "/subsidies/baselines", "/subsidies/baselines", expect(422, anonymous=302)),
    ("POST", "/subsidies/claims", "/subsidies/claims", expect(422, anonymous=302)),
    ("POST", "/subsidies/loans", "/subsidies/loans", expect(422, anonymous=302)),
    ("POST", "/subsidies/recoveries/<int:recovery_id>/settle", "/subsidies/recoveries/{other_recovery}/settle",
     expect(403, anonymous=302, regulator=422)),
    ("POST", "/subsidies/baselines/<int:baseline_id>/review", "/subsidies/baselines/{other_baseline}/review",
     expect(404, anonymous=302, regulator=302, operator=302)),
    ("GET", "/subsidies/claims/<int:claim_id>", "/subsidies/claims/{other_claim}",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("POST", "/subsidies/claims/<int:claim_id>/submit", "/subsidies/claims/{other_claim}/submit",
     expect(404, anonymous=302, regulator=403, operator=403)),
    ("POST", "/subsidies/claims/<int:claim_id>/review", "/subsidies/claims/{other_claim}/review",
     expect(404, anonymous=302, regulator=302, operator=403)),
    ("POST", "/subsidies/claims/<int:claim_id>/paid", "/subsidies/claims/{other_claim}/paid",
     expect(404, anonymous=302, regulator=302, operator=403)),
    ("POST", "/subsidies/loans/<int:project_id>/review", "/subsidies/loans/{other_loan}/review",
     expect(403, anonymous=302, regulator=302, operator=302)),
    ("GET", "/subsidies/scheme", "/subsidies/scheme", expect(200, anonymous=302)),
    ("POST", "/subsidies/scheme", "/subsidies/scheme", expect(403, anonymous=302, regulator=200)),
    ("GET", "/subsidies/dashboard", "/subsidies/dashboard", expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/subsidies/dashboard/flows.json", "/subsidies/dashboard/flows.json",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/subsidies/dashboard/<any(city, region, park, material, month, unmatched, subsidies, claims, "
            "recoveries):table>.<any(csv, xlsx):fmt>", "/subsidies/dashboard/claims.xlsx",
     expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/listings/supply/<int:listing_id>/certificate", "/listings/supply/{other_supply}/certificate",
     expect(404, anonymous=302)),
    # probes: public, no data; /metrics from this machine only, or with METRICS_TOKEN (tests/web/test_ops_metrics.py)
    ("GET", "/healthz", "/healthz", expect(200)),
    ("GET", "/readyz", "/readyz", expect(200)),
    ("GET", "/metrics", "/metrics", expect(200)),
    # the papers (issue #15): a firm's own only; staff name the firm (?org=), without it there is none to show
    ("GET", "/papers/", "/papers/", expect(200, anonymous=302)),
    ("GET", "/papers/ledger", "/papers/ledger", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                       unverified_producer=200, regulator=404, operator=404)),
    ("GET", "/papers/ledger", "/papers/ledger?org={other_org}", expect(404, anonymous=302, regulator=200,
                                                                        operator=200)),
    ("GET", "/papers/report", "/papers/report", expect(403, anonymous=302, regulator=200, operator=200)),
    ("GET", "/papers/claims/<int:claim_id>/dossier", "/papers/claims/{other_claim}/dossier?format=json",
     expect(404, anonymous=302, regulator=200, operator=200)),
    ("GET", "/papers/vat", "/papers/vat", expect(403, anonymous=302, consumer=200, regulator=404, operator=404)),
    ("POST", "/papers/vat/lines", "/papers/vat/lines", expect(403, anonymous=302, consumer=400)),
    ("POST", "/papers/vat/months", "/papers/vat/months", expect(403, anonymous=302, consumer=400)),
    ("GET", "/papers/env-tax", "/papers/env-tax", expect(403, anonymous=302, producer_admin=200, producer_member=200,
                                                         unverified_producer=200, regulator=404, operator=404)),
    ("GET", "/papers/co2", "/papers/co2", expect(200, anonymous=302)),
    ("POST", "/papers/co2", "/papers/co2", expect(400, anonymous=302, regulator=403, operator=403)),
    ("GET", "/papers/co2/<token>", "/papers/co2/" + "A" * 43, expect(404)),  # public, by its unguessable id
    ("GET", "/papers/co2/<token>.json", "/papers/co2/" + "A" * 43 + ".json", expect(404)),
    # notifications (issue #13): each user's own; one that is not theirs (or none) is not found
    ("GET", "/notifications/", "/notifications/", expect(200, anonymous=302)),
    ("POST", "/notifications/<int:notification_id>/read", "/notifications/999999/read", expect(404, anonymous=302)),
    ("POST", "/notifications/read-all", "/notifications/read-all", expect(302)),
    ("POST", "/notifications/settings", "/notifications/settings", expect(302)),
    ("GET", "/papers/co2/<token>.pdf", "/papers/co2/" + "A" * 43 + ".pdf", expect(404, anonymous=302)),
]


def test_every_route_is_in_the_matrix(app):
    covered = {(method, rule) for method, rule, _path, _exp in MATRIX}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue  # the API has its own test: every endpoint but two wants a token
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.rule) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without an authorisation decision: {missing}"


@pytest.fixture
def world(make_user, make_org, make_site, db):
    """One organisation per role; the 'own' site belongs to the visitor, the 'other' site to a stranger."""
    def build(role):
        stranger = make_user(kind="producer")
        other_site = make_site(stranger.organisation, name="stranger site")
        pending = make_org(kind="consumer", verified=False)
        user = None
        if role != "anonymous":
            kind = {"producer_admin": "producer", "producer_member": "producer",
                    "unverified_producer": "producer"}.get(role, role)
            user = make_user(kind=kind, role="member" if role == "producer_member" else "admin",
                             verified=role != "unverified_producer")
        own_site = make_site(user.organisation if user else stranger.organisation, name="own site")
        from datetime import timedelta

        from sqlalchemy import select

        from marketplace.models import ProductionWindow
        from marketplace.services.listings import create_listing
        from marketplace.services.tokens import create_token

        offer = {"site_id": other_site.id, "material": "fly_ash", "grade": "I", "tonnes": 100,
                 "period_start": today_cst(), "period_end": today_cst() + timedelta(days=30),
                 "price_yuan_per_t": "10", "max_haul_km": 100}
        other_supply = create_listing(stranger, "supply", offer)
        other_draft = create_listing(stranger, "supply", offer, "draft")
        token, _plain = create_token(stranger, "x")
        other_round, other_proposal, other_agreement, other_shipment, other_entry, extra = _strangers_deal(
            stranger, other_site, make_user, make_site, offer)
        db.session.commit()
        ids = {"own_site": own_site.id, "other_site": other_site.id, "pending_org": pending.id,
               "other_user": stranger.id, "other_supply": other_supply.id, "other_draft": other_draft.id,
               "other_token": token.id, "other_round": other_round.id, "other_proposal": other_proposal.id,
               "other_agreement": other_agreement.id, "other_shipment": other_shipment.id,
               "other_entry": other_entry, "other_org": stranger.organisation_id, **extra,
               "window": db.session.scalar(select(ProductionWindow.id).order_by(ProductionWindow.id).limit(1))}
        return user, ids

    return build


def _strangers_deal(producer, site, make_user, make_site, offer):
    """A private round of a stranger consumer, its proposal, and an agreement between two strangers."""
    from marketplace.extensions import db
    from marketplace.services import proposals, rounds
    from marketplace.services.listings import create_listing

    consumer = make_user(kind="consumer")
    need = {"site_id": make_site(consumer.organisation).id, "material": "fly_ash", "tonnes": 50,
            "period_start": offer["period_start"], "period_end": offer["period_end"], "max_haul_km": 300}
    demand = create_listing(consumer, "demand", need)
    round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
    db.session.commit()  # the queue runs the round once the request for it has committed
    first = round_.proposals[0]
    proposals.decide(producer, first.id, "accept")
    proposals.decide(consumer, first.id, "accept")
    second_demand = create_listing(consumer, "demand", {**need, "tonnes": 20})
    second_round = rounds.start_round(consumer, demand_listing_ids=[second_demand.id])
    db.session.commit()
    second = second_round.proposals[0]
    from datetime import datetime, timedelta

    from marketplace.services import deliveries

    agreement = first.agreement
    agreement.created_at = datetime.now(UTC) - timedelta(days=1)
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "W1", "truck_plate": "宁A12345", "dispatched_at": datetime.now(UTC).isoformat(),
        "gross_kg": 30000, "tare_kg": 15000})
    deliveries.confirm_shipment(consumer, shipment.id, 15000)
    pending = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "W2", "truck_plate": "宁A12345", "dispatched_at": datetime.now(UTC).isoformat(),
        "gross_kg": 30000, "tare_kg": 15000})
    from decimal import Decimal

    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.models import Baseline, LedgerEntry, SubsidyClaim
    from marketplace.services import subsidies

    baseline = Baseline(organisation_id=consumer.organisation_id, year=2018, tonnes=Decimal(1), evidence="x",
                        status="pending")
    db.session.add(baseline)
    db.session.flush()
    claim = SubsidyClaim(organisation_id=consumer.organisation_id, year=2026, status="submitted",
                         scheme_id=subsidies.scheme_in_force().id, baseline_id=baseline.id, eligible_kg=0,
                         excluded_kg=0, baseline_tonnes=0, increment_tonnes=0, rate_yuan_per_t=0, amount_yuan=0)
    db.session.add(claim)
    loan = subsidies.submit_loan_project(consumer, "示范线", 2026, "6000000")
    db.session.flush()
    from marketplace.models import Recovery

    recovery = Recovery(organisation_id=consumer.organisation_id, year=2026, claim_id=claim.id,
                        reversal_entry_id=db.session.scalar(select(LedgerEntry.id)), approved_before_yuan=1,
                        should_have_yuan=0, amount_yuan=1, status="open", note="")
    db.session.add(recovery)
    db.session.flush()
    extra = {"other_baseline": baseline.id, "other_claim": claim.id, "other_loan": loan.id,
             "other_recovery": recovery.id}
    return round_, second, agreement, pending, db.session.scalar(select(LedgerEntry.id)), extra


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(client, world, role):
    user, ids = world(role)
    if user is not None:
        login(client, user)
    failures = []
    for method, _rule, path, expected in MATRIX:
        url = path.format(**ids)
        if method == "GET":
            status = client.get(url).status_code
        elif role == "anonymous":
            from tests.web.conftest import csrf_token

            status = client.post(url, data={"csrf_token": csrf_token(client)}).status_code
        else:
            data = {"decision": "verified", "note": ""} if "admin/organisations" in url else {}
            status = post_form(client, url, data).status_code
            if url == "/auth/logout":
                login(client, user)
        if status != expected[role]:
            failures.append(f"{method} {url}: {status}, expected {expected[role]}")
    assert not failures, f"{role}: " + "; ".join(failures)


def test_every_api_endpoint_but_the_token_and_the_description_wants_a_token(app, client):
    import re

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, json={})
            if rule.endpoint in ("api.create_token", "api.openapi"):
                assert response.status_code != 401, url
            else:
                assert response.status_code == 401, f"{method} {url}"
                assert response.get_json()["error"]["code"] == "unauthorised"


@pytest.mark.parametrize("kind", ["producer", "regulator", "operator"])
def test_ids_beyond_any_column_are_not_found_never_a_server_error(app, logged_in, kind):
    """A URL can carry any integer; one too large for the database is simply not found."""
    import re

    from tests.web.conftest import csrf_token

    client, _ = logged_in(kind=kind)
    token = csrf_token(client, "/auth/account")
    failures = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:[^>]+>", str(10**20), rule.rule)
        url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", url)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if url.startswith("/api/"):
                continue  # the API's own test covers it with a token (tests/web/test_api_listings.py)
            response = client.open(url, method=method, data={"csrf_token": token})
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, failures

"""Every form of the site, fuzzed: Hypothesis posts generated text (control characters, NUL, lone
surrogates, right-to-left marks, huge and odd numbers, very long strings) into every field of every POST
route of the url_map, as a role that may use the route, with a valid CSRF token, and no answer is a 5xx.

Bounded to about a minute: FORM_FUZZ_EXAMPLES examples per route (default 15), no deadline. Each example
keeps every field of the route's form valid but one to three, which get the hostile values.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.clock import today_cst
from marketplace.extensions import limiter
from marketplace.services import deliveries, subsidies, tokens
from tests.web.conftest import csrf_token, login
from tests.web.deals import make_agreement

EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "15"))

NASTY = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e\u202d", "\u200f\u061c", "\ufeff", "\x1b[31m", "\r\n",
         "\t", "1e999", "-1e999", "-0", "-0.0", "NaN", "inf", "9" * 400, "-" + "9" * 40, "0x10", "１２３",
         "0001-01-01", "9999-12-31T23:59:59-12:00", "2026-02-30", "x" * 70_000, "宁" * 5000, "' OR 1=1 --",
         "${7*7}", "{{7*7}}", "<script>alert(1)</script>", "../../etc/passwd", "%00", "😀" * 10, ""]
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                                   categories=["Cc", "Cs", "Cf", "Zs", "Nd", "Lo", "Ll", "Po"]), max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
#: Hostile characters slipped into an otherwise valid value, so that they get past the format checks.
INJECT = ["\x00", "\ud800", "\u202e", "\x1b", "\r\n", "\x7f"]


def valid_value(name: str) -> str:
    """A value of the right shape for a field, by its name (so that checks after the format are reached)."""
    if "email" in name:
        return "user@example.org"
    if name in ("period_start", "period_end", "effective_from", "effective_to", "starts_on", "ends_on"):
        return "2026-03-01"
    if name == "dispatched_at":
        return "2026-03-01T08:00"
    if name in ("month", "horizon_start"):
        return "2026-01"
    if name in ("year", "base_year"):
        return "2024"
    if name == "truck_plate":
        return "宁A12345"
    if name == "material":
        return "fly_ash"
    if name == "decision":
        return "approve"
    if any(word in name for word in ("kg", "tonnes", "price", "yuan", "km", "lat", "lon", "rate", "pct", "_t",
                                     "hours", "partners", "circuity", "id", "loi")):
        return "100"
    return "文本"


def edge_values(name: str) -> list[str]:
    """Values of the right shape at the edge of what parsers survive (years 1 and 9999, huge numbers)."""
    base = valid_value(name)
    if base == "2026-03-01":
        return ["0001-01-01", "9999-12-31", "2026-02-30"]
    if "T" in base:
        return ["0001-01-01T00:00", "9999-12-31T23:59:59-12:00", "2026-03-01T08:00+14:59"]
    if base in ("2026-01", "2024"):
        return ["0001" + base[4:], "9999" + base[4:], "-1"]
    if base == "100":
        return ["9" * 30, "1e999", "-0", "-1e-999", "NaN", "1E+400"]
    return [base * 5000]


def hostile_values(name: str):
    """Generated text for one field: an edge value, a valid value with a hostile character in it, or any."""
    base = valid_value(name)
    injected = st.tuples(st.sampled_from(INJECT), st.integers(0, len(base))).map(
        lambda pair: base[:pair[1]] + pair[0] + base[pair[1]:])
    return st.one_of(st.sampled_from(edge_values(name)), injected, TEXT)


#: Form fields that views read from request.form without a form class (the listing quality parameters).
EXTRA_FIELDS = ["q-fly_ash-loi", "qmin-fly_ash-loi", "qmax-fly_ash-loi", "m-1", "m-7", "m-12"]
#: Routes whose success would end the session or the world under test: fuzzed last.
LAST = ("logout", "delete", "archive", "revoke", "edit_user")
STAFF = ("regulator", "operator")
#: Endpoints where staff act (reviews, verification, reversal, tariff, scheme): tried as staff first.
STAFF_WORDS = ("admin.", "review", "reverse", "verify", "tariff", "scheme", "paid")
#: Endpoints where the utiliser acts (subsidies, receipts): tried as the consumer first.
CONSUMER_WORDS = ("baseline", "claim", "loan", "confirm")


def preference(endpoint: str, role: str) -> int:
    """Lower is tried first: staff where staff decide, the utiliser where it acts, else the producer."""
    if any(word in endpoint for word in STAFF_WORDS):
        return 0 if role in STAFF else 1
    if any(word in endpoint for word in CONSUMER_WORDS):
        return 0 if role == "consumer" else 1
    return 0 if role == "producer" else 1


def post_routes(app) -> list:
    rules = [r for r in app.url_map.iter_rules()
             if "POST" in r.methods and not r.rule.startswith(("/api/", "/static"))]
    return sorted(rules, key=lambda r: (any(word in r.endpoint for word in LAST), r.rule))


@pytest.fixture
def world(app, db, make_user, make_site, make_org):
    """Everything a route's URL may name: an agreement with a confirmed shipment (so a ledger entry), a
    site, a colleague, a token, a pending organisation, a baseline; and the four kinds of user."""
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "T1", "truck_plate": "宁A12345", "dispatched_at": deliveries.utcnow().isoformat(),
        "gross_kg": 40_000, "tare_kg": 15_000})
    entry = deliveries.confirm_shipment(consumer, shipment.id, 25_000)
    token, _ = tokens.create_token(producer, "fuzz")
    colleague = make_user(org=producer.organisation, role="member")
    regulator = make_user(kind="regulator")
    year = today_cst().year
    base_year = subsidies.scheme_in_force(year).base_year
    verified = subsidies.declare_baseline(consumer, base_year, "1", "发票")
    subsidies.review_baseline(regulator, verified.id, "approve")
    claim = subsidies.prepare_claim(consumer, year)  # 25 t confirmed against a 1 t baseline
    # pending, for the review route (another utiliser's: one baseline per firm and base year)
    baseline = subsidies.declare_baseline(make_user(kind="consumer"), base_year, "100", "发票")
    project = subsidies.submit_loan_project(consumer, "示范项目", year, "6000000")
    db.session.commit()
    proposal = agreement.proposal
    ids = {"agreement_id": agreement.id, "shipment_id": shipment.id,
           "entry_id": getattr(entry, "id", None) or 1, "listing_id": proposal.supply_listing_id,
           "proposal_id": proposal.id, "round_id": proposal.round_id,
           "site_id": proposal.supply_listing.site_id,
           "user_id": colleague.id, "token_id": token.id, "org_id": make_org(verified=False).id,
           "baseline_id": baseline.id, "claim_id": claim.id, "project_id": project.id}
    users = {"producer": producer, "consumer": consumer, "regulator": regulator, "operator": make_user(kind="operator")}
    return ids, users


def form_classes() -> dict[str, list[str]]:
    """{form class name: its field names} for every form class of the application."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    forms, pending = {}, list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("marketplace.") and cls.__module__.endswith(".forms"):
            forms[cls.__name__] = sorted(n for n in dir(cls) if isinstance(getattr(cls, n, None), UnboundField))
    return forms


def route_fields(app, rule) -> list[str]:
    """The fields a route's view reads: those of the form classes its source names (all fields if none),
    plus the listing quality parameters that views read straight from the request."""
    import inspect

    forms = form_classes()
    source = inspect.getsource(app.view_functions[rule.endpoint])
    named = [fields for name, fields in forms.items() if re.search(rf"\b{name}\(", source)]
    fields = sorted({f for fields in (named or forms.values()) for f in fields})
    return fields + (EXTRA_FIELDS if "listings." in rule.endpoint else [])


def url_for_rule(rule, ids: dict) -> str:
    values = {}
    for name in rule.arguments:
        values[name] = "supply" if name == "side" else ids.get(name, 1)
    return rule.build(values, append_unknown=False)[1]


def post_raw(client, url: str, fields: dict):
    """POST fields urlencoded as a hostile client would (lone surrogates sent as their UTF-8 bytes)."""
    body = urlencode(list(fields.items()), encoding="utf-8", errors="surrogatepass")
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def test_no_form_post_with_generated_text_gives_a_server_error(app, world):
    ids, users = world
    report = {}
    for rule in post_routes(app):
        url = url_for_rule(rule, ids)
        client = None
        for role, user in sorted(users.items(), key=lambda item: preference(rule.endpoint, item[0])):  # noqa: B007
            # the first role the route does not refuse (staff first where staff decide)
            candidate = app.test_client()
            anonymous = rule.endpoint in ("auth.login", "auth.register")
            if not anonymous:
                limiter.reset()  # dozens of logins from 127.0.0.1 in a minute: the login limits are not under test
                login(candidate, user)
            token = csrf_token(candidate, "/auth/login" if anonymous else "/auth/account")
            if post_raw(candidate, url, {"csrf_token": token}).status_code not in (401, 403, 404):
                client = candidate
                break
        assert client is not None or rule.arguments, f"no role may post to {rule.rule}"
        if client is None:
            report[rule.rule] = "refused to every role"
            continue

        fields = route_fields(app, rule)
        valid = {name: valid_value(name) for name in fields}

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(attacked=st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True), data=st.data())
        def fuzz(attacked, data):
            # every field valid but one to three, so that the hostile values get past the format checks;
            # fuzz() runs within this iteration, so the loop's current values are the ones meant
            values = {**valid, **{name: data.draw(hostile_values(name), label=name)  # noqa: B023
                                  for name in attacked}}
            response = post_raw(client, url, {**values, "csrf_token": token})  # noqa: B023
            assert response.status_code < 500, (rule.rule, values)  # noqa: B023

        fuzz()
        report[rule.rule] = role
    assert len(report) >= 25, report

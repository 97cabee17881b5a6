"""One clock: instants stored in UTC, every time a person or a file sees in China Standard Time and labelled,
the API in ISO 8601 with its offset; a ticket typed in the time the page shows is accepted.

The instant used throughout, 2026-03-01T20:30Z, is 2026-03-02 04:30 in Ningxia: a UTC rendering differs from
the CST one in its hour and its day, so a page that shows UTC cannot pass."""
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import DateTime, func, select, text

from marketplace.clock import as_utc, today_cst, utcnow
from marketplace.models import Baseline, Shipment, TariffVersion
from marketplace.services import deliveries, listings, subsidies, tokens
from tests.web.conftest import CATALOGUE_TABLES, PASSWORD, csrf_token, login, post_form
from tests.web.deals import make_agreement

KNOWN = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
CST_TIME = "2026-03-02 04:30 UTC+8"
CST_DAY = "2026-03-02 UTC+8"
UTC_TRACES = (" 20:30", ">20:30", "2026-03-01")  # not "T20:30": the ticket form is prefilled with now
#: Rows the hash chain or the append-only log protect: they get the instant when they are written.
UNSTAMPED = {"ledger_entry", "audit_entry"}


def zh(message: str) -> str:
    from flask import current_app
    from flask_babel import force_locale, gettext

    with current_app.test_request_context(), force_locale("zh"):
        return gettext(message)


# --- (a) the finding: a ticket typed in the time the agreement page shows ---------------------------------

AGREED_RE = re.compile(r"<dd>(\d{4}-\d{2}-\d{2} \d{2}:\d{2})( UTC\+8)? · ")


@pytest.fixture
def late_evening_deal(make_user, make_site, db):
    """An agreement made at 20:30 UTC three days ago: 04:30 the next morning in Ningxia."""
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    agreement.created_at = (utcnow() - timedelta(days=3)).replace(hour=20, minute=30, second=0, microsecond=0)
    db.session.commit()
    return agreement, producer, consumer


def shown_agreement_time(client, agreement) -> datetime:
    html = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    match = AGREED_RE.search(html)
    assert match, "the agreement page shows when it was agreed"
    assert match.group(2), "the time shown says its zone"
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M")


def test_the_agreement_page_shows_china_standard_time_labelled(late_evening_deal, client):
    agreement, producer, _ = late_evening_deal
    login(client, producer)
    shown = shown_agreement_time(client, agreement)
    assert shown == (as_utc(agreement.created_at) + timedelta(hours=8)).replace(tzinfo=None)
    assert shown.hour == 4 and shown.date() > as_utc(agreement.created_at).date()


def test_a_ticket_typed_30_minutes_after_the_shown_time_is_accepted(late_evening_deal, client, db):
    agreement, producer, _ = late_evening_deal
    login(client, producer)
    typed = shown_agreement_time(client, agreement) + timedelta(minutes=30)
    r = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", {
        "ticket_no": "T-AFTER", "truck_plate": "宁A12345", "dispatched_at": typed.strftime("%Y-%m-%dT%H:%M"),
        "gross_kg": "40000", "tare_kg": "15000"}, page=f"/match/agreements/{agreement.id}")
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    shipment = db.session.scalar(select(Shipment))
    assert as_utc(shipment.dispatched_at) == as_utc(agreement.created_at) + timedelta(minutes=30)
    page = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    assert f"{typed:%Y-%m-%d %H:%M} UTC+8" in page  # shown back as typed, in CST


def test_a_ticket_dated_before_the_agreement_is_refused_and_the_form_keeps_what_was_typed(late_evening_deal,
                                                                                          client, db):
    agreement, producer, _ = late_evening_deal
    login(client, producer)
    typed = (shown_agreement_time(client, agreement) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    r = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", {
        "ticket_no": "T-<BEFORE>", "truck_plate": "宁A12345", "dispatched_at": typed, "gross_kg": "40000",
        "tare_kg": "15000", "moisture_pct": "0.8"}, page=f"/match/agreements/{agreement.id}")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert zh("The ticket is dated before the agreement existed.") in html
    for value in ('value="T-&lt;BEFORE&gt;"', 'value="宁A12345"', f'value="{typed}"', 'value="40000"',
                  'value="15000"', 'value="0.8"'):
        assert value in html, value
    assert db.session.scalar(select(func.count(Shipment.id))) == 0


def test_the_ticket_form_is_prefilled_with_now_in_china_standard_time(late_evening_deal, client):
    agreement, producer, _ = late_evening_deal
    login(client, producer)
    before = utcnow() + timedelta(hours=8)
    html = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    after = utcnow() + timedelta(hours=8)
    value = re.search(r'<input id="dispatched_at"[^>]* type="datetime-local" value="([^"]+)"', html)
    assert value
    assert value.group(1) in {f"{before:%Y-%m-%dT%H:%M}", f"{after:%Y-%m-%dT%H:%M}"}


def test_a_spreadsheet_ticket_keeps_its_time_read_in_china_standard_time(late_evening_deal, client, db):
    agreement, producer, _ = late_evening_deal
    login(client, producer)
    shown = shown_agreement_time(client, agreement)
    wb = Workbook()
    wb.active.append(["ticket_no", "truck_plate", "dispatched_at", "gross_kg", "tare_kg"])
    wb.active.append(["X-1", "宁A12345", shown + timedelta(minutes=45), 40_000, 15_000])  # a date-time cell
    buffer = io.BytesIO()
    wb.save(buffer)
    r = client.post(f"/deliveries/agreements/{agreement.id}/shipments/import",
                    data={"file": (io.BytesIO(buffer.getvalue()), "t.xlsx"),
                          "csrf_token": csrf_token(client, f"/match/agreements/{agreement.id}")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    shipment = db.session.scalar(select(Shipment))
    assert shipment is not None
    assert as_utc(shipment.dispatched_at) == as_utc(agreement.created_at) + timedelta(minutes=45)


# --- (b) every page that shows a time --------------------------------------------------------------------

@pytest.fixture
def scene(make_user, make_site, db):
    """One of everything that carries a time, all stamped at KNOWN: an agreement with a confirmed ticket, its
    round and proposal, both listings and their history, a claim and its events, an API token, the tariff."""
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    agreement.created_at = KNOWN
    db.session.commit()
    shipment = deliveries.record_shipment(producer, agreement.id, {
        "ticket_no": "K-1", "truck_plate": "宁A12345", "dispatched_at": "2026-03-01T20:30:00Z",
        "gross_kg": 40_000, "tare_kg": 15_000})
    deliveries.confirm_shipment(consumer, shipment.id, 25_000, now=KNOWN)
    scheme = subsidies.scheme_in_force(KNOWN.year)
    db.session.add(Baseline(organisation_id=consumer.organisation_id, year=scheme.base_year, tonnes=Decimal("10"),
                            evidence="statistics", status="approved"))
    db.session.commit()
    claim = subsidies.prepare_claim(consumer, KNOWN.year)
    subsidies.submit_claim(consumer, claim.id)
    tokens.create_token(producer, "weighbridge")
    listings.create_listing(producer, "supply", {  # still on offer: what the browse export lists
        "site_id": agreement.supply_listing.site_id, "material": "fly_ash", "grade": "I", "tonnes": 50,
        "period_start": today_cst(), "period_end": today_cst() + timedelta(days=30), "price_yuan_per_t": "10",
        "max_haul_km": 300})
    db.session.commit()
    tariff = db.session.scalar(select(TariffVersion).where(TariffVersion.version == 1))
    kept = tariff.created_at
    stamped = _stamp_everything(db)
    assert {"agreement", "match_round", "proposal", "listing_event", "claim_event", "api_token", "organisation",
            "shipment", "tariff_version"} <= stamped
    operator = make_user(kind="operator")
    yield {"agreement": agreement, "producer": producer, "consumer": consumer, "claim": claim,
           "shipment": shipment, "operator": operator}
    db.session.rollback()
    db.session.execute(text("UPDATE tariff_version SET created_at = :t WHERE version = 1"), {"t": kept})
    db.session.commit()


def _stamp_everything(db) -> set[str]:
    """Every time already recorded, of every table a test may write, set to KNOWN (tokens get a last use)."""
    stamped = set()
    db.session.execute(text("UPDATE api_token SET last_used_at = :t"), {"t": KNOWN})
    for table in db.metadata.sorted_tables:
        if table.name in UNSTAMPED or (table.name in CATALOGUE_TABLES and table.name != "tariff_version"):
            continue
        for column in table.columns:
            if isinstance(column.type, DateTime):
                db.session.execute(table.update().where(column.is_not(None)).values({column.name: KNOWN}))
                stamped.add(table.name)
    db.session.commit()
    db.session.expire_all()
    return stamped


PAGES = [  # (who, page, what it must show)
    ("producer", "/match/agreements/{agreement}", CST_TIME),   # agreed, ticket dispatched
    ("consumer", "/match/rounds/", CST_TIME),                  # the consumer started it
    ("producer", "/match/rounds/{round}", CST_TIME),
    ("producer", "/match/proposals/", CST_TIME),               # expires_at
    ("producer", "/listings/supply/{supply}", CST_TIME),       # history
    ("consumer", "/listings/demand/{demand}", CST_TIME),
    ("producer", "/auth/tokens", CST_TIME),                    # created, last used
    ("producer", "/deliveries/ledger", CST_TIME),
    ("consumer", "/subsidies/claims/{claim}", CST_TIME),       # events, tickets
    ("operator", "/deliveries/ledger", CST_TIME),
    ("operator", "/admin/organisations", CST_DAY),             # registered (a day)
    ("operator", "/admin/organisations/{org}", CST_TIME),
    ("operator", "/match/tariff", CST_DAY),
]


@pytest.mark.parametrize("who,page,expected", PAGES)
def test_every_page_shows_times_in_china_standard_time_with_its_label(scene, client, who, page, expected):
    agreement = scene["agreement"]
    url = page.format(agreement=agreement.id, round=agreement.proposal.round_id, supply=agreement.supply_listing_id,
                      demand=agreement.demand_listing_id, claim=scene["claim"].id,
                      org=scene["producer"].organisation_id)
    login(client, scene[who])
    r = client.get(url)
    assert r.status_code == 200, url
    html = r.get_data(as_text=True)
    assert expected in html, url
    for trace in UTC_TRACES:
        assert trace not in html, f"{url} shows {trace} (UTC)"


def test_no_template_formats_a_time_itself():
    """Times reach people only through the |datetime and |date filters (Babel, Asia/Shanghai)."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = [str(p.relative_to(templates)) for p in templates.rglob("*.html")
                 if re.search(r"strftime|isoformat\(|\bcst\(", p.read_text(encoding="utf-8"))]
    assert offenders == []


# --- (c) exports ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_write_china_standard_time_and_say_so(scene, client, fmt):
    login(client, scene["consumer"])
    r = client.get(f"/listings/supply/export.{fmt}?codes=1")  # the machine variant
    assert r.status_code == 200
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    else:
        sheet = load_workbook(io.BytesIO(r.data)).active
        values = list(sheet.iter_rows(values_only=True))
        rows = [dict(zip(values[0], row, strict=False)) for row in values[1:]]
    assert rows and "created_at" not in rows[0] and "updated_at" not in rows[0]
    assert {row["created_at (UTC+8)"] for row in rows} == {"2026-03-02 04:30:00"}
    assert {row["updated_at (UTC+8)"] for row in rows} == {"2026-03-02 04:30:00"}


def test_a_time_column_empty_in_some_rows_keeps_one_labelled_header():
    from marketplace.web import file_times

    rows = file_times([{"id": 1, "last_used_at": None}, {"id": 2, "last_used_at": KNOWN.replace(tzinfo=None)}])
    assert rows == [{"id": 1, "last_used_at (UTC+8)": ""}, {"id": 2, "last_used_at (UTC+8)": "2026-03-02 04:30:00"}]


# --- (d) the API ---------------------------------------------------------------------------------------

def _timestamps(value, key=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _timestamps(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item, key)
    elif (key == "at" or key.endswith("_at")) and value is not None:
        yield key, value


def test_every_api_timestamp_carries_its_offset(scene, client):
    agreement, claim = scene["agreement"], scene["claim"]

    def bearer(user):
        r = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    producer, consumer = bearer(scene["producer"]), bearer(scene["consumer"])
    answers = [client.get(url, headers=producer) for url in (
        f"/api/v1/supply-listings/{agreement.supply_listing_id}", f"/api/v1/match-rounds/{agreement.proposal.round_id}",
        "/api/v1/proposals", f"/api/v1/proposals/{agreement.proposal_id}", "/api/v1/agreements",
        f"/api/v1/agreements/{agreement.id}", f"/api/v1/agreements/{agreement.id}/shipments",
        f"/api/v1/shipments/{scene['shipment'].id}", "/api/v1/ledger")]
    answers.append(client.get(f"/api/v1/subsidy-claims/{claim.id}", headers=consumer))
    assert [r.status_code for r in answers] == [200] * len(answers)
    found = [stamp for r in answers for stamp in _timestamps(r.get_json())]
    keys = {key for key, _ in found}
    assert {"created_at", "updated_at", "expires_at", "dispatched_at", "confirmed_at", "at"} <= keys
    for key, stamp in found:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert moment.tzinfo is not None, f"{key}: {stamp} has no offset"
        assert moment == KNOWN, f"{key}: {stamp}"
    events = answers[-1].get_json()["events"]
    assert events and all(e["at"].endswith("+08:00") for e in events)  # the claim's history, on SQLite too

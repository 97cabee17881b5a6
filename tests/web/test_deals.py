"""Deals people can run (issue #13): a proposal's terms before accepting, the agreement page with contacts,
delivery progress and a printable PDF, QR codes that open the ticket form and the receipt confirmation, and
the reversal's confirmation step. Through the pages, as each role, with hostile input."""
import re
from datetime import timedelta

import pytest
import segno
from sqlalchemy import func, select

from marketplace.clock import today_cst
from marketplace.extensions import db as _db
from marketplace.models import AuditEntry, LedgerEntry, Shipment
from marketplace.services import corrections, deliveries, listings, proposals, rounds
from tests.web.conftest import login, post_form
from tests.web.deals import make_agreement
from tests.web.papers_world import pdf_text
from tests.web.test_deliveries import ticket


def english(client):
    client.get("/lang/en")
    return client


@pytest.fixture
def offered(make_user, make_site, db):
    """A pending proposal of 100 t of fly ash (grade I, ex works 10 yuan/t) from a producer in Lingwu to a
    cement works; nobody has decided yet. Returns (proposal, producer, consumer)."""
    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    psite = make_site(producer.organisation, name="秘密电厂灰库", lat="38.0575", lon="106.6914", park="Ningdong")
    csite = make_site(consumer.organisation, name="秘密水泥厂", lat="38.47", lon="106.28", county="Xingqing")
    supply = listings.create_listing(producer, "supply", {
        "site_id": psite.id, "material": "fly_ash", "grade": "I", "tonnes": 100, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=60), "price_yuan_per_t": "10", "max_haul_km": 300})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": csite.id, "material": "fly_ash", "tonnes": 100, "period_start": today_cst() + timedelta(days=5),
        "period_end": today_cst() + timedelta(days=90), "max_haul_km": 300, "use": "cement"})
    round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
    db.session.commit()
    proposal = next(p for p in round_.proposals if p.supply_listing_id == supply.id)
    return proposal, producer, consumer


@pytest.fixture
def deal(make_user, make_site, db):
    agreement, producer, consumer = make_agreement(make_user, make_site, tonnes=100)
    producer.organisation.contact_name, producer.organisation.contact_phone = "王工", "0951-5551234"
    producer.organisation.contact_email = "wang@plant.example.cn"
    consumer.organisation.contact_name, consumer.organisation.contact_phone = "李经理", "+86 139 0000 1111"
    db.session.commit()
    return agreement, producer, consumer


# --- proposals: the terms before accepting ------------------------------------------------------------------

def test_a_proposal_shows_its_terms_and_commitment_before_the_party_accepts(offered, client, db):
    proposal, producer, consumer = offered
    login(client, consumer)
    english(client)
    listed = client.get("/match/proposals/?status=pending").get_data(as_text=True)
    # the list no longer accepts in one click: "Accept" opens the terms
    assert re.search(rf'href="/match/proposals/{proposal.id}"[^>]*id="accept-{proposal.id}"', listed)
    assert 'value="accept"' not in listed
    row = listed[listed.index(f'id="proposal-{proposal.id}"'):]
    assert "Lingwu" in row[:row.index("</tr>")]  # the counterpart's county
    assert f"{proposal.delivered_price_yuan_per_t * 100:,.2f}" in row[:row.index("</tr>")]  # delivered, in total

    page = client.get(f"/match/proposals/{proposal.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    terms = html[html.index('id="proposal-terms"'):]
    assert "Lingwu" in terms and "Yinchuan" in terms  # the producer's county and city
    assert "Fly ash" in terms and "grade I" in terms and "Cement" in terms and "100 t" in terms
    # the period an agreement would take: the overlap of both listings
    assert f"{today_cst() + timedelta(days=5)} — {today_cst() + timedelta(days=60)}" in terms
    delivered = proposal.delivered_price_yuan_per_t * 100
    assert re.search(r'id="total-ex-works">1,000.00<', html)
    assert f'id="total-delivered">{delivered:,.2f}<' in html
    assert f'id="total-transport">{proposal.transport_cost_yuan_per_t * 100:,.2f}<' in html
    commitment = html[html.index('id="commitment"'):]
    assert "commits to take 100 t of Fly ash from the producer in Yinchuan · Lingwu" in commitment
    assert f"{proposal.delivered_price_yuan_per_t} yuan/t delivered ({delivered:,.2f} yuan in all" in commitment
    assert "cannot be taken back" in commitment and "holds these tonnes for at most 4 hours" in commitment
    assert 'id="confirm-accept"' in commitment
    # the producer's name and exact site stay hidden until an agreement
    assert producer.organisation.name not in html and "秘密电厂灰库" not in html


def test_the_producer_reads_its_own_commitment_and_after_both_accept_sees_the_name(offered, client, db):
    proposal, producer, consumer = offered
    proposals.decide(consumer, proposal.id, "accept")
    db.session.commit()
    login(client, producer)
    english(client)
    html = client.get(f"/match/proposals/{proposal.id}").get_data(as_text=True)
    assert "commits to deliver 100 t of Fly ash to the utiliser in Yinchuan · Xingqing" in html
    assert "10.00 yuan/t ex works (1,000.00 yuan in all)" in html
    assert "already accepted: your acceptance makes the agreement at once" in html
    assert consumer.organisation.name not in html and "秘密水泥厂" not in html
    assert post_form(client, f"/match/proposals/{proposal.id}/decide", {"decision": "accept"},
                     page=f"/match/proposals/{proposal.id}").status_code == 302
    html = client.get(f"/match/proposals/{proposal.id}").get_data(as_text=True)
    assert consumer.organisation.name in html and "秘密水泥厂" in html and 'id="confirm-accept"' not in html


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_another_firm_cannot_read_a_proposal(offered, make_user, client, kind):
    proposal, _, _ = offered
    login(client, make_user(kind=kind))
    assert client.get(f"/match/proposals/{proposal.id}").status_code == 404


@pytest.mark.parametrize("kind", ["regulator", "operator"])
def test_staff_read_both_sides_of_a_proposal_but_do_not_decide_on_it(offered, make_user, client, kind):
    proposal, producer, consumer = offered
    login(client, make_user(kind=kind))
    html = client.get(f"/match/proposals/{proposal.id}").get_data(as_text=True)
    assert 'id="counterpart-producer"' in html and 'id="counterpart-consumer"' in html
    assert producer.organisation.name in html and consumer.organisation.name in html
    assert 'id="confirm-accept"' not in html and 'id="commitment"' not in html


# --- contacts -------------------------------------------------------------------------------------------

def test_an_administrator_sets_the_contact_and_it_is_audited(logged_in, db):
    client, user = logged_in(kind="producer")
    page = "/org/contact"
    assert 'type="tel"' in client.get(page).get_data(as_text=True)
    r = post_form(client, page, {"contact_name": "王工", "contact_phone": "0951-555 1234",
                                 "contact_email": "wang@plant.example.cn"}, page=page)
    assert r.status_code == 302
    db.session.refresh(user.organisation)
    assert (user.organisation.contact_name, user.organisation.contact_phone, user.organisation.contact_email) == (
        "王工", "0951-555 1234", "wang@plant.example.cn")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisation.contact"))
    assert entry.details["to"]["phone"] == "0951-555 1234" and entry.details["from"]["phone"] is None
    assert "0951-555 1234" in client.get("/org/").get_data(as_text=True)


@pytest.mark.parametrize("field, value", [
    ("contact_phone", "call me maybe"),
    ("contact_phone", "1" * 41),
    ("contact_email", "not-an-address"),
    ("contact_name", "王" * 10_000),
    ("contact_name", "王工\x07"),
    ("contact_name", "王工\nline two"),
])
def test_a_bad_contact_is_a_form_error_that_keeps_the_input(logged_in, db, field, value):
    client, user = logged_in(kind="consumer")
    data = {"contact_name": "李经理", "contact_phone": "0951-5551234", "contact_email": "li@cement.example.cn",
            field: value}
    r = post_form(client, "/org/contact", data, page="/org/contact")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'class="error"' in html
    kept = {k: v for k, v in data.items() if "\x07" not in v and "\n" not in v}  # what an input can hold
    for typed in kept.values():
        assert f'value="{typed}"' in html, typed[:20]  # kept as typed
    db.session.refresh(user.organisation)
    assert user.organisation.contact_name is None


def test_a_member_cannot_change_the_contact(logged_in):
    client, _ = logged_in(kind="producer", role="member")
    assert client.get("/org/contact").status_code == 403
    assert post_form(client, "/org/contact", {"contact_name": "x"}).status_code == 403


# --- the agreement page ------------------------------------------------------------------------------------

def test_both_parties_see_each_others_contact_on_the_agreement(deal, app, db):
    agreement, producer, consumer = deal
    for user in (producer, consumer):
        client = app.test_client()
        login(client, user)
        html = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
        assert "王工" in html and 'href="tel:0951-5551234"' in html and "mailto:wang@plant.example.cn" in html
        assert "李经理" in html and 'href="tel:+8613900001111"' in html


def test_a_contact_is_not_shown_before_an_agreement(offered, client, db):
    proposal, producer, consumer = offered
    producer.organisation.contact_name, producer.organisation.contact_phone = "王工", "0951-5551234"
    db.session.commit()
    login(client, consumer)
    for url in (f"/match/proposals/{proposal.id}", f"/listings/supply/{proposal.supply_listing_id}",
                "/match/proposals/"):
        html = client.get(url).get_data(as_text=True)
        assert "王工" not in html and "0951-5551234" not in html, url


def ship(db, deal, n, net=25_000, confirm=True):
    agreement, producer, consumer = deal
    shipment = deliveries.record_shipment(producer, agreement.id, ticket(n, gross=15_000 + net, tare=15_000))
    if confirm:
        deliveries.confirm_shipment(consumer, shipment.id, net)
    db.session.commit()
    return shipment


def test_the_agreement_page_shows_delivery_progress_against_the_agreed_tonnes(deal, client, db, make_user):
    agreement, producer, _ = deal
    ship(db, deal, 1)
    ship(db, deal, 2, confirm=False)
    login(client, producer)
    html = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    assert '<progress id="progress-shipped" max="1" value="0.5000">' in html
    assert '<progress id="progress-confirmed" max="1" value="0.2500">' in html
    assert 'id="agreed-kg">100,000<' in html and 'id="remaining-kg">50,000<' in html
    assert 'id="shipped-kg">50,000 kg<' in html and 'id="confirmed-kg">25,000 kg<' in html
    # a reversed receipt no longer counts as confirmed
    entry = db.session.scalar(select(LedgerEntry))
    corrections.reverse_entry(make_user(kind="regulator"), entry.id, "称重记录有误")
    db.session.commit()
    html = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    assert 'id="confirmed-kg">0 kg<' in html and 'value="0.0000"' in html


@pytest.mark.parametrize("who", ["producer", "consumer", "regulator", "operator"])
def test_the_printable_agreement_for_each_party_and_staff(deal, client, make_user, who, tmp_path):
    agreement, producer, consumer = deal
    user = {"producer": producer, "consumer": consumer}.get(who) or make_user(kind=who)
    login(client, user)
    r = client.get(f"/deliveries/agreements/{agreement.id}/agreement.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert f"agreement-{agreement.id}.pdf" in r.headers["Content-Disposition"]
    text = pdf_text(r.data, tmp_path)
    assert "一般工业固体废物综合利用协议" in text  # Chinese, embedded (pdftotext reads it back)
    for expected in (producer.organisation.name, consumer.organisation.name, producer.organisation.credit_code,
                     "王工", "0951-5551234", "wang@plant.example.cn", "李经理", "100 t",
                     f"/deliveries/agreements/{agreement.id}/tickets/new"):
        assert expected in text, expected


def test_the_printable_agreement_embeds_a_chinese_font(deal, client, tmp_path):
    import subprocess

    agreement, producer, _ = deal
    login(client, producer)
    path = tmp_path / "a.pdf"
    path.write_bytes(client.get(f"/deliveries/agreements/{agreement.id}/agreement.pdf").data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"WenQuanYi|Noto\S*CJK|NotoSans\S*SC", fonts), fonts


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_another_firm_cannot_fetch_the_pdf_qr_or_ticket_pages(deal, client, make_user, kind):
    agreement, _, _ = deal
    shipment = ship(_db, deal, 1, confirm=False)
    login(client, make_user(kind=kind))
    for url in (f"/deliveries/agreements/{agreement.id}/agreement.pdf",
                f"/deliveries/agreements/{agreement.id}/ticket-qr.svg",
                f"/deliveries/agreements/{agreement.id}/tickets/new",
                f"/deliveries/shipments/{shipment.id}/confirm",
                f"/deliveries/shipments/{shipment.id}/confirm-qr.svg"):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(deal, client):
    agreement, _, _ = deal
    for url in (f"/deliveries/agreements/{agreement.id}/agreement.pdf",
                f"/deliveries/agreements/{agreement.id}/ticket-qr.svg",
                f"/deliveries/agreements/{agreement.id}/tickets/new"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"], url


# --- QR codes ---------------------------------------------------------------------------------------------------

def qr_url(svg: bytes) -> str:
    """The URL a QR code leads to: its <title>, checked against the code's modules (segno draws the same
    path for that URL, so the picture encodes exactly this text)."""
    text = svg.decode()
    url = re.search(r"<title>([^<]+)</title>", text).group(1)
    expected = segno.make(url, error="m").svg_inline(scale=6, border=2)
    assert re.search(r' d="([^"]+)"', text).group(1) == re.search(r' d="([^"]+)"', expected).group(1)
    return url


def test_the_agreement_qr_opens_the_ticket_form_on_the_configured_host(deal, client, app, db):
    agreement, producer, _ = deal
    login(client, producer)
    r = client.get(f"/deliveries/agreements/{agreement.id}/ticket-qr.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert b"<script" not in r.data and b"style=" not in r.data
    assert qr_url(r.data) == f"http://localhost/deliveries/agreements/{agreement.id}/tickets/new"
    app.config["PUBLIC_BASE_URL"] = "https://gufei.nx.example.cn/"
    try:
        url = qr_url(client.get(f"/deliveries/agreements/{agreement.id}/ticket-qr.svg").data)
    finally:
        app.config["PUBLIC_BASE_URL"] = ""
    assert url == f"https://gufei.nx.example.cn/deliveries/agreements/{agreement.id}/tickets/new"
    page = client.get(f"/match/agreements/{agreement.id}").get_data(as_text=True)
    assert f'src="/deliveries/agreements/{agreement.id}/ticket-qr.svg"' in page


def test_a_ticket_entered_and_confirmed_by_following_the_qr_links(deal, app, db):
    agreement, producer, consumer = deal
    clerk, gate = app.test_client(), app.test_client()
    login(clerk, producer)
    login(gate, consumer)
    form_url = qr_url(clerk.get(f"/deliveries/agreements/{agreement.id}/ticket-qr.svg").data)
    path = form_url.removeprefix("http://localhost")
    html = clerk.get(path).get_data(as_text=True)
    assert 'inputmode="numeric"' in html and 'id="ticket-form"' in html
    data = ticket(7)
    data["dispatched_at"] = data["dispatched_at"][:16]
    assert post_form(clerk, path, data, page=path).status_code == 302
    shipment = db.session.scalar(select(Shipment).where(Shipment.ticket_no == "T00007"))
    assert shipment.net_kg == 25_000

    # the utiliser cannot use the ticket form; the clerk cannot confirm
    assert gate.get(path).status_code == 403
    confirm_url = qr_url(gate.get(f"/deliveries/shipments/{shipment.id}/confirm-qr.svg").data)
    confirm = confirm_url.removeprefix("http://localhost")
    assert confirm == f"/deliveries/shipments/{shipment.id}/confirm"
    assert clerk.get(confirm).status_code == 403
    html = gate.get(confirm).get_data(as_text=True)
    assert 'inputmode="numeric"' in html and 'value="25000"' in html and "T00007" in html
    r = post_form(gate, confirm, {"received_net_kg": "24980", "page": "confirm"}, page=confirm)
    assert r.status_code == 302
    db.session.refresh(shipment)
    assert shipment.received_net_kg == 24_980
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert 'id="already-confirmed"' in gate.get(confirm).get_data(as_text=True)


@pytest.mark.parametrize("value", ["abc", "-5", "1" * 10_000, "25000\x00"])
def test_a_bad_receipt_on_the_phone_page_is_a_form_error_that_keeps_the_input(deal, client, db, value):
    _, _, consumer = deal
    shipment = ship(db, deal, 1, confirm=False)
    login(client, consumer)
    page = f"/deliveries/shipments/{shipment.id}/confirm"
    r = post_form(client, page, {"received_net_kg": value, "page": "confirm"}, page=page)
    assert r.status_code in (400, 422)
    if r.status_code == 422:
        html = r.get_data(as_text=True)
        assert 'class="error"' in html and 'id="confirm-form"' in html
    db.session.refresh(shipment)
    assert shipment.received_net_kg is None


@pytest.mark.parametrize("field, value", [("gross_kg", "abc"), ("tare_kg", "99999999"),
                                          ("truck_plate", "宁A" + "1" * 5000), ("ticket_no", "T1\x07")])
def test_a_bad_ticket_on_the_phone_page_is_a_form_error_that_keeps_the_input(deal, client, db, field, value):
    agreement, producer, _ = deal
    login(client, producer)
    page = f"/deliveries/agreements/{agreement.id}/tickets/new"
    data = ticket(1)
    data["dispatched_at"] = data["dispatched_at"][:16]
    data[field] = value
    r = post_form(client, page, data, page=page)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'class="error"' in html and 'id="ticket-form"' in html
    if "\x07" not in value:
        assert f'value="{value}"' in html  # kept as typed
    assert db.session.scalar(select(func.count(Shipment.id))) == 0


# --- reversals: a confirmation step with the reason -----------------------------------------------------------

@pytest.fixture
def entry(deal, db):
    ship(db, deal, 1)
    return db.session.scalar(select(LedgerEntry))


@pytest.mark.parametrize("reason", ["", "   ", "x" * 10_000, "重复磅单\x07", "重复\x00磅单"])
def test_a_reversal_without_a_proper_reason_is_refused_and_nothing_is_reversed(entry, make_user, client, db, reason):
    login(client, make_user(kind="regulator"))
    page = f"/deliveries/ledger/{entry.id}/reverse"
    r = post_form(client, page, {"reason": reason}, page=page)
    assert r.status_code in (400, 422)
    if r.status_code == 422:
        assert 'class="error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1


def test_a_reversal_asks_first_then_stores_and_audits_the_reason(entry, make_user, client, db):
    regulator = make_user(kind="regulator")
    login(client, regulator)
    english(client)
    ledger = client.get("/deliveries/ledger").get_data(as_text=True)
    assert f'href="/deliveries/ledger/{entry.id}/reverse"' in ledger  # a link to the confirmation, not a POST
    page = client.get(f"/deliveries/ledger/{entry.id}/reverse").get_data(as_text=True)
    assert entry.ticket_no in page and 'name="reason"' in page and "25.000" in page
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1  # the GET asked, it did nothing
    r = client.post(f"/deliveries/ledger/{entry.id}/reverse", data={"reason": "重复磅单"})  # no CSRF token
    assert r.status_code == 400
    r = post_form(client, f"/deliveries/ledger/{entry.id}/reverse", {"reason": "重复磅单"},
                  page=f"/deliveries/ledger/{entry.id}/reverse")
    assert r.status_code == 302
    reversal = db.session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == entry.id))
    assert reversal.reason == "重复磅单" and reversal.net_kg == -entry.net_kg
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.reverse"))
    assert audit.details["reason"] == "重复磅单" and audit.actor_id == regulator.id


@pytest.mark.parametrize("who", ["producer", "consumer"])
def test_the_reverse_button_only_where_the_user_may_reverse(entry, deal, client, who):
    _, producer, consumer = deal
    login(client, producer if who == "producer" else consumer)
    ledger = client.get("/deliveries/ledger").get_data(as_text=True)
    assert f"#entry-{entry.seq}" in ledger or f'id="entry-{entry.seq}"' in ledger
    assert "/reverse" not in ledger
    assert client.get(f"/deliveries/ledger/{entry.id}/reverse").status_code == 403
    assert post_form(client, f"/deliveries/ledger/{entry.id}/reverse", {"reason": "mine"}).status_code == 403


def test_the_ticket_form_asks_for_the_number_pad(deal, client):
    agreement, producer, _ = deal
    login(client, producer)
    for url in (f"/match/agreements/{agreement.id}", f"/deliveries/agreements/{agreement.id}/tickets/new"):
        html = client.get(url).get_data(as_text=True)
        for name, mode in (("gross_kg", "numeric"), ("tare_kg", "numeric"), ("moisture_pct", "decimal")):
            tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
            assert f'inputmode="{mode}"' in tag, (url, tag)


"""Notifications: made in the transaction of each event, shown to their user alone, marked read by POST only,
counted in the menu, and e-mailed through a configured SMTP server (a local aiosmtpd one here) after commit."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import today_cst, utcnow
from marketplace.models import Baseline, BaselineStatus, ClaimStatus, Notification, NotificationKind, SubsidyClaim, User
from tests.web.conftest import login, post_form
from tests.web.deals import make_agreement

DEMO_PASSWORD = "demo-pass-2026"


def kinds_of(db, user) -> list[str]:
    return [n.kind.value for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                                     .order_by(Notification.id))]


def ticket(app, agreement, producer, no="T-1", gross=40_000, tare=15_000):
    """The producer records a ticket, in a client of its own."""
    client = app.test_client()
    login(client, producer)
    at = (utcnow() + timedelta(hours=8) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    response = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", {
        "ticket_no": no, "truck_plate": "宁A12345", "dispatched_at": at, "gross_kg": str(gross),
        "tare_kg": str(tare), "moisture_pct": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


# --- each event notifies ---------------------------------------------------------------------------------

def test_a_round_and_an_agreement_notify_both_parties(db, make_user, make_site):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    for user in (producer, consumer):
        assert kinds_of(db, user) == ["proposals_new", "agreement_concluded"]
    new = db.session.scalar(select(Notification).where(Notification.user_id == producer.id,
                                                       Notification.kind == NotificationKind.PROPOSALS_NEW))
    assert new.details["count"] == 1 and new.target_type == "match_round"
    done = db.session.scalar(select(Notification).where(Notification.user_id == consumer.id,
                                                        Notification.kind == NotificationKind.AGREEMENT_CONCLUDED))
    assert (done.target_type, done.target_id, done.details["tonnes"]) == ("agreement", agreement.id, 100)


def test_a_colleague_of_the_firm_gets_their_own_notification(db, make_user, make_site):
    consumer = make_user(kind="consumer")
    colleague = make_user(org=consumer.organisation, role="member")
    make_agreement(make_user, make_site, consumer=consumer)
    assert kinds_of(db, colleague) == ["proposals_new", "agreement_concluded"]


def test_a_ticket_asks_the_utiliser_to_confirm_and_a_flagged_receipt_tells_both(db, client, make_user, make_site):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    ticket(client.application, agreement, producer)
    assert kinds_of(db, consumer)[-1] == "ticket_to_confirm"
    assert kinds_of(db, producer)[-1] == "agreement_concluded"  # the producer weighed it: nothing to tell it
    shipment_id = db.session.scalar(select(Notification.target_id).where(
        Notification.user_id == consumer.id, Notification.kind == NotificationKind.TICKET_TO_CONFIRM))
    login(client, consumer)
    response = post_form(client, f"/deliveries/shipments/{shipment_id}/confirm", {"received_net_kg": "20000"})
    assert response.status_code == 302
    for user in (producer, consumer):  # 20 t received of 25 t weighed out: beyond the 2 % tolerance
        flagged = db.session.scalar(select(Notification).where(Notification.user_id == user.id,
                                                               Notification.kind == NotificationKind.RECEIPT_FLAGGED))
        assert flagged is not None and flagged.details["flags"] == ["receipt_difference"]


def test_a_receipt_within_tolerance_notifies_nobody(db, client, make_user, make_site):
    agreement, producer, consumer = make_agreement(make_user, make_site)
    ticket(client.application, agreement, producer)
    shipment_id = db.session.scalar(select(Notification.target_id).where(Notification.user_id == consumer.id,
                                                                        Notification.kind == "ticket_to_confirm"))
    login(client, consumer)
    assert post_form(client, f"/deliveries/shipments/{shipment_id}/confirm",
                     {"received_net_kg": "25000"}).status_code == 302
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "receipt_flagged")) == 0


def test_a_refused_ticket_leaves_no_notification(db, client, make_user, make_site):
    """The notification is part of the event's transaction: a refused ticket (tare above gross) makes none."""
    agreement, producer, consumer = make_agreement(make_user, make_site)
    login(client, producer)
    response = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", {
        "ticket_no": "T-9", "truck_plate": "宁A12345", "dispatched_at": "2026-01-01 08:00", "gross_kg": "1000",
        "tare_kg": "2000", "moisture_pct": ""})
    assert response.status_code == 422
    assert "ticket_to_confirm" not in kinds_of(db, consumer)


@pytest.mark.parametrize("decision, kind", [("approve", "baseline_approved"), ("reject", "baseline_rejected")])
def test_a_baseline_decision_notifies_the_utiliser(demo, db, client, decision, kind):
    baseline = db.session.scalar(select(Baseline).where(Baseline.status == BaselineStatus.PENDING).limit(1))
    regulator = db.session.scalar(select(User).where(User.email == "regulator@example.com"))
    members = list(db.session.scalars(select(User).where(User.organisation_id == baseline.organisation_id)))
    login(client, regulator, DEMO_PASSWORD)
    response = post_form(client, f"/subsidies/baselines/{baseline.id}/review",
                         {"decision": decision, "reason": "证据不足" if decision == "reject" else ""})
    assert response.status_code == 302
    for member in members:
        n = db.session.scalar(select(Notification).where(Notification.user_id == member.id,
                                                         Notification.kind == kind))
        assert n is not None and n.details["year"] == baseline.year


@pytest.mark.parametrize("decision, kind", [("approve", "claim_approved"), ("reject", "claim_rejected")])
def test_a_claim_decision_notifies_the_utiliser(demo, db, client, decision, kind):
    claim = db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.SUBMITTED).limit(1))
    if claim is None:  # the demo leaves its claims decided: submit a prepared draft
        claim = db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.DRAFT).limit(1))
        assert claim is not None, "the demo has no claim to review"
        claim.status = ClaimStatus.SUBMITTED
        db.session.commit()
    regulator = db.session.scalar(select(User).where(User.email == "regulator@example.com"))
    login(client, regulator, DEMO_PASSWORD)
    response = post_form(client, f"/subsidies/claims/{claim.id}/review",
                         {"decision": decision, "reason": "磅单不全" if decision == "reject" else ""})
    assert response.status_code == 302
    n = db.session.scalar(select(Notification).where(Notification.kind == kind, Notification.target_id == claim.id))
    assert n is not None and n.organisation_id == claim.organisation_id


# --- the list, marking read, the menu count --------------------------------------------------------------

def test_the_list_shows_words_not_codes_and_reading_it_marks_nothing(db, client, make_user, make_site):
    agreement, _producer, consumer = make_agreement(make_user, make_site)
    login(client, consumer)
    html = client.get("/notifications/").get_data(as_text=True)
    assert f"Agreement {agreement.id}" in html or f"协议 {agreement.id}" in html or str(agreement.id) in html
    assert "agreement_concluded" not in html and "proposals_new" not in html and "fly_ash" not in html
    assert "粉煤灰" in html  # the material by its name, in the page's language (Chinese by default)
    assert re.search(r'id="unread-count">2<', html)
    client.get("/notifications/?unread=1")
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == consumer.id,
                                                                       Notification.read_at.is_(None))) == 2


def test_the_menus_two_badges_are_one_statement(db, client, make_user, make_site):
    """Every page's menu counts the proposals awaiting the firm's decision and the unread notifications: one
    statement for both, once a request (web.menu_counts), whatever the page asks."""
    from tests.web.test_scale import statements

    _agreement, _producer, consumer = make_agreement(make_user, make_site)
    login(client, consumer)
    with statements(db) as sent:
        html = client.get("/notifications/").get_data(as_text=True)
    assert re.search(r'id="unread-count">2<', html) and 'id="pending-count"' not in html
    counting = [s for s in sent if "FROM notification" in s and "read_at IS NULL" in s]
    assert len(counting) == 1 and "FROM proposal" in counting[0]
    assert not [s for s in sent if "FROM proposal" in s and s not in counting]


def test_mark_one_read_and_then_all(db, client, make_user, make_site):
    _agreement, producer, consumer = make_agreement(make_user, make_site)
    first, _second = db.session.scalars(select(Notification.id).where(Notification.user_id == consumer.id)
                                       .order_by(Notification.id)).all()
    login(client, consumer)
    assert post_form(client, f"/notifications/{first}/read", {}).status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'id="unread-count">1<', html)
    assert post_form(client, "/notifications/read-all", {}).status_code == 302
    assert 'id="unread-count"' not in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == consumer.id,
                                                                       Notification.read_at.is_(None))) == 0
    # the producer's own notifications are untouched by the consumer's "mark all read"
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == producer.id,
                                                                       Notification.read_at.is_(None))) == 2


def test_another_firm_cannot_see_or_mark_a_notification(db, client, make_user, make_site):
    _agreement, _producer, consumer = make_agreement(make_user, make_site)
    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == consumer.id).limit(1))
    outsider = make_user(kind="consumer")
    login(client, outsider)
    assert post_form(client, f"/notifications/{theirs}/read", {}).status_code == 404
    assert post_form(client, "/notifications/999999/read", {}).status_code == 404
    html = client.get("/notifications/").get_data(as_text=True)
    assert f'id="notification-{theirs}"' not in html
    assert db.session.get(Notification, theirs).read_at is None


def test_marking_read_needs_the_csrf_token_and_a_post(db, client, make_user, make_site):
    _agreement, _producer, consumer = make_agreement(make_user, make_site)
    mine = db.session.scalar(select(Notification.id).where(Notification.user_id == consumer.id).limit(1))
    login(client, consumer)
    assert client.post(f"/notifications/{mine}/read", data={}).status_code == 400
    assert client.get(f"/notifications/{mine}/read").status_code == 405
    assert client.post("/notifications/read-all", data={"csrf_token": "forged"}).status_code == 400
    assert db.session.get(Notification, mine).read_at is None


def test_the_list_needs_a_login_and_refuses_a_bad_page(client, logged_in):
    assert client.get("/notifications/").status_code == 302
    logged_in(kind="consumer")
    assert client.get("/notifications/?page=abc").status_code == 400
    assert client.get("/notifications/?page=50").status_code == 200  # past the end: the last page


def test_the_list_is_paged(db, client, logged_in):
    from marketplace.services.notifications import PER_PAGE

    client, user = logged_in(kind="consumer")
    db.session.add_all([Notification(user_id=user.id, organisation_id=user.organisation_id,
                                     kind=NotificationKind.BASELINE_APPROVED, target_type="baseline", target_id=i,
                                     details={"year": 2018}) for i in range(PER_PAGE + 5)])
    db.session.commit()
    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert first.count('class="notification ') == PER_PAGE and second.count('class="notification ') == 5


def test_email_settings_are_the_users_own(db, client, logged_in):
    client, user = logged_in(kind="consumer")
    assert post_form(client, "/notifications/settings", {"locale": "en"}).status_code == 302
    db.session.refresh(user)
    assert (user.email_notifications, user.locale) == (False, "en")
    assert post_form(client, "/notifications/settings", {"locale": "xx", "email_notifications": "y"}).status_code == 302
    db.session.refresh(user)
    assert (user.email_notifications, user.locale) == (False, "en")  # a language not offered changes nothing


# --- e-mail ----------------------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    """A local SMTP server (aiosmtpd) on a free port, keeping what it receives."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture
def smtp(app, smtp_server):
    port, received = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none", SMTP_FROM="noreply@exchange.example")
    yield received
    app.config.update(SMTP_HOST="", SMTP_PORT=25, SMTP_TLS="starttls", SMTP_FROM="")


def decode_subject(message) -> str:
    from email.header import decode_header, make_header

    return re.sub(r"\r?\n[ \t]+", " ", str(make_header(decode_header(message["Subject"]))))  # unfolded


def test_email_is_off_by_default(app, db, make_user, make_site, smtp_server):
    assert app.config["SMTP_HOST"] == ""
    make_agreement(make_user, make_site)
    assert smtp_server[1] == []
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.emailed_at.is_not(None))) == 0


def test_each_user_gets_an_email_in_their_language_after_commit(app, db, make_user, make_site, smtp):
    consumer = make_user(kind="consumer")
    consumer.locale = "en"
    colleague = make_user(org=consumer.organisation, role="member")  # no language chosen: the default, Chinese
    quiet = make_user(org=consumer.organisation, role="member")
    quiet.email_notifications = False
    db.session.commit()
    agreement, producer, _ = make_agreement(make_user, make_site, consumer=consumer)
    to_consumer = [m for m in smtp if m["To"] == consumer.email]
    subjects = [decode_subject(m) for m in to_consumer]
    assert any(f"Agreement {agreement.id} concluded: 100 t of Fly ash" in s for s in subjects), subjects
    zh = [decode_subject(m) for m in smtp if m["To"] == colleague.email]
    # (the new sentences are translated after the merge; the site's name and the material's already are)
    assert all(s.startswith("[Ningxia Industrial Solid Waste Exchange]") for s in subjects), subjects
    assert zh and all(s.startswith("[宁夏工业固废交易平台]") for s in zh) and any("粉煤灰" in s for s in zh), zh
    assert not [m for m in smtp if m["To"] == quiet.email]
    assert any(m["To"] == producer.email for m in smtp)
    assert all(m["From"] == "noreply@exchange.example" for m in smtp)
    sent = db.session.scalar(select(func.count(Notification.id)).where(Notification.emailed_at.is_not(None)))
    assert sent == len(smtp)


def test_a_rolled_back_event_sends_no_email(app, db, client, make_user, make_site, smtp):
    agreement, producer, _consumer = make_agreement(make_user, make_site)
    before = len(smtp)
    login(client, producer)
    post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", {
        "ticket_no": "T-9", "truck_plate": "宁A12345", "dispatched_at": "2026-01-01 08:00", "gross_kg": "1000",
        "tare_kg": "2000", "moisture_pct": ""})
    assert len(smtp) == before


def test_an_unreachable_server_loses_no_notification(app, db, make_user, make_site):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9, SMTP_TLS="none")  # nothing listens on the discard port
    try:
        _agreement, _producer, consumer = make_agreement(make_user, make_site)
    finally:
        app.config.update(SMTP_HOST="", SMTP_PORT=25, SMTP_TLS="starttls")
    assert kinds_of(db, consumer) == ["proposals_new", "agreement_concluded"]
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.emailed_at.is_not(None))) == 0


def test_the_demo_starts_with_only_the_trucks_on_their_way_unread(demo, db):
    """The demo's history is seeded at once: its notices are read, but for the tickets still waiting for their
    receipt, which the utilisers' menus count."""
    from marketplace.models import Shipment, ShipmentStatus

    unread = db.session.scalars(select(Notification).where(Notification.read_at.is_(None))).all()
    waiting = set(db.session.scalars(select(Shipment.id).where(Shipment.status == ShipmentStatus.DISPATCHED)))
    assert unread and waiting
    assert {n.kind for n in unread} == {NotificationKind.TICKET_TO_CONFIRM}
    assert {n.target_id for n in unread} == waiting


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/notifications/?unread=1"])
def test_marking_read_goes_back_only_to_a_page_of_this_site(db, client, make_user, make_site, target):
    _agreement, _producer, consumer = make_agreement(make_user, make_site)
    mine = db.session.scalar(select(Notification.id).where(Notification.user_id == consumer.id).limit(1))
    login(client, consumer)
    response = post_form(client, f"/notifications/{mine}/read", {"next": target})
    assert response.status_code == 302
    expected = target if target.startswith("/notifications") else "/notifications/"
    assert response.headers["Location"] == expected


def test_unicode_line_breaks_never_reach_a_one_line_field_and_one_bad_message_never_stops_the_others(
        app, db, make_user, make_site, smtp):
    """A ticket number with U+2028 made the e-mail job crash on its Subject (the review): such text is refused
    where it is typed, and a message that cannot be built is skipped, the next one still sent."""
    from marketplace.errors import ValidationError
    from marketplace.services import deliveries, mail

    agreement, producer, _ = make_agreement(make_user, make_site)
    for separator in ("\u2028", "\u2029", "\x85"):
        with pytest.raises(ValidationError) as refused:
            deliveries.record_shipment(producer, agreement.id, {
                "ticket_no": f"T-1{separator}X", "truck_plate": "宁A12345",
                "dispatched_at": f"{today_cst().isoformat()}T08:00:00", "gross_kg": 40_000, "tare_kg": 15_000})
        assert refused.value.field == "ticket_no"
    db.session.rollback()
    smtp.clear()
    sent = mail.send_all([mail.Message("a@example.com", "bad\u2028subject", "x"),
                          mail.Message("bad\nto@example.com", "fine", "x"),
                          mail.Message("b@example.com", "fine", "y")])
    assert sent[0] is True and sent[1] is False and sent[2] is True  # the subject is made one line
    assert [m["To"] for m in smtp] == ["a@example.com", "b@example.com"]
    assert decode_subject(smtp[0]) == "bad subject"


def test_a_seasonal_round_tells_both_firms_of_their_proposals(app, db, client, make_user, make_site):
    """Seasonal rounds wrote proposals without a notice (the review): now each side hears, as for any round."""
    from datetime import date

    from marketplace.services import listings, rounds

    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    operator = make_user(kind="operator")
    psite, csite = make_site(producer.organisation), make_site(consumer.organisation)
    year = today_cst().year + 1
    listings.create_listing(producer, "supply", {
        "site_id": psite.id, "material": "fly_ash", "grade": "I", "tonnes": 1200, "price_yuan_per_t": "10",
        "max_haul_km": 300, "period_start": date(year, 1, 1), "period_end": date(year, 12, 31)})
    listings.create_listing(consumer, "demand", {
        "site_id": csite.id, "material": "fly_ash", "tonnes": 1200, "max_haul_km": 300,
        "period_start": date(year, 1, 1), "period_end": date(year, 12, 31)})
    db.session.commit()
    round_ = rounds.start_seasonal_round(operator, f"{year}-01", 12, run_now=True)
    db.session.commit()
    assert round_.status == "done" and round_.tonnes_matched > 0
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == NotificationKind.PROPOSALS_NEW)))
    assert {producer.id, consumer.id} <= told

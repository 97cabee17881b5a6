"""Shipments, receipts, the hash-chained ledger, anomaly flags and utilisation figures."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from marketplace.errors import Conflict, PermissionDenied, ValidationError
from marketplace.models import GenerationRecord, LedgerEntry, Material, Shipment
from marketplace.services import corrections, deliveries, ledger
from marketplace.services.generation import CST
from tests.web.conftest import login, post_form
from tests.web.deals import make_agreement
from tests.web.insider import insider

RULES = deliveries.Rules()


def english(message) -> str:
    from flask_babel import force_locale

    with force_locale("en"):
        return str(message)


def ticket(n=1, gross=40_000, tare=15_000, minutes_ago=60, plate="宁A12345", **extra):
    when = (datetime.now(CST) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S")
    return {"ticket_no": f"T{n:05d}", "truck_plate": plate, "dispatched_at": when, "gross_kg": gross,
            "tare_kg": tare, **extra}


@pytest.fixture
def deal(make_user, make_site, db):
    return make_agreement(make_user, make_site, tonnes=100)


def ship_and_confirm(db, deal, n, net=25_000, received=None, **extra):
    agreement, producer, consumer = deal
    shipment = deliveries.record_shipment(producer, agreement.id, ticket(n, gross=15_000 + net, tare=15_000, **extra))
    deliveries.confirm_shipment(consumer, shipment.id, received if received is not None else net)
    db.session.commit()
    return shipment


def test_a_ticket_and_its_receipt_make_one_ledger_entry(deal, db):
    shipment = ship_and_confirm(db, deal, 1, net=25_000, received=24_800)
    entry = db.session.scalar(select(LedgerEntry))
    assert (entry.seq, entry.kind, entry.net_kg, entry.ticket_no) == (1, "utilisation", 24_800, "T00001")
    assert entry.prev_hash == "0" * 64 and len(entry.hash) == 64
    assert ledger.verify_ledger().ok
    assert shipment.status == "confirmed"


def test_weights_are_whole_kilograms_and_net_is_gross_minus_tare(deal, db):
    agreement, producer, _ = deal
    s = deliveries.record_shipment(producer, agreement.id, ticket(gross="40000", tare="15000"))
    assert (s.gross_kg, s.tare_kg, s.net_kg) == (40_000, 15_000, 25_000)
    for bad in ({"gross_kg": "40000.5"}, {"tare_kg": 50_000}, {"gross_kg": -1}, {"gross_kg": 10**9},
                {"truck_plate": "ABC123"}, {"dispatched_at": "yesterday"}, {"moisture_pct": "150"},
                {"ticket_no": ""}):
        with pytest.raises(ValidationError):
            deliveries.record_shipment(producer, agreement.id, {**ticket(9), **bad})


def test_ticket_numbers_are_unique_per_producer(deal, db):
    agreement, producer, _ = deal
    deliveries.record_shipment(producer, agreement.id, ticket(1))
    with pytest.raises(Conflict):
        deliveries.record_shipment(producer, agreement.id, ticket(1))


def test_shipments_past_the_agreements_tonnes_are_refused(deal, db):
    agreement, producer, _ = deal
    for n in range(4):  # 4 x 25 t = the agreed 100 t
        deliveries.record_shipment(producer, agreement.id, ticket(n, gross=40_000, tare=15_000))
    with pytest.raises(Conflict):
        deliveries.record_shipment(producer, agreement.id, ticket(9, gross=15_001, tare=15_000))
    db.session.commit()
    assert db.session.scalar(select(func.count(Shipment.id))) == 4


def test_tickets_in_the_future_or_before_the_agreement_are_refused(deal, db):
    agreement, producer, _ = deal
    with pytest.raises(ValidationError) as future:
        deliveries.record_shipment(producer, agreement.id, ticket(1, minutes_ago=-60))
    assert future.value.field == "dispatched_at" and "future" in english(future.value.message)
    agreement.created_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    with pytest.raises(ValidationError) as early:
        deliveries.record_shipment(producer, agreement.id, ticket(2, minutes_ago=120))
    assert "before the agreement" in english(early.value.message)
    deliveries.record_shipment(producer, agreement.id, ticket(3, minutes_ago=30))  # after it: fine


def test_a_shipment_is_confirmed_once_never_twice(deal, db):
    shipment = ship_and_confirm(db, deal, 1)
    with pytest.raises(Conflict):
        deliveries.confirm_shipment(deal[2], shipment.id, 25_000)
    db.session.rollback()
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1


def test_only_the_parties_record_and_confirm(deal, make_user, db):
    agreement, producer, consumer = deal
    with pytest.raises(PermissionDenied):
        deliveries.record_shipment(consumer, agreement.id, ticket(1))
    shipment = deliveries.record_shipment(producer, agreement.id, ticket(1))
    with pytest.raises(PermissionDenied):
        deliveries.confirm_shipment(producer, shipment.id, 25_000)
    from marketplace.errors import NotFound

    with pytest.raises(NotFound):
        deliveries.confirm_shipment(make_user(kind="consumer"), shipment.id, 25_000)
    with pytest.raises(PermissionDenied):
        deliveries.confirm_shipment(make_user(kind="regulator"), shipment.id, 25_000)


# --- the ledger check ----------------------------------------------------------------------------------

@pytest.fixture
def three_entries(deal, db):
    for n in (1, 2, 3):
        ship_and_confirm(db, deal, n, net=20_000 + n)
    assert ledger.verify_ledger().ok
    return deal


def test_the_check_catches_an_edited_entry(three_entries, db, runner):
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg + 1000 WHERE seq = 2"))
    check = ledger.verify_ledger()
    assert not check.ok and check.first_bad_seq == 2
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "entry 2" in result.output


def test_the_check_catches_a_deleted_entry(three_entries, db, runner):
    with insider(db):
        db.session.execute(text("DELETE FROM ledger_entry WHERE seq = 2"))
    check = ledger.verify_ledger()
    assert not check.ok and check.first_bad_seq == 2


def test_the_check_catches_a_deleted_last_entry(three_entries, db):
    with insider(db):
        db.session.execute(text("DELETE FROM ledger_entry WHERE seq = 3"))
    check = ledger.verify_ledger()
    assert not check.ok and check.first_bad_seq == 3


def test_the_check_catches_two_swapped_entries(three_entries, db):
    rows = {r.seq: r for r in db.session.execute(text("SELECT seq, net_kg, ticket_no FROM ledger_entry"))}
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = :kg, ticket_no = :t WHERE seq = 1"),
                           {"kg": rows[2].net_kg, "t": rows[2].ticket_no})
        db.session.execute(text("UPDATE ledger_entry SET net_kg = :kg, ticket_no = :t WHERE seq = 2"),
                           {"kg": rows[1].net_kg, "t": rows[1].ticket_no})
    check = ledger.verify_ledger()
    assert not check.ok and check.first_bad_seq == 1


def test_an_intact_chain_passes_the_cli(three_entries, runner):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "3 entries" in result.output


def test_a_correction_is_a_reversing_entry(three_entries, make_user, db):
    regulator = make_user(kind="regulator")
    first = db.session.scalar(select(LedgerEntry).where(LedgerEntry.seq == 1))
    with pytest.raises(ValidationError):
        corrections.reverse_entry(regulator, first.id, "")
    reversal = corrections.reverse_entry(regulator, first.id, "称重记录有误")
    db.session.commit()
    assert reversal.seq == 4 and reversal.net_kg == -first.net_kg and reversal.reverses_id == first.id
    assert ledger.verify_ledger().ok
    with pytest.raises(Conflict):
        corrections.reverse_entry(regulator, first.id, "again")
    with pytest.raises(PermissionDenied):
        corrections.reverse_entry(three_entries[1], first.id, "producer tries")


# --- anomaly flags, each side of its threshold -----------------------------------------------------------

def test_payload_flag(deal, db):
    agreement, producer, _ = deal
    at = deliveries.record_shipment(producer, agreement.id, ticket(1, gross=50_000, tare=15_000))  # 35,000 kg
    over = deliveries.record_shipment(producer, agreement.id, ticket(2, gross=50_001, tare=15_000, plate="宁B22222"))
    flags = deliveries.shipment_flags([at, over], RULES)
    assert "over_payload" not in flags.get(at.id, []) and "over_payload" in flags[over.id]


def test_receipt_difference_flag(deal, db):
    inside = ship_and_confirm(db, deal, 1, net=25_000, received=24_500)  # exactly 2 %
    outside = ship_and_confirm(db, deal, 2, net=25_000, received=24_499, plate="宁B22222")
    flags = deliveries.shipment_flags([inside, outside], RULES)
    assert "receipt_difference" not in flags.get(inside.id, []) and "receipt_difference" in flags[outside.id]


def test_same_plate_too_soon_for_the_distance(make_user, make_site, db):
    # two producers 100 km apart (Lingwu/Ningdong and Huinong); one truck cannot be at both within an hour
    near, p1, _c1 = make_agreement(make_user, make_site, tonnes=100)
    far_site = None
    p2 = make_user(kind="producer")
    far_site = make_site(p2.organisation, lat="39.2848", lon="106.7890", county="Huinong")
    far, p2, _c2 = make_agreement(make_user, make_site, tonnes=100, producer=p2, producer_site=far_site)
    a = deliveries.record_shipment(p1, near.id, ticket(1, minutes_ago=60, plate="宁A77777"))
    quick = deliveries.record_shipment(p2, far.id, ticket(2, minutes_ago=30, plate="宁A77777"))
    flags = deliveries.shipment_flags([a, quick], RULES)
    assert "plate_too_fast" in flags[a.id] and "plate_too_fast" in flags[quick.id]
    slow = deliveries.record_shipment(p2, far.id, ticket(3, minutes_ago=60 * 10, plate="宁A88888"))
    b = deliveries.record_shipment(p1, near.id, ticket(4, minutes_ago=60, plate="宁A88888"))
    flags = deliveries.shipment_flags([slow, b], RULES)
    assert "plate_too_fast" not in flags.get(slow.id, []) and "plate_too_fast" not in flags.get(b.id, [])


def test_producer_utilising_more_than_it_declared(deal, db):
    agreement, producer, _ = deal
    site_id = agreement.supply_listing.site_id
    fly_ash = db.session.scalar(select(Material).where(Material.code == "fly_ash"))
    year = datetime.now(CST).year
    db.session.add(GenerationRecord(site_id=site_id, material_id=fly_ash.id, month=date(year, 1, 1),
                                    tonnes_generated=Decimal("50"), tonnes_used_in_house=Decimal(0),
                                    tonnes_stored=Decimal(0)))
    db.session.commit()
    ship_and_confirm(db, deal, 1, net=25_000)
    ship_and_confirm(db, deal, 2, net=25_000)  # 50 t utilised = 50 t declared: not above
    assert producer.organisation_id not in deliveries.producers_over_declared(year)
    ship_and_confirm(db, deal, 3, net=1)  # one kilogram more
    assert producer.organisation_id in deliveries.producers_over_declared(year)


# --- utilisation figures against hand-computed ones --------------------------------------------------------

def test_utilisation_figures(deal, db):
    agreement, producer, _ = deal
    site_id = agreement.supply_listing.site_id
    fly_ash = db.session.scalar(select(Material).where(Material.code == "fly_ash"))
    year = datetime.now(CST).year
    for month, gen, in_house, stored in ((1, "1000", "100", "600"), (2, "500.5", "0", "200")):
        db.session.add(GenerationRecord(site_id=site_id, material_id=fly_ash.id, month=date(year, month, 1),
                                        tonnes_generated=Decimal(gen), tonnes_used_in_house=Decimal(in_house),
                                        tonnes_stored=Decimal(stored)))
    db.session.commit()
    ship_and_confirm(db, deal, 1, net=30_000, received=29_950)  # counts 29.950 t
    ship_and_confirm(db, deal, 2, net=20_500)
    rows = {r["group"]: r for r in deliveries.utilisation(year, "material")}
    row = rows["fly_ash"]
    assert row["generated_t"] == "1500.500" and row["used_in_house_t"] == "100.000"
    assert row["utilised_platform_t"] == "50.450" and row["stored_t"] == "800.000"
    # (1500.5 - 800) / 1500.5 = 0.46684...; 50.45 / 1500.5 = 0.03362...
    assert row["utilisation_rate"] == "0.4668" and row["platform_share"] == "0.0336"
    by_region = {r["group"]: r for r in deliveries.utilisation(year, "region")}
    assert by_region["Lingwu"]["utilised_platform_t"] == "50.450"
    by_park = {r["group"]: r for r in deliveries.utilisation(year, "park")}
    assert by_park["Ningdong"]["generated_t"] == "1500.500"
    by_org = {r["group"]: r for r in deliveries.utilisation(year, "organisation")}
    assert by_org[producer.organisation.name]["utilised_platform_t"] == "50.450"
    with pytest.raises(ValidationError):
        deliveries.utilisation(year, "planet")


# --- through the API ---------------------------------------------------------------------------------------

def token(client, user):
    from tests.web.conftest import token_request

    r = client.post("/api/v1/auth/token", json=token_request(user))
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_weighbridge_system_through_the_api(deal, client, make_user, db):
    agreement, producer, consumer = deal
    p, c = token(client, producer), token(client, consumer)
    r = client.post(f"/api/v1/agreements/{agreement.id}/shipments", json=ticket(1), headers=p)
    assert r.status_code == 201, r.get_json()
    shipment_id = r.get_json()["id"]
    r = client.post(f"/api/v1/agreements/{agreement.id}/shipments", json=ticket(2, gross=10**6), headers=p)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "gross_kg"
    r = client.post(f"/api/v1/shipments/{shipment_id}/confirm", json={"received_net_kg": 24_000}, headers=c)
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"
    assert "receipt_difference" in r.get_json()["flags"]
    assert client.post(f"/api/v1/shipments/{shipment_id}/confirm", json={"received_net_kg": 1},
                       headers=c).status_code == 409
    ledger = client.get("/api/v1/ledger", headers=c).get_json()
    assert ledger["total"] == 1 and ledger["items"][0]["net_kg"] == 24_000
    stranger = token(client, make_user(kind="consumer"))
    assert client.get("/api/v1/ledger", headers=stranger).get_json()["total"] == 0
    assert client.get(f"/api/v1/shipments/{shipment_id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/utilisation", headers=c).status_code == 403
    regulator = token(client, make_user(kind="regulator"))
    r = client.get(f"/api/v1/utilisation?year={datetime.now(CST).year}&group_by=organisation", headers=regulator)
    assert r.status_code == 200 and r.get_json()["items"][0]["utilised_platform_t"] == "24.000"
    assert client.get("/api/v1/utilisation?group_by=planet", headers=regulator).status_code == 422


def test_shipment_form_and_receipt_through_the_pages(deal, client, db):
    agreement, producer, consumer = deal
    login(client, producer)
    page = f"/match/agreements/{agreement.id}"
    data = ticket(1)
    data["dispatched_at"] = data["dispatched_at"][:16]
    r = post_form(client, f"/deliveries/agreements/{agreement.id}/shipments", data, page=page)
    assert r.status_code == 302
    shipment = db.session.scalar(select(Shipment))
    other = client.application.test_client()
    login(other, consumer)
    r = post_form(other, f"/deliveries/shipments/{shipment.id}/confirm", {"received_net_kg": "25000"}, page=page)
    assert r.status_code == 302
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert post_form(client, f"/deliveries/shipments/{shipment.id}/confirm", {"received_net_kg": "1"},
                     page=page).status_code == 403


def test_ticket_import_all_or_nothing(deal, client, db):
    import io

    agreement, producer, _ = deal
    login(client, producer)
    page = f"/match/agreements/{agreement.id}"
    good, bad = ticket(1), ticket(2, gross=10)
    csv_text = "ticket_no,truck_plate,dispatched_at,gross_kg,tare_kg\n" + "\n".join(
        f"{t['ticket_no']},{t['truck_plate']},{t['dispatched_at']},{t['gross_kg']},{t['tare_kg']}" for t in (good, bad))
    from tests.web.conftest import csrf_token

    r = client.post(f"/deliveries/agreements/{agreement.id}/shipments/import",
                    data={"file": (io.BytesIO(csv_text.encode()), "t.csv"), "csrf_token": csrf_token(client, page)},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    assert db.session.scalar(select(func.count(Shipment.id))) == 0
    db.session.refresh(agreement)
    assert agreement.shipped_kg == 0

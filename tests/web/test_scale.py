"""Pages at province scale: distances computed in the database equal the confidentiality rule computed in
Python, and the number of SQL statements a page sends does not grow with the number of rows it shows."""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import event, select

from marketplace.clock import today_cst
from marketplace.models import DemandListing, ListingStatus, Material, Site, SupplyListing
from marketplace.services import catalogue
from marketplace.services import listings as listing_service
from tests.web.conftest import login, token_request

API = "/api/v1"


@pytest.fixture(autouse=True)
def catalogue_snapshot(app):
    """The process's snapshot of the catalogue is taken before anything is counted (whichever test runs
    first): the statements counted are those of every request after a process's first."""
    catalogue.materials()


@contextmanager
def statements(db) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def add_listings(db, org, sites, n: int, side: str = "supply") -> list:
    """n open listings spread over `sites`, written directly (the service's checks are not under test)."""
    material = db.session.scalar(select(Material).where(Material.code == "fly_ash"))
    today = today_cst()
    rows = []
    for i in range(n):
        common = dict(organisation_id=org.id, site_id=sites[i % len(sites)].id, material_id=material.id,
                      status=ListingStatus.OPEN, tonnes=100 + i, tonnes_promised=0, period_start=today,
                      period_end=today + timedelta(days=60), max_haul_km=300, notes="")
        rows.append(SupplyListing(**common, grade="II", quality={}, price_yuan_per_t=Decimal(10 + i))
                    if side == "supply" else DemandListing(**common, quality_limits={}, use="cement",
                                                           max_delivered_price_yuan_per_t=Decimal(50 + i)))
    db.session.add_all(rows)
    db.session.commit()
    return rows


# --- distances in the database ---------------------------------------------------------------------------

#: Points on cell edges (0.1 x 0.125 degree grid) and just either side of them, where a float rule would slip.
EDGES = [("38.100000", "106.750000"), ("38.099999", "106.749999"), ("38.000001", "106.625001"),
         ("37.900000", "106.125000"), ("38.200000", "105.875000"), ("36.000000", "106.000000")]


def test_database_distances_equal_the_python_rule_for_hidden_and_visible_sites(client, db, make_user, make_site):
    """The API's distance filter, sort and figures (now computed in SQL) give exactly what the Python rule
    (distances_from: exact for one's own sites, from the cell centre in 5 km steps for hidden ones) gives."""
    rng = random.Random(17)
    producer = make_user(kind="producer")
    viewer = make_user(kind="consumer")
    points = EDGES + [(f"{rng.uniform(35.3, 39.4):.6f}", f"{rng.uniform(104.3, 107.6):.6f}") for _ in range(40)]
    hidden = [make_site(producer.organisation, name=f"h{i}", lat=lat, lon=lon) for i, (lat, lon) in enumerate(points)]
    own = [make_site(viewer.organisation, name=f"o{i}", lat=lat, lon=lon) for i, (lat, lon) in enumerate(points[:8])]
    add_listings(db, producer.organisation, hidden, len(hidden), "supply")
    add_listings(db, viewer.organisation, own, len(own), "demand")
    origin = own[0]
    token = client.post(f"{API}/auth/token", json=token_request(viewer)).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    for side, model in (("supply", SupplyListing), ("demand", DemandListing)):
        rows = db.session.execute(select(model.id, model.organisation_id, Site.lat, Site.lon)
                                  .join(Site, model.site_id == Site.id)).all()
        with client.application.app_context():
            viewer_now = db.session.merge(viewer)
            expected = listing_service.distances_from(viewer_now, origin.lat, origin.lon, rows)
        for within in (None, 30, 100, 250):
            query = f"near_site_id={origin.id}&per_page=100" + (f"&within_km={within}" if within else "")
            body = client.get(f"{API}/{side}-listings?{query}", headers=auth).get_json()
            want = sorted(((d, i) for i, d in expected.items() if within is None or d <= within))
            assert [(item["distance_km"], item["id"]) for item in body["items"]] == want, (side, within)
            assert body["total"] == len(want)


def test_the_cell_centre_in_sql_is_the_decimal_one_bit_for_bit(app, db, make_user, make_site):
    from sqlalchemy import literal

    with app.app_context():
        mlat, mlon = listing_service._cell_micro()
        for lat, lon in [*EDGES, ("-33.850000", "-70.650001")]:
            got = db.session.execute(select(listing_service._sql_cell_centre(literal(Decimal(lat)), mlat),
                                            listing_service._sql_cell_centre(literal(Decimal(lon)), mlon))).one()
            assert tuple(got) == listing_service.coarse_position(lat, lon), (lat, lon)


def test_a_distance_filter_sends_no_list_of_listing_ids(client, db, make_user, make_site):
    """The statements of a distance-filtered page are the same text for 3 listings as for 33 (an `IN` list of
    the matching ids, as before, grows with them)."""
    viewer = make_user(kind="consumer")
    producer = make_user(kind="producer")
    site = make_site(viewer.organisation)
    theirs = [make_site(producer.organisation)]
    login(client, viewer)

    def sent_for_page() -> list[str]:
        with statements(db) as sent:
            assert client.get(f"/listings/supply?near_site_id={site.id}&within_km=100").status_code == 200
        return sent

    add_listings(db, producer.organisation, theirs, 3)
    few = sent_for_page()
    add_listings(db, producer.organisation, theirs, 30)
    assert sent_for_page() == few


# --- statements per page ---------------------------------------------------------------------------------

@pytest.fixture
def market(db, make_user, make_site):
    """A producer and a consumer, each with two sites, and a way to give them n listings on each side."""
    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    psites = [make_site(producer.organisation, name=f"p{i}", lat=f"38.{i}5", lon="106.4") for i in range(2)]
    csites = [make_site(consumer.organisation, name=f"c{i}", lat=f"37.{i}5", lon="106.2") for i in range(2)]

    def fill(n: int) -> None:
        add_listings(db, producer.organisation, psites, n, "supply")
        add_listings(db, consumer.organisation, csites, n, "demand")

    return {"producer": producer, "consumer": consumer, "psites": psites, "csites": csites, "fill": fill}


def listing_pages(market) -> list[str]:
    near = market["csites"][0].id
    supply_id = SupplyListing.query.order_by(SupplyListing.id).first().id
    return ["/listings/supply", "/listings/demand",
            "/listings/supply?material=fly_ash&grade=II&min_tonnes=1&sort=price",
            "/listings/supply?county=Lingwu&max_price=1000&sort=-tonnes&per_page=100",
            f"/listings/supply?near_site_id={near}", f"/listings/supply?near_site_id={near}&within_km=200",
            f"/listings/supply?near_site_id={near}&within_km=200&sort=-price&per_page=100",
            f"/listings/supply/{supply_id}", "/listings/mine", "/listings/supply/map.json?per_page=100",
            f"/listings/supply/map.json?near_site_id={near}&per_page=100"]


def api_pages(market) -> list[str]:
    near = market["csites"][0].id
    return [f"{API}/supply-listings?per_page=100", f"{API}/demand-listings?per_page=100&mine=1",
            f"{API}/supply-listings?per_page=100&near_site_id={near}&within_km=300"]


def count_per_page(client, db, urls, headers=None) -> dict[str, int]:
    counts = {}
    for url in urls:
        with statements(db) as sent:
            response = client.get(url, headers=headers or {})
        assert response.status_code == 200, url
        counts[url] = len(sent)
    return counts


def test_listing_pages_send_as_many_statements_for_50_rows_as_for_5(client, db, market):
    """Browse (with and without filters and distance), detail, mine and the maps' JSON: the number of
    statements is the same whether the page shows 5 listings or 50."""
    login(client, market["consumer"])
    market["fill"](5)
    few = count_per_page(client, db, listing_pages(market))
    market["fill"](45)
    many = count_per_page(client, db, listing_pages(market))
    assert many == few


def test_api_lists_send_as_many_statements_for_50_rows_as_for_5(client, db, market):
    token = client.post(f"{API}/auth/token", json=token_request(market["consumer"])).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    market["fill"](5)
    few = count_per_page(client, db, api_pages(market), auth)
    market["fill"](45)
    many = count_per_page(client, db, api_pages(market), auth)
    assert many == few


def test_distances_km_matches_numpy(app):
    one_degree = listing_service.distances_km(38.0, 106.0, np.array([39.0]), np.array([106.0]))[0]
    assert np.isclose(one_degree, 111.2, atol=0.1)


# --- exports ---------------------------------------------------------------------------------------------

def test_listing_exports_stream_in_the_page_order_with_one_query(client, db, market):
    """The CSV is a streamed response holding every listing in the browse order with its distance; the XLSX is
    the same table; neither sends more statements for 50 listings than for 5."""
    import csv
    import io

    from openpyxl import load_workbook

    login(client, market["consumer"])
    near = market["csites"][0].id
    url = f"/listings/supply/export.{{}}?codes=1&near_site_id={near}&within_km=500&sort=-price"

    def export(fmt: str):
        with statements(db) as sent:
            response = client.get(url.format(fmt))
            data = response.data
        assert response.status_code == 200
        return response, data, len(sent)

    market["fill"](5)
    _r, _d, few_csv = export("csv")
    _r, _d, few_xlsx = export("xlsx")
    market["fill"](45)
    response, data, many_csv = export("csv")
    assert "Content-Length" not in response.headers  # streamed: the old export sent one body of known size
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))
    listed = client.get(f"/listings/supply?near_site_id={near}&within_km=500&sort=-price&per_page=100")
    assert listed.status_code == 200
    prices = [Decimal(r["price_yuan_per_t"]) for r in rows]
    assert len(rows) == 50 and prices == sorted(prices, reverse=True)
    assert all(r["distance_km"] for r in rows) and "organisation" not in rows[0]
    assert "created_at (UTC+8)" in rows[0]
    _r, xlsx, many_xlsx = export("xlsx")
    sheet = load_workbook(io.BytesIO(xlsx)).active
    table = [[c.value for c in r] for r in sheet.iter_rows()]
    assert table[0] == list(rows[0]) and len(table) == 51
    assert [str(v) for v in table[1]][:3] == list(rows[0].values())[:3]
    assert (many_csv, many_xlsx) == (few_csv, few_xlsx)


# --- summary tables --------------------------------------------------------------------------------------

def recomputed_utilisation(db, year: int, group_by: str) -> list[dict]:
    """The utilisation table computed the old way, from every ledger entry and generation record."""
    from collections import defaultdict
    from datetime import date

    from marketplace.clock import cst_year_bounds, to_cst
    from marketplace.models import Agreement, GenerationRecord, LedgerEntry, Organisation

    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation))}

    def key_of(site, material, org_id, month):
        return {"region": site.county or "—", "city": site.city or "—", "park": site.industrial_park or "—",
                "material": material, "organisation": orgs.get(org_id, str(org_id)),
                "month": f"{year}-{month:02d}"}[group_by]

    table: dict = defaultdict(lambda: {"generated": Decimal(0), "in_house": Decimal(0), "platform_kg": 0,
                                       "stored": Decimal(0), "disposed": Decimal(0)})
    for record in db.session.scalars(select(GenerationRecord).where(GenerationRecord.month >= date(year, 1, 1),
                                                                    GenerationRecord.month < date(year + 1, 1, 1))):
        row = table[key_of(record.site, record.material.code, record.site.organisation_id, record.month.month)]
        row["generated"] += record.tonnes_generated
        row["in_house"] += record.tonnes_used_in_house
        row["stored"] += record.tonnes_stored
        row["disposed"] += record.tonnes_disposed
    start, end = cst_year_bounds(year)
    for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.dispatched_at >= start,
                                                              LedgerEntry.dispatched_at < end)):
        site = db.session.get(Agreement, entry.agreement_id).supply_listing.site
        table[key_of(site, entry.material, entry.producer_org_id, to_cst(entry.dispatched_at).month)][
            "platform_kg"] += entry.net_kg
    out = []
    for key in sorted(table, key=str):
        row = table[key]
        platform_t = Decimal(row["platform_kg"]) / 1000
        generated = row["generated"]
        rate = ((generated - row["stored"] - row["disposed"]) / generated).quantize(Decimal("0.0001")) \
            if generated else None
        share = (platform_t / generated).quantize(Decimal("0.0001")) if generated else None
        out.append({"group": key, "generated_t": f"{generated:.3f}", "used_in_house_t": f"{row['in_house']:.3f}",
                    "utilised_platform_t": f"{platform_t:.3f}", "stored_t": f"{row['stored']:.3f}",
                    "disposed_t": f"{row['disposed']:.3f}", "utilisation_rate": None if rate is None else str(rate),
                    "platform_share": None if share is None else str(share)})
    return out


def test_utilisation_from_the_summary_equals_a_full_recomputation(mid_year, client, db, make_user, make_site,
                                                                   monkeypatch):
    """Random tickets, receipts, reversals and generation declarations (and corrections of them): the
    utilisation tables, which read the ledger's monthly summary, equal a recomputation from every entry."""
    from marketplace.clock import CST
    from marketplace.services import corrections, deliveries, generation
    from tests.web.deals import make_agreement

    rng = random.Random(12)
    regulator = make_user(kind="regulator")
    deals = []
    for i, (county, material) in enumerate((("Lingwu", "fly_ash"), ("Xixia", "fgd_gypsum"), ("Lingwu", "coal_gangue"))):
        producer = make_user(kind="producer")
        site = make_site(producer.organisation, name=f"s{i}", lat=f"38.{i}1", lon="106.5", county=county,
                         park=f"park{i % 2}")
        deals.append(make_agreement(make_user, make_site, tonnes=5000, material=material, producer=producer,
                                    producer_site=site))
    for agreement, _p, _c in deals:
        agreement.created_at = datetime.now(CST) - timedelta(days=60)  # tickets of two months back
    db.session.commit()
    year = datetime.now(CST).year
    entries = []
    for n in range(40):
        agreement, producer, consumer = rng.choice(deals)
        net = rng.randrange(1_000, 40_000)
        when = datetime.now(CST) - timedelta(days=rng.choice([0, 1, 20, 45]), minutes=60 + n)
        shipment = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"R{n:05d}", "truck_plate": f"宁A{10000 + n}", "dispatched_at":
            when.strftime("%Y-%m-%dT%H:%M:%S"), "gross_kg": 15_000 + net, "tare_kg": 15_000})
        deliveries.confirm_shipment(consumer, shipment.id, net - rng.randrange(0, 200))
        db.session.commit()
        entries.append(shipment)
        if rng.random() < 0.3:
            from marketplace.models import LedgerEntry

            target = rng.choice(list(db.session.scalars(select(LedgerEntry).where(
                LedgerEntry.kind == "utilisation", ~LedgerEntry.id.in_(
                    select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None)))))))
            corrections.reverse_entry(regulator, target.id, "wrong ticket")
            db.session.commit()
        if rng.random() < 0.4:
            agreement, producer, _c = rng.choice(deals)
            month = f"{year}-{rng.randint(1, datetime.now(CST).month):02d}"
            generated = Decimal(rng.randrange(1, 10**7)) / 1000
            generation.record_generation(producer, agreement.supply_listing.site_id, agreement.material.code, month,
                                         generated, (generated / 4).quantize(Decimal("0.001")),
                                         (generated / 3).quantize(Decimal("0.001")))
            db.session.commit()
    for group in deliveries.GROUPS:
        assert deliveries.utilisation(year, group) == recomputed_utilisation(db, year, group), group
    login(client, regulator)
    page = client.get(f"/deliveries/utilisation?year={year}&group_by=organisation")
    assert page.status_code == 200
    # the dashboard's flow map, now from the summary: the same lines as summing the year's entries
    from collections import defaultdict

    from marketplace.clock import cst_year_bounds
    from marketplace.models import Agreement, LedgerEntry

    start, end = cst_year_bounds(year)
    by_pair: dict = defaultdict(int)
    for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.dispatched_at >= start,
                                                              LedgerEntry.dispatched_at < end)):
        agreement = db.session.get(Agreement, entry.agreement_id)
        s, d = agreement.supply_listing.site, agreement.demand_listing.site
        by_pair[(float(s.lon), float(s.lat), float(d.lon), float(d.lat))] += entry.net_kg
    flows = client.get(f"/subsidies/dashboard/flows.json?year={year}").get_json()
    lines = {tuple(f["geometry"]["coordinates"][0] + f["geometry"]["coordinates"][1]): f["properties"]["tooltip"][0][1]
             for f in flows["features"] if f["geometry"]["type"] == "LineString"}
    assert lines == {pair: f"{Decimal(kg) / 1000:,.1f} t" for pair, kg in by_pair.items() if kg > 0}
    assert "omitted" not in flows
    # the migration's backfill, run on the same ledger, gives the very totals kept by the appends
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import delete

    from marketplace.models import LedgerMonthTotal

    def totals() -> list[tuple]:
        return sorted(db.session.execute(select(LedgerMonthTotal.month, LedgerMonthTotal.site_id,
                                                LedgerMonthTotal.consumer_site_id,
                                                LedgerMonthTotal.producer_org_id, LedgerMonthTotal.material,
                                                LedgerMonthTotal.net_kg)).all())

    kept = totals()
    monkeypatch.setattr("marketplace.maps.MAX_FLOWS", 1)
    capped = client.get(f"/subsidies/dashboard/flows.json?year={year}").get_json()
    assert sum(f["geometry"]["type"] == "LineString" for f in capped["features"]) == 1
    assert capped["omitted"] == len(lines) - 1
    assert len(kept) > 3
    db.session.execute(delete(LedgerMonthTotal))
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0011_scale.py"
    spec = importlib.util.spec_from_file_location("m0011", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration._backfill_ledger_month_totals()
    assert totals() == kept


def test_plate_flags_from_the_matrix_equal_the_pairwise_rule(db, make_user, make_site):
    """Trucks shared between two agreements ~40 km and ~120 km apart, at random times: the vectorised
    'plate too fast' flags equal those of the pairwise loop (one distance call per pair of trips)."""
    from marketplace.clock import CST, as_utc
    from marketplace.models import Shipment
    from marketplace.services import deliveries
    from marketplace.services.listings import distances_km
    from tests.web.deals import make_agreement

    rng = random.Random(5)
    deals = [make_agreement(make_user, make_site, tonnes=5000),
             make_agreement(make_user, make_site, tonnes=5000, material="fgd_gypsum",
                            producer_site=None)]
    far = make_agreement(make_user, make_site, tonnes=5000, material="coal_gangue")
    far[0].supply_listing.site.lat, far[0].supply_listing.site.lon = Decimal("37.0"), Decimal("105.5")
    deals.append(far)
    for agreement, _p, _c in deals:
        agreement.created_at = datetime.now(CST) - timedelta(days=10)
    db.session.commit()
    for n in range(60):
        agreement, producer, _c = rng.choice(deals)
        when = datetime.now(CST) - timedelta(minutes=rng.randrange(60, 60 * 24 * 5))
        deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"P{n:05d}", "truck_plate": f"宁B{10000 + rng.randrange(4)}",
            "dispatched_at": when.strftime("%Y-%m-%dT%H:%M:%S"), "gross_kg": 30_000, "tare_kg": 15_000})
    db.session.commit()
    shipments = list(db.session.scalars(select(Shipment)))
    sites = deliveries._dispatch_sites({s.agreement_id for s in shipments})
    speed = deliveries.Rules.configured().truck_speed_kmh
    expected = set()
    for s in shipments:
        for other in shipments:
            if other.id == s.id or other.truck_plate != s.truck_plate:
                continue
            a, b = sites[s.agreement_id], sites[other.agreement_id]
            km = float(distances_km(float(a.lat), float(a.lon), np.array([float(b.lat)]), np.array([float(b.lon)]))[0])
            hours = abs((as_utc(s.dispatched_at) - as_utc(other.dispatched_at)).total_seconds()) / 3600
            if km > 0 and km / max(hours, 1e-9) > speed:
                expected.add(s.id)
                break
    got = {i for i, flags in deliveries.shipment_flags(shipments).items() if "plate_too_fast" in flags}
    assert got == expected and 0 < len(expected) < len(shipments)


def test_deal_and_regulator_pages_send_as_many_statements_for_50_deals_as_for_5(client, db, make_user, make_site):
    """Proposals, agreements and rounds (as the consumer), the dashboard and every utilisation table (as a
    regulator): the number of statements does not grow with the number of deals, rounds and ledger entries."""
    from marketplace.clock import CST
    from marketplace.services import deliveries
    from tests.web.deals import make_agreement

    producer, consumer = make_user(kind="producer"), make_user(kind="consumer")
    regulator = make_user(kind="regulator")
    psite = make_site(producer.organisation, lat="38.0575", lon="106.6914", county="Lingwu", park="Ningdong")
    csite = make_site(consumer.organisation)
    made = [0]

    def fill(n: int) -> None:
        for _ in range(n):
            agreement, _p, _c = make_agreement(make_user, make_site, tonnes=50, producer=producer, consumer=consumer,
                                               producer_site=psite, consumer_site=csite)
            made[0] += 1
            when = datetime.now(CST) - timedelta(hours=2, minutes=made[0])
            shipment = deliveries.record_shipment(producer, agreement.id, {
                "ticket_no": f"S{made[0]:05d}", "truck_plate": f"宁C{10000 + made[0]}",
                "dispatched_at": when.strftime("%Y-%m-%dT%H:%M:%S"), "gross_kg": 40_000, "tare_kg": 15_000})
            deliveries.confirm_shipment(consumer, shipment.id, 25_000)
            db.session.commit()

    staff = client.application.test_client()
    login(client, consumer)
    login(staff, regulator)
    deal_pages = ["/match/proposals/", "/match/agreements/", "/match/rounds/"]
    staff_pages = ["/subsidies/dashboard", "/match/rounds/"] + [
        f"/deliveries/utilisation?group_by={g}" for g in deliveries.GROUPS]
    fill(5)
    few = count_per_page(client, db, deal_pages), count_per_page(staff, db, staff_pages)
    fill(45)
    many = count_per_page(client, db, deal_pages), count_per_page(staff, db, staff_pages)
    assert many == few


def test_a_rounds_map_draws_the_largest_flows_and_says_how_many_it_left_out(client, db, make_user, make_site,
                                                                              monkeypatch):
    from marketplace.services import listings, rounds

    consumer = make_user(kind="consumer")
    csite = make_site(consumer.organisation)
    for i in range(3):
        producer = make_user(kind="producer")
        site = make_site(producer.organisation, lat=f"38.{i}5", lon="106.5")
        listings.create_listing(producer, "supply", {
            "site_id": site.id, "material": "fly_ash", "grade": "I", "tonnes": 100 + 50 * i, "price_yuan_per_t": "10",
            "max_haul_km": 300, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
    demand = listings.create_listing(consumer, "demand", {
        "site_id": csite.id, "material": "fly_ash", "tonnes": 1000, "max_haul_km": 300, "period_start": today_cst(),
        "period_end": today_cst() + timedelta(days=60)})
    round_ = rounds.start_round(consumer, demand_listing_ids=[demand.id])
    db.session.commit()
    tonnes = sorted((p.tonnes for p in round_.proposals), reverse=True)
    assert len(tonnes) == 3
    login(client, consumer)
    monkeypatch.setattr("marketplace.maps.MAX_FLOWS", 2)
    body = client.get(f"/match/rounds/{round_.id}/map.json").get_json()
    drawn = [f for f in body["features"] if f["properties"]["kind"] == "flow"]
    assert len(drawn) == 2 and body["omitted"] == 1
    assert sorted((int(f["properties"]["tooltip"][0][1].replace(",", "")) for f in drawn), reverse=True) == tonnes[:2]


def test_the_dashboard_sends_as_many_statements_for_15_unmatched_supplies_of_15_firms_as_for_one(
        client, db, make_user, make_site):
    """Its table of the largest unmatched supplies loads their firms, materials and sites with the listings
    (it loaded each one by one: 45 more statements for 15 rows, 0.7 s of a 1 s page at scale)."""
    regulator = make_user(kind="regulator")
    login(client, regulator)

    def offer(n: int) -> None:
        for i in range(n):
            producer = make_user(kind="producer")
            site = make_site(producer.organisation, lat=f"38.{i + 10}", lon="106.5")
            listing_service.create_listing(producer, "supply", {
                "site_id": site.id, "material": "fly_ash", "grade": "I", "tonnes": 100 + i, "price_yuan_per_t": "10",
                "max_haul_km": 300, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
        db.session.commit()

    offer(1)
    one = count_per_page(client, db, ["/subsidies/dashboard"])
    offer(14)
    page = client.get("/subsidies/dashboard").get_data(as_text=True)
    table = page.split('id="table-unmatched"')[1].split("</table>")[0]
    assert table.count('href="/listings/supply/') == 15
    assert count_per_page(client, db, ["/subsidies/dashboard"]) == one

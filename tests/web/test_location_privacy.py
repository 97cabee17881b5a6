"""An attacker who is a utiliser with several sites of its own tries to locate a producer's hidden site before
any agreement: with the within_km filter (bisection), the distances shown by the API, the browse page and the
export, and Find matches rounds from each of its sites. Everything it can observe must be the same wherever the
hidden site lies inside its grid cell (about 11 km across), so no combination narrows the site to a cell's
part; and a site that has listings cannot be moved, while moves are rate-limited and audited."""
import re
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import AuditEntry, Site
from marketplace.services import listings as listing_service
from tests.web.conftest import login, post_form
from tests.web.test_api_listings import API, PATHS, Api, issue_token

#: One grid cell (38.0-38.1 N, 106.625-106.75 E, around Ningdong): its four corners and its centre.
CELL_POINTS = [("38.000100", "106.625100"), ("38.099900", "106.749900"), ("38.000100", "106.749900"),
               ("38.099900", "106.625100"), ("38.050000", "106.687500")]
#: A point in the next cell to the north: observations must change there (the test can see a difference).
OTHER_CELL = ("38.150000", "106.687500")
#: The attacker's own sites, at known places on several bearings around the hidden one.
PROBES = [("38.4730", "106.2420"), ("37.9800", "106.2000"), ("38.9130", "106.5230"), ("37.7830", "107.4060"),
          ("38.1000", "106.9000")]


def km(a, b) -> float:
    km = listing_service.distances_km(float(a[0]), float(a[1]), np.array([float(b[0])]), np.array([float(b[1])]))
    return float(km[0])


@pytest.fixture
def attack(client, make_user, make_site, db):
    """A hidden producer's supply, and an attacker (a utiliser) with five sites, each with a demand."""
    producer = make_user(kind="producer")
    hidden = make_site(producer.organisation, name="保密灰场", lat=CELL_POINTS[0][0], lon=CELL_POINTS[0][1],
                       county="Lingwu")
    listing_service.create_listing(producer, "supply", {
        "site_id": hidden.id, "material": "fly_ash", "grade": "II", "tonnes": 1000, "price_yuan_per_t": "20",
        "max_haul_km": 2000, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
    attacker = make_user(kind="consumer")
    probes = [make_site(attacker.organisation, name=f"探测{i}", lat=lat, lon=lon)
              for i, (lat, lon) in enumerate(PROBES)]
    demands = [listing_service.create_listing(attacker, "demand", {
        "site_id": site.id, "material": "fly_ash", "tonnes": 300, "max_haul_km": 2000,
        "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)}) for site in probes]
    db.session.commit()
    api = Api(client, attacker, issue_token(client, attacker), probes[0])
    return {"hidden": hidden, "api": api, "attacker": attacker, "probes": probes, "demands": demands,
            "client": client}


def place(db, site_id: int, point) -> None:
    db.session.rollback()
    site = db.session.get(Site, site_id)
    site.lat, site.lon = Decimal(point[0]), Decimal(point[1])
    db.session.commit()


def bisect_within_km(api, site_id: int) -> int:
    """The smallest within_km (1..2000) whose answer contains the listing: what bisection learns."""
    lo, hi = 1, 2000
    while lo < hi:
        mid = (lo + hi) // 2
        items = api.get(PATHS["supply"], query_string={"near_site_id": site_id, "within_km": mid}).get_json()["items"]
        if items:
            hi = mid
        else:
            lo = mid + 1
    return lo


def observe(attack) -> dict:
    """Everything the attacker can see of the hidden listing, from each of its sites."""
    api, client = attack["api"], attack["client"]
    seen: dict = {}
    for site, demand in zip(attack["probes"], attack["demands"], strict=True):
        listed = api.get(PATHS["supply"], query_string={"near_site_id": site.id, "sort": "distance"}).get_json()
        seen[f"api {site.id}"] = [(i["id"], i["distance_km"]) for i in listed["items"]]
        seen[f"bisection {site.id}"] = bisect_within_km(api, site.id)
        page = client.get(f"/listings/supply?near_site_id={site.id}").get_data(as_text=True)
        seen[f"page {site.id}"] = re.findall(r'<td class="num">([^<]*)</td>', page)
        export = client.get(f"/listings/supply/export.csv?near_site_id={site.id}").get_data(as_text=True)
        seen[f"export {site.id}"] = export
        queued = api.post(f"{API}/match-rounds", json={"demand_listing_ids": [demand.id]})
        assert queued.status_code == 202, queued.get_json()
        response = api.get(f"{API}/match-rounds/{queued.get_json()['id']}")  # the queue has run it
        seen[f"round {site.id}"] = [
            (p["supply_listing_id"], p["tonnes"], p["distance_km"], p["transport_cost_yuan_per_t"],
             p["delivered_price_yuan_per_t"], p["co2_kg"], p["env_tax_avoided_yuan"])
            for p in response.get_json()["proposals"]]
    return seen


def test_the_grid_cell_is_at_least_10_km_across(app):
    south_west, north_east = ("38.000000", "106.625000"), ("38.100000", "106.750000")
    assert km(south_west, ("38.100000", "106.625000")) >= 10  # north-south
    assert km(south_west, ("38.000000", "106.750000")) >= 10  # east-west
    assert {listing_service.coarse_position(*p) for p in CELL_POINTS} == {(38.05, 106.6875)}
    assert listing_service.coarse_position(*north_east) != listing_service.coarse_position(*south_west)


def test_nothing_the_attacker_observes_tells_apart_places_inside_the_hidden_sites_cell(attack, db):
    login(attack["client"], attack["attacker"])
    baseline = observe(attack)
    # the observations are real: the listing is found and priced from every probe
    assert all(baseline[f"api {s.id}"] and baseline[f"round {s.id}"] for s in attack["probes"])
    for point in CELL_POINTS[1:]:
        place(db, attack["hidden"].id, point)
        assert observe(attack) == baseline, f"the hidden site at {point} is told apart from {CELL_POINTS[0]}"
    # the corners of the cell are 11-15 km apart: no observation can narrow the site to better than ~5 km
    assert min(km(a, b) for a in CELL_POINTS[:4] for b in CELL_POINTS[:4] if a != b) > 10
    # and the test can see a difference: the next cell north gives other answers
    place(db, attack["hidden"].id, OTHER_CELL)
    assert observe(attack) != baseline


def test_trilateration_from_bisection_misses_a_site_at_a_cells_corner_by_more_than_5_km(attack, db):
    """The attack of the finding: radii by bisection from several own sites, then least squares. The best it
    finds is the cell's centre (or near it), which is more than 5 km from a site at the corner."""

    corner = CELL_POINTS[0]
    radii = [bisect_within_km(attack["api"], s.id) for s in attack["probes"]]
    lats, lons = np.meshgrid(np.arange(37.9, 38.2, 0.002), np.arange(106.5, 106.9, 0.002), indexing="ij")
    misfit = sum((listing_service.distances_km(float(p[0]), float(p[1]), lats.ravel(), lons.ravel()) - r) ** 2
                 for p, r in zip(PROBES, radii, strict=True))
    best = (lats.ravel()[misfit.argmin()], lons.ravel()[misfit.argmin()])  # the estimate that fits all radii best
    assert km(best, corner) > 5, (best, radii)


def test_proposals_price_hidden_pairs_from_the_cell_centres(attack, db):
    """A round's distance is the cell-centre distance times the tariff's circuity, not the sites' own."""
    from marketplace.services import tariff

    api = attack["api"]
    probe, demand = attack["probes"][0], attack["demands"][0]
    queued = api.post(f"{API}/match-rounds", json={"demand_listing_ids": [demand.id]}).get_json()
    proposal = api.get(f"{API}/match-rounds/{queued['id']}").get_json()["proposals"][0]
    circuity = float(tariff.tariff_in_force().circuity)
    centre = listing_service.coarse_position(*CELL_POINTS[0])
    own_centre = listing_service.coarse_position(probe.lat, probe.lon)
    assert proposal["distance_km"] == pytest.approx(round(km(centre, own_centre) * circuity, 1), abs=0.11)


def test_after_an_agreement_the_counterparty_sees_the_exact_distance(make_user, make_site, client, db):
    from tests.web.deals import make_agreement

    _agreement, producer, consumer = make_agreement(make_user, make_site)
    supply_site = db.session.scalars(select(Site).where(Site.organisation_id == producer.organisation_id)).first()
    own = make_site(consumer.organisation, name="新厂", lat="38.4730", lon="106.2420")
    listing_service.create_listing(producer, "supply", {
        "site_id": supply_site.id, "material": "fly_ash", "grade": "II", "tonnes": 50, "price_yuan_per_t": "20",
        "max_haul_km": 300, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
    db.session.commit()
    api = Api(client, consumer, issue_token(client, consumer), own)
    items = api.get(PATHS["supply"], query_string={"near_site_id": own.id}).get_json()["items"]
    assert items and items[0]["distance_km"] == round(km((own.lat, own.lon), (supply_site.lat, supply_site.lon)), 1)


# --- moving a site --------------------------------------------------------------------------------------

SITE_FORM = {"name": "一号厂区", "place": "", "county": "Lingwu", "industrial_park": ""}


def edit(client, site, lat, lon):
    return post_form(client, f"/org/sites/{site.id}/edit", {**SITE_FORM, "lat": lat, "lon": lon})


@pytest.mark.parametrize("status,refused", [("open", True), ("draft", True), ("partly_matched", True),
                                            ("fully_matched", True), ("withdrawn", False), ("expired", False)])
def test_a_site_with_listings_that_are_not_withdrawn_or_expired_cannot_move(logged_in, make_site, db, status,
                                                                              refused):
    from marketplace.models import ListingStatus, SupplyListing

    client, user = logged_in(kind="producer")
    client.get("/lang/en")
    site = make_site(user.organisation)
    listing = listing_service.create_listing(user, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "II", "tonnes": 100, "price_yuan_per_t": "20",
        "max_haul_km": 100, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
    listing.status = ListingStatus(status)
    db.session.commit()
    response = edit(client, site, "38.500000", "106.300000")
    db.session.rollback()
    moved = db.session.get(Site, site.id)
    if refused:
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "make a new site" in page and 'value="38.500000"' in page  # what was typed stays
        assert (moved.lat, moved.lon) == (Decimal("38.094000"), Decimal("106.335000"))
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "site.move")) is None
    else:
        assert response.status_code == 302
        assert moved.lat == Decimal("38.5")
    assert db.session.get(SupplyListing, listing.id).site_id == site.id


def test_renaming_a_site_with_listings_is_not_a_move(logged_in, make_site, db):
    client, user = logged_in(kind="producer")
    site = make_site(user.organisation)
    listing_service.create_listing(user, "supply", {
        "site_id": site.id, "material": "fly_ash", "grade": "II", "tonnes": 100, "price_yuan_per_t": "20",
        "max_haul_km": 100, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60)})
    db.session.commit()
    response = post_form(client, f"/org/sites/{site.id}/edit", {**SITE_FORM, "name": "改名", "lat": "38.094",
                                                                "lon": "106.335"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Site, site.id).name == "改名"


def test_site_moves_are_logged_and_limited_per_organisation(logged_in, make_site, make_user, db, app,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "SITE_MOVES_PER_DAY", 3)
    client, user = logged_in(kind="consumer")
    client.get("/lang/en")
    sites = [make_site(user.organisation, name=f"厂{i}") for i in range(2)]
    for n, lat in enumerate(["38.2", "38.3", "38.4"]):
        assert edit(client, sites[n % 2], lat, "106.3").status_code == 302
    response = edit(client, sites[0], "38.9", "106.3")  # the fourth move within 24 h, of any site
    assert response.status_code == 200 and "the most allowed" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Site, sites[0].id).lat == Decimal("38.4")
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "site.move")
                                      .order_by(AuditEntry.id)))
    assert [e.details for e in entries] == [
        {"from": ["38.094000", "106.335000"], "to": ["38.200000", "106.300000"]},
        {"from": ["38.094000", "106.335000"], "to": ["38.300000", "106.300000"]},
        {"from": ["38.200000", "106.300000"], "to": ["38.400000", "106.300000"]}]
    assert all(e.actor_id == user.id and e.target_type == "site" for e in entries)
    # another organisation is not affected by this one's moves
    other = make_user(kind="consumer")
    other_site = make_site(other.organisation)
    client.post("/auth/logout", data={})
    client2 = app.test_client()
    login(client2, other)
    assert edit(client2, other_site, "38.2", "106.3").status_code == 302

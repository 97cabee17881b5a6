"""Lists people live in: the ledger's filters and search (page and API), paging that stays stable, bad filters
answered with a message (never a 500), and a constant number of statements per page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from marketplace.clock import CST, utcnow
from tests.web.conftest import login, token_request
from tests.web.test_scale import count_per_page, statements

API = "/api/v1"


@pytest.fixture
def ledger_world(db, make_user, make_site):
    """A producer delivering fly ash to one utiliser and FGD gypsum to another; `add(n)` more tickets.
    Tickets are dispatched one per day, going back from yesterday noon (China Standard Time)."""
    from marketplace.services import deliveries
    from tests.web.deals import make_agreement

    producer = make_user(kind="producer")
    ash_buyer, gypsum_buyer = make_user(kind="consumer"), make_user(kind="consumer")
    psite = make_site(producer.organisation, lat="38.0575", lon="106.6914", county="Lingwu", park="Ningdong")
    ash, _p, _c = make_agreement(make_user, make_site, tonnes=5000, producer=producer, consumer=ash_buyer,
                                 producer_site=psite)
    gypsum, _p, _c = make_agreement(make_user, make_site, tonnes=5000, material="fgd_gypsum", producer=producer,
                                    consumer=gypsum_buyer, producer_site=psite)
    for agreement in (ash, gypsum):
        agreement.created_at = utcnow() - timedelta(days=400)
    db.session.commit()
    made: list[dict] = []
    noon = datetime.now(CST).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)

    def add(n: int, agreement=None) -> None:
        for _ in range(n):
            i = len(made)
            deal = agreement or (ash if i % 3 else gypsum)
            buyer = ash_buyer if deal is ash else gypsum_buyer
            when = noon - timedelta(days=i)
            ticket = f"GB{i:05d}"
            shipment = deliveries.record_shipment(producer, deal.id, {
                "ticket_no": ticket, "truck_plate": f"宁C{10000 + i}",
                "dispatched_at": when.strftime("%Y-%m-%dT%H:%M:%S"), "gross_kg": 40_000, "tare_kg": 15_000})
            deliveries.confirm_shipment(buyer, shipment.id, 25_000)
            db.session.commit()
            made.append({"ticket": ticket, "agreement": deal.id, "day": when.date(),
                         "material": "fly_ash" if deal is ash else "fgd_gypsum"})

    return {"producer": producer, "ash_buyer": ash_buyer, "gypsum_buyer": gypsum_buyer, "ash": ash,
            "gypsum": gypsum, "add": add, "made": made}


def tickets_on(html: str) -> list[str]:
    """The ticket numbers of the ledger table's rows, in order."""
    return re.findall(r'<tr id="entry-\d+"><td>\d+</td><td>[^<]*</td><td>([^<]+)</td>', html)


def page_html(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


# --- the ledger page ------------------------------------------------------------------------------------

def test_the_ledger_filters_by_material_organisation_and_days(client, db, ledger_world, make_user):
    ledger_world["add"](9)
    made = ledger_world["made"]
    regulator = make_user(kind="regulator")
    login(client, regulator)
    assert sorted(tickets_on(page_html(client, "/deliveries/ledger?material=fgd_gypsum"))) == sorted(
        m["ticket"] for m in made if m["material"] == "fgd_gypsum")
    buyer = ledger_world["gypsum_buyer"].organisation_id
    assert sorted(tickets_on(page_html(client, f"/deliveries/ledger?org={buyer}"))) == sorted(
        m["ticket"] for m in made if m["material"] == "fgd_gypsum")
    days = sorted(m["day"] for m in made)
    since, until = days[2], days[5]
    shown = tickets_on(page_html(client, f"/deliveries/ledger?since={since}&until={until}"))
    assert sorted(shown) == sorted(m["ticket"] for m in made if since <= m["day"] <= until)
    assert len(shown) == 4  # both ends included, days in China Standard Time
    both = tickets_on(page_html(client, f"/deliveries/ledger?material=fly_ash&since={since}&until={until}"))
    assert sorted(both) == sorted(m["ticket"] for m in made if since <= m["day"] <= until
                                  and m["material"] == "fly_ash")


def test_the_ledger_searches_ticket_and_agreement_numbers(client, db, ledger_world, make_user):
    ledger_world["add"](12)
    login(client, make_user(kind="regulator"))
    assert tickets_on(page_html(client, "/deliveries/ledger?q=GB00007")) == ["GB00007"]
    assert sorted(tickets_on(page_html(client, "/deliveries/ledger?q=gb0001"))) == ["GB00010", "GB00011"]
    gypsum = ledger_world["gypsum"].id
    expected = sorted(m["ticket"] for m in ledger_world["made"] if m["agreement"] == gypsum)
    assert sorted(tickets_on(page_html(client, f"/deliveries/ledger?q=%23{gypsum}"))) == expected
    assert sorted(tickets_on(page_html(client, f"/deliveries/ledger?q={gypsum}"))) == expected
    # LIKE's wildcards are text, not patterns
    assert tickets_on(page_html(client, "/deliveries/ledger?q=GB%25")) == []
    assert tickets_on(page_html(client, "/deliveries/ledger?q=_B")) == []


def test_a_firm_filters_only_its_own_entries(client, db, ledger_world, make_user):
    ledger_world["add"](6)
    login(client, ledger_world["ash_buyer"])
    mine = sorted(m["ticket"] for m in ledger_world["made"] if m["material"] == "fly_ash")
    assert sorted(tickets_on(page_html(client, "/deliveries/ledger"))) == mine
    other = ledger_world["gypsum_buyer"].organisation_id
    assert tickets_on(page_html(client, f"/deliveries/ledger?org={other}")) == []  # nothing of others'
    assert tickets_on(page_html(client, "/deliveries/ledger?material=fgd_gypsum")) == []
    # the organisation filter offers the firm itself and its counterparties only
    html = page_html(client, "/deliveries/ledger")
    offered = set(re.findall(r'<option value="(\d+)"', re.search(r'<select[^>]*name="org".*?</select>', html,
                                                                 re.S).group(0)))
    assert offered == {str(ledger_world["ash_buyer"].organisation_id), str(ledger_world["producer"].organisation_id)}


def test_paging_through_a_filtered_ledger_keeps_the_filter_and_shows_each_entry_once(client, db, ledger_world,
                                                                                      make_user, monkeypatch):
    ledger_world["add"](12)
    login(client, make_user(kind="regulator"))
    seen: list[str] = []
    url = "/deliveries/ledger?material=fly_ash&per_page=3"
    from marketplace.services import ledger as ledger_service

    original = ledger_service.ledger_for
    monkeypatch.setattr(ledger_service, "ledger_for",
                        lambda viewer, page=1, per_page=50, filters=None: original(viewer, page, 3, filters))
    html = page_html(client, url)
    while True:
        seen += tickets_on(html)
        following = re.search(r'<a rel="next" class="pager-next" href="([^"]+)"', html)
        if not following:
            break
        link = following.group(1).replace("&amp;", "&")
        assert "material=fly_ash" in link
        html = page_html(client, link)
    expected = [m["ticket"] for m in reversed(ledger_world["made"]) if m["material"] == "fly_ash"]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)) == 8


@pytest.mark.parametrize("query,field,message", [
    ("material=nonsense", "material", "Unknown material"),
    ("material=" + "x" * 41, "material", "At most 40 characters"),
    ("org=abc", "org", "whole number"),
    ("org=-1", "org", "between"),
    ("org=99999999999999999999", "org", "between"),
    ("since=2026-02-30", "since", "YYYY-MM-DD"),
    ("since=1800-01-01", "since", "between 2000 and 2100"),
    ("until=tomorrow", "until", "YYYY-MM-DD"),
    ("since=2026-05-02&until=2026-05-01", "until", "comes before the first"),
    ("q=" + "A" * 41, "q", "At most 40 characters"),
])
def test_a_bad_filter_is_a_message_beside_its_field_not_a_500(client, db, make_user, query, field, message):
    login(client, make_user(kind="regulator"))
    client.get("/lang/en")
    html = page_html(client, f"/deliveries/ledger?{query}", 400)
    block = re.search(rf'<div class="field[^"]*has-error">\s*<label for="{field}".*?</div>', html, re.S)
    assert block and message in block.group(0), html[:3000]


def test_hostile_search_text_is_harmless(client, db, ledger_world, make_user):
    ledger_world["add"](2)
    login(client, make_user(kind="regulator"))
    for text in ("' OR 1=1 --", "<script>alert(1)</script>", "%", "\\", "#", "# ", "０１", "1e9", "#99999999999"):
        html = page_html(client, "/deliveries/ledger?q=" + text.replace("%", "%25").replace("#", "%23"))
        assert tickets_on(html) == []
        assert "<script>alert(1)</script>" not in html
    assert client.get("/deliveries/ledger?q=%00").status_code == 400  # the input guard


# --- the ledger API ---------------------------------------------------------------------------------------

def test_the_ledger_api_takes_the_same_filters(client, db, ledger_world, make_user):
    ledger_world["add"](9)
    made = ledger_world["made"]
    regulator = make_user(kind="regulator")
    token = client.post(f"{API}/auth/token", json=token_request(regulator)).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    def tickets(query: str) -> list[str]:
        response = client.get(f"{API}/ledger?{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return [e["ticket_no"] for e in response.get_json()["items"]]

    assert sorted(tickets("material=fgd_gypsum")) == sorted(m["ticket"] for m in made
                                                             if m["material"] == "fgd_gypsum")
    days = sorted(m["day"] for m in made)
    assert sorted(tickets(f"since={days[1]}&until={days[3]}")) == sorted(
        m["ticket"] for m in made if days[1] <= m["day"] <= days[3])
    assert tickets("q=GB00004") == ["GB00004"]
    ash = ledger_world["ash"].id
    assert sorted(tickets(f"q={ash}&per_page=100")) == sorted(m["ticket"] for m in made if m["agreement"] == ash)
    body = client.get(f"{API}/ledger?material=fly_ash&per_page=2&page=2", headers=auth).get_json()
    assert (body["total"], body["page"], body["pages"], len(body["items"])) == (6, 2, 3, 2)
    for query, field in (("material=nonsense", "material"), ("since=2026-13-01", "since"), ("org=x", "org"),
                         ("since=2026-05-02&until=2026-05-01", "until"), ("q=" + "9" * 41, "q")):
        response = client.get(f"{API}/ledger?{query}", headers=auth)
        assert response.status_code == 422, query
        assert response.get_json()["error"]["field"] == field


# --- statements per page ----------------------------------------------------------------------------------

def test_the_ledger_page_and_api_send_as_many_statements_for_30_entries_as_for_5(client, db, ledger_world,
                                                                                 make_user):
    regulator = make_user(kind="regulator")
    login(client, regulator)
    token = client.post(f"{API}/auth/token", json=token_request(regulator)).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    org = ledger_world["ash_buyer"].organisation_id
    urls = ["/deliveries/ledger", "/deliveries/ledger?material=fly_ash", f"/deliveries/ledger?org={org}",
            "/deliveries/ledger?q=GB&since=2000-01-01&until=2100-01-01", f"{API}/ledger?per_page=100",
            f"{API}/ledger?per_page=100&material=fly_ash&q=GB&org={org}"]

    def counts() -> dict[str, int]:
        out = {}
        for url in urls:
            with statements(db) as sent:
                response = client.get(url, headers=auth if url.startswith(API) else {})
            assert response.status_code == 200, url
            out[url] = len(sent)
        return out

    ledger_world["add"](5)
    few = counts()
    ledger_world["add"](25)
    assert counts() == few


# --- the declarations of generation ------------------------------------------------------------------------

@pytest.fixture
def declarations(db, make_user, make_site):
    """A producer with two sites and 30 months of fly ash at the first, 12 of gypsum at the second."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import select

    from marketplace.models import GenerationRecord, Material

    producer = make_user(kind="producer")
    north, south = make_site(producer.organisation, name="北厂"), make_site(producer.organisation, name="南厂")
    ash, gypsum = (db.session.scalar(select(Material).where(Material.code == c)) for c in ("fly_ash", "fgd_gypsum"))

    def months(n: int):
        year, month = 2026, 10
        for _ in range(n):
            yield date(year, month, 1)
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)

    def add(site, material, n):
        db.session.add_all(GenerationRecord(site_id=site.id, material_id=material.id, month=m,
                                            tonnes_generated=Decimal(1000 + i), tonnes_used_in_house=0, tonnes_stored=0)
                           for i, m in enumerate(months(n)))
        db.session.commit()

    add(north, ash, 30)
    add(south, gypsum, 12)
    return {"producer": producer, "north": north, "south": south, "add": add, "ash": ash}


def declared_rows(html: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="data" id="records">.*?</table>', html, re.S).group(0)
    return re.findall(r"<tr><td>(\d{4}-\d{2})</td><td>([^<]+)</td>", table)


def test_declarations_are_paged_and_filtered_by_year_site_and_material(client, db, declarations):
    login(client, declarations["producer"])
    first = declared_rows(page_html(client, "/generation/"))
    assert len(first) == 24 and first[0][0] == "2026-10"  # one page, newest first
    html = page_html(client, "/generation/?page=2")
    assert len(declared_rows(html)) == 42 - 24
    assert not set(first) & set(declared_rows(html))  # no row on two pages
    rows = declared_rows(page_html(client, "/generation/?year=2025"))
    assert len(rows) == 12 + 2 and all(month.startswith("2025") for month, _site in rows)  # gypsum: Nov, Dec 2025
    south = declarations["south"].id
    assert {site for _m, site in declared_rows(page_html(client, f"/generation/?site={south}"))} == {"南厂"}
    rows = declared_rows(page_html(client, "/generation/?material=fly_ash&year=2024"))
    assert len(rows) == 8 and {site for _m, site in rows} == {"北厂"}  # May to December 2024
    html = page_html(client, "/generation/?material=fly_ash&page=2")
    assert len(declared_rows(html)) == 6
    previous = re.search(r'<a rel="prev" class="pager-prev" href="([^"]+)"', html).group(1)
    assert "material=fly_ash" in previous and "page=1" in previous  # the pager keeps the filter


@pytest.mark.parametrize("query,field,message", [
    ("year=abc", "filter-year", "whole number"),
    ("year=1999", "filter-year", "between 2,000 and 2,100"),
    ("year=20255", "filter-year", "between"),
    ("site=x", "filter-site", "whole number"),
    ("material=nonsense", "filter-material", "Unknown material"),
])
def test_a_bad_declarations_filter_is_a_message_beside_its_field(client, db, declarations, query, field, message):
    login(client, declarations["producer"])
    client.get("/lang/en")
    html = page_html(client, f"/generation/?{query}", 400)
    block = re.search(rf'<div class="field[^"]*has-error">\s*<label for="{field}".*?</div>', html, re.S)
    assert block and message in block.group(0), html[-3000:]


def test_another_firms_site_is_no_filter_of_mine(client, db, declarations, make_user, make_site):
    other = make_user(kind="producer")
    theirs = make_site(other.organisation)
    login(client, declarations["producer"])
    client.get("/lang/en")
    html = page_html(client, f"/generation/?site={theirs.id}", 400)
    assert "No such site in your organisation" in html


def test_the_declarations_page_sends_as_many_statements_for_many_rows_as_for_few(client, db, declarations,
                                                                                make_site):
    login(client, declarations["producer"])
    urls = ["/generation/", "/generation/?year=2025", f"/generation/?site={declarations['north'].id}&material=fly_ash",
            "/generation/?page=2"]

    few = count_per_page(client, db, urls)
    for i in range(5):
        declarations["add"](make_site(declarations["producer"].organisation, name=f"厂{i}"), declarations["ash"], 30)
    assert count_per_page(client, db, urls) == few


# --- the audit log ------------------------------------------------------------------------------------------

@pytest.fixture
def audit_world(db, make_user):
    """Entries by two users of different firms on three days; `add(n)` more by new users."""
    from marketplace.models import AuditEntry

    operator = make_user(kind="operator", email="ops@platform.example")
    clerk = make_user(kind="producer", email="clerk@plant.example")
    noon = datetime(2026, 11, 20, 12, tzinfo=CST)

    def entry(user, action, day):
        db.session.add(AuditEntry(at=noon + timedelta(days=day), actor_id=user.id, actor_org_id=user.organisation_id,
                                  action=action, target_type="site", target_id=1, details={"n": day},
                                  address="10.0.0.1"))

    for day in range(3):
        entry(operator, "organisation.verify", day)
        entry(clerk, "site.move", day)
    db.session.commit()

    def add(n: int) -> None:
        for i in range(n):
            entry(make_user(kind="consumer"), "user.add", i % 3)
        db.session.commit()

    return {"operator": operator, "clerk": clerk, "add": add}


def audit_rows(html: str) -> list[list[str]]:
    table = re.search(r'<table class="data" id="audit">.*?</table>', html, re.S).group(0)
    rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(<td>.*?)</tr>", table, re.S)]
    return [row for row in rows if len(row) > 1]  # not the "no entries" row


def test_the_audit_log_filters_by_actor_action_and_days(client, db, audit_world):
    login(client, audit_world["operator"])
    rows = audit_rows(page_html(client, "/admin/audit?actor=clerk@"))
    assert len(rows) == 3 and {r[2] for r in rows} == {"clerk@plant.example"}
    assert len(audit_rows(page_html(client, "/admin/audit?actor=CLERK@PLANT.EXAMPLE"))) == 3  # e-mails are lower case
    assert audit_rows(page_html(client, "/admin/audit?actor=%25")) == []  # LIKE's wildcards are text
    assert audit_rows(page_html(client, "/admin/audit?actor=nobody@x")) == []
    rows = audit_rows(page_html(client, "/admin/audit?actor=clerk&action=site.move&since=2026-11-21&until=2026-11-22"))
    assert len(rows) == 2
    assert audit_rows(page_html(client, "/admin/audit?actor=ops&action=site.move")) == []


@pytest.mark.parametrize("query,field,message", [
    ("action=made.up", "action", "Unknown action"),
    ("org=abc", "org", "whole number"),
    ("actor=" + "a" * 255, "actor", "At most 254 characters"),
    ("since=2026-02-30", "since", "YYYY-MM-DD"),
    ("until=9999-12-31", "until", "between 2000 and 2100"),
    ("since=2026-11-22&until=2026-11-21", "until", "comes before the first"),
])
def test_a_bad_audit_filter_is_a_message_beside_its_field(client, db, audit_world, query, field, message):
    login(client, audit_world["operator"])
    client.get("/lang/en")
    html = page_html(client, f"/admin/audit?{query}", 400)
    block = re.search(rf'<div class="field[^"]*has-error">\s*<label for="{field}".*?</div>', html, re.S)
    assert block and message in block.group(0), html[-3000:]


def test_the_audit_page_sends_as_many_statements_for_30_entries_as_for_6(client, db, audit_world):
    """Each row names its actor and the actor's organisation: loaded with the page, not one query per row."""
    login(client, audit_world["operator"])
    urls = ["/admin/audit", "/admin/audit?actor=clerk", "/admin/audit?action=user.add&since=2026-11-20",
            "/admin/audit?format=csv"]

    few = count_per_page(client, db, urls)
    audit_world["add"](24)
    assert count_per_page(client, db, urls) == few


# --- listings: search by number and notes ------------------------------------------------------------------

@pytest.fixture
def noted_market(db, make_user, make_site):
    """Two producers' fly ash offers with notes, one consumer's demand."""
    from tests.web.test_scale import add_listings

    mine, theirs = make_user(kind="producer"), make_user(kind="producer")
    my_site, their_site = make_site(mine.organisation), make_site(theirs.organisation, name="他厂")
    own = add_listings(db, mine.organisation, [my_site], 3)
    other = add_listings(db, theirs.organisation, [their_site], 3)
    own[0].notes, own[1].notes = "干灰 罐车自提 Dry ash, tanker pickup", "湿灰"
    other[0].notes = "干灰 secret discount 50%_off"
    db.session.commit()
    return {"mine": mine, "theirs": theirs, "own": own, "other": other}


def listed_ids(html: str) -> list[int]:
    table = re.search(r'<table class="data" id="results">.*?</table>', html, re.S).group(0)
    return [int(i) for i in re.findall(r'<td><a href="/listings/supply/(\d+)">', table)]


def test_browse_searches_numbers_and_only_the_notes_the_viewer_may_read(client, db, noted_market, make_user):
    own, other = noted_market["own"], noted_market["other"]
    login(client, noted_market["mine"])
    assert listed_ids(page_html(client, "/listings/supply?q=干灰")) == [own[0].id]  # not the stranger's notes
    assert listed_ids(page_html(client, "/listings/supply?q=DRY ASH")) == [own[0].id]  # any case
    assert listed_ids(page_html(client, "/listings/supply?q=secret")) == []
    assert listed_ids(page_html(client, f"/listings/supply?q=%23{other[1].id}")) == [other[1].id]  # by number
    assert listed_ids(page_html(client, f"/listings/supply?q={own[2].id}")) == [own[2].id]
    assert listed_ids(page_html(client, "/listings/supply?q=%25")) == []  # a wildcard is text
    assert listed_ids(page_html(client, "/listings/supply?q=_")) == []
    html = page_html(client, "/listings/supply?q=干灰&material=fly_ash")
    assert 'value="干灰"' in html  # the search stays in its box
    regulator = make_user(kind="regulator")
    staff = client.application.test_client()
    login(staff, regulator)
    assert sorted(listed_ids(page_html(staff, "/listings/supply?q=干灰"))) == sorted([own[0].id, other[0].id])
    assert listed_ids(page_html(staff, "/listings/supply?q=50%25_off")) == [other[0].id]


def test_the_listing_api_searches_the_same_way(client, db, noted_market):
    login(client, noted_market["mine"])
    token = client.post(f"{API}/auth/token", json=token_request(noted_market["mine"])).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    items = client.get(f"{API}/supply-listings?q=干灰", headers=auth).get_json()["items"]
    assert [i["id"] for i in items] == [noted_market["own"][0].id]
    response = client.get(f"{API}/supply-listings?q=" + "x" * 101, headers=auth)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "q"


def test_hostile_listing_searches_are_harmless(client, db, noted_market):
    login(client, noted_market["mine"])
    for text in ("' OR 1=1 --", "<script>alert(1)</script>", "\\", "#", "#99999999999999", "🙂"):
        response = client.get("/listings/supply", query_string={"q": text})
        assert response.status_code == 200
        assert listed_ids(response.get_data(as_text=True)) == []
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert client.get("/listings/supply", query_string={"q": "x" * 101}).status_code == 200  # shown as a message


def test_a_listing_search_sends_as_many_statements_for_50_listings_as_for_5(client, db, noted_market):
    from tests.web.test_scale import add_listings

    login(client, noted_market["mine"])
    urls = ["/listings/supply?q=干灰", "/listings/supply?q=1&sort=price", "/listings/mine?q=灰"]
    site = noted_market["own"][0].site

    few = count_per_page(client, db, urls)
    rows = add_listings(db, noted_market["mine"].organisation, [site], 45)
    for row in rows:
        row.notes = "干灰"
    db.session.commit()
    assert count_per_page(client, db, urls) == few

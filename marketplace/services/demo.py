"""A realistic but fictitious Ningxia market for demonstrations: organisations at real places, their sites,
their users and two years of monthly generation. Idempotent: what exists already is left alone."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from .. import gazetteer
from ..clock import CST, as_utc, today_cst, utcnow
from ..extensions import db
from ..identifiers import make_uscc
from ..models import (
    BaselineStatus,
    GenerationRecord,
    Material,
    Organisation,
    OrgKind,
    Site,
    User,
    UserRole,
    VerificationStatus,
)
from ..models.organisation import hash_password

DEMO_PASSWORD = "demo-pass-2026"
DEMO_LOGINS = {
    "producer@example.com": "producer",
    "consumer@example.com": "consumer",
    "regulator@example.com": "regulator",
    "admin@example.com": "operator",
}
#: Regulators and the operator sign in with a second factor: the demo's fixed TOTP secrets (README).
DEMO_TOTP_SECRETS = {
    "regulator@example.com": "NXREGULATORDEMOSECRETAAAAAAAAAAA",
    "admin@example.com": "NXOPERATORDEMOSECRETAAAAAAAAAAAA",
}
MONTHS = 24


@dataclass(frozen=True)
class DemoOrg:
    name: str
    kind: OrgKind
    county: str
    park: str
    lat: str
    lon: str
    #: material code -> typical monthly tonnes generated (producers only)
    streams: tuple[tuple[str, int], ...] = ()
    rail: bool = False
    email: str = ""
    verified: bool = True


P, C = OrgKind.PRODUCER, OrgKind.CONSUMER
POWER = (("fly_ash", 42000), ("fgd_gypsum", 14000), ("furnace_slag", 6000))

# Fictitious enterprises. Positions are near real plants and towns (DOMAIN.md), names are invented.
PRODUCERS = [
    DemoOrg("宁东恒源发电有限公司", P, "Lingwu", "Ningdong", "38.0575", "106.6914", POWER, True,
            email="producer@example.com"),
    DemoOrg("宁东清泉热电有限公司", P, "Lingwu", "Ningdong", "38.1120", "106.6050", POWER, True),
    DemoOrg("灵武河东发电有限公司", P, "Lingwu", "", "38.0890", "106.3610", POWER),
    DemoOrg("石嘴山惠丰发电有限公司", P, "Huinong", "Huinong", "39.2848", "106.7890", POWER, True),
    DemoOrg("大武口贺兰山热电有限公司", P, "Dawukou", "ShizuishanETDZ", "39.0410", "106.3950", POWER),
    DemoOrg("青铜峡铝业自备电厂（演示）", P, "Qingtongxia", "Qingtongxia", "37.9240", "105.9110", POWER, True),
    DemoOrg("中卫沙坡头热电有限公司", P, "Shapotou", "Zhongwei", "37.5480", "105.1520", POWER),
    DemoOrg("吴忠太阳山发电有限公司", P, "Litong", "Taiyangshan", "37.5620", "106.4850", POWER),
    DemoOrg("银川西夏热电有限公司", P, "Xixia", "", "38.5030", "106.1320", POWER),
    DemoOrg("平罗宝丰发电有限公司", P, "Pingluo", "Pingluo", "38.9620", "106.6010", POWER),
    DemoOrg("宁东煤制油示范有限公司", P, "Lingwu", "Ningdong", "38.0820", "106.6470",
            (("gasification_slag", 90000), ("furnace_slag", 12000)), True),
    DemoOrg("宁东烯烃化工有限公司", P, "Lingwu", "Ningdong", "38.1290", "106.6680",
            (("gasification_slag", 55000), ("fly_ash", 18000))),
    DemoOrg("宁东甲醇气化有限公司", P, "Lingwu", "Ningdong", "38.0690", "106.5890",
            (("gasification_slag", 40000),)),
    DemoOrg("宁东精细化工有限公司", P, "Lingwu", "Ningdong", "38.1380", "106.6210",
            (("gasification_slag", 22000), ("furnace_slag", 5000))),
    DemoOrg("宁东煤化工供热中心", P, "Lingwu", "Ningdong", "38.0990", "106.5760",
            (("fly_ash", 20000), ("furnace_slag", 7000))),
    DemoOrg("宁东焦化有限公司", P, "Lingwu", "Ningdong", "38.1440", "106.6930",
            (("furnace_slag", 9000),)),
    DemoOrg("石嘴山氯碱化工有限公司", P, "Huinong", "Huinong", "39.2560", "106.7720",
            (("carbide_slag", 38000),), True),
    DemoOrg("平罗聚氯乙烯有限公司", P, "Pingluo", "Pingluo", "38.9410", "106.5740",
            (("carbide_slag", 30000),)),
    DemoOrg("宁东电石化工有限公司", P, "Lingwu", "Ningdong", "38.0760", "106.6260",
            (("carbide_slag", 45000),)),
    DemoOrg("中卫美利化工有限公司", P, "Shapotou", "Zhongwei", "37.5350", "105.1210",
            (("carbide_slag", 18000),)),
    DemoOrg("中宁硅锰合金有限公司", P, "Zhongning", "Zhongning", "37.4770", "105.7420",
            (("ferroalloy_slag", 16000),)),
    DemoOrg("中宁铁合金冶炼有限公司", P, "Zhongning", "Zhongning", "37.4650", "105.7150",
            (("ferroalloy_slag", 11000),)),
    DemoOrg("石嘴山硅铁有限公司", P, "Dawukou", "ShizuishanETDZ", "39.0630", "106.4220",
            (("ferroalloy_slag", 9000),)),
    DemoOrg("惠农锰业有限公司", P, "Huinong", "Huinong", "39.2240", "106.7530",
            (("ferroalloy_slag", 7000),)),
    DemoOrg("石嘴山钢铁有限公司", P, "Dawukou", "ShizuishanETDZ", "39.0320", "106.3610",
            (("gbf_slag", 60000), ("steel_slag", 25000)), True),
    DemoOrg("中卫特钢有限公司", P, "Shapotou", "Zhongwei", "37.5600", "105.2100",
            (("gbf_slag", 20000), ("steel_slag", 9000))),
    DemoOrg("灵武羊场湾选煤有限公司", P, "Lingwu", "Ningdong", "38.0300", "106.5650",
            (("coal_gangue", 70000),)),
    DemoOrg("石嘴山白芨沟洗煤有限公司", P, "Dawukou", "", "39.1020", "106.2480",
            (("coal_gangue", 35000),)),
]

CONSUMER_KINDS = [
    ("水泥有限公司", 8), ("商品混凝土有限公司", 10), ("新型墙材有限公司", 10), ("石膏板有限公司", 4),
    ("路桥建设有限公司", 5), ("矿山回填工程有限公司", 3),
]
CONSUMER_TOWNS = [
    ("Qingtongxia", "Qingtongxia", "青铜峡"), ("Lingwu", "", "灵武"), ("Jinfeng", "YinchuanETDZ", "银川"),
    ("Xingqing", "", "兴庆"), ("Helan", "", "贺兰"), ("Yongning", "", "永宁"), ("Dawukou", "ShizuishanETDZ", "大武口"),
    ("Pingluo", "Pingluo", "平罗"), ("Litong", "", "利通"), ("Shapotou", "Zhongwei", "中卫"),
    ("Zhongning", "Zhongning", "中宁"), ("Yuanzhou", "Guyuan", "固原"), ("Hongsibu", "", "红寺堡"),
    ("Huinong", "Huinong", "惠农"), ("Xixia", "", "西夏"), ("Tongxin", "", "同心"),
]
CONSUMER_BRANDS = ["瑞宁", "贺兰山", "塞上", "黄河", "六盘", "朔方", "西夏", "沙湖", "金川", "宁建",
                   "鼎盛", "鸿基", "恒通", "华源", "天元", "长城", "新力", "泰和", "博宇", "永固"]


def _consumers(rng: random.Random) -> list[DemoOrg]:
    out: list[DemoOrg] = []
    n = 0
    for suffix, count in CONSUMER_KINDS:
        for _ in range(count):
            county, park, town = CONSUMER_TOWNS[n % len(CONSUMER_TOWNS)]
            brand = CONSUMER_BRANDS[(n * 7) % len(CONSUMER_BRANDS)]
            base = gazetteer.PARKS[park] if park else gazetteer.COUNTIES[county]
            lat = base.lat + Decimal(rng.randint(-300, 300)) / 10000
            lon = base.lon + Decimal(rng.randint(-300, 300)) / 10000
            out.append(DemoOrg(f"宁夏{town}{brand}{suffix}", C, county, park, str(lat), str(lon),
                               rail=rng.random() < 0.2,
                               email="consumer@example.com" if n == 0 else ""))
            n += 1
    return out


def _credit_code(kind_digit: str, seq: int) -> str:
    return make_uscc(f"{kind_digit}640100MA{seq:07d}")


def _month_starts(today: date, count: int) -> list[date]:
    """The `count` whole months before the current one, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(date(year, month, 1))
    return months[::-1]


def _org(name: str, code: str, kind: OrgKind, verified: bool, log: list[str]) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if org is None:
        n = sum(map(ord, code)) % 10_000  # a fictitious contact person for deals, the same at every seeding
        org = Organisation(name=name, credit_code=code, kind=kind,
                           verification=VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING,
                           verified_at=utcnow() if verified else None,
                           contact_name=f"{'王李张刘陈杨马赵'[n % 8]}{'经理' if n % 2 else '工'}",
                           contact_phone=f"0951-555{n:04d}", contact_email=f"deals{n}@demo.example.cn")
        db.session.add(org)
        db.session.flush()
        log.append(f"organisation {name}")
    return org


def _user(org: Organisation, email: str, password_hash: str, log: list[str]) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)):
        return
    user = User(email=email, name=email.split("@")[0], organisation=org, role=UserRole.ADMIN, active=True,
                failed_logins=0, password_hash=password_hash, totp_secret=DEMO_TOTP_SECRETS.get(email))
    db.session.add(user)
    log.append(f"user {email}")


def _site(org: Organisation, spec: DemoOrg, log: list[str]) -> Site:
    site = db.session.scalar(select(Site).where(Site.organisation_id == org.id).order_by(Site.id).limit(1))
    if site is None:
        place = gazetteer.COUNTIES[spec.county]
        site = Site(organisation=org, name=spec.name.replace("有限公司", "") + "厂区", lat=Decimal(spec.lat),
                    lon=Decimal(spec.lon), city=place.city, county=spec.county, industrial_park=spec.park,
                    rail_siding=spec.rail, active=True)
        db.session.add(site)
        db.session.flush()
        log.append(f"site {site.name}")
    return site


def seed_demo(today: date | None = None, seed: int = 20261123) -> list[str]:
    """Create what is missing of the demo market; returns a line per object created."""
    rng = random.Random(seed)
    today = today or today_cst()
    log: list[str] = []
    # Every demo user shares the one demo password: hash it once (a slow hash, by design) for all of them.
    password_hash = hash_password(DEMO_PASSWORD)
    materials = {m.code: m for m in db.session.scalars(select(Material))}
    if not materials:
        raise RuntimeError("The materials catalogue is empty: run `flask --app wsgi db upgrade` first.")

    operator = _org("宁夏工业固废交易平台运营中心（演示）", make_uscc("12640000MB0000001"), OrgKind.OPERATOR, True, log)
    _user(operator, "admin@example.com", password_hash, log)
    regulator = _org("自治区工业和信息化厅固废处（演示）", make_uscc("11640000MB0000002"), OrgKind.REGULATOR, True, log)
    _user(regulator, "regulator@example.com", password_hash, log)

    months = _month_starts(today, MONTHS)
    consumers = _consumers(rng)
    for seq, spec in enumerate(PRODUCERS, start=1):
        org = _org(spec.name, _credit_code("9", seq), spec.kind, spec.verified, log)
        _user(org, spec.email or f"producer{seq:02d}@example.com", password_hash, log)
        site = _site(org, spec, log)
        has_records = db.session.scalar(
            select(GenerationRecord.id).where(GenerationRecord.site_id == site.id).limit(1))
        if has_records:
            continue
        for code, monthly in spec.streams:
            for i, month in enumerate(months):
                season = 1 + 0.15 * ((month.month in (12, 1, 2)) - (month.month in (6, 7, 8)))  # winter heating
                generated = Decimal(round(monthly * season * rng.uniform(0.85, 1.15)))
                in_house = (generated * Decimal(rng.uniform(0, 0.08))).quantize(Decimal(1))
                # Storage falls slowly over the two years, as utilisation improves.
                stored_share = Decimal(str(round(0.62 - 0.12 * i / MONTHS + rng.uniform(-0.05, 0.05), 3)))
                stored = min(generated - in_house, (generated * stored_share).quantize(Decimal(1)))
                db.session.add(GenerationRecord(site_id=site.id, material_id=materials[code].id, month=month,
                                                tonnes_generated=generated, tonnes_used_in_house=in_house,
                                                tonnes_stored=stored))
        log.append(f"generation records for {site.name}")
    for seq, spec in enumerate(consumers, start=1):
        # Two consumers are still waiting for verification, so the operator's desk has work.
        org = _org(spec.name, _credit_code("9", 100 + seq), spec.kind, seq not in (39, 40), log)
        _user(org, spec.email or f"consumer{seq:02d}@example.com", password_hash, log)
        _site(org, spec, log)
    db.session.flush()
    _seed_listings(rng, today, log)
    db.session.flush()
    _history(rng, today, log)
    db.session.flush()
    _seasons(today, log)
    db.session.flush()
    from .notifications import history_read

    history_read()  # the history's notices are old news, but for the trucks still on their way
    return log


# --- the open market: listings --------------------------------------------------------------------------

#: material -> (ex-works price yuan/t by grade or None, typical quality values)
SUPPLY_TERMS: dict[str, tuple[dict[str | None, int], dict[str, float]]] = {
    "fly_ash": ({"I": 65, "II": 38, "III": 12},
                {"fineness_45um": 18, "water_demand_ratio": 100, "loi": 5.5, "so3": 1.2, "moisture": 0.5}),
    "fgd_gypsum": ({None: 8}, {"caso4_2h2o": 91, "free_water": 11, "chloride": 0.05}),
    "furnace_slag": ({None: 4}, {"loi": 6, "moisture": 12}),
    "gasification_slag": ({None: -18}, {"residual_carbon": 12, "moisture": 35}),
    "carbide_slag": ({None: 0}, {"cao": 65, "moisture": 30}),
    "ferroalloy_slag": ({None: 12}, {"mno": 8, "moisture": 5}),
    "gbf_slag": ({"S105": 175, "S95": 150, "S75": 110}, {"specific_surface": 430, "loi": 0.6}),
    "steel_slag": ({"I": 30, "II": 18}, {"free_cao": 2.5, "moisture": 4}),
    "coal_gangue": ({None: -6}, {"calorific_value": 6.5, "al2o3": 24}),
}
#: consumer kind (name suffix) -> [(material, min grade, max delivered price, quality limits)]
DEMAND_TERMS: dict[str, list[tuple[str, str | None, int, dict[str, dict[str, str]]]]] = {
    "水泥有限公司": [("fly_ash", "II", 95, {"loi": {"max": "8"}}), ("carbide_slag", None, 40, {"cao": {"min": "60"}}),
                ("fgd_gypsum", None, 55, {"caso4_2h2o": {"min": "85"}}), ("gbf_slag", "S95", 210, {})],
    "商品混凝土有限公司": [("fly_ash", "II", 110, {"loi": {"max": "8"}, "fineness_45um": {"max": "30"}}),
                   ("gbf_slag", "S95", 220, {"specific_surface": {"min": "400"}})],
    "新型墙材有限公司": [("fly_ash", "III", 45, {}), ("furnace_slag", None, 35, {}), ("coal_gangue", None, 25, {}),
                 ("gasification_slag", None, 20, {})],
    "石膏板有限公司": [("fgd_gypsum", None, 70, {"caso4_2h2o": {"min": "90"}, "chloride": {"max": "0.1"}})],
    "路桥建设有限公司": [("steel_slag", "II", 60, {"free_cao": {"max": "3"}}), ("furnace_slag", None, 30, {}),
                 ("gasification_slag", None, 15, {})],
    "矿山回填工程有限公司": [("gasification_slag", None, 10, {}), ("coal_gangue", None, 10, {})],
}


CONSUMER_USE = {"水泥有限公司": "cement", "商品混凝土有限公司": "concrete", "新型墙材有限公司": "bricks_blocks",
                "石膏板有限公司": "plasterboard", "路桥建设有限公司": "road_base",
                "矿山回填工程有限公司": "mine_backfill"}


def _seed_listings(rng: random.Random, today: date, log: list[str]) -> None:
    from datetime import timedelta

    from ..models import DemandListing, SupplyListing
    from .listings import create_listing

    start = today
    for seq, spec in enumerate(PRODUCERS, start=1):
        org = db.session.scalar(select(Organisation).where(Organisation.credit_code == _credit_code("9", seq)))
        if org is None or db.session.scalar(select(SupplyListing.id).where(SupplyListing.organisation_id == org.id)
                                            .limit(1)):
            continue
        user, site = org.users[0], org.sites[0]
        for code, monthly in spec.streams:
            prices, quality = SUPPLY_TERMS[code]
            grade_choices = list(prices)
            # A plant offers what it cannot use or store well: about a quarter's surplus, per grade.
            offered = grade_choices if len(grade_choices) > 1 and code == "fly_ash" else [rng.choice(grade_choices)]
            for grade in offered:
                tonnes = max(500, round(monthly * 3 * rng.uniform(0.15, 0.45) / 100) * 100)
                q = {k: str(round(v * rng.uniform(0.9, 1.1), 2)) for k, v in quality.items()}
                if code == "fly_ash" and grade is not None:  # keep the measured values inside the grade (GB/T 1596)
                    q["loi"] = {"I": "4.2", "II": "6.8", "III": "9.1"}[grade]
                    q["fineness_45um"] = {"I": "10.5", "II": "24.0", "III": "38.0"}[grade]
                create_listing(user, "supply", {
                    "site_id": site.id, "material": code, "grade": grade, "quality": q, "tonnes": tonnes,
                    "period_start": start, "period_end": start + timedelta(days=rng.choice([60, 90, 120, 180])),
                    "price_yuan_per_t": str(prices[grade] + rng.choice([-3, 0, 0, 2, 5]) if prices[grade] else 0),
                    "max_haul_km": rng.choice([120, 150, 200, 250]),
                    "notes": "汽车运输，厂内装车。" if not site.rail_siding else "可铁路发运，厂内装车。",
                }, "open")
        log.append(f"supply listings of {org.name}")
    consumers = _consumers(random.Random(20261123))
    for seq, spec in enumerate(consumers, start=1):
        org = db.session.scalar(select(Organisation).where(Organisation.credit_code == _credit_code("9", 100 + seq)))
        if org is None or not org.is_verified or db.session.scalar(
                select(DemandListing.id).where(DemandListing.organisation_id == org.id).limit(1)):
            continue
        user, site = org.users[0], org.sites[0]
        suffix, terms = next((sfx, t) for sfx, t in DEMAND_TERMS.items() if spec.name.endswith(sfx))
        wanted = terms if spec.email else rng.sample(terms, k=min(len(terms), rng.choice([1, 2])))
        for code, min_grade, max_price, limits in wanted:
            create_listing(user, "demand", {
                "site_id": site.id, "material": code, "min_grade": min_grade, "quality_limits": limits,
                "tonnes": rng.choice([2000, 3000, 5000, 8000, 12000, 20000]),
                "period_start": start, "period_end": start + timedelta(days=rng.choice([90, 120, 180])),
                "max_delivered_price_yuan_per_t": str(max_price), "max_haul_km": rng.choice([100, 150, 200]),
                "use": CONSUMER_USE[suffix], "notes": "需提供检测报告。",
            }, "open")
        log.append(f"demand listings of {org.name}")


# --- a year and more of history: agreements, shipments, the ledger, baselines, claims -----------------------

#: (producer index, consumer index, material, tonnes). Indices are 1-based positions in PRODUCERS and in
#: the generated consumers; producer 1 and consumer 1 are the demo logins and stay out of the history, so
#: that a newcomer walks the whole path with them.
HISTORY_DEALS = [
    (2, 2, "fly_ash", 2400), (4, 9, "fly_ash", 1800), (6, 3, "fly_ash", 2100), (11, 38, "gasification_slag", 3000),
    (17, 4, "carbide_slag", 2700), (25, 10, "gbf_slag", 2000), (2, 29, "fgd_gypsum", 1500),
    (27, 19, "coal_gangue", 1800), (25, 33, "steel_slag", 1200), (3, 20, "fly_ash", 1500),
]
#: consumer index -> (baseline status, baseline tonnes in the base year)
HISTORY_BASELINES = {2: ("approved", "300"), 3: ("approved", "250"), 4: ("approved", "400"), 9: ("approved", "200"),
                     10: ("approved", "150"), 19: ("approved", "100"), 20: ("pending", "500"),
                     33: ("rejected", "900")}
#: consumer index -> the state its claim for last year is left in
HISTORY_CLAIMS = {2: "paid", 3: "approved", 4: "submitted", 9: "rejected", 10: "draft"}
TRUCK_T = 32


def _history(rng: random.Random, today: date, log: list[str]) -> None:
    from datetime import timedelta

    from ..models import Agreement, Baseline, SubsidyClaim
    from . import deliveries, proposals, rounds, subsidies
    from .listings import create_listing

    if db.session.scalar(select(Agreement.id).limit(1)) is not None:
        return  # history exists (or real deals do): leave it alone
    operator = db.session.scalars(select(User).where(User.email == "admin@example.com")).one()
    regulator = db.session.scalars(select(User).where(User.email == "regulator@example.com")).one()

    def by_code(code: str) -> Organisation:
        return db.session.scalars(select(Organisation).where(Organisation.credit_code == code)).one()

    start = date(today.year - 1, 1, 1)
    now = utcnow()
    first_day = as_utc(datetime(start.year, 1, 1, 8, tzinfo=CST))
    span_s = (now - timedelta(days=2) - first_day).total_seconds()
    ticket = 0
    for p_idx, c_idx, material, tonnes in HISTORY_DEALS:
        producer = by_code(_credit_code("9", p_idx))
        consumer = by_code(_credit_code("9", 100 + c_idx))
        p_user, c_user = producer.users[0], consumer.users[0]
        grades = SUPPLY_TERMS[material][0]
        grade = next(iter(grades)) if None not in grades else None
        supply = create_listing(p_user, "supply", {
            "site_id": producer.sites[0].id, "material": material, "grade": grade, "tonnes": tonnes,
            "period_start": start - timedelta(days=10), "period_end": today + timedelta(days=30),
            "price_yuan_per_t": "10", "max_haul_km": 400, "notes": "年度供货合同。"}, "open")
        suffix = next(sfx for sfx in DEMAND_TERMS if consumer.name.endswith(sfx))
        demand = create_listing(c_user, "demand", {
            "site_id": consumer.sites[0].id, "material": material, "tonnes": tonnes,
            "period_start": start - timedelta(days=10), "period_end": today + timedelta(days=30),
            "max_haul_km": 400, "use": CONSUMER_USE[suffix], "notes": "年度采购。"}, "open")
        round_ = rounds.start_round(operator, supply_listing_ids=[supply.id], demand_listing_ids=[demand.id],
                                    run_now=True)  # seeding is a CLI edge of its own: no queue
        for proposal in round_.proposals:
            proposals.decide(p_user, proposal.id, "accept")
            proposals.decide(c_user, proposal.id, "accept")
            agreement = proposal.agreement
            assert agreement is not None, "both parties accepted: the proposal made an agreement"
            agreement.created_at = first_day - timedelta(days=7)
            trucks = agreement.tonnes // TRUCK_T
            for n in range(trucks):
                ticket += 1
                when = first_day + timedelta(seconds=span_s * (n + rng.random() * 0.5) / trucks)
                tare = rng.randint(14_500, 16_500)
                net = TRUCK_T * 1000 - rng.randint(0, 2500)
                if ticket % 97 == 0:
                    net = 36_800  # an overloaded truck, for the anomaly flags
                shipment = deliveries.record_shipment(p_user, agreement.id, {
                    "ticket_no": f"GB{start.year}{ticket:05d}",
                    "truck_plate": f"宁{'ABCDE'[ticket % 5]}{10000 + ticket % 700}",
                    "dispatched_at": when.isoformat(), "gross_kg": tare + net, "tare_kg": tare,
                    "moisture_pct": "0.8" if material == "fly_ash" else None}, now=now)
                if n >= trucks - 2:
                    continue  # the last trucks are still on their way
                received = net if ticket % 23 else net - rng.randint(800, 1500)  # a few large differences
                deliveries.confirm_shipment(c_user, shipment.id, received, now=min(now, when + timedelta(hours=20)))
        log.append(f"history: {producer.name} -> {consumer.name}, {material}")
    db.session.flush()

    scheme = subsidies.scheme_in_force(today.year - 1)
    for c_idx, (status, baseline_t) in HISTORY_BASELINES.items():
        consumer = by_code(_credit_code("9", 100 + c_idx))
        baseline = Baseline(organisation_id=consumer.id, year=scheme.base_year, tonnes=Decimal(baseline_t),
                            evidence=f"{scheme.base_year}年度统计报表及购销发票（演示）",
                            status=BaselineStatus.PENDING,
                            submitted_by_id=consumer.users[0].id)
        db.session.add(baseline)
        db.session.flush()
        if status != "pending":
            subsidies.review_baseline(regulator, baseline.id, "approve" if status == "approved" else "reject",
                                      "" if status == "approved" else "证据不足：缺少发票。")
    for c_idx, state in HISTORY_CLAIMS.items():
        c_user = by_code(_credit_code("9", 100 + c_idx)).users[0]
        claim = subsidies.prepare_claim(c_user, today.year - 1)
        if state != "draft":
            subsidies.submit_claim(c_user, claim.id)
        if state in ("approved", "paid"):
            subsidies.review_claim(regulator, claim.id, "approve")
        if state == "rejected":
            subsidies.review_claim(regulator, claim.id, "reject", "部分磅单净重差异过大，请核实后重新申报。")
        if state == "paid":
            subsidies.mark_paid(regulator, claim.id)
    log.append(f"history: baselines {len(HISTORY_BASELINES)}, claims {len(HISTORY_CLAIMS)}")
    assert db.session.scalar(select(SubsidyClaim.id).limit(1)) is not None


# --- seasonal planning (issue #14): a year of profiles, yards and silos ------------------------------------

#: Power plants' fly ash by calendar month, as a share of an average month: the heating season (November to
#: March) burns more coal. (producer index, yard capacity t, stock now t)
SEASONAL_PLANTS = [(2, 9000, 2500), (4, 6000, 1500), (6, 8000, 2000), (3, 0, 0)]
HEATING = [1.35, 1.3, 1.15, 0.85, 0.75, 0.7, 0.75, 0.8, 0.85, 0.95, 1.2, 1.35]
#: Ready-mix concrete by month: little in the frozen months, peaks in spring and autumn building.
BUILDING = [0.35, 0.3, 0.8, 1.25, 1.35, 1.15, 0.95, 1.0, 1.3, 1.35, 0.9, 0.4]
#: (consumer index, tonnes a year, silo capacity t, stock now t): cement works take the production calendar's
#: stops by default (no tonnes 15 November - 31 March); concrete plants the building season.
SEASONAL_USERS = [(5, 26000, 2500, 300), (6, 22000, 0, 0), (7, 20000, 0, 0), (11, 14000, 1200, 100),
                  (12, 12000, 0, 0)]
SEASONAL_NOTE = "全年分月计划（演示）"


def _seasons(today: date, log: list[str]) -> None:
    """Year-long fly ash listings from next month with monthly profiles: winter-heavy power plants (three with
    a yard), cement works stopped in winter (one with a silo) and concrete plants busy in spring and autumn, so
    that a seasonal round over the next twelve months shows what storage changes."""
    from ..models import SupplyListing
    from .calendar import add_months, month_end, spread
    from .listings import create_listing

    if db.session.scalar(select(SupplyListing.id).where(SupplyListing.notes == SEASONAL_NOTE).limit(1)):
        return
    start = add_months(today.replace(day=1), 1)
    end = month_end(add_months(start, 11))
    order = [(start.month - 1 + k) % 12 for k in range(12)]  # calendar months of the year ahead

    def by_code(code: str) -> Organisation | None:
        return db.session.scalar(select(Organisation).where(Organisation.credit_code == code))

    for p_idx, capacity, stock in SEASONAL_PLANTS:
        org = by_code(_credit_code("9", p_idx))
        if org is None or not org.is_verified:
            continue
        base = 42000 * 0.2  # a fifth of the ash offered through the platform
        monthly = [round(base * HEATING[m] / 100) * 100 for m in range(12)]
        create_listing(org.users[0], "supply", {
            "site_id": org.sites[0].id, "material": "fly_ash", "grade": "II",
            "quality": {"loi": "6.8", "fineness_45um": "24.0", "water_demand_ratio": "101", "so3": "1.2",
                        "moisture": "0.5"},
            "tonnes": sum(monthly[m] for m in order) + stock, "period_start": start, "period_end": end,
            "price_yuan_per_t": "30", "max_haul_km": 250, "monthly_tonnes": monthly, "notes": SEASONAL_NOTE,
            **({"storage_capacity_t": capacity, "storage_stock_t": stock, "holding_yuan_per_t_month": "0.60"}
               if capacity else {})}, "open")
        log.append(f"seasonal supply of {org.name}")
    for c_idx, tonnes, capacity, stock in SEASONAL_USERS:
        org = by_code(_credit_code("9", 100 + c_idx))
        if org is None or not org.is_verified:
            continue
        cement = org.name.endswith("水泥有限公司")
        profile = None if cement else spread(tonnes, [Decimal(str(BUILDING[m])) for m in range(12)])
        create_listing(org.users[0], "demand", {
            "site_id": org.sites[0].id, "material": "fly_ash", "min_grade": "II",
            "quality_limits": {"loi": {"max": "8"}}, "tonnes": tonnes, "period_start": start, "period_end": end,
            "max_delivered_price_yuan_per_t": "110", "max_haul_km": 250, "use": "cement" if cement else "concrete",
            "monthly_tonnes": profile,
            "notes": SEASONAL_NOTE,
            **({"storage_capacity_t": capacity, "storage_stock_t": stock, "holding_yuan_per_t_month": "1.20"}
               if capacity else {})}, "open")
        log.append(f"seasonal demand of {org.name}")

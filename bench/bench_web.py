"""Benchmark of the web tier at province scale (issue #17), run by hand.

Starts a throw-away PostgreSQL (scripts/pg.sh), migrates it, seeds the demo market, then bulk-loads (COPY)
50,000 open listings at 5,000 new sites over Ningxia and 1,000,000 ledger entries on the demo's agreements
(their hashes are unique but not chained: this measures pages, not `ledger verify`, see bench_ledger.py), and
rebuilds the ledger's monthly summary as the migration's backfill would. Serves the app with gunicorn
(4 sync workers, as `make serve` would) and measures each page and API endpoint of the issue's table with
10 concurrent clients (keep-alive connections): p50 / p95 / p99 latency and throughput, printed as a
table. The listing exports' peak Python memory is measured in-process with tracemalloc.

Usage: .venv/bin/python bench/bench_web.py [--listings 50000] [--entries 1000000] [--requests 20]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLIENTS = 10
WORKERS = 4
MATERIALS = {"fly_ash": ["I", "II", "III"], "fgd_gypsum": [None], "coal_gangue": [None], "furnace_slag": [None],
             "gbf_slag": ["S105", "S95", "S75"], "steel_slag": ["I", "II"], "carbide_slag": [None],
             "gasification_slag": [None], "ferroalloy_slag": [None]}
COUNTIES = [("Xingqing", "Yinchuan"), ("Jinfeng", "Yinchuan"), ("Xixia", "Yinchuan"), ("Yongning", "Yinchuan"),
            ("Helan", "Yinchuan"), ("Lingwu", "Yinchuan"), ("Dawukou", "Shizuishan"), ("Huinong", "Shizuishan"),
            ("Pingluo", "Shizuishan"), ("Litong", "Wuzhong"), ("Qingtongxia", "Wuzhong"), ("Yanchi", "Wuzhong"),
            ("Shapotou", "Zhongwei"), ("Zhongning", "Zhongwei"), ("Yuanzhou", "Guyuan")]


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- data ------------------------------------------------------------------------------------------------

def copy_rows(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, n_listings: int, n_entries: int, env: dict) -> dict:
    """Migrate, seed the demo, bulk-load listings and ledger entries; what the clients need to know."""
    import psycopg

    from marketplace.clock import today_cst

    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    step("demo market")
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    rng = random.Random(17)
    today = today_cst()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM organisation WHERE kind IN ('producer', 'both')")
        producers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM organisation WHERE kind IN ('consumer', 'both')")
        consumers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id, code FROM material")
        materials = dict((code, i) for i, code in cur.fetchall())
        cur.execute("SELECT coalesce(max(id), 0) FROM site")
        first_site = cur.fetchone()[0] + 1
        step(f"5,000 sites, {n_listings:,} listings (COPY)")
        sites = []
        for k in range(5000):
            county, city = rng.choice(COUNTIES)
            org = rng.choice(producers if k % 2 == 0 else consumers)
            sites.append((first_site + k, org, f"bench site {k}", f"{rng.uniform(35.3, 39.3):.6f}",
                          f"{rng.uniform(104.3, 107.6):.6f}", city, county, "", False, True,
                          datetime.now(UTC)))
        copy_rows(cur, "site", ["id", "organisation_id", "name", "lat", "lon", "city", "county", "industrial_park",
                                "rail_siding", "active", "created_at"], sites)
        cur.execute("SELECT setval(pg_get_serial_sequence('site', 'id'), (SELECT max(id) FROM site))")
        producer_sites = [s for s in sites if s[0] % 2 == first_site % 2]
        consumer_sites = [s for s in sites if s[0] % 2 != first_site % 2]
        now = datetime.now(UTC)
        common = ["organisation_id", "site_id", "material_id", "status", "tonnes", "tonnes_promised", "period_start",
                  "period_end", "max_haul_km", "notes", "created_at", "updated_at"]

        def listing(site, code):
            return [site[1], site[0], materials[code], "open", rng.randrange(100, 50_000), 0,
                    today - timedelta(days=rng.randrange(0, 30)), today + timedelta(days=rng.randrange(30, 300)),
                    rng.choice([50, 100, 150, 200, 300]), "bench", now, now]

        def supplies():
            for _ in range(n_listings // 2):
                code = rng.choice(list(MATERIALS))
                price = f"{rng.uniform(-20, 80):.2f}"
                yield [*listing(rng.choice(producer_sites), code), rng.choice(MATERIALS[code]), "{}", price]

        def demands():
            for _ in range(n_listings - n_listings // 2):
                code = rng.choice(list(MATERIALS))
                yield [*listing(rng.choice(consumer_sites), code), None, "{}", f"{rng.uniform(20, 150):.2f}", "cement"]

        copy_rows(cur, "supply_listing", [*common, "grade", "quality", "price_yuan_per_t"], supplies())
        copy_rows(cur, "demand_listing",
                  [*common, "min_grade", "quality_limits", "max_delivered_price_yuan_per_t", "use"], demands())
        step(f"{n_entries:,} ledger entries (COPY)")
        cur.execute("SELECT a.id, a.producer_org_id, a.consumer_org_id, m.code, "
                    "(SELECT min(s.id) FROM shipment s WHERE s.agreement_id = a.id) "
                    "FROM agreement a JOIN material m ON m.id = a.material_id")
        deals = [r for r in cur.fetchall() if r[4] is not None]
        cur.execute("SELECT coalesce(max(id), 0), coalesce(max(seq), 0) FROM ledger_entry")
        first_id, first_seq = cur.fetchone()
        cur.execute("SELECT id FROM \"user\" LIMIT 1")
        recorder = cur.fetchone()[0]
        start = datetime(today.year - 1, 1, 1, tzinfo=UTC)
        span = (datetime.now(UTC) - timedelta(days=2) - start).total_seconds()
        last_hash = ""

        def entries():
            nonlocal last_hash
            prev = "0" * 64
            for k in range(1, n_entries + 1):
                agreement, producer, consumer, code, shipment = deals[k % len(deals)]
                at = start + timedelta(seconds=span * k / n_entries)
                digest = hashlib.sha256(f"bench {k}".encode()).hexdigest()
                yield (first_id + k, first_seq + k, "utilisation", shipment, agreement, producer, consumer, code,
                       20_000 + k % 15_000, f"BW{k:08d}", at, at + timedelta(hours=2), None, "", recorder, prev,
                       digest, 2)
                prev = digest
            last_hash = prev

        cur.execute("ALTER TABLE ledger_entry DISABLE TRIGGER USER")  # the append-only trigger, for the load
        copy_rows(cur, "ledger_entry", ["id", "seq", "kind", "shipment_id", "agreement_id", "producer_org_id",
                                        "consumer_org_id", "material", "net_kg", "ticket_no", "dispatched_at",
                                        "confirmed_at", "reverses_id", "reason", "recorded_by_id", "prev_hash",
                                        "hash", "format_version"], entries())
        cur.execute("ALTER TABLE ledger_entry ENABLE TRIGGER USER")
        cur.execute("UPDATE ledger_head SET seq = %s, hash = %s WHERE id = 1", (first_seq + n_entries, last_hash))
        step("the ledger's monthly summary, from the whole ledger")
        cur.execute("DELETE FROM ledger_month_total")
        cur.execute("""INSERT INTO ledger_month_total (month, site_id, consumer_site_id, producer_org_id, material,
                                                         net_kg)
            SELECT date_trunc('month', e.dispatched_at AT TIME ZONE 'Asia/Shanghai')::date, l.site_id, d.site_id,
                   e.producer_org_id, e.material, sum(e.net_kg)
            FROM ledger_entry e JOIN agreement a ON a.id = e.agreement_id
            JOIN supply_listing l ON l.id = a.supply_listing_id JOIN demand_listing d ON d.id = a.demand_listing_id
            GROUP BY 1, 2, 3, 4, 5""")
        conn.commit()
    return facts_of(url)


def facts_of(url: str) -> dict:
    """What the clients need to know of a loaded database (after ANALYZE)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        cur.execute("SELECT s.id FROM site s JOIN \"user\" u ON u.organisation_id = s.organisation_id "
                    "WHERE u.email = 'consumer@example.com' ORDER BY s.id LIMIT 1")
        near = cur.fetchone()[0]
        cur.execute("SELECT max(id) FROM supply_listing")
        detail = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM supply_listing WHERE status IN ('open', 'partly_matched')")
        live = cur.fetchone()[0]
        cur.execute("SELECT id FROM subsidy_claim ORDER BY id DESC LIMIT 1")
        claim = cur.fetchone()
    return {"near": near, "detail": detail, "deep_page": max(1, int(live / 25 * 0.995)),
            "claim": claim[0] if claim else None}


def tokens(env: dict, n: int, email: str = "consumer@example.com") -> list[str]:
    """n API tokens of a demo user, made by the service (the token endpoint's rate limit is not measured)."""
    code = ("from marketplace import create_app\nfrom marketplace.extensions import db\n"
            "from marketplace.models import User\nfrom marketplace.services import tokens\n"
            "app = create_app()\nwith app.app_context():\n"
            f"    u = db.session.query(User).filter_by(email={email!r}).one()\n"
            f"    out = [tokens.create_token(u, 'bench')[1] for _ in range({n})]\n    db.session.commit()\n"
            "    print(' '.join(out))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.split()


def web_session(base: str, email: str, totp_secret: str | None) -> dict:
    """Cookies of a signed-in session (through the login form, and its code step for staff)."""
    from marketplace.services.demo import DEMO_PASSWORD

    s = requests.Session()
    page = s.get(f"{base}/auth/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/auth/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token},
               allow_redirects=False)
    if r.headers.get("Location", "").endswith("/auth/login/code"):
        import pyotp

        r = s.post(f"{base}/auth/login/code", data={"code": pyotp.TOTP(totp_secret).now(), "csrf_token": token},
                   allow_redirects=False)
    assert r.status_code == 302 and "login" not in r.headers.get("Location", ""), r.text[:300]
    return s.cookies.get_dict()


# --- load ------------------------------------------------------------------------------------------------

def measure(base: str, path: str, per_client: int, cookies: dict | None, tokens_: list[str] | None,
            clients: int = CLIENTS) -> dict:
    """`clients` threads, each with its own keep-alive connection, `per_client` requests each after one warm-up."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        s = requests.Session()
        if cookies:
            s.cookies.update(cookies)
        if tokens_:
            s.headers["Authorization"] = f"Bearer {tokens_[i % len(tokens_)]}"
        try:
            s.get(base + path, timeout=600)
        finally:
            barrier.wait()
        mine = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            try:
                r = s.get(base + path, timeout=600)
                _ = r.content
                status = r.status_code
            except requests.RequestException as e:
                status = type(e).__name__
            mine.append(time.perf_counter() - t0)
            if status != 200:
                with lock:
                    failures.append(str(status))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies * (2 if len(latencies) == 1 else 1), n=100, method="inclusive")
    try:
        size = len(requests.get(base + path, cookies=cookies, timeout=600,
                                headers={"Authorization": f"Bearer {tokens_[0]}"} if tokens_ else {}).content)
    except requests.RequestException:
        size = 0
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "rps": len(latencies) / wall,
            "n": len(latencies), "errors": len(failures), "kb": size / 1024}


def prepare_round(path: str) -> None:
    """(In a subprocess.) The instance a market round would build now, by the round's own code (a round is
    started, built and rolled back: nothing is queued), and its arcs for the bare solver (bench_matching's
    file format). Prints what it found as JSON."""
    import json

    import numpy as np

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import User
    from marketplace.services import rounds
    from matching import Instance, build_arcs

    app = create_app()
    with app.app_context():
        admin = db.session.query(User).filter_by(email="admin@example.com").one()
        round_ = rounds.start_round(admin)
        t0 = time.perf_counter()
        work = rounds.build_round(round_.id)
        built = time.perf_counter() - t0
        db.session.rollback()
    inst = Instance.from_json(work.instance_json)
    t0 = time.perf_counter()
    a = build_arcs(inst, work.options)
    arcs_s = time.perf_counter() - t0
    np.savez(path + ".npz", si=a.si, di=a.di, cap=a.cap, fen=a.fen,
             s_t=np.array([s.tonnes for s in inst.supplies]), d_t=np.array([d.tonnes for d in inst.demands]))
    print(json.dumps({"supplies": len(inst.supplies), "demands": len(inst.demands), "arcs": int(a.n),
                      "rail_arcs": int(a.rail.sum()), "seconds_db_build": built, "seconds_arcs": arcs_s}))


def bare_round(env: dict, tmp: str) -> dict:
    """The market round's instance and the bare OR-Tools solve of its arcs (SimpleMinCostFlow, add + solve
    only), each in a fresh process."""
    import json

    path = os.path.join(tmp, "round")
    out = subprocess.run([sys.executable, __file__, "--prepare-round", path], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_matching.py"), "--worker", "bare", path],
                         cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True, text=True)
    return {**facts, "bare": json.loads(out.stdout.strip().splitlines()[-1])}


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def measure_round(base: str, token: str, staff_cookies: dict) -> dict:
    """A market round through the API as the operator: the POST's latency, then the status polled every
    second until it ends (each poll timed); its phases from the round's own timestamps; then the round's
    page, map JSON and API body once done."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    t0 = time.perf_counter()
    r = s.post(f"{base}/api/v1/match-rounds", json={}, timeout=600)
    post_ms = (time.perf_counter() - t0) * 1000
    assert r.status_code == 202, (r.status_code, r.text[:300])
    rid = r.json()["id"]
    polls = []
    while True:
        t = time.perf_counter()
        body = requests.get(f"{base}/match/rounds/{rid}/status.json", cookies=staff_cookies, timeout=600).json()
        polls.append((time.perf_counter() - t) * 1000)
        if body["finished"]:
            break
        time.sleep(1)
    wall = time.perf_counter() - t0
    out = {"id": rid, "status": body["status"], "error": body.get("error"), "post_ms": post_ms,
           "poll_ms_max": max(polls), "poll_ms_median": statistics.median(polls), "polls": len(polls),
           "wall_s": wall}
    stamps = [_at(body.get(k)) for k in ("queued_at", "building_at", "solving_at", "writing_at", "finished_at")]
    names = ("waiting in the queue", "building", "solving", "writing")
    out["phases"] = [(name, (b - a).total_seconds()) for name, a, b in zip(names, stamps, stamps[1:], strict=False)
                     if a is not None and b is not None]
    if stamps[0] and stamps[-1]:
        out["done_s"] = (stamps[-1] - stamps[0]).total_seconds()
    for label, path, kw in (("round page", f"/match/rounds/{rid}", {"cookies": staff_cookies}),
                            ("round map JSON", f"/match/rounds/{rid}/map.json", {"cookies": staff_cookies}),
                            ("round API body", f"/api/v1/match-rounds/{rid}", {})):
        t = time.perf_counter()
        resp = (s if not kw else requests).get(base + path, timeout=600, **kw)
        out[label] = ((time.perf_counter() - t) * 1000, resp.status_code, len(resp.content) / 1024)
        if label == "round API body" and resp.status_code == 200:
            data = resp.json()
            out["stats"] = data.get("stats", {})
            out["proposals"] = len(data.get("proposals", []))
            out["tonnes"] = data.get("tonnes_matched")
    return out


def print_round(facts: dict, r: dict) -> None:
    bare = facts["bare"]["seconds"]
    print(f"\nmarket round through the queue: {facts['supplies']:,} supplies x {facts['demands']:,} demands, "
          f"{facts['arcs']:,} arcs ({facts['rail_arcs']:,} by rail); status {r['status']} {r['error'] or ''}\n")
    print("| what | seconds |\n|---|---:|")
    print(f"| bare OR-Tools SimpleMinCostFlow on the same arcs (add + solve; fresh process) | {bare:.1f} |")
    for name, seconds in r["phases"]:
        print(f"| round: {name} | {seconds:.1f} |")
    if "done_s" in r:
        print(f"| round: queued to done | {r['done_s']:.1f} |")
        print(f"| ratio done / bare (goal < 1.5) | {r['done_s'] / bare:.2f} |")
    stats = r.get("stats", {})
    for k in ("seconds_build", "seconds_solve", "seconds_bound", "seconds_baseline", "seconds_curve"):
        if k in stats:
            print(f"| optimiser's {k.removeprefix('seconds_')} (in the solve phase) | {stats[k]:.1f} |")
    print("\n| request | ms | status | KB |\n|---|---:|---:|---:|")
    print(f"| POST /api/v1/match-rounds (goal < 200 ms) | {r['post_ms']:.0f} | 202 | |")
    print(f"| status.json while it runs ({r['polls']} polls: median / max) | {r['poll_ms_median']:.0f} / "
          f"{r['poll_ms_max']:.0f} | 200 | |")
    for label in ("round page", "round map JSON", "round API body"):
        ms, code, kb = r[label]
        print(f"| {label} once done | {ms:.0f} | {code} | {kb:.0f} |")
    print(f"\n{r.get('proposals', 0):,} proposals, {r.get('tonnes') or 0:,} t matched")


def export_memory(env: dict, fmt: str) -> tuple[float, float]:
    """Seconds and tracemalloc peak (MB) of one listing export as the demo consumer, in this process."""
    os.environ.update(env)
    from marketplace import create_app

    app = create_app()
    client = app.test_client()
    from marketplace.services.demo import DEMO_PASSWORD

    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = client.post("/auth/login", data={"email": "consumer@example.com", "password": DEMO_PASSWORD,
                                                 "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.status_code
    tracemalloc.start()
    t0 = time.perf_counter()
    r = client.get(f"/listings/supply/export.{fmt}")
    size = 0
    for chunk in r.response:  # read as a client would, chunk by chunk (not kept)
        size += len(chunk)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 200, r.status_code
    return seconds, peak / 2**20


HEADER = (f"| what | 1 client: p50 / p95 ms | {CLIENTS} clients: requests | p50 ms | p95 ms | p99 ms | req/s | "
          "errors | response KB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(label: str, alone: dict | None, r: dict) -> str:
    one = f"{alone['p50']:.0f} / {alone['p95']:.0f}" if alone else "—"
    return (f"| {label} | {one} | {r['n']} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['rps']:.1f} | "
            f"{r['errors']} | {r['kb']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20, help="requests per client per endpoint")
    parser.add_argument("--pg", help="an existing empty database URL instead of a throw-away server")
    parser.add_argument("--loaded", action="store_true", help="--pg is already loaded: measure only")
    parser.add_argument("--only", choices=("pages", "round"), help="only the pages' table, or only the round")
    parser.add_argument("--prepare-round", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_round:
        prepare_round(args.prepare_round)
        return
    pgdir = tempfile.mkdtemp(prefix="pg-bench-web-")
    url = args.pg or subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", pgdir], capture_output=True,
                                    text=True, check=True).stdout.strip()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "FLASK_DEBUG": "0",
           "LEDGER_SIGNING_KEY": "be" * 32}
    server = None
    try:
        t0 = time.perf_counter()
        facts = facts_of(url) if args.loaded else load(url, args.listings, args.entries, env)
        step(f"loaded in {time.perf_counter() - t0:.0f} s: {facts}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        if args.loaded and args.only != "pages":  # an earlier run's round holds the market: let it go
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                conn.execute("UPDATE proposal SET status = 'expired' WHERE status = 'pending'")
        round_facts = bare_round(env, pgdir) if args.only != "pages" else None
        if round_facts:
            step(f"the market round's instance, and the bare solver on it: {round_facts}")
        # make serve's configuration: scripts/serve.sh runs gunicorn (gunicorn.conf.py) and the job worker
        serve_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS),
                     "JOBS_URL": f"sqlite:///{pgdir}/jobs.db", "PROMETHEUS_MULTIPROC_DIR": f"{pgdir}/prometheus",
                     "VENV": str(ROOT / ".venv"), "LOG_LEVEL": "warning"}
        serve_log = open(os.path.join(pgdir, "serve.log"), "wb")  # noqa: SIM115 (open while it serves)
        step(f"make serve's processes, their log in {serve_log.name}")
        server = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=serve_env,
                                  stdout=serve_log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):
            try:
                requests.get(f"{base}/auth/login", timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.5)
        from marketplace.services.demo import DEMO_TOTP_SECRETS

        consumer = web_session(base, "consumer@example.com", None)
        regulator = web_session(base, "regulator@example.com", DEMO_TOTP_SECRETS["regulator@example.com"])
        own_tokens = tokens(env, CLIENTS)
        n, near = args.requests, facts["near"]
        plan = [
            ("browse supply, first page", "/listings/supply", consumer, None, n),
            ("browse demand, first page", "/listings/demand", consumer, None, n),
            ("browse supply, filters (material, tonnes, by price)",
             "/listings/supply?material=fly_ash&min_tonnes=1000&sort=price", consumer, None, n),
            ("browse near my site within 100 km (page)", f"/listings/supply?near_site_id={near}&within_km=100",
             consumer, None, n),
            ("browse near my site within 100 km (API)",
             f"/api/v1/supply-listings?near_site_id={near}&within_km=100", None, own_tokens, n),
            (f"deep page (p{facts['deep_page']}, the 99.5th percentile)",
             f"/listings/supply?page={facts['deep_page']}", consumer, None, n),
            ("supply map JSON", "/listings/supply/map.json", consumer, None, n),
            ("supply map JSON near a site", f"/listings/supply/map.json?near_site_id={near}&within_km=100",
             consumer, None, n),
            ("listing detail", f"/listings/supply/{facts['detail']}", consumer, None, n),
            ("my listings", "/listings/mine", consumer, None, n),
            ("API supply list (100 a page)", "/api/v1/supply-listings?per_page=100", None, own_tokens, n),
            ("API demand list", "/api/v1/demand-listings", None, own_tokens, n),
            ("API supply list, one token shared by all clients", "/api/v1/supply-listings", None, own_tokens[:1], n),
            ("rounds list (staff)", "/match/rounds/", regulator, None, n),
        ]
        plan += [(f"utilisation by {g}", f"/deliveries/utilisation?group_by={g}", regulator, None, n)
                 for g in ("region", "city", "park", "material", "organisation", "month")]
        plan += [("regulator dashboard", "/subsidies/dashboard", regulator, None, n)]
        if facts["claim"]:
            plan += [("a claim page", f"/subsidies/claims/{facts['claim']}", regulator, None, n)]
        plan += [("listing export CSV (all live supply; 1 client, 3 requests)", "/listings/supply/export.csv",
                  consumer, None, -3),
                 ("listing export XLSX (all live supply; 1 client, 3 requests)", "/listings/supply/export.xlsx",
                  consumer, None, -3)]
        if args.only == "round":
            plan = []
        results = []
        print(HEADER, flush=True)
        for label, path, cookies, toks, per in plan:
            # alone first (the request's own time), then with the others (its time in the queue added)
            alone = measure(base, path, abs(per), cookies, toks, clients=1) if per > 0 else None
            r = measure(base, path, abs(per), cookies, toks, clients=1 if per < 0 else CLIENTS)
            results.append((label, alone, r))
            print(row(label, alone, r), flush=True)
        try:
            memory = [(fmt, *export_memory(env, fmt)) for fmt in ("csv", "xlsx")] if plan else []
        except Exception as e:  # the latency table is still worth printing
            print(f"export memory not measured: {e!r}")
            memory = []
        round_result = None
        if round_facts:
            step("a market round through the queue")
            round_result = measure_round(base, tokens(env, 1, "admin@example.com")[0], regulator)
            print_round(round_facts, round_result)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.pg:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", pgdir], check=False)
    print(f"\n{args.listings:,} listings, {args.entries:,} ledger entries, PostgreSQL, gunicorn {WORKERS} sync "
          f"workers, {CLIENTS} concurrent clients, {os.cpu_count()} CPUs (shared)\n")
    print(HEADER)
    for label, alone, r in results:
        print(row(label, alone, r))
    print("\n| export (in-process, one request) | seconds | Python peak MB (tracemalloc) |\n|---|---:|---:|")
    for fmt, seconds, peak in memory:
        print(f"| listing export {fmt.upper()} | {seconds:.1f} | {peak:.1f} |")
    if round_facts and round_result:
        print_round(round_facts, round_result)


if __name__ == "__main__":
    main()

"""Benchmark of the ledger check (``make bench-ledger``).

Builds a throw-away database with N ledger entries (default 1,000,000) by bulk insert with precomputed
format-2 hashes, then runs the real commands in fresh subprocesses: ``ledger checkpoint`` (verify, then sign
the Merkle tree head), ``ledger verify --checkpoint FILE`` (the chain, the stored and the given checkpoint),
and one inclusion proof (entry 1 in the tree of N). Prints seconds and peak RSS of each child (from wait4,
so each figure is that process alone) as a table. The goal: verify in < 200 MB.

SQLite always; PostgreSQL too with --pg when scripts/pg.sh can start a server.

Usage: .venv/bin/python bench/bench_ledger.py [--entries 1000000] [--pg]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEED_HEX = "be" * 32  # a throw-away signing key for the benchmark only
PROOF = """
from marketplace import create_app
from marketplace.services import ledger
app = create_app()
with app.app_context():
    n = ledger._head_seq()
    path = [ledger.subtree_root(a, b).hex() for a, b in ledger.inclusion_ranges(0, 0, n)]
    print(len(path))
"""


def run_child(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run a child; its seconds, its own peak RSS in MB (wait4), its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()  # reaps the child through MeasuredPopen._try_wait (wait4)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[-3:])} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, proc.peak_mb, out  # type: ignore[attr-defined]


class MeasuredPopen(subprocess.Popen):
    """Popen that reaps its child with wait4, keeping that child's own peak RSS."""

    peak_mb = 0.0

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self.peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
        return pid, status


subprocess.Popen = MeasuredPopen  # type: ignore[misc]  # only this script's children


def build(url: str, n: int) -> float:
    """Migrate an empty database and bulk-insert n entries with their chain hashes; seconds."""
    env = {**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    from sqlalchemy import create_engine, text

    from marketplace.models import LedgerEntry
    from marketplace.services.ledger import FORMAT_VERSION, GENESIS, entry_hash

    start = time.perf_counter()
    engine = create_engine(url)
    table = LedgerEntry.__table__
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # one agreement's ids stand for all; no rows behind
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        else:  # a throw-away database: drop the entry's foreign keys (one id stands for rows that are not there)
            names = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'ledger_entry'::regclass "
                                      "AND contype = 'f'")).scalars().all()
            for name in names:
                conn.execute(text(f'ALTER TABLE ledger_entry DROP CONSTRAINT "{name}"'))
        prev, batch = GENESIS, []
        for seq in range(1, n + 1):
            e = SimpleNamespace(id=seq, seq=seq, kind="utilisation", shipment_id=1 + seq % 5000,
                                agreement_id=1 + seq % 700,
                                producer_org_id=1 + seq % 40, consumer_org_id=41 + seq % 60, material="fly_ash",
                                net_kg=20_000 + seq % 15_000, ticket_no=f"B{seq:08d}",
                                dispatched_at=base + timedelta(seconds=seq * 30),
                                confirmed_at=base + timedelta(seconds=seq * 30 + 3600), reverses_id=None, reason="",
                                recorded_by_id=1 + seq % 60, prev_hash=prev, format_version=FORMAT_VERSION)
            e.hash = prev = entry_hash(e)
            batch.append(vars(e))
            if len(batch) == 20_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
        conn.execute(text("UPDATE ledger_head SET seq = :n, hash = :h WHERE id = 1"), {"n": n, "h": prev})
        conn.commit()
    engine.dispose()
    return time.perf_counter() - start


def bench(url: str, n: int, label: str) -> list[tuple]:
    build_s = build(url, n)
    env = {**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1", "LEDGER_SIGNING_KEY": SEED_HEX}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "ledger"]
    rows = [(label, f"build {n:,} entries (bulk insert, precomputed hashes)", build_s, None)]
    seconds, peak, _ = run_child([*flask, "grants", "app"], env)
    rows.append((label, "the app's start-up alone (ledger grants: imports, no ledger work)", seconds, peak))
    seconds, peak, out = run_child([*flask, "checkpoint"], env)
    rows.append((label, "ledger checkpoint (verify + sign the tree head)", seconds, peak))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(out.strip().splitlines()[-1])
    seconds, peak, out = run_child([*flask, "verify", "--checkpoint", f.name], env)
    assert out.startswith(f"ledger OK: {n} entries, 2 checkpoints"), out
    rows.append((label, "ledger verify --checkpoint FILE", seconds, peak))
    seconds, peak, out = run_child([sys.executable, "-c", PROOF], env)
    rows.append((label, f"inclusion proof of entry 1 in {n:,} ({out.strip()} hashes)", seconds, peak))
    os.unlink(f.name)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL (scripts/pg.sh)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench(f"sqlite:///{tmp}/bench.db", args.entries, "SQLite")
    if args.pg:
        pgdir = tempfile.mkdtemp(prefix="pg-bench-")
        url = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", pgdir], capture_output=True, text=True,
                             check=True).stdout.strip()
        try:
            rows += bench(url, args.entries, "PostgreSQL")
        finally:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", pgdir], check=False)
    print("\n| database | step | seconds | peak RSS MB |\n|---|---|---:|---:|")
    for label, step, seconds, peak in rows:
        print(f"| {label} | {step} | {seconds:.1f} | {'—' if peak is None else f'{peak:.0f}'} |")


if __name__ == "__main__":
    main()

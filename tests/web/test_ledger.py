"""The ledger an insider cannot rewrite unseen: every field hashed, signed checkpoints of the RFC 9162 Merkle
tree head, inclusion and consistency proofs (checked here by a verifier written from RFC 9162 alone),
tampering caught against a kept checkpoint, PostgreSQL refusing UPDATE and DELETE, claims over a verified
checkpoint."""
import base64
import hashlib
import importlib.util
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marketplace.models import AuditEntry, LedgerCheckpoint, LedgerEntry
from marketplace.services import deliveries, ledger, subsidies, tokens
from marketplace.services.generation import CST
from tests.web.conftest import login, post_form
from tests.web.deals import make_agreement
from tests.web.insider import insider

YEAR = datetime.now(CST).year


# --- an independent RFC 9162 verifier (§2.1.1, §2.1.3.2, §2.1.4.2); it imports nothing from the app ------

def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc_leaf(entry_hash_hex: str) -> bytes:
    return sha(b"\x00" + bytes.fromhex(entry_hash_hex))


def rfc_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) by the recursive definition, over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + rfc_mth(leaves[:k]) + rfc_mth(leaves[k:]))


def rfc_verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = sha(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                           proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step."""
    if first == second:
        return proof == [] and first_hash == second_hash
    if not proof:
        return False
    if first & (first - 1) == 0:  # an exact power of two
        proof = [first_hash, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = sha(b"\x01" + c + fr), sha(b"\x01" + c + sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


def test_the_independent_verifier_refuses_wrong_proofs():
    """The verifier above must be able to fail, or the proof tests below prove nothing."""
    leaves = [sha(bytes([i])) for i in range(7)]
    root = rfc_mth(leaves)
    path = [leaves[1], rfc_mth(leaves[2:4]), rfc_mth(leaves[4:7])]
    assert rfc_verify_inclusion(0, 7, leaves[0], path, root)
    assert not rfc_verify_inclusion(0, 7, leaves[1], path, root)
    assert not rfc_verify_inclusion(0, 7, leaves[0], path[:2], root)
    assert not rfc_verify_inclusion(1, 7, leaves[0], path, root)
    proof = [leaves[2], leaves[3], rfc_mth(leaves[:2]), rfc_mth(leaves[4:7])]  # [c, d, g, l]: RFC 6962 §2.1.3
    assert rfc_verify_consistency(3, 7, rfc_mth(leaves[:3]), root, proof)
    assert not rfc_verify_consistency(3, 7, rfc_mth(leaves[:3]), root, proof[::-1])
    assert not rfc_verify_consistency(4, 7, rfc_mth(leaves[:3]), root, proof)


# --- helpers -------------------------------------------------------------------------------------------

def bearer(user) -> dict:
    from marketplace.extensions import db

    _, token = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def deliver(db, deal, count, start=1):
    agreement, producer, consumer = deal
    for i in range(start, start + count):
        when = (datetime.now(CST) - timedelta(minutes=5 * i)).isoformat()
        s = deliveries.record_shipment(producer, agreement.id, {
            "ticket_no": f"L{agreement.id}-{i}", "truck_plate": "宁A12345", "dispatched_at": when,
            "gross_kg": 16_000 + i, "tare_kg": 15_000})
        deliveries.confirm_shipment(consumer, s.id, 1_000 + i)
    db.session.commit()


@pytest.fixture
def deal(make_user, make_site, db):
    return make_agreement(make_user, make_site, tonnes=500)


def entry_hashes(db) -> list[str]:
    return list(db.session.scalars(select(LedgerEntry.hash).order_by(LedgerEntry.seq)))


# --- the hash covers every field -----------------------------------------------------------------------

def test_the_hash_covers_every_column_and_the_format_version(deal, db):
    deliver(db, deal, 1)
    entry = db.session.scalar(select(LedgerEntry))
    covered = json.loads(ledger.canonical(entry))
    columns = {c.name for c in LedgerEntry.__table__.c} - {"hash", "format_version"}
    assert columns <= set(covered) and covered["v"] == 2 == entry.format_version
    assert hashlib.sha256(ledger.canonical(entry).encode()).hexdigest() == entry.hash


def test_the_migration_hashes_as_the_service_does(deal, db):
    """Migration 0009 keeps a frozen copy of format 2: it must agree with the service."""
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0008_ledger_checkpoints_and_format_2.py"
    spec = importlib.util.spec_from_file_location("m0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    deliver(db, deal, 2)
    for entry in db.session.scalars(select(LedgerEntry)):
        assert module.hash_v2(entry.prev_hash, entry) == entry.hash


# --- checkpoints, signatures, the public key -----------------------------------------------------------

def test_a_checkpoint_signs_the_rfc_9162_tree_head_and_the_api_gives_key_and_checkpoints(deal, db, runner, client,
                                                                                          make_user):
    deliver(db, deal, 5)
    result = runner.invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    headers = bearer(make_user(kind="consumer"))  # any authenticated caller
    items = client.get("/api/v1/ledger/checkpoints", headers=headers).get_json()["items"]
    assert items == [printed] and items[0]["seq"] == 5
    cp = items[0]
    assert cp["root"] == rfc_mth([rfc_leaf(h) for h in entry_hashes(db)]).hex()
    key = client.get("/api/v1/ledger/public-key", headers=headers).get_json()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    message = json.dumps({"root": cp["root"], "seq": cp["seq"], "time": cp["time"]}, sort_keys=True,
                         separators=(",", ":")).encode()
    assert cp["signed"].encode() == message and cp["time"].endswith("Z")
    public.verify(base64.b64decode(cp["signature"]), message)  # raises if the signature is wrong
    assert key["key_id"] == hashlib.sha256(base64.b64decode(key["public_key"])).hexdigest() == cp["key_id"]
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.checkpoint"))
    assert audit is not None and audit.actor_id is None and audit.details["seq"] == 5
    assert client.get("/api/v1/ledger/checkpoints").status_code == 401


def test_the_key_file_is_made_on_first_use_with_mode_600_and_kept(app, deal, db, runner, tmp_path):
    saved = app.config["LEDGER_SIGNING_KEY"], app.config["LEDGER_SIGNING_KEY_FILE"]
    app.config["LEDGER_SIGNING_KEY"] = ""
    app.config["LEDGER_SIGNING_KEY_FILE"] = str(tmp_path / "instance" / "ledger_signing_key")
    try:
        deliver(db, deal, 1)
        first = json.loads(runner.invoke(args=["ledger", "checkpoint"]).output)
        mode = stat.S_IMODE(os.stat(app.config["LEDGER_SIGNING_KEY_FILE"]).st_mode)
        assert mode == 0o600
        second = json.loads(runner.invoke(args=["ledger", "checkpoint"]).output)
        assert first["key_id"] == second["key_id"]
        assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    finally:
        app.config["LEDGER_SIGNING_KEY"], app.config["LEDGER_SIGNING_KEY_FILE"] = saved


def test_a_forged_checkpoint_fails_the_check(deal, db, runner):
    deliver(db, deal, 3)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    with insider(db):
        db.session.execute(text("UPDATE ledger_checkpoint SET seq = 2"))
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "not signed by the platform's key" in result.output


# --- proofs, for every size 1..40 and every position, through the API ----------------------------------

@pytest.fixture
def forty(deal, db, make_user):
    """40 entries with a checkpoint after each."""
    ids = []
    for n in range(1, 41):
        deliver(db, deal, 1, start=n)
        ids.append(ledger.create_checkpoint(None).id)
        db.session.commit()
    return deal, ids


def test_inclusion_and_consistency_proofs_verify_by_rfc_9162(forty, db, client, make_user):
    _, ids = forty
    headers = bearer(make_user(kind="regulator"))
    leaves = [rfc_leaf(h) for h in entry_hashes(db)]
    checkpoints = {c["id"]: c for c in client.get("/api/v1/ledger/checkpoints", headers=headers).get_json()["items"]}
    for size, cp_id in enumerate(ids, start=1):
        cp = checkpoints[cp_id]
        assert cp["seq"] == size and bytes.fromhex(cp["root"]) == rfc_mth(leaves[:size])
        for seq in range(1, size + 1):
            resp = client.get(f"/api/v1/ledger/entries/{seq}/proof?checkpoint={cp_id}", headers=headers)
            assert resp.status_code == 200, resp.get_json()
            proof = resp.get_json()
            assert proof["tree_size"] == size and proof["leaf_index"] == seq - 1
            assert rfc_verify_inclusion(seq - 1, size, rfc_leaf(proof["entry_hash"]),
                                        [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(cp["root"]))
    for first in range(1, 41):
        for second in range(first, 41):
            a, b = checkpoints[ids[first - 1]], checkpoints[ids[second - 1]]
            resp = client.get(f"/api/v1/ledger/consistency?from={a['id']}&to={b['id']}", headers=headers)
            assert resp.status_code == 200
            proof = [bytes.fromhex(p) for p in resp.get_json()["proof"]]
            assert rfc_verify_consistency(first, second, bytes.fromhex(a["root"]), bytes.fromhex(b["root"]), proof), \
                (first, second)


def test_proofs_are_for_the_parties_and_staff_and_carry_hashes_only(deal, db, client, make_user):
    deliver(db, deal, 3)
    ledger.create_checkpoint(None)
    db.session.commit()
    _agreement, producer, consumer = deal
    cp_id = db.session.scalar(select(LedgerCheckpoint.id))
    for user in (producer, consumer, make_user(kind="regulator"), make_user(kind="operator")):
        resp = client.get("/api/v1/ledger/entries/2/proof", headers=bearer(user))
        assert resp.status_code == 200
        proof = resp.get_json()
        assert set(proof) == {"seq", "leaf_index", "tree_size", "entry_hash", "leaf_hash", "audit_path", "checkpoint"}
        assert all(len(h) == 64 for h in proof["audit_path"])
    stranger = bearer(make_user(kind="consumer"))
    assert client.get("/api/v1/ledger/entries/2/proof", headers=stranger).status_code == 404
    assert client.get("/api/v1/ledger/entries/2/proof").status_code == 401
    # the consistency proof is hashes only: any verified firm's token
    resp = client.get(f"/api/v1/ledger/consistency?from={cp_id}&to={cp_id}", headers=stranger)
    assert resp.status_code == 200 and resp.get_json()["proof"] == []
    staff = bearer(make_user(kind="regulator"))
    for url, status in (("/api/v1/ledger/entries/99/proof", 404),
                        (f"/api/v1/ledger/entries/{2**70}/proof", 404),
                        ("/api/v1/ledger/entries/2/proof?checkpoint=abc", 422),
                        ("/api/v1/ledger/entries/2/proof?checkpoint=999", 404),
                        ("/api/v1/ledger/consistency?from=1", 422),
                        ("/api/v1/ledger/consistency?from=x&to=1", 422),
                        (f"/api/v1/ledger/consistency?from={cp_id}&to=999", 404)):
        resp = client.get(url, headers=staff)
        assert resp.status_code == status, url
        assert set(resp.get_json()["error"]) >= {"code", "message", "field"}
    deliver(db, deal, 1, start=4)  # entry 4 is in no checkpoint yet
    resp = client.get("/api/v1/ledger/entries/4/proof", headers=staff)
    assert resp.status_code == 409
    resp = client.get(f"/api/v1/ledger/entries/4/proof?checkpoint={cp_id}", headers=staff)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "checkpoint"


def test_proofs_and_checkpoints_are_for_verified_firms_and_bounded_per_token(deal, db, client, make_user, app,
                                                                            monkeypatch):
    """An unverified sign-up learns nothing of the market's volume, and no token can make the platform hash
    its ledger without bound (each proof reads the tree prefix it covers)."""
    deliver(db, deal, 2)
    cp_id = ledger.create_checkpoint(None).id
    db.session.commit()
    unverified = bearer(make_user(kind="consumer", verified=False))
    for url in ("/api/v1/ledger/checkpoints", f"/api/v1/ledger/consistency?from={cp_id}&to={cp_id}",
                "/api/v1/ledger/entries/1/proof"):
        assert client.get(url, headers=unverified).status_code == 403, url
    monkeypatch.setitem(app.config, "LEDGER_PROOF_RATE_LIMIT", "3/minute")
    producer = bearer(deal[1])
    answers = [client.get(f"/api/v1/ledger/consistency?from={cp_id}&to={cp_id}", headers=producer).status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/api/v1/ledger/entries/1/proof", headers=producer).status_code == 429  # one budget
    assert client.get("/api/v1/ledger/entries/1/proof", headers=bearer(deal[2])).status_code == 200  # per token


# --- tampering, caught against a kept checkpoint -------------------------------------------------------

@pytest.fixture
def kept(deal, db, runner, client, make_user, tmp_path):
    """Five entries, a checkpoint after entry 2 and after entry 5, both kept by a regulator outside the
    platform (files, as the API gives them)."""
    deliver(db, deal, 2)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    deliver(db, deal, 3, start=3)
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    files = []
    for cp in client.get("/api/v1/ledger/checkpoints", headers=bearer(make_user(kind="regulator"))).get_json()["items"]:
        files.append(tmp_path / f"checkpoint-{cp['seq']}.json")
        files[-1].write_text(json.dumps(cp))
    given = [a for f in files for a in ("--checkpoint", str(f))]
    assert runner.invoke(args=["ledger", "verify", *given]).exit_code == 0
    return files


def verify_with(runner, files):
    return runner.invoke(args=["ledger", "verify", *[a for f in files for a in ("--checkpoint", str(f))]])


def rehash_from(db, seq):
    """What an insider with the code does after changing entry `seq`: recompute every later hash and the head."""
    prev = db.session.scalar(select(LedgerEntry.prev_hash).where(LedgerEntry.seq == seq))
    for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.seq >= seq).order_by(LedgerEntry.seq)):
        entry.prev_hash = prev
        entry.hash = ledger.entry_hash(entry)
        prev = entry.hash
        db.session.flush()
    db.session.execute(text("UPDATE ledger_head SET seq = (SELECT max(seq) FROM ledger_entry), hash = :h"),
                       {"h": prev})


def drop_checkpoints(db):
    db.session.execute(text("UPDATE subsidy_claim SET ledger_checkpoint_id = NULL"))
    db.session.execute(text("DELETE FROM ledger_checkpoint"))


TAMPERING = {
    "edited amount": ("UPDATE ledger_entry SET net_kg = net_kg * 10 WHERE seq = 3", 3),
    "deleted middle entry": ("DELETE FROM ledger_entry WHERE seq = 3", 3),
    "deleted last entry": ("DELETE FROM ledger_entry WHERE seq = 5", 5),
    "changed recorded_by_id": ("UPDATE ledger_entry SET recorded_by_id = NULL WHERE seq = 4", 4),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_caught_naming_the_entry(kept, db, runner, case):
    statement, seq = TAMPERING[case]
    with insider(db):
        db.session.execute(text(statement))
        drop_checkpoints(db)  # the insider removes the stored checkpoints too: the kept copies remain
    result = verify_with(runner, kept)
    assert result.exit_code == 1 and f"BROKEN at entry {seq}:" in result.output, result.output


def test_swapped_entries_are_caught(kept, db, runner):
    rows = {r.seq: r for r in db.session.execute(text("SELECT seq, net_kg, ticket_no FROM ledger_entry"))}
    with insider(db):
        for a, b in ((1, 2), (2, 1)):
            db.session.execute(text("UPDATE ledger_entry SET net_kg = :kg, ticket_no = :t WHERE seq = :s"),
                               {"kg": rows[b].net_kg, "t": rows[b].ticket_no, "s": a})
    result = verify_with(runner, kept)
    assert result.exit_code == 1 and "BROKEN at entry 1:" in result.output


def test_truncation_with_the_head_moved_back_is_caught_only_by_a_checkpoint(kept, db, runner):
    with insider(db):
        db.session.execute(text("DELETE FROM ledger_entry WHERE seq = 5"))
        db.session.execute(text("UPDATE ledger_head SET seq = 4, hash = (SELECT hash FROM ledger_entry "
                                "WHERE seq = 4)"))
        drop_checkpoints(db)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0  # the chain alone looks intact
    result = verify_with(runner, kept)
    assert result.exit_code == 1 and "BROKEN at entry 5: entries 5 to 5 are missing" in result.output


def test_rewrite_and_rehash_after_a_checkpoint_is_caught(kept, db, runner):
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg * 10 WHERE seq = 4"))
        rehash_from(db, 4)
        drop_checkpoints(db)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0  # the chain alone looks intact
    result = verify_with(runner, kept)
    # the checkpoint after entry 2 still matches: the change lies in entries 3 to 5, and is named from there
    assert result.exit_code == 1 and "BROKEN at entry 3: entries 3 to 5 no longer match" in result.output
    result = verify_with(runner, kept[-1:])  # with only the later copy, the range starts at entry 1
    assert result.exit_code == 1 and "BROKEN at entry 1: entries 1 to 5" in result.output


def test_rewrite_and_rehash_is_caught_by_the_stored_checkpoints_too(kept, db, runner, client, make_user):
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg * 10 WHERE seq = 2"))
        rehash_from(db, 2)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "BROKEN at entry 1: entries 1 to 2 no longer match checkpoint" in result.output
    resp = client.post("/api/v1/ledger/verify", headers=bearer(make_user(kind="regulator")))
    assert resp.status_code == 200
    assert resp.get_json() == {**resp.get_json(), "ok": False, "first_bad_seq": 1, "root": None}


def test_the_api_check_is_for_regulators_and_takes_a_kept_checkpoint(kept, db, client, make_user):
    regulator = bearer(make_user(kind="regulator"))
    resp = client.post("/api/v1/ledger/verify", headers=regulator)
    assert resp.get_json() == {**resp.get_json(), "ok": True, "entries": 5, "checkpoints_checked": 2}
    assert client.post("/api/v1/ledger/verify", headers=bearer(make_user(kind="consumer"))).status_code == 403
    kept_copy = json.loads(kept[-1].read_text())
    with insider(db):
        db.session.execute(text("DELETE FROM ledger_entry WHERE seq = 5"))
        db.session.execute(text("UPDATE ledger_head SET seq = 4, hash = (SELECT hash FROM ledger_entry "
                                "WHERE seq = 4)"))
        drop_checkpoints(db)
    assert client.post("/api/v1/ledger/verify", headers=regulator).get_json()["ok"] is True
    resp = client.post("/api/v1/ledger/verify", json={"checkpoint": kept_copy}, headers=regulator)
    assert resp.get_json() == {**resp.get_json(), "ok": False, "first_bad_seq": 5}
    forged = {**kept_copy, "root": "0" * 64}
    answer = client.post("/api/v1/ledger/verify", json={"checkpoint": forged}, headers=regulator).get_json()
    assert answer["ok"] is False
    for body in ({"checkpoint": "x"}, {"checkpoint": {**kept_copy, "seq": "5"}}, {"checkpoint": {"seq": 1}}):
        resp = client.post("/api/v1/ledger/verify", json=body, headers=regulator)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "checkpoint"


def test_the_verify_button_runs_as_a_job_and_the_page_shows_its_answer(kept, db, client, make_user):
    """The chain is read by the job worker (immediate in tests), never inside the request that asks."""
    from marketplace.models import LedgerCheck

    regulator = make_user(kind="regulator")
    login(client, regulator)
    resp = post_form(client, "/deliveries/ledger/verify", {})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/deliveries/ledger")
    check = db.session.scalar(select(LedgerCheck))
    assert (check.ok, check.entries, check.requested_by_id) == (True, 5, regulator.id) and check.finished_at
    page = client.get("/deliveries/ledger").get_data(as_text=True)
    assert 'id="chain-ok"' in page and "UTC+8" in page
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg * 10 WHERE seq = 4"))
    post_form(client, "/deliveries/ledger/verify", {})
    page = client.get("/deliveries/ledger").get_data(as_text=True)
    assert 'id="chain-broken"' in page and "entry 4 was altered" in page
    db.session.add(LedgerCheck(requested_by_id=regulator.id))  # asked, the worker not yet done
    db.session.commit()
    page = client.get("/deliveries/ledger").get_data(as_text=True)
    assert 'id="chain-running"' in page and 'id="chain-broken"' not in page
    checks = db.session.scalar(select(func.count(LedgerCheck.id)))
    for _ in range(3):  # asking again while one runs queues nothing more (each reads the whole ledger)
        assert post_form(client, "/deliveries/ledger/verify", {}).status_code == 302
    assert db.session.scalar(select(func.count(LedgerCheck.id))) == checks
    producer = make_user(kind="producer")
    post_form(client, "/auth/logout", {})
    login(client, producer)
    assert post_form(client, "/deliveries/ledger/verify", {}).status_code == 403
    assert 'id="chain-' not in client.get("/deliveries/ledger").get_data(as_text=True)  # staff only


def test_a_malformed_checkpoint_file_is_a_clear_error(kept, runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = verify_with(runner, [bad])
    assert result.exit_code == 1 and "Error" in result.output and "Traceback" not in result.output


# --- PostgreSQL refuses UPDATE and DELETE --------------------------------------------------------------

@pytest.mark.postgres_only
def test_postgresql_refuses_update_and_delete_of_ledger_rows(deal, db):
    from sqlalchemy.exc import DBAPIError

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL")
    deliver(db, deal, 2)
    ledger.create_checkpoint(None)
    db.session.commit()
    for statement in ("UPDATE ledger_entry SET net_kg = 1 WHERE seq = 1", "DELETE FROM ledger_entry WHERE seq = 2",
                      "UPDATE ledger_checkpoint SET seq = 1", "DELETE FROM ledger_checkpoint"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 2
    assert ledger.verify_ledger().ok


# --- claims over a verified checkpoint -----------------------------------------------------------------

def ready_claim(db, deal, client, make_user):
    from decimal import Decimal

    from marketplace.models import Baseline

    _, _, consumer = deal
    db.session.add(Baseline(organisation_id=consumer.organisation_id, year=subsidies.scheme_in_force(YEAR).base_year,
                            tonnes=Decimal("1"), evidence="2018", status="approved"))
    db.session.commit()
    c = bearer(consumer)
    resp = client.post("/api/v1/subsidy-claims", json={"year": YEAR}, headers=c)
    assert resp.status_code == 201, resp.get_json()
    claim_id = resp.get_json()["id"]
    assert client.post(f"/api/v1/subsidy-claims/{claim_id}/submit", headers=c).status_code == 200
    return claim_id


def test_a_claim_records_the_checkpoint_that_covers_its_entries(deal, db, client, make_user):
    deliver(db, deal, 3)
    claim_id = ready_claim(db, deal, client, make_user)
    regulator = bearer(make_user(kind="regulator"))
    detail = client.get(f"/api/v1/subsidy-claims/{claim_id}", headers=regulator).get_json()
    cp = db.session.get(LedgerCheckpoint, detail["ledger_checkpoint_id"])
    counted = db.session.scalars(select(LedgerEntry.seq).where(LedgerEntry.id.in_(detail["ledger_entry_ids"])))
    assert cp is not None and max(counted) <= cp.seq == 3
    resp = client.post(f"/api/v1/subsidy-claims/{claim_id}/review", json={"decision": "approve"}, headers=regulator)
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    assert db.session.scalar(select(func.count(LedgerCheckpoint.id))) == 1  # approval reused the verified one


def test_a_claim_is_not_approved_once_the_chain_no_longer_matches_its_checkpoint(deal, db, client, make_user):
    deliver(db, deal, 3)
    claim_id = ready_claim(db, deal, client, make_user)
    with insider(db):
        db.session.execute(text("UPDATE ledger_entry SET net_kg = net_kg * 10 WHERE seq = 3"))
        rehash_from(db, 3)
    regulator = bearer(make_user(kind="regulator"))
    resp = client.post(f"/api/v1/subsidy-claims/{claim_id}/review", json={"decision": "approve"}, headers=regulator)
    assert resp.status_code == 409 and "checkpoint" in resp.get_json()["error"]["message"]
    assert client.get(f"/api/v1/subsidy-claims/{claim_id}", headers=regulator).get_json()["status"] == "submitted"

"""The utilisation ledger: an append-only, hash-chained log of confirmed tonnes, a Merkle tree over it
(RFC 9162 §2.1), signed checkpoints of the tree head, inclusion and consistency proofs, and verification
in bounded memory.

Why each piece (the Certificate Transparency model):
- every entry's hash covers every column of the entry (but the hash itself) and a format version, and
  chains to the previous hash: an edit anywhere shows;
- a rewrite that recomputes every later hash, or a truncation that moves `ledger_head` back, leaves a
  consistent chain: only something outside the database catches it. That is a **checkpoint**: the
  platform's Ed25519 signature over {seq, root, time}, root being the Merkle tree head over entries
  1..seq. Whoever keeps a copy (a regulator, a utiliser) can later prove the ledger changed;
- an **inclusion proof** shows that an entry is in the tree a checkpoint signed, a **consistency proof**
  that a later checkpoint's tree extends an earlier one. Both are hashes only: no entry's content leaks.

The Merkle leaf of entry `seq` is SHA-256(0x00 || the 32 bytes of its chain hash), its index seq - 1.
Proofs read only the stored 64-character hashes, streamed; hashing is O(n) per proof for now."""
from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, overload

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Row, Select, literal, or_, select, update
from sqlalchemy.orm import Session

from ..clock import as_utc, cst_day_bounds, utcnow
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db, rowcount
from ..models import Agreement, LedgerCheck, LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerKind, Shipment, User
from ..schemas.ledger import CheckpointOut, LedgerEntryOut, LedgerQuery, PublicKeyOut
from . import audit, summaries
from .values import MAX_ID, get_row

GENESIS = "0" * 64
#: Version 2: every column but `hash` in the canonical form (version 1 left out id and recorded_by_id).
FORMAT_VERSION = 2
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


# --- the entry hash ------------------------------------------------------------------------------------

def _stamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: LedgerEntry | Row[Any]) -> str:
    """The entry's canonical form (format 2): every column but `hash`, sorted keys, UTC times to the
    microsecond. `entry` is a LedgerEntry or a row with the same attributes."""
    return json.dumps({
        "v": entry.format_version, "id": entry.id, "seq": entry.seq, "kind": entry.kind,
        "shipment_id": entry.shipment_id, "agreement_id": entry.agreement_id,
        "producer_org_id": entry.producer_org_id, "consumer_org_id": entry.consumer_org_id,
        "material": entry.material, "net_kg": entry.net_kg, "ticket_no": entry.ticket_no,
        "dispatched_at": _stamp(entry.dispatched_at), "confirmed_at": _stamp(entry.confirmed_at),
        "reverses_id": entry.reverses_id, "reason": entry.reason or "", "recorded_by_id": entry.recorded_by_id,
        "prev_hash": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: LedgerEntry | Row[Any]) -> str:
    """SHA-256 of the canonical form, which includes the previous entry's hash: the chain."""
    return hashlib.sha256(canonical(entry).encode("utf-8")).hexdigest()


# --- appending -----------------------------------------------------------------------------------------

def _lock_head():
    """The head row, locked until the transaction ends: appends (and checkpoints) queue here."""
    return db.session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)
                              .with_for_update()).one()


def append_entry(kind: str, shipment: Shipment, agreement: Agreement, net_kg: int, confirmed_at: datetime,
                 actor: User, reverses: LedgerEntry | None = None, reason: str = "") -> LedgerEntry:
    """Append one entry after the head. The id is chosen here, under the head's lock, so that the hash can
    cover it (appends are serialised by that lock; SQLite serialises writers anyway)."""
    head = _lock_head()
    next_id = (db.session.scalar(select(db.func.max(LedgerEntry.id))) or 0) + 1
    entry = LedgerEntry(id=next_id, seq=head.seq + 1, kind=kind, shipment_id=shipment.id, agreement_id=agreement.id,
                        producer_org_id=agreement.producer_org_id, consumer_org_id=agreement.consumer_org_id,
                        material=agreement.material.code, net_kg=net_kg, ticket_no=shipment.ticket_no,
                        dispatched_at=as_utc(shipment.dispatched_at), confirmed_at=as_utc(confirmed_at),
                        reverses_id=reverses.id if reverses else None, reason=reason, recorded_by_id=actor.id,
                        prev_hash=head.hash, format_version=FORMAT_VERSION)
    entry.hash = entry_hash(entry)
    moved = db.session.execute(
        update(LedgerHead).where(LedgerHead.id == 1, LedgerHead.seq == head.seq)
        .values(seq=entry.seq, hash=entry.hash).execution_options(synchronize_session=False))
    if rowcount(moved) != 1:  # another entry was appended meanwhile: the caller's transaction rolls back
        raise Conflict(_l("The ledger was busy; try again."))
    db.session.add(entry)
    db.session.flush()
    summaries.add_ledger_entry(entry, agreement)
    return entry


def reversible_entry(entry_id: int) -> LedgerEntry:
    """The utilisation entry `entry_id`, not yet reversed; NotFound or Conflict otherwise."""
    original = get_row(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(_l("No such ledger entry."))
    if original.kind != LedgerKind.UTILISATION:
        raise Conflict(_l("Only a utilisation entry can be reversed."))
    if reversed_among([original.id]):
        raise Conflict(_l("This entry is already reversed."))
    return original


def reversed_among(entry_ids: list[int]) -> set[int]:
    """Which of these entries a later entry already reverses (one query)."""
    if not entry_ids:
        return set()
    return set(db.session.scalars(select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.in_(entry_ids))))


# --- the Merkle tree (RFC 9162 §2.1) -------------------------------------------------------------------

def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The Merkle tree head of a stream of leaves in O(log n) memory: a stack of complete subtrees of
    decreasing size; the head folds them right to left, which is RFC 9162's largest-power-of-two split."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, value = 1, leaf
        while self.stack and self.stack[-1][0] == size:
            value = node_hash(self.stack.pop()[1], value)
            size *= 2
        self.stack.append((size, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return bytes.fromhex(EMPTY_ROOT)
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The leaf ranges [a, b) whose subtree heads form PATH(index, D[lo:hi]), in proof order (§2.1.3.1)."""
    n = hi - lo
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_ranges(index, lo, lo + k), (lo + k, hi)]
    return [*inclusion_ranges(index - k, lo + k, hi), (lo, lo + k)]


def consistency_ranges(m: int, lo: int, hi: int, start: bool = True) -> list[tuple[int, int]]:
    """The leaf ranges whose subtree heads form SUBPROOF(m, D[lo:hi], start), in proof order (§2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if start else [(lo, hi)]
    k = _split(n)
    if m <= k:
        return [*consistency_ranges(m, lo, lo + k, start), (lo + k, hi)]
    return [*consistency_ranges(m - k, lo + k, hi, False), (lo, lo + k)]


def _stream_hashes(first_seq: int, last_seq: int, batch: int = 10_000) -> Iterator[str]:
    """The stored chain hashes of entries first_seq..last_seq, in order, streamed (server-side cursor on
    PostgreSQL)."""
    rows = db.session.execute(select(LedgerEntry.seq, LedgerEntry.hash)
                              .where(LedgerEntry.seq >= first_seq, LedgerEntry.seq <= last_seq)
                              .order_by(LedgerEntry.seq).execution_options(yield_per=batch))
    expected = first_seq
    for seq, value in rows:
        if seq != expected:
            raise Conflict(_l("Ledger entry %(seq)s is missing: run the ledger check.", seq=expected))
        expected += 1
        yield value
    if expected != last_seq + 1:
        raise Conflict(_l("Ledger entry %(seq)s is missing: run the ledger check.", seq=expected))


def subtree_root(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over leaf indices (entry seq = index + 1), reading only the stored hashes."""
    frontier = Frontier()
    if hi > lo:
        for value in _stream_hashes(lo + 1, hi):
            frontier.add(leaf_hash(value))
    return frontier.root()


def merkle_root(size: int) -> str:
    return subtree_root(0, size).hex()


# --- signing -------------------------------------------------------------------------------------------

def _load_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError("LEDGER_SIGNING_KEY is not an Ed25519 key")
        return key
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except ValueError:
        raise RuntimeError("LEDGER_SIGNING_KEY: give a PEM key, or the 32-byte seed in hex or base64") from None
    if len(raw) != 32:
        raise RuntimeError("LEDGER_SIGNING_KEY: an Ed25519 seed has 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _key_file() -> str:
    return current_app.config.get("LEDGER_SIGNING_KEY_FILE") or os.path.join(current_app.instance_path,
                                                                              "ledger_signing_key")


@overload
def signing_key(create: Literal[True] = True) -> Ed25519PrivateKey: ...
@overload
def signing_key(create: bool) -> Ed25519PrivateKey | None: ...
def signing_key(create: bool = True) -> Ed25519PrivateKey | None:
    """The platform's Ed25519 key: LEDGER_SIGNING_KEY (PEM, or the seed in hex/base64), else the file
    LEDGER_SIGNING_KEY_FILE (default instance/ledger_signing_key), created with mode 600 when absent."""
    configured = current_app.config.get("LEDGER_SIGNING_KEY")
    if configured:
        return _load_private_key(configured)
    path = _key_file()
    try:
        with open(path, encoding="ascii") as f:
            return _load_private_key(f.read())
    except FileNotFoundError:
        if not create:
            return None
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago: use that one
        return signing_key(create=False)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def public_key() -> Ed25519PublicKey | None:
    key = signing_key(create=False)
    return key.public_key() if key is not None else None


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(key)).hexdigest()


def public_key_out(key: Ed25519PublicKey) -> PublicKeyOut:
    return PublicKeyOut(algorithm="Ed25519", key_id=key_id(key), public_key=base64.b64encode(_raw(key)).decode(),
                        public_key_pem=key.public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode())


def signed_message(seq: int, root: str, time: str) -> bytes:
    """What a checkpoint's signature covers: the canonical JSON of {root, seq, time}, UTF-8."""
    return json.dumps({"root": root, "seq": seq, "time": time}, sort_keys=True, separators=(",", ":")).encode()


def signature_ok(key: Ed25519PublicKey | None, seq: int, root: str, time: str, signature: str) -> bool:
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), signed_message(seq, root, time))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- checkpoints ---------------------------------------------------------------------------------------

def checkpoint_out(cp: LedgerCheckpoint) -> CheckpointOut:
    """A checkpoint as the API gives it and `ledger verify --checkpoint FILE` reads it."""
    return CheckpointOut(id=cp.id, seq=cp.seq, root=cp.root, time=cp.time, signature=cp.signature, key_id=cp.key_id,
                         algorithm="Ed25519", signed=signed_message(cp.seq, cp.root, cp.time).decode())


def checkpoints() -> list[LedgerCheckpoint]:
    return list(db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id)))


def get_checkpoint(checkpoint_id: int) -> LedgerCheckpoint:
    cp = get_row(LedgerCheckpoint, checkpoint_id)
    if cp is None:
        raise NotFound(_l("No such checkpoint."))
    return cp


def create_checkpoint(actor: User | None) -> LedgerCheckpoint:
    """Verify the whole ledger, then sign and store {seq, root, time} for its head. Refuses (Conflict) to
    sign a ledger that does not verify. Appends wait until the transaction ends."""
    head = _lock_head()
    check = verify_ledger()
    if not check.ok:
        raise Conflict(_l("The ledger does not verify (entry %(seq)s: %(problem)s); no checkpoint was signed.",
                          seq=check.first_bad_seq, problem=check.problem))
    if check.entries != head.seq:  # verify_ledger checks the head too; kept as a guard
        raise Conflict(_l("The ledger was busy; try again."))
    key = signing_key()
    time = _stamp(utcnow())
    signature = base64.b64encode(key.sign(signed_message(head.seq, check.root, time))).decode()
    cp = LedgerCheckpoint(seq=head.seq, root=check.root, time=time, signature=signature,
                          key_id=key_id(key.public_key()), created_by_id=actor.id if actor else None)
    db.session.add(cp)
    db.session.flush()
    audit.record(actor, "ledger.checkpoint", cp, {"seq": cp.seq, "root": cp.root})
    return cp


def checkpoint_for_claim(actor: User) -> LedgerCheckpoint:
    """A verified checkpoint covering every entry now in the ledger, signing a fresh one when the newest
    does not reach the head. The head stays locked until the caller's transaction ends, so the claim can
    only count entries this checkpoint covers."""
    head = _lock_head()
    newest = db.session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq.desc(),
                                                                 LedgerCheckpoint.id.desc()).limit(1))
    if newest is None or newest.seq != head.seq:
        return create_checkpoint(actor)
    require_intact(newest)
    return newest


def require_intact(cp: LedgerCheckpoint) -> None:
    """Refuse (Conflict) unless the ledger verifies against every stored checkpoint, `cp` among them."""
    check = verify_ledger()
    if not check.ok:
        raise Conflict(_l("The ledger no longer matches its checkpoint %(id)s (entry %(seq)s: %(problem)s).",
                          id=cp.id, seq=check.first_bad_seq, problem=check.problem))


def checkpoint_for_approval(actor: User, checkpoint_id: int | None) -> LedgerCheckpoint:
    """The claim's recorded checkpoint, verified again (a claim prepared before checkpoints existed gets
    a fresh one)."""
    if checkpoint_id is None:
        return checkpoint_for_claim(actor)
    cp = get_checkpoint(checkpoint_id)
    require_intact(cp)
    return cp


# --- verification --------------------------------------------------------------------------------------

@dataclass
class ChainCheck:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0
    root: str = EMPTY_ROOT


@dataclass(frozen=True)
class _Target:
    seq: int
    root: str
    label: str


def parse_checkpoint(data: object) -> dict[str, Any]:
    """A checkpoint as the API gives it (extra keys ignored), checked for shape; ValidationError otherwise."""
    if not isinstance(data, dict):
        raise ValidationError(_l("A checkpoint is a JSON object with seq, root, time and signature."),
                              field="checkpoint")
    seq, root, time, signature = (data.get(k) for k in ("seq", "root", "time", "signature"))
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationError(_l("The checkpoint's seq is not a whole number."), field="checkpoint")
    if not isinstance(root, str) or len(root) != 64 or any(c not in "0123456789abcdef" for c in root):
        raise ValidationError(_l("The checkpoint's root is not 64 lower-case hex digits."), field="checkpoint")
    if not isinstance(time, str) or not isinstance(signature, str) or len(time) > 40 or len(signature) > 200:
        raise ValidationError(_l("The checkpoint's time or signature is missing."), field="checkpoint")
    return {"seq": seq, "root": root, "time": time, "signature": signature}


ENTRY_COLUMNS = tuple(LedgerEntry.__table__.c)


def verify_ledger(given: list[dict] | None = None, key: Ed25519PublicKey | None = None,
                  batch: int = 2_000, session: Session | None = None) -> ChainCheck:
    """Stream the ledger once in bounded memory and check: the sequence has no gap, each entry follows the
    one before, its hash covers what is stored, the head is the last entry, and the Merkle tree head at every
    stored checkpoint (and every `given` one, e.g. kept by a regulator) is the one signed. Signatures are
    checked with `key` (default: the platform's). Names the first entry that no longer matches. `session`
    reads another database (a backup checked before it replaces this one); default: the app's."""
    key = key or public_key()
    session = session or db.session()
    targets: list[_Target] = []
    for cp in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq, LedgerCheckpoint.id)):
        if not signature_ok(key, cp.seq, cp.root, cp.time, cp.signature):
            return ChainCheck(False, 0, cp.seq, f"checkpoint {cp.id} (entries 1 to {cp.seq}) is not signed by the "
                                                "platform's key: it was forged or altered")
        targets.append(_Target(cp.seq, cp.root, f"checkpoint {cp.id} of {cp.time}"))
    for data in given or []:
        if not signature_ok(key, data["seq"], data["root"], data["time"], data["signature"]):
            return ChainCheck(False, 0, data["seq"], f"the given checkpoint of {data['time']} does not carry a "
                                                     "valid signature of the platform's key")
        targets.append(_Target(data["seq"], data["root"], f"the given checkpoint of {data['time']}"))
    targets.sort(key=lambda t: t.seq)
    t = 0
    frontier = Frontier()
    matched_upto = 0  # entries 1..matched_upto agree with a signed checkpoint
    while t < len(targets) and targets[t].seq == 0:
        if targets[t].root != EMPTY_ROOT:
            return ChainCheck(False, 0, 1, f"{targets[t].label} does not sign the empty tree")
        t += 1
    expected_prev, expected_seq = GENESIS, 1
    rows = session.execute(select(*ENTRY_COLUMNS).order_by(LedgerEntry.seq).execution_options(yield_per=batch))
    for row in rows:
        count = expected_seq
        if row.seq != expected_seq:
            return ChainCheck(False, count, expected_seq, f"entry {expected_seq} is missing")
        if row.prev_hash != expected_prev:
            return ChainCheck(False, count, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}")
        if row.format_version != FORMAT_VERSION:
            return ChainCheck(False, count, row.seq, f"entry {row.seq} has an unknown format {row.format_version}")
        if entry_hash(row) != row.hash:
            return ChainCheck(False, count, row.seq, f"entry {row.seq} was altered")
        frontier.add(leaf_hash(row.hash))
        while t < len(targets) and targets[t].seq == row.seq:
            if frontier.root().hex() != targets[t].root:
                return ChainCheck(False, count, matched_upto + 1,
                                  f"entries {matched_upto + 1} to {row.seq} no longer match {targets[t].label}: "
                                  f"one of them (from entry {matched_upto + 1}) was changed and the later hashes "
                                  "recomputed")
            matched_upto = row.seq
            t += 1
        expected_prev, expected_seq = row.hash, expected_seq + 1
    count = expected_seq - 1
    if t < len(targets):
        return ChainCheck(False, count, count + 1,
                          f"entries {count + 1} to {targets[-1].seq} are missing: {targets[-1].label} "
                          f"signed {targets[-1].seq} entries")
    head = session.get(LedgerHead, 1)
    if head is None:  # the migration makes the one head row; without it nothing chains
        return ChainCheck(False, count, count + 1, "the ledger head is missing")
    if head.seq != count or head.hash != expected_prev:
        return ChainCheck(False, count, count + 1, f"entries after {count} are missing")
    return ChainCheck(True, count, checkpoints=len(targets), root=frontier.root().hex())


def request_check(actor: User) -> LedgerCheck:
    """Ask the job worker to verify the whole chain (staff only; the route checks). Sent once the request
    commits; `latest_check` shows it running, then its result."""
    from . import queue

    running = db.session.scalar(select(LedgerCheck).where(LedgerCheck.finished_at.is_(None),
                                                          LedgerCheck.requested_at > utcnow() - timedelta(hours=1))
                                .order_by(LedgerCheck.id.desc()).limit(1))
    if running is not None:  # one at a time: asking again waits for the one under way (unless its worker died)
        return running
    check = LedgerCheck(requested_by_id=actor.id)
    db.session.add(check)
    db.session.flush()
    queue.enqueue("verify_ledger", check.id)
    return check


def run_check(check_id: int) -> LedgerCheck | None:
    """The job: verify the chain and store the answer on the request's row."""
    check = db.session.get(LedgerCheck, check_id)
    if check is None or check.finished_at is not None:
        return check
    result = verify_ledger()
    check.ok, check.entries, check.first_bad_seq = result.ok, result.entries, result.first_bad_seq
    check.problem, check.finished_at = result.problem, utcnow()
    return check


def latest_check() -> LedgerCheck | None:
    return db.session.scalar(select(LedgerCheck).order_by(LedgerCheck.id.desc()).limit(1))


# --- proofs --------------------------------------------------------------------------------------------

def inclusion_proof(viewer: User, seq: int, checkpoint_id: int | None = None) -> dict[str, Any]:
    """The audit path of entry `seq` in the tree a checkpoint signed (the given one, else the newest that
    covers it). A party sees proofs of its own entries, regulators and the operator any."""
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.seq == seq)) if 0 < seq < 2**62 else None
    org = viewer.organisation
    if entry is None or not (org.is_staff or viewer.organisation_id in (entry.producer_org_id,
                                                                         entry.consumer_org_id)):
        raise NotFound(_l("No such ledger entry."))
    if checkpoint_id is not None:
        cp = get_checkpoint(checkpoint_id)
        if cp.seq < seq:
            raise ValidationError(_l("Checkpoint %(id)s covers entries 1 to %(n)s only.", id=cp.id, n=cp.seq),
                                  field="checkpoint")
    else:
        newest = db.session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.seq >= seq)
                                   .order_by(LedgerCheckpoint.seq.desc(), LedgerCheckpoint.id.desc()).limit(1))
        if newest is None:
            raise Conflict(_l("No checkpoint covers this entry yet; ask again after the next checkpoint."))
        cp = newest
    path = [subtree_root(a, b).hex() for a, b in inclusion_ranges(seq - 1, 0, cp.seq)]
    return {"seq": seq, "leaf_index": seq - 1, "tree_size": cp.seq, "entry_hash": entry.hash,
            "leaf_hash": leaf_hash(entry.hash).hex(), "audit_path": path, "checkpoint": checkpoint_out(cp).dump()}


def consistency_proof(first_id: int, second_id: int) -> dict[str, Any]:
    """The proof (§2.1.4) that checkpoint `second_id`'s tree extends checkpoint `first_id`'s."""
    first, second = get_checkpoint(first_id), get_checkpoint(second_id)
    if first.seq > second.seq:
        raise ValidationError(_l("The first checkpoint must not be larger than the second."), field="from")
    ranges = [] if first.seq in (0, second.seq) else consistency_ranges(first.seq, 0, second.seq)
    return {"from": checkpoint_out(first).dump(), "to": checkpoint_out(second).dump(),
            "proof": [subtree_root(a, b).hex() for a, b in ranges]}


# --- reading -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFilter:
    """What the ledger page and the API narrow the ledger to (each condition has its index)."""

    material: str = ""
    org_id: int | None = None
    since: date | None = None  # days of dispatch in China Standard Time, both included
    until: date | None = None
    q: str = ""  # a ticket number's beginning, or an agreement's number

    @property
    def active(self) -> bool:
        return bool(self.material or self.org_id or self.since or self.until or self.q)

    @property
    def specific(self) -> bool:
        """A search that matches few entries: an agreement's number or four characters of a ticket's (a shorter
        prefix, "G", matches much of the ledger: newest first along the seq index is then the quick way)."""
        number = self.q.removeprefix("#")
        return len(self.q) >= 4 or (number.isascii() and number.isdigit())


def ledger_filter(query: LedgerQuery) -> LedgerFilter:
    """The validated query's filters, checked against the catalogue; ValidationError naming the field."""
    from .catalogue import material_by_code

    if query.material and material_by_code(query.material) is None:
        raise ValidationError(_l("Unknown material."), field="material")
    if query.since and query.until and query.since > query.until:
        raise ValidationError(_l("The last day comes before the first."), field="until")
    return LedgerFilter(material=query.material or "", org_id=query.org, since=query.since, until=query.until,
                        q=(query.q or "").strip())


def _filtered(query: Select, f: LedgerFilter) -> Select:
    if f.material:
        query = query.where(LedgerEntry.material == f.material)
    if f.org_id:
        query = query.where(or_(LedgerEntry.producer_org_id == f.org_id, LedgerEntry.consumer_org_id == f.org_id))
    start, end = cst_day_bounds(f.since, f.until)
    if start is not None:
        query = query.where(LedgerEntry.dispatched_at >= start)
    if end is not None:
        query = query.where(LedgerEntry.dispatched_at < end)
    if f.q:
        number = f.q.removeprefix("#")
        # a ticket number by its beginning (as typed, or in capitals as tickets are printed): the index serves
        # LIKE 'x%'; an agreement by its number
        matches = [LedgerEntry.ticket_no.startswith(f.q, autoescape=True),
                   LedgerEntry.ticket_no.startswith(f.q.upper(), autoescape=True)]
        if number.isascii() and number.isdigit() and int(number) <= MAX_ID:
            matches.append(LedgerEntry.agreement_id == int(number))
        query = query.where(or_(*matches))
    return query


def ledger_for(viewer: User, page: int = 1, per_page: int = 50, filters: LedgerFilter | None = None) -> Pagination:
    """The entries the viewer may read (all for staff, else those of its organisation), newest first, narrowed by
    `filters`, one page: two statements (the count and the page) whatever the filters."""
    query = select(LedgerEntry)
    narrow = not viewer.organisation.is_staff or (filters is not None and (bool(filters.org_id) or filters.specific))
    if not viewer.organisation.is_staff:
        org = viewer.organisation_id
        query = query.where(or_(LedgerEntry.producer_org_id == org, LedgerEntry.consumer_org_id == org))
    if filters is not None:
        query = _filtered(query, filters)
    # Newest first. For a firm, an organisation or a search, order by an expression no index holds: PostgreSQL
    # then finds the matches through their own indexes and sorts them (bounded by how many match), instead of
    # walking the seq index backwards through the whole ledger when the matches are few or old (measured on
    # 1,000,000 entries: 2 s for a firm's empty filter, 1.2 s for a ticket prefix, 0.1 s and 0.04 s so; README).
    query = query.order_by((LedgerEntry.seq + 0).desc() if narrow else LedgerEntry.seq.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def ledger_organisations(viewer: User) -> list[tuple[int, str]]:
    """(id, name) of the organisations the viewer may filter the ledger by: every producer and utiliser for staff,
    else the viewer's own and its counterparties in the ledger (one statement)."""
    from ..models import Organisation, OrgKind

    query = select(Organisation.id, Organisation.name).order_by(Organisation.name, Organisation.id)
    if viewer.organisation.is_staff:
        parties_kinds = (OrgKind.PRODUCER, OrgKind.CONSUMER, OrgKind.BOTH)
        return [(i, n) for i, n in db.session.execute(query.where(Organisation.kind.in_(parties_kinds)))]
    org = viewer.organisation_id
    parties = select(LedgerEntry.producer_org_id).where(LedgerEntry.consumer_org_id == org).union(
        select(LedgerEntry.consumer_org_id).where(LedgerEntry.producer_org_id == org), select(literal(org)))
    return [(i, n) for i, n in db.session.execute(query.where(Organisation.id.in_(parties)))]


def entry_out(e: LedgerEntry) -> LedgerEntryOut:
    """An entry with every field its hash covers, so that a party can recompute the hash of its own."""
    return LedgerEntryOut(id=e.id, seq=e.seq, kind=e.kind, shipment_id=e.shipment_id, agreement_id=e.agreement_id,
                          producer_org_id=e.producer_org_id, consumer_org_id=e.consumer_org_id, material=e.material,
                          net_kg=e.net_kg, tonnes=e.tonnes, ticket_no=e.ticket_no,
                          dispatched_at=_stamp(e.dispatched_at), confirmed_at=_stamp(e.confirmed_at),
                          reverses_id=e.reverses_id, reason=e.reason, recorded_by_id=e.recorded_by_id,
                          format_version=e.format_version, prev_hash=e.prev_hash, hash=e.hash)


def grants_sql(role: str) -> str:
    """PostgreSQL statements (run as the owner) that give the application role everything but UPDATE,
    DELETE and TRUNCATE on the append-only tables."""
    if not role.replace("_", "").isalnum():
        raise ValidationError(_l("A role name has letters, digits and underscores only."), field="role")
    tables = "ledger_entry, ledger_checkpoint, audit_entry"
    return "\n".join([
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {role};",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role};",
    ])

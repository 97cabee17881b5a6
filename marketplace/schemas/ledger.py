"""The ledger: entries, signed checkpoints and their proofs, as the API and `flask ledger` give them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from .common import BLANK, LINE, TEXT, WHOLE, Id, Input, IsoDate, Output, TonnesText

Hex32 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class LedgerQuery(Input):
    """The ledger's filters (the page's and the API's query string); empty means not given."""

    page: Annotated[Annotated[int, Field(ge=1, le=100_000), WHOLE] | None, BLANK] = None
    per_page: Annotated[Annotated[int, Field(ge=1, le=100), WHOLE] | None, BLANK] = None
    material: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = Field(
        None, description="a material code, see GET /materials")
    org: Annotated[Id | None, BLANK] = Field(None, description="an organisation's id: entries where it is the "
                                                               "producer or the utiliser")
    since: Annotated[IsoDate | None, BLANK] = Field(None, description="dispatched on or after this day (UTC+8)")
    until: Annotated[IsoDate | None, BLANK] = Field(None, description="dispatched on or before this day (UTC+8)")
    q: Annotated[Annotated[str, Field(max_length=40), LINE] | None, BLANK] = Field(
        None, description="the beginning of a ticket number, or an agreement's number (12 or #12)")


class ProofQuery(Input):
    checkpoint: Annotated[Id | None, BLANK] = Field(
        None, description="a checkpoint id; default: the newest covering the entry")


class ConsistencyQuery(Input):
    from_: Id = Field(alias="from", description="the earlier checkpoint's id")
    to: Id = Field(description="the later checkpoint's id")


class LedgerEntryOut(Output):
    """An entry with every field its hash covers, so that a party can recompute the hash of its own."""

    id: int
    seq: int
    kind: Literal["utilisation", "reversal"]
    shipment_id: int | None
    agreement_id: int | None
    producer_org_id: int
    consumer_org_id: int
    material: str
    net_kg: int
    tonnes: TonnesText
    ticket_no: str
    dispatched_at: str
    confirmed_at: str
    reverses_id: int | None
    reason: str
    recorded_by_id: int | None
    format_version: int = Field(description="of the hashed form")
    prev_hash: str
    hash: str


class LedgerPage(Output):
    items: list[LedgerEntryOut]
    total: int
    page: int
    per_page: int
    pages: int


class CheckpointOut(Output):
    """The platform's Ed25519 signature over the UTF-8 bytes of `signed`, the canonical JSON {"root", "seq",
    "time"} (sorted keys, no spaces). `root` is the RFC 9162 Merkle tree head over entries 1..seq, whose leaf i
    is SHA-256(0x00 || the 32 bytes of entry i+1's hash). Keep copies: `flask ledger verify --checkpoint FILE`
    accepts one as it is."""

    id: int
    seq: int = Field(ge=0)
    root: Hex32
    time: str = Field(description="UTC, as signed")
    signature: str = Field(description="base64")
    key_id: Hex32
    algorithm: Literal["Ed25519"]
    signed: str


class CheckpointList(Output):
    items: list[CheckpointOut]


class PublicKeyOut(Output):
    algorithm: Literal["Ed25519"]
    key_id: Hex32
    public_key: str = Field(description="the raw 32 bytes, base64")
    public_key_pem: str


class InclusionProofOut(Output):
    seq: int
    leaf_index: int
    tree_size: int
    entry_hash: Hex32
    leaf_hash: Hex32
    audit_path: list[Hex32]
    checkpoint: CheckpointOut


class ConsistencyProofOut(Output):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: CheckpointOut = Field(alias="from")
    to: CheckpointOut
    proof: list[Hex32]

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class VerifyRequest(Input):
    checkpoint: dict[str, Any] | None = Field(None, description="a checkpoint as GET /ledger/checkpoints gives it")


class VerifyOut(Output):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str
    checkpoints_checked: int
    root: Hex32 | None


class Reversal(Input):
    """A regulator or the operator reverses an entry; the reason is required (the service says so)."""

    reason: Annotated[str, Field(max_length=1000), TEXT] = ""

"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from functools import lru_cache

from ..models.listing import USES

NULLABLE_STRING = {"type": ["string", "null"]}
DECIMAL = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "yuan, exactly two decimals"}
DECIMAL_IN = {"type": ["string", "number"], "description": "yuan, -10000 to 100000, at most two decimals"}
QUALITY_VALUE = {"type": ["string", "number"], "description": "-1000000 to 1000000, at most four decimals"}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "400": _error("Malformed request: not a JSON object, nested too deeply, or text with control characters"),
    "401": _error("Missing or invalid token"),
    "403": _error("Not allowed for this user"),
    "404": _error("No such object, or not visible to this user"),
    "409": _error("Conflicts with the current state"),
    "422": _error("A field is invalid; `field` names it"),
}


def _json(ref: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _listing_schema(side: str) -> dict:
    props = {
        "id": {"type": "integer"},
        "side": {"type": "string", "enum": [side]},
        "status": {"$ref": "#/components/schemas/ListingStatus"},
        "material": {"type": "string"},
        "tonnes": {"type": "integer", "minimum": 1},
        "tonnes_promised": {"type": "integer", "minimum": 0},
        "tonnes_remaining": {"type": "integer", "minimum": 0},
        "period_start": {"type": "string", "format": "date"},
        "period_end": {"type": "string", "format": "date"},
        "max_haul_km": {"type": "integer", "minimum": 1},
        "city": {"type": "string"},
        "county": {"type": "string"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "distance_km": {"type": "number", "description": "from near_site_id, when given: to 0.1 km where the "
                                                         "reader may see the site, else to 5 km"},
        "site_id": {"type": "integer", "description": "only for the owner, regulators, the operator and "
                                                      "organisations with an agreed deal"},
        "site_name": {"type": "string"},
        "lat": {"type": "string"},
        "lon": {"type": "string"},
        "organisation": {"type": "string", "description": "as site_id"},
        "notes": {"type": "string", "description": "as site_id"},
    }
    required = ["id", "side", "status", "material", "tonnes", "tonnes_promised", "tonnes_remaining",
                "period_start", "period_end", "max_haul_km", "city", "county"]
    if side == "supply":
        props.update(grade=NULLABLE_STRING,
                     quality={"type": "object", "additionalProperties": {"type": "string"}},
                     price_yuan_per_t=DECIMAL, has_certificate={"type": "boolean"})
        required += ["grade", "quality", "price_yuan_per_t"]
    else:
        props.update(min_grade=NULLABLE_STRING,
                     quality_limits={"type": "object", "additionalProperties": {
                         "type": "object", "properties": {"min": {"type": "string"}, "max": {"type": "string"}}}},
                     max_delivered_price_yuan_per_t={"anyOf": [DECIMAL, {"type": "null"}]},
                     use={"type": "string", "enum": list(USES)})
        required += ["min_grade", "quality_limits", "max_delivered_price_yuan_per_t"]
    return {"type": "object", "properties": props, "required": required}


def _listing_input(side: str, create: bool) -> dict:
    props = {
        "site_id": {"type": "integer", "description": "one of the caller's own sites"},
        "material": {"type": "string", "description": "a material code, see GET /materials"},
        "tonnes": {"type": "integer", "minimum": 1, "maximum": 5_000_000},
        "period_start": {"type": "string", "format": "date"},
        "period_end": {"type": "string", "format": "date"},
        "max_haul_km": {"type": "integer", "minimum": 1, "maximum": 2000},
        "notes": {"type": "string", "maxLength": 2000},
        "status": {"type": "string", "enum": ["draft", "open"] if create else
                   ["draft", "open", "withdrawn"]},
    }
    if side == "supply":
        props.update(grade=NULLABLE_STRING, price_yuan_per_t=DECIMAL_IN,
                     quality={"type": "object", "additionalProperties": QUALITY_VALUE})
        required = ["site_id", "material", "tonnes", "period_start", "period_end", "max_haul_km",
                    "price_yuan_per_t"]
    else:
        props.update(min_grade=NULLABLE_STRING, use={"type": "string", "enum": list(USES),
                                                     "description": "what the waste is used for"},
                     max_delivered_price_yuan_per_t={"anyOf": [DECIMAL_IN, {"type": "null"}]},
                     quality_limits={"type": "object", "additionalProperties": {
                         "type": "object", "properties": {"min": QUALITY_VALUE, "max": QUALITY_VALUE}}})
        required = ["site_id", "material", "tonnes", "period_start", "period_end", "max_haul_km"]
    schema = {"type": "object", "properties": props}
    if create:
        schema["required"] = required
    return schema


LIST_PARAMETERS = [
    {"name": "material", "in": "query", "schema": {"type": "string"}},
    {"name": "grade", "in": "query", "schema": {"type": "string"}, "description": "needs material"},
    {"name": "city", "in": "query", "schema": {"type": "string"}},
    {"name": "county", "in": "query", "schema": {"type": "string"}},
    {"name": "min_tonnes", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "min_price", "in": "query", "schema": {"type": "number"}},
    {"name": "max_price", "in": "query", "schema": {"type": "number"}},
    {"name": "near_site_id", "in": "query", "schema": {"type": "integer", "minimum": 1},
     "description": "one of the caller's sites: adds distance_km"},
    {"name": "within_km", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "mine", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}},
    {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/ListingStatus"}},
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["newest", "price", "-price", "tonnes",
                                                                           "-tonnes", "distance"]}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]


def _listing_paths(side: str, path: str, name: str) -> dict:
    ref = f"#/components/schemas/{name}"
    id_param = [{"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    body = lambda create: {"required": True, "content": {"application/json": {  # noqa: E731
        "schema": {"$ref": f"#/components/schemas/{name}{'Create' if create else 'Update'}"}}}}
    return {
        f"/api/v1/{path}": {
            "get": {"summary": f"Browse {side} listings (filters and pagination as the browse page)",
                    "operationId": f"list_{side}", "parameters": LIST_PARAMETERS,
                    "responses": {"200": _json(f"#/components/schemas/{name}Page"), **_pick("401", "422")}},
            "post": {"summary": f"Post a {side} listing (open at once unless status is draft)",
                     "operationId": f"create_{side}", "requestBody": body(True),
                     "responses": {"201": _json(ref, "Created"), **_pick("400", "401", "403", "422")}},
        },
        f"/api/v1/{path}/{{listing_id}}": {
            "parameters": id_param,
            "get": {"summary": f"One {side} listing", "operationId": f"get_{side}",
                    "responses": {"200": _json(ref), **_pick("401", "404")}},
            "patch": {"summary": "Change a listing, or move its status (draft, open, withdrawn)",
                      "operationId": f"patch_{side}", "requestBody": body(False),
                      "responses": {"200": _json(ref), **_pick("400", "401", "403", "404", "409", "422")}},
            "delete": {"summary": "Withdraw a listing (it stays in the history)", "operationId": f"delete_{side}",
                       "responses": {"200": _json(ref), **_pick("401", "403", "404", "409")}},
        },
    }


def _pick(*codes: str) -> dict:
    return {c: ERRORS[c] for c in codes}


MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
PROPOSAL = {"type": "object", "required": ["id", "status", "supply_listing_id", "demand_listing_id", "tonnes",
                                           "agreement_id"],
            "properties": {"id": {"type": "integer"}, "round_id": {"type": "integer"},
                           "status": {"type": "string", "enum": ["pending", "agreed", "declined", "expired", "lapsed",
                                                                 "withdrawn"]},
                           "supply_listing_id": {"type": "integer"}, "demand_listing_id": {"type": "integer"},
                           "tonnes": {"type": "integer", "minimum": 1}, "distance_km": {"type": "number"},
                           "mode": {"type": "string", "enum": ["road", "rail"]}, "price_yuan_per_t": MONEY,
                           "transport_cost_yuan_per_t": MONEY, "delivered_price_yuan_per_t": MONEY,
                           "env_tax_avoided_yuan": MONEY, "co2_kg": {"type": "number"},
                           "producer_decision": {"type": ["string", "null"]},
                           "consumer_decision": {"type": ["string", "null"]}, "expires_at": {"type": "string"},
                           "agreement_id": {"type": ["integer", "null"]}}}
_WHEN = {"type": ["string", "null"], "format": "date-time"}
ROUND = {"type": "object", "required": ["id", "status", "finished", "error", "scope", "tonnes_matched",
                                        "transport_cost_yuan", "proposals"],
         "properties": {"id": {"type": "integer"}, "scope": {"type": "string", "enum": ["market", "demand", "supply"]},
                        "status": {"type": "string", "enum": ["queued", "building", "solving", "writing", "done",
                                                              "failed", "cancelled"]},
                        "status_label": {"type": "string"}, "finished": {"type": "boolean"},
                        "cancel_requested": {"type": "boolean"},
                        "error": {"oneOf": [{"type": "null"}, {
                            "type": "object", "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}]},
                        "queued_at": _WHEN, "building_at": _WHEN, "solving_at": _WHEN, "writing_at": _WHEN,
                        "finished_at": _WHEN,
                        "created_at": {"type": "string"}, "period_start": {"type": ["string", "null"]},
                        "period_end": {"type": ["string", "null"]}, "parameters": {"type": "object"},
                        "tariff_version": {"type": "integer"}, "solver_status": {"type": "string"},
                        "stats": {"type": "object"}, "tonnes_matched": {"type": "integer"},
                        "transport_cost_yuan": MONEY, "env_tax_avoided_yuan": MONEY, "co2_kg": {"type": "number"},
                        "baseline": {"type": ["object", "null"]},
                        "proposals": {"type": "array", "items": {"$ref": "#/components/schemas/Proposal"}}}}
AGREEMENT = {"type": "object", "required": ["id", "proposal_id", "supply_listing_id", "demand_listing_id", "tonnes"],
             "properties": {"id": {"type": "integer"}, "proposal_id": {"type": "integer"},
                            "supply_listing_id": {"type": "integer"}, "demand_listing_id": {"type": "integer"},
                            "producer": {"type": "string"}, "consumer": {"type": "string"},
                            "material": {"type": "string"}, "tonnes": {"type": "integer"},
                            "price_yuan_per_t": MONEY, "transport_cost_yuan_per_t": MONEY,
                            "delivered_price_yuan_per_t": MONEY, "distance_km": {"type": "number"},
                            "mode": {"type": "string"}, "period_start": {"type": "string"},
                            "period_end": {"type": "string"}, "created_at": {"type": "string"}}}


SHIPMENT = {"type": "object", "required": ["id", "agreement_id", "ticket_no", "net_kg", "status"],
            "properties": {"id": {"type": "integer"}, "agreement_id": {"type": "integer"},
                           "ticket_no": {"type": "string"}, "truck_plate": {"type": "string"},
                           "dispatched_at": {"type": "string"}, "gross_kg": {"type": "integer"},
                           "tare_kg": {"type": "integer"}, "net_kg": {"type": "integer"},
                           "moisture_pct": {"type": ["string", "null"]},
                           "status": {"type": "string", "enum": ["dispatched", "confirmed"]},
                           "received_net_kg": {"type": ["integer", "null"]},
                           "confirmed_at": {"type": ["string", "null"]},
                           "flags": {"type": "array", "items": {"type": "string"}}}}
LEDGER_ENTRY = {"type": "object", "required": ["seq", "kind", "net_kg", "hash", "prev_hash"],
                "properties": {"id": {"type": "integer"}, "seq": {"type": "integer"},
                               "kind": {"type": "string", "enum": ["utilisation", "reversal"]},
                               "shipment_id": {"type": "integer"}, "agreement_id": {"type": "integer"},
                               "producer_org_id": {"type": "integer"}, "consumer_org_id": {"type": "integer"},
                               "material": {"type": "string"}, "net_kg": {"type": "integer"},
                               "tonnes": {"type": "string"}, "ticket_no": {"type": "string"},
                               "dispatched_at": {"type": "string"}, "confirmed_at": {"type": "string"},
                               "reverses_id": {"type": ["integer", "null"]}, "reason": {"type": "string"},
                               "recorded_by_id": {"type": ["integer", "null"]},
                               "format_version": {"type": "integer", "description": "of the hashed form"},
                               "prev_hash": {"type": "string"}, "hash": {"type": "string"}}}
HEX32 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
CHECKPOINT = {
    "type": "object", "required": ["id", "seq", "root", "time", "signature", "key_id", "algorithm", "signed"],
    "description": "The platform's Ed25519 signature over the UTF-8 bytes of `signed`, the canonical JSON "
                   "{\"root\", \"seq\", \"time\"} (sorted keys, no spaces). `root` is the RFC 9162 Merkle tree "
                   "head over entries 1..seq, whose leaf i is SHA-256(0x00 || the 32 bytes of entry i+1's hash). "
                   "Keep copies: `flask ledger verify --checkpoint FILE` accepts one as it is.",
    "properties": {"id": {"type": "integer"}, "seq": {"type": "integer", "minimum": 0}, "root": HEX32,
                   "time": {"type": "string", "description": "UTC, as signed"},
                   "signature": {"type": "string", "description": "base64"}, "key_id": HEX32,
                   "algorithm": {"type": "string", "enum": ["Ed25519"]}, "signed": {"type": "string"}}}


CLAIM = {"type": "object", "required": ["id", "year", "status", "eligible_tonnes", "baseline_tonnes",
                                         "increment_tonnes", "rate_yuan_per_t", "amount_yuan", "scheme_version",
                                         "year_total_yuan", "previously_approved_yuan"],
         "properties": {"id": {"type": "integer"}, "organisation_id": {"type": "integer"}, "year": {"type": "integer"},
                        "status": {"type": "string", "enum": ["draft", "submitted", "approved", "rejected", "paid"]},
                        "eligible_tonnes": {"type": "string"}, "excluded_tonnes": {"type": "string"},
                        "baseline_tonnes": {"type": "string"}, "increment_tonnes": {"type": "string"},
                        "rate_yuan_per_t": {"type": "string"}, "amount_yuan": {"type": "string",
                                                                                "pattern": r"^\d+\.\d{2}$"},
                        "capped": {"type": "boolean"}, "scheme_version": {"type": "integer"},
                        "year_eligible_tonnes": {"type": "string"},
                        "year_total_yuan": {"type": "string", "pattern": r"^\d+\.\d{2}$",
                                            "description": "the scheme applied once to the year's whole "
                                                           "increment, capped for the year"},
                        "previously_approved_yuan": {"type": "string", "pattern": r"^\d+\.\d{2}$",
                                                     "description": "approved for the year before this claim, net "
                                                                    "of recoveries; amount_yuan is the top-up"},
                        "affected": {"type": "boolean",
                                     "description": "a ledger entry it counted was reversed after submission"},
                        "reason": {"type": "string"},
                        "ledger_entry_ids": {"type": "array", "items": {"type": "integer"}},
                        "ledger_checkpoint_id": {"type": ["integer", "null"],
                                                 "description": "the verified checkpoint covering its entries"},
                        "events": {"type": "array"}}}
BASELINE = {"type": "object", "required": ["id", "year", "tonnes", "status"],
            "properties": {"id": {"type": "integer"}, "organisation_id": {"type": "integer"},
                           "year": {"type": "integer"},
                           "tonnes": {"type": "string"}, "evidence": {"type": "string"},
                           "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
                           "reason": {"type": "string"}}}
REVIEW_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["decision"],
    "properties": {"decision": {"type": "string", "enum": ["approve", "reject"]},
                   "reason": {"type": "string", "maxLength": 2000}}}}}}


def _subsidy_paths() -> dict:
    ref = lambda name: f"#/components/schemas/{name}"  # noqa: E731
    return {
        "/api/v1/subsidy-scheme": {"get": {
            "summary": "The scheme in force (for ?year=, or today): base year, bands, cap, exclusions, version",
            "operationId": "subsidy_scheme",
            "parameters": [{"name": "year", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_pick("401", "404", "422")}}},
        "/api/v1/baselines": {"post": {
            "summary": "A utiliser declares its base-year utilisation with evidence", "operationId": "declare_baseline",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["year", "tonnes", "evidence"],
                "properties": {"year": {"type": "integer"}, "tonnes": {"type": ["string", "number"]},
                               "evidence": {"type": "string", "maxLength": 5000}}}}}},
            "responses": {"201": _json(ref("Baseline"), "Created"), **_pick("400", "401", "403", "409", "422")}}},
        "/api/v1/baselines/{baseline_id}/review": {"parameters": _id_path("baseline_id"), "post": {
            "summary": "A regulator verifies or rejects a baseline", "operationId": "review_baseline",
            "requestBody": REVIEW_BODY,
            "responses": {"200": _json(ref("Baseline")), **_pick("400", "401", "403", "404", "409", "422")}}},
        "/api/v1/subsidy-claims": {"post": {
            "summary": "Prepare a claim (a draft) for a year from the ledger", "operationId": "prepare_claim",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["year"], "properties": {"year": {"type": "integer"}}}}}},
            "responses": {"201": _json(ref("SubsidyClaim"), "Created"),
                          **_pick("400", "401", "403", "404", "409", "422")}}},
        "/api/v1/subsidy-claims/{claim_id}": {"parameters": _id_path("claim_id"), "get": {
            "summary": "A claim with its ledger entries and audit trail", "operationId": "get_claim",
            "responses": {"200": _json(ref("SubsidyClaim")), **_pick("401", "404")}}},
        "/api/v1/subsidy-claims/{claim_id}/submit": {"parameters": _id_path("claim_id"), "post": {
            "summary": "The utiliser submits its draft", "operationId": "submit_claim",
            "responses": {"200": _json(ref("SubsidyClaim")), **_pick("401", "403", "404", "409")}}},
        "/api/v1/subsidy-claims/{claim_id}/review": {"parameters": _id_path("claim_id"), "post": {
            "summary": "A regulator approves or rejects a submitted claim (never changes its figures)",
            "operationId": "review_claim", "requestBody": REVIEW_BODY,
            "responses": {"200": _json(ref("SubsidyClaim")), **_pick("400", "401", "403", "404", "409", "422")}}},
    }


def _ledger_paths() -> dict:
    ref = lambda name: f"#/components/schemas/{name}"  # noqa: E731
    checkpoint_id = lambda name, required, what: {  # noqa: E731
        "name": name, "in": "query", "required": required, "description": what,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
    return {
        "/api/v1/ledger/checkpoints": {"get": {
            "summary": "Every signed checkpoint of the ledger, oldest first", "operationId": "ledger_checkpoints",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": ref("LedgerCheckpoint")}}}}}}},
                **_pick("401")}}},
        "/api/v1/ledger/public-key": {"get": {
            "summary": "The platform's Ed25519 public key that signs the checkpoints",
            "operationId": "ledger_public_key",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["algorithm", "key_id", "public_key", "public_key_pem"],
                "properties": {"algorithm": {"type": "string", "enum": ["Ed25519"]}, "key_id": HEX32,
                               "public_key": {"type": "string", "description": "the raw 32 bytes, base64"},
                               "public_key_pem": {"type": "string"}}}}}},
                **_pick("401"), "404": _error("No checkpoint has been signed yet")}}},
        "/api/v1/ledger/entries/{seq}/proof": {"get": {
            "summary": "Inclusion proof (RFC 9162 §2.1.3) of entry `seq` in a checkpoint's tree: hashes only. "
                       "The entry's producer and utiliser, regulators and the operator may ask.",
            "operationId": "ledger_inclusion_proof",
            "parameters": [{"name": "seq", "in": "path", "required": True, "schema": {"type": "integer"}},
                           checkpoint_id("checkpoint", False,
                                         "a checkpoint id; default: the newest covering the entry")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["seq", "leaf_index", "tree_size", "entry_hash", "leaf_hash",
                                               "audit_path", "checkpoint"],
                "properties": {"seq": {"type": "integer"}, "leaf_index": {"type": "integer"},
                               "tree_size": {"type": "integer"}, "entry_hash": HEX32, "leaf_hash": HEX32,
                               "audit_path": {"type": "array", "items": HEX32},
                               "checkpoint": {"$ref": ref("LedgerCheckpoint")}}}}}},
                **_pick("401", "404", "422"), "409": _error("No checkpoint covers this entry yet")}}},
        "/api/v1/ledger/consistency": {"get": {
            "summary": "Consistency proof (RFC 9162 §2.1.4) that checkpoint `to`'s tree extends checkpoint "
                       "`from`'s: hashes only. `from` and `to` are checkpoint ids (not sizes), so that both roots "
                       "are signed.",
            "operationId": "ledger_consistency_proof",
            "parameters": [checkpoint_id("from", True, "the earlier checkpoint's id"),
                           checkpoint_id("to", True, "the later checkpoint's id")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["from", "to", "proof"],
                "properties": {"from": {"$ref": ref("LedgerCheckpoint")}, "to": {"$ref": ref("LedgerCheckpoint")},
                               "proof": {"type": "array", "items": HEX32}}}}}},
                **_pick("401", "404", "422")}}},
        "/api/v1/ledger/verify": {"post": {
            "summary": "Regulators and the operator: stream the ledger and check the chain, the head and every "
                       "signed checkpoint, stored or given",
            "operationId": "ledger_verify",
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"checkpoint": {"$ref": ref("LedgerCheckpoint")}}}}}},
            "responses": {"200": {"description": "The result (ok false names the first entry that no longer "
                                                 "matches)", "content": {"application/json": {"schema": {
                "type": "object", "required": ["ok", "entries", "first_bad_seq", "problem", "checkpoints_checked"],
                "properties": {"ok": {"type": "boolean"}, "entries": {"type": "integer"},
                               "first_bad_seq": {"type": ["integer", "null"]}, "problem": {"type": "string"},
                               "checkpoints_checked": {"type": "integer"},
                               "root": {"anyOf": [HEX32, {"type": "null"}]}}}}}},
                **_pick("400", "401", "403", "422")}}},
    }


def _id_path(name: str) -> list:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}]


def _matching_paths() -> dict:
    ref = lambda name: f"#/components/schemas/{name}"  # noqa: E731
    items = lambda name: {"description": "OK", "content": {"application/json": {"schema": {  # noqa: E731
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": ref(name)}}}}}}}
    decide = lambda verb: {"post": {  # noqa: E731
        "summary": f"{verb.capitalize()} a proposal (its producer or its utiliser; both accepting make an agreement)",
        "operationId": f"{verb}_proposal", "responses": {"200": _json(ref("Proposal")),
                                                          **_pick("401", "403", "404", "409", "422")}}}
    return {
        "/api/v1/match-rounds": {"post": {
            "summary": "Run a matching round: the operator or a regulator over the market (narrowed by listing ids "
                       "and a period); a utiliser for one of its demand listings; a producer for one supply listing",
            "operationId": "create_round",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "supply_listing_ids": {"type": "array", "items": {"type": "integer"}},
                    "demand_listing_ids": {"type": "array", "items": {"type": "integer"}},
                    "period_start": {"type": "string", "format": "date"},
                    "period_end": {"type": "string", "format": "date"},
                    "min_shipment_t": {"type": "integer", "minimum": 0},
                    "max_partners": {"type": "integer", "minimum": 1},
                    "compare_greedy": {"type": "boolean"}}}}}},
            "responses": {"202": _json(ref("MatchRound"), "Queued: a worker runs it; follow it with GET"),
                          **_pick("400", "401", "403", "409", "422")}}},
        "/api/v1/match-rounds/{round_id}": {"parameters": _id_path("round_id"), "get": {
            "summary": "A round's status, and once done the proposals the caller may see",
            "operationId": "get_round",
            "responses": {"200": _json(ref("MatchRound")), **_pick("401", "404")}}},
        "/api/v1/match-rounds/{round_id}/cancel": {"parameters": _id_path("round_id"), "post": {
            "summary": "Cancel a queued round, or have a running one stop at its next phase boundary",
            "operationId": "cancel_round",
            "responses": {"200": _json(ref("MatchRound")), **_pick("401", "403", "404", "409")}}},
        "/api/v1/proposals": {"get": {
            "summary": "Proposals to the caller's organisation (all of them for regulators and the operator)",
            "operationId": "list_proposals",
            "parameters": [{"name": "status", "in": "query", "schema": {
                "type": "string", "enum": ["pending", "agreed", "declined", "expired", "lapsed", "withdrawn"]}}],
            "responses": {"200": items("Proposal"), **_pick("401", "422")}}},
        "/api/v1/proposals/{proposal_id}": {"parameters": _id_path("proposal_id"), "get": {
            "summary": "One proposal", "operationId": "get_proposal",
            "responses": {"200": _json(ref("Proposal")), **_pick("401", "404")}}},
        "/api/v1/proposals/{proposal_id}/accept": {"parameters": _id_path("proposal_id"), **decide("accept")},
        "/api/v1/proposals/{proposal_id}/decline": {"parameters": _id_path("proposal_id"), **decide("decline")},
        "/api/v1/agreements": {"get": {"summary": "The caller's agreements", "operationId": "list_agreements",
                                       "responses": {"200": items("Agreement"), **_pick("401")}}},
        "/api/v1/agreements/{agreement_id}": {"parameters": _id_path("agreement_id"), "get": {
            "summary": "One agreement", "operationId": "get_agreement",
            "responses": {"200": _json(ref("Agreement")), **_pick("401", "404")}}},
        "/api/v1/agreements/{agreement_id}/shipments": {
            "parameters": _id_path("agreement_id"),
            "get": {"summary": "The agreement's shipments", "operationId": "list_shipments",
                    "responses": {"200": items("Shipment"), **_pick("401", "404")}},
            "post": {"summary": "A weighbridge ticket from the producer (its weighbridge system)",
                     "operationId": "create_shipment",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["ticket_no", "truck_plate", "dispatched_at", "gross_kg",
                                                        "tare_kg"],
                         "properties": {"ticket_no": {"type": "string", "maxLength": 40},
                                        "truck_plate": {"type": "string", "maxLength": 12},
                                        "dispatched_at": {"type": "string", "description":
                                                          "ISO date-time; without a zone, China Standard Time"},
                                        "gross_kg": {"type": "integer", "minimum": 1},
                                        "tare_kg": {"type": "integer", "minimum": 1},
                                        "moisture_pct": {"type": ["number", "string", "null"]}}}}}},
                     "responses": {"201": _json(ref("Shipment"), "Created"),
                                   **_pick("400", "401", "403", "404", "409", "422")}}},
        "/api/v1/shipments/{shipment_id}": {"parameters": _id_path("shipment_id"), "get": {
            "summary": "One shipment with its anomaly flags", "operationId": "get_shipment",
            "responses": {"200": _json(ref("Shipment")), **_pick("401", "404")}}},
        "/api/v1/shipments/{shipment_id}/confirm": {"parameters": _id_path("shipment_id"), "post": {
            "summary": "The utiliser confirms receipt with its own net weight (once)",
            "operationId": "confirm_shipment",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["received_net_kg"],
                "properties": {"received_net_kg": {"type": "integer", "minimum": 1}}}}}},
            "responses": {"200": _json(ref("Shipment")), **_pick("400", "401", "403", "404", "409", "422")}}},
        "/api/v1/ledger": {"get": {
            "summary": "Ledger entries, newest first (all for regulators and the operator, else the caller's)",
            "operationId": "ledger",
            "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                           "maximum": 100}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["items", "total"],
                "properties": {"items": {"type": "array", "items": {"$ref": ref("LedgerEntry")}},
                               "total": {"type": "integer"}, "page": {"type": "integer"},
                               "per_page": {"type": "integer"}, "pages": {"type": "integer"}}}}}},
                          **_pick("401", "422")}}},
        "/api/v1/utilisation": {"get": {
            "summary": "Generated, used in-house, utilised through the platform, stored, and the rate",
            "operationId": "utilisation",
            "parameters": [{"name": "year", "in": "query", "schema": {"type": "integer"}},
                           {"name": "group_by", "in": "query", "schema": {
                               "type": "string", "enum": ["region", "city", "park", "material", "organisation",
                                                         "month"]}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["items"], "properties": {"year": {"type": "integer"},
                                                                        "group_by": {"type": "string"},
                                                                        "items": {"type": "array"}}}}}},
                          **_pick("401", "403", "422")}}},
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    """The document; every operation may also be refused by the request guard (marketplace/guard.py)."""
    document = _document()
    for operations in document["paths"].values():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue  # path-level "parameters"
            operation["responses"].setdefault("400", ERRORS["400"])
            if "requestBody" in operation:
                operation["responses"].setdefault("413", _error("The request body is too large"))
    return document


def _document() -> dict:
    page = lambda item: {"type": "object", "required": ["items", "total", "page", "per_page", "pages"],  # noqa: E731
                         "properties": {"items": {"type": "array", "items": {"$ref": item}},
                                        "total": {"type": "integer"}, "page": {"type": "integer"},
                                        "per_page": {"type": "integer"}, "pages": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ningxia Industrial Solid Waste Exchange API", "version": "1.0.0",
                 "description": "Listings of general industrial solid waste offered and needed in Ningxia. "
                                "Authenticate with POST /api/v1/auth/token, then send "
                                "`Authorization: Bearer <token>`. Errors are "
                                "{\"error\": {\"code\", \"message\", \"field\"}}. Tonnes are whole tonnes, "
                                "money is yuan as strings with two decimals, dates are ISO (China Standard Time), "
                                "times ISO 8601 with their offset (+08:00)."},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {"get": {"summary": "This description", "operationId": "openapi",
                                             "security": [], "responses": {"200": {
                                                 "description": "OpenAPI 3.1",
                                                 "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/api/v1/auth/token": {"post": {
                "summary": "Exchange e-mail and password for a bearer token", "operationId": "create_token",
                "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"},
                                   "totp": {"type": "string", "description": "The current six-digit code, "
                                            "for users with two-factor sign-in (regulators, the operator)"},
                                   "days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 90},
                                   "name": {"type": "string", "maxLength": 100}}}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token", "expires_at"],
                    "properties": {"token": {"type": "string"}, "id": {"type": "integer"},
                                   "prefix": {"type": "string"},
                                   "expires_at": {"type": "string", "format": "date-time"}}}}}},
                    "400": ERRORS["400"], "401": _error("Wrong e-mail, password or code"),
                    "403": _error("Account deactivated, or two-factor sign-in not set up"), "422": ERRORS["422"],
                    "429": _error("Too many failed attempts; try again later")}}},
            "/api/v1/materials": {"get": {"summary": "The materials catalogue", "operationId": "materials",
                                          "responses": {"200": {"description": "OK", "content": {
                                              "application/json": {"schema": {"type": "object"}}}},
                                              **_pick("401")}}},
            "/api/v1/sites": {"get": {"summary": "The caller's own sites", "operationId": "sites",
                                      "responses": {"200": {"description": "OK", "content": {
                                          "application/json": {"schema": {"type": "object"}}}},
                                          **_pick("401")}}},
            **_listing_paths("supply", "supply-listings", "SupplyListing"),
            **_listing_paths("demand", "demand-listings", "DemandListing"),
            **_matching_paths(),
            **_subsidy_paths(),
            **_ledger_paths(),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message", "field"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": ["string", "null"]}}}}},
                "ListingStatus": {"type": "string", "enum": ["draft", "open", "partly_matched", "fully_matched",
                                                             "expired", "withdrawn"]},
                "SupplyListing": _listing_schema("supply"),
                "DemandListing": _listing_schema("demand"),
                "SupplyListingCreate": _listing_input("supply", True),
                "SupplyListingUpdate": _listing_input("supply", False),
                "DemandListingCreate": _listing_input("demand", True),
                "DemandListingUpdate": _listing_input("demand", False),
                "SupplyListingPage": page("#/components/schemas/SupplyListing"),
                "DemandListingPage": page("#/components/schemas/DemandListing"),
                "Proposal": PROPOSAL,
                "MatchRound": ROUND,
                "Agreement": AGREEMENT,
                "Shipment": SHIPMENT,
                "LedgerEntry": LEDGER_ENTRY,
                "LedgerCheckpoint": CHECKPOINT,
                "SubsidyClaim": CLAIM,
                "Baseline": BASELINE,
            },
        },
    }

"""One description per input and output: pydantic schemas per feature (listings, matching, deliveries,
subsidies, ledger, accounts, catalogue). The services validate through them, the forms report their errors,
and the API's OpenAPI document is generated from them (api/spec.py)."""

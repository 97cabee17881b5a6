"""The papers the law asks for (issue #15), computed from the platform's records: pure queries, no writes.

- `periods`: a month, quarter, half-year or year, in China Standard Time;
- `reference`: the versioned factors (environmental tax, CO2 method) and the VAT catalogue rows;
- `producer_ledger`: the producer's 一般工业固体废物管理台账 with its reconciliation;
- `regional_report`: the regulator's half-yearly and yearly table by city and category;
- `dossier`: a subsidy claim as a regulator files it;
- `documents`: XLSX workbooks and PDFs (WeasyPrint) of them."""

"""Exports in bounded memory: rows are spooled to a temporary file while their columns are collected, then
written out as a streamed CSV or as an XLSX built by openpyxl's write-only mode in a temporary file.

A table's columns are those of its rows in order of first appearance (a confidential column shows only if
some row carries it), so the whole table is read once before the header can be written; spooling keeps that
pass at one row in memory, whatever the number of rows."""
from __future__ import annotations

import codecs
import csv
import io
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from ..clock import cst_label, to_cst
from .listing_files import _safe_cell


def safe_cell(value: Any) -> Any:
    """A cell with spreadsheet formulas in user text neutralised (listing_files' rule)."""
    return _safe_cell(value)

CSV_ROWS_PER_CHUNK = 500


class Spool:
    """Rows written to a temporary file (pickled one by one), their columns, and which of them hold instants."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close(), after the response)
        self.columns: list[str] = []
        seen: set[str] = set()
        self.timed: set[str] = set()
        self.count = 0
        for row in rows:
            out = {}
            for key, value in row.items():
                if key not in seen:
                    seen.add(key)
                    self.columns.append(key)
                if isinstance(value, datetime):  # instants are written in China Standard Time
                    self.timed.add(key)
                    value = to_cst(value).strftime("%Y-%m-%d %H:%M:%S")
                out[key] = value
            pickle.dump(out, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += 1
        if not self.columns:
            self.columns = ["id"]

    def header(self) -> list[str]:
        return [cst_label(c) if c in self.timed else c for c in self.columns]

    def rows(self) -> Iterator[list[Any]]:
        """Each row's cells in column order ("" for an instant that is not set), read back from the file."""
        self.file.seek(0)
        for _ in range(self.count):
            row = pickle.load(self.file)  # our own temporary file, written above
            yield [safe_cell(("" if row.get(c) is None else row[c]) if c in self.timed else row.get(c, ""))
                   for c in self.columns]

    def close(self) -> None:
        self.file.close()


def csv_chunks(spool: Spool) -> Iterator[bytes]:
    """The CSV (UTF-8 with a BOM, so that Excel reads Chinese) in chunks of CSV_ROWS_PER_CHUNK rows."""
    encoder = codecs.getincrementalencoder("utf-8")()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(spool.header())
    try:
        for i, cells in enumerate(spool.rows(), 1):
            writer.writerow(["" if v is None else v for v in cells])
            if i % CSV_ROWS_PER_CHUNK == 0:
                yield encoder.encode(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        yield encoder.encode(buffer.getvalue(), final=True)
    finally:
        spool.close()


def xlsx_file(spool: Spool, title: str) -> IO[bytes]:
    """The XLSX in a temporary file (openpyxl write-only mode: rows go to disk as they come), at its start."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(spool.header())
    for cells in spool.rows():
        ws.append(cells)
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    wb.save(out)
    spool.close()
    out.seek(0)
    return out

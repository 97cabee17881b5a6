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
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from ..clock import cst_label, to_cst
from .listing_files import _safe_cell


def safe_cell(value: Any) -> Any:
    """A cell with spreadsheet formulas in user text neutralised (listing_files' rule)."""
    return _safe_cell(value)

CSV_ROWS_PER_CHUNK = 500


def column_format(column: str) -> str | None:
    """The number format of a column, by its machine name: per cent for rates and shares (stored as fractions),
    yuan to the fen, tonnes to the kilogram, kilograms whole; None for a column that is not a figure."""
    if column.endswith(("_rate", "_share")) or column in ("share",):
        return "0.0%"
    if column.endswith("_yuan") or column.startswith("price_yuan") or column.startswith("max_delivered_price") \
            or column in ("yuan", "rate_yuan_per_t"):
        return "#,##0.00"
    if column.endswith(("_t", "_tonnes")) or column.startswith("tonnes"):
        return "#,##0.000"
    if column.endswith("_kg"):
        return "#,##0"
    return None


def as_number(value: Any) -> Any:
    """A figure stored as text ("4223988.000", as the API gives it) as an exact number; other values as they are."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value) if value.strip() else value
        except InvalidOperation:
            return value
    return value


class Spool:
    """Rows written to a temporary file (pickled one by one), their columns, and which of them hold instants.

    `names` gives a column's header and `cell(column, value)` its value for people (names instead of codes);
    without them (the `?codes=1` variant for machines) the machine names and values are written as they are.
    `typed` writes figures as numbers with number formats (XLSX)."""

    def __init__(self, rows: Iterable[dict[str, Any]], names: Callable[[str], str] | None = None,
                 cell: Callable[[str, Any], Any] | None = None, typed: bool = False) -> None:
        self.names, self.cell, self.typed = names, cell, typed
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
                elif self.cell is not None:
                    value = self.cell(key, value)
                out[key] = value
            pickle.dump(out, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += 1
        if not self.columns:
            self.columns = ["id"]
        # named now, in the request (its language): the CSV streams after the view has returned
        named = [self.names(c) if self.names is not None else c for c in self.columns]
        self._header = [cst_label(n) if c in self.timed else n for c, n in zip(self.columns, named, strict=True)]

    def header(self) -> list[str]:
        return self._header

    def formats(self) -> list[str | None]:
        """Each column's number format when figures are typed (None: text)."""
        return [column_format(c) if self.typed and c not in self.timed else None for c in self.columns]

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
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(spool.header())
    formats = spool.formats()
    for cells in spool.rows():
        row: list[Any] = []
        for value, number_format in zip(cells, formats, strict=True):
            number = as_number(value) if number_format else value
            if number_format and isinstance(number, (int, float, Decimal)):
                cell = WriteOnlyCell(ws, value=number)
                cell.number_format = number_format
                row.append(cell)
            else:
                row.append(value)
        ws.append(row)
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    wb.save(out)
    spool.close()
    out.seek(0)
    return out

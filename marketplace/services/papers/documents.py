"""Documents as files: XLSX workbooks laid out as the filed tables, and PDFs.

PDFs are rendered by WeasyPrint from the same Jinja templates as the pages (HTML + CSS, shaped by Pango, so
Chinese text lays out and embeds as a subset of a Debian CJK font: fonts-wqy-microhei or fonts-noto-cjk).
ReportLab would need every table drawn in code and cannot embed the CFF-outline Noto CJK fonts."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..listing_files import _safe_cell

#: The stylesheet of every PDF (no page of the site uses it; pages keep the site's CSP-clean CSS).
PDF_CSS = Path(__file__).resolve().parents[3] / "static" / "css" / "papers-pdf.css"


def pdf(html: str) -> bytes:
    """An HTML document (a papers/*_pdf.html template) as PDF bytes. It embeds only what it is given (data:
    URLs for QR codes): it never fetches a URL, file or host that a text might name."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return bytes(HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[CSS(filename=str(PDF_CSS))]))


def workbook(sheets: list[tuple[str, list[str], list[str], list[list[Any]]]]) -> bytes:
    """An XLSX file: per sheet (title, heading lines, column headers, rows). User text is made inert (a cell
    starting with = + - @ is text, never a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, heading, columns, rows in sheets:
        ws = wb.create_sheet(title[:31])
        for line in heading:
            ws.append([_safe_cell(line)])
        if heading:
            ws["A1"].font = Font(bold=True, size=13)
            ws.append([])
        ws.append(columns)
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_safe_cell(value) for value in row])
        for index, column in enumerate(columns, start=1):
            ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = max(10, min(40, len(column) * 2))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

"""Documents for tests, written by code: a PDF of pages of text, and the Word file of tests/data/kinds."""

from __future__ import annotations

import io
import textwrap


def pdf(pages: list[str]) -> bytes:
    """A PDF with a page for each of pages, its lines wrapped at 90 characters."""
    streams = []
    for page in pages:
        clean = page.encode("latin-1", "replace").translate(None, b"\\()").decode("latin-1")
        lines = [line.encode("latin-1") for block in clean.split("\n") for line in textwrap.wrap(block, 90)]
        streams.append(b"BT /F1 9 Tf 40 800 Td 11 TL " + b" ".join(b"(" + line + b") '" for line in lines) + b" ET")
    return pdf_of_streams(streams)


def pdf_of_streams(streams: list[bytes]) -> bytes:
    """A PDF whose pages draw these content streams in Helvetica (objects: catalog, page tree, font, then a
    content stream and its page for each)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for stream in streams:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents %d 0 R"
                       b" /Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def handbook_docx() -> bytes:
    """A staff handbook: a title, headings, a table in the middle of a section, a bulleted list."""
    import docx

    document = docx.Document()
    document.add_heading("Staff handbook", 0)
    document.add_heading("Annual leave", 1)
    document.add_paragraph("Every employee has paid annual leave, which grows with the length of service:")
    table = document.add_table(rows=3, cols=2)
    for row, cells in enumerate([("Length of service", "Days of annual leave"), ("Less than 7 years", "25 days"),
                                 ("7 years or more", "30 days")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.add_paragraph("Leave must be booked at least two weeks ahead in the staff portal.")
    document.add_heading("Sick leave", 1)
    document.add_paragraph("If you are ill:")
    document.add_paragraph("Call your manager before 9 am on the first day.", style="List Bullet")
    document.add_paragraph("Send a doctor's note if you are away for more than three days.", style="List Bullet")
    document.add_heading("Expenses", 1)
    document.add_paragraph("Travel expenses are paid back with the next salary when the receipts reach the office "
                           "by the 20th of the month.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MANUAL_HEADER = "Vesta Combi 30 - User Manual - Rev. 4 (2024)"
MANUAL_FOOTER = "Page {} of 3 | www.vesta.example | Keep this manual for future reference"
MANUAL_PAGES = [
    "1. Safety\nThe boiler must be installed by a qualified engineer. Keep children away from the flue "
    "outlet, and never cover the air vents of the casing.\n2. Filling the system\nOpen the filling loop "
    "until the pressure gauge shows 1.5 bar, then close it again.",
    "3. Operation\nPress the mode button to switch between heating and hot water. The display shows the "
    "flow temperature while the burner is on.\n4. Faults\nFault E119 means the water pressure is too low: "
    "refill the system as in section 2.",
    "5. Servicing and warranty\nThe boiler must be serviced once a year by a registered engineer. The "
    "warranty lasts five years when the boiler has been serviced every year.",
]


def manual_pdf() -> bytes:
    """A 3-page boiler manual with a running header and a footer whose page number changes."""
    return pdf([f"{MANUAL_HEADER}\n{body}\n{MANUAL_FOOTER.format(n)}" for n, body in enumerate(MANUAL_PAGES, 1)])

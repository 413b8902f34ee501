"""Certificate PDFs: fpdf2 draws the certificate, with a QR code of its verification URL.

The verification URL is `CERTIFICATE_VERIFY_URL` with `{code}` replaced (default
`{SITE_URL}/certificates/{code}`: the site's public page, which calls
api.learning_verify_certificate). The PDF carries the holder's name, the course, the issue
date and the code as text (so it is searchable and checkable), and no metadata beyond the
title.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import qrcode
from fpdf import FPDF
from qrcode.constants import ERROR_CORRECT_M


def verify_url(code: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    site = env.get("SITE_URL", "http://127.0.0.1:3000").rstrip("/")
    template = env.get("CERTIFICATE_VERIFY_URL") or f"{site}/certificates/{{code}}"
    return template.replace("{code}", code)


def _latin1(value: Any) -> str:
    # The core PDF fonts are Latin-1: keep what they can draw, replace the rest.
    return str(value or "").encode("latin-1", "replace").decode("latin-1")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes (error correction M, 4-module quiet zone)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(text)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()


def render_certificate_pdf(cert: Mapping[str, Any], url: str) -> bytes:
    """The certificate `cert` (private.files_certificate_source) as PDF bytes."""
    issued = cert.get("issued_at")
    if isinstance(issued, str):
        issued = datetime.fromisoformat(issued)
    issued_text = issued.strftime("%d %B %Y") if issued else "-"
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(_latin1(f"Certificate {cert['code']}"))
    pdf.set_author("Flagship")
    pdf.set_creation_date(issued or datetime.now())
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_y(30)
    pdf.set_font("Helvetica", "B", 30)
    pdf.cell(0, 16, "Certificate of Completion", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 12, "This certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(
        0,
        14,
        _latin1(cert.get("holder_name") or "Learner"),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if cert.get("holder_username"):
        pdf.set_font("Helvetica", size=11)
        pdf.cell(
            0, 7, _latin1(f"@{cert['holder_username']}"), align="C", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 12, "has completed the course", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(
        0, 11, _latin1(cert.get("course_title")), align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, f"Issued on {issued_text}", align="C", new_x="LMARGIN", new_y="NEXT")
    size = 42
    pdf.image(
        io.BytesIO(qr_png(url)), x=pdf.w - 20 - size - 6, y=pdf.h - 20 - size - 6, w=size, h=size
    )
    pdf.set_xy(22, pdf.h - 52)
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, _latin1(f"Verification code: {cert['code']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(22)
    pdf.cell(0, 6, _latin1(f"Verify at: {url}"), link=url)
    return bytes(pdf.output())

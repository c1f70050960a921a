"""Test helper: real multi-page PDFs made with reportlab, with DejaVu Sans embedded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_NAME = "DejaVuSans"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, FONT_PATH))


def make_pdf(
    path: Path,
    pages: Sequence[Sequence[str | Sequence[str]]],
    *,
    header: str | None = None,
    footer: str | None = None,
    page_numbers: str | None = None,
    title: str | None = None,
    user_password: str | None = None,
    owner_password: str | None = None,
    font_size: float = 11,
    leading: float = 15,
) -> Path:
    """Write a PDF with one page per item of ``pages``, each a list of lines.

    An empty line leaves a blank line (a paragraph gap); a tuple of strings is a table row
    whose cells are drawn side by side. ``page_numbers`` is a format
    string with ``{n}`` and ``{total}`` (e.g. ``"Page {n} / {total}"``) drawn at the
    bottom right; ``header`` / ``footer`` are drawn on every page. With a
    ``user_password`` or ``owner_password`` the file is encrypted (RC4 128 bits, which
    pypdf decrypts without extra packages).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _register_font()
    encrypt = None
    if user_password is not None or owner_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(
            user_password or "", owner_password or "proprietaire", strength=128
        )
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt, invariant=1)
    if title:
        c.setTitle(title)
    width, height = A4
    total = len(pages)
    for n, lines in enumerate(pages, start=1):
        if header:
            c.setFont(FONT_NAME, 9)
            c.drawString(72, height - 40, header)
        c.setFont(FONT_NAME, font_size)
        y = height - 90
        for line in lines:
            if isinstance(line, str):
                if line:
                    c.drawString(72, y, line)
            else:  # a table row: cells drawn side by side, 180 pt apart
                for k, cell in enumerate(line):
                    c.drawString(72 + 180 * k, y, cell)
            y -= leading
        c.setFont(FONT_NAME, 9)
        if footer:
            c.drawString(72, 40, footer)
        if page_numbers:
            c.drawRightString(width - 72, 40, page_numbers.format(n=n, total=total))
        c.showPage()
    c.save()
    return path


def make_image_only_pdf(path: Path, n_pages: int = 2) -> Path:
    """Write a PDF whose pages hold only drawings (as a scan would): no extractable text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for _ in range(n_pages):
        c.setFillGray(0.3)
        c.rect(72, 400, 300, 200, fill=1)
        c.circle(300, 300, 50, fill=1)
        c.showPage()
    c.save()
    return path

"""PDF reader: pypdf text page by page, repaired into blocks; encryption and damage reported."""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from assistant.errors import DependencyError, LoaderError
from assistant.textrepair import merge_layout_gaps, repair_pages
from assistant.types import LoadedDocument

_JUNK_TITLES = ("untitled", "sans titre", "document", "microsoft word", "titre")


def _pypdf() -> Any:
    try:
        import pypdf
    except ImportError as exc:
        raise DependencyError(
            "la lecture des PDF demande le paquet pypdf : .venv/bin/pip install pypdf"
        ) from exc
    return pypdf


def _open(data: bytes) -> Any:
    pypdf = _pypdf()
    # pypdf logs warnings ("EOF marker not found") that the LoaderError already reports.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(BytesIO(data), strict=False)
    except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, OSError) as exc:
        raise LoaderError(f"PDF illisible ou tronqué : {exc}") from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except pypdf.errors.DependencyError as exc:
            raise DependencyError(
                "ce PDF est chiffré en AES : installez le paquet cryptography "
                "(.venv/bin/pip install cryptography)"
            ) from exc
        except (pypdf.errors.PdfReadError, NotImplementedError, ValueError, KeyError) as exc:
            raise LoaderError(f"PDF chiffré illisible : {exc}") from exc
        if not ok:
            raise LoaderError("PDF protégé par un mot de passe : retirez la protection puis réessayez")
    return reader


def _page_text(page: Any) -> str:
    """Default-mode text (reading order) with the paragraph gaps of layout mode when they align."""
    plain = page.extract_text() or ""
    if not plain.strip():
        return ""
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except (ValueError, KeyError, TypeError, IndexError, ZeroDivisionError, AttributeError):
        return plain  # layout mode is only a hint
    return merge_layout_gaps(plain, layout)


def _title(reader: Any) -> str | None:
    try:
        meta = reader.metadata
        title = (meta.title if meta else None) or ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    title = " ".join(str(title).split())
    if not title or title.casefold().startswith(_JUNK_TITLES) or title.lower().endswith(
        (".doc", ".docx", ".pdf")
    ):
        return None
    return title


def load_pdf(data: bytes) -> LoadedDocument:
    """Read a PDF: one Page per page numbered 1, 2, 3… (index + 1, as a viewer shows them).

    Empty pages are kept without blocks; if no page has text, LoaderError (OCR needed).
    The title is the metadata title, else the first heading.
    """
    pypdf = _pypdf()
    reader = _open(data)
    warnings: list[str] = []
    try:
        pages = list(reader.pages)
    except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError) as exc:
        raise LoaderError(f"PDF illisible ou tronqué : {exc}") from exc
    if not pages:
        raise LoaderError("PDF illisible ou tronqué : aucune page")
    texts: list[str] = []
    for i, page in enumerate(pages, start=1):
        try:
            texts.append(_page_text(page))
        except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
                IndexError, RecursionError, ZeroDivisionError) as exc:
            warnings.append(f"page {i} illisible : {exc}")
            texts.append("")
    if not any(t.strip() for t in texts):
        if warnings:
            raise LoaderError(f"PDF illisible ou tronqué : {warnings[0]}")
        raise LoaderError("pas de texte : OCR nécessaire (PDF scanné ou composé d'images)")
    repaired = repair_pages(texts, list(range(1, len(texts) + 1)))
    empty = [p.number for p in repaired if not p.blocks]
    if empty:
        warnings.append("pages sans texte : " + ", ".join(str(n) for n in empty))
    title = _title(reader)
    if title is None:
        title = next((b.text for p in repaired for b in p.blocks if b.kind == "heading"), None)
    return LoadedDocument(pages=repaired, title=title, format="pdf", warnings=warnings)

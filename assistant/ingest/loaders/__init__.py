"""Load a PDF, DOCX, Markdown, TXT or CSV file into repaired pages of blocks."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from assistant.errors import LoaderError
from assistant.types import SUFFIX_FORMATS, SUPPORTED_SUFFIXES, LoadedDocument

TEXT_SUFFIXES = {s: f for s, f in SUFFIX_FORMATS.items() if f in ("md", "txt", "csv")}
SUPPORTED = SUPPORTED_SUFFIXES
_OLD_FORMATS = {".doc": ".docx", ".xls": ".csv", ".odt": ".docx", ".rtf": ".docx",
                ".xlsx": ".csv", ".ods": ".csv", ".pptx": ".pdf", ".ppt": ".pdf"}

# Raised when the same file would now be read into other text, so that an index built
# before re-reads its files once. 2: a PDF table's cell going on under a dash or in
# lower case stays in its row (tables of 13 shipped pages were read as run-on text).
TEXT_EXTRACTION = "2"

__all__ = ["SUPPORTED", "TEXT_EXTRACTION", "ParseLimits", "load_document", "sniff_format"]


@dataclass(frozen=True)
class ParseLimits:
    """Bounds checked before a file's text is extracted (the settings of the same names)."""

    max_pages: int = 3000
    docx_max_unpacked_mb: float = 200.0
    docx_max_ratio: float = 100.0


def _is_pdf(data: bytes) -> bool:
    # The spec tolerates bytes before the header, within the first 1024.
    return b"%PDF-" in data[:1024]


def _is_docx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            return "word/document.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def sniff_format(data: bytes, suffix: str) -> str:
    """The format to read ``data`` as ("pdf", "docx", "md", "txt", "csv"), from its magic bytes.

    Raises LoaderError when the content does not match a supported type or its extension.
    """
    suffix = suffix.lower()
    if _is_pdf(data):
        return "pdf"
    if _is_docx(data):
        return "docx"
    if suffix == ".pdf":
        raise LoaderError("l'extension .pdf ne correspond pas au contenu (ce n'est pas un PDF)")
    if suffix == ".docx":
        zipped = data.startswith(b"PK")
        what = "archive sans word/document.xml" if zipped else "pas une archive Word"
        raise LoaderError(f"l'extension .docx ne correspond pas au contenu ({what})")
    if suffix in TEXT_SUFFIXES:
        head = data[:4096]
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        if (b"\x00" in head and not utf16) or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise LoaderError(
                f"l'extension {suffix} ne correspond pas au contenu (fichier binaire)"
            )
        return TEXT_SUFFIXES[suffix]
    if suffix in _OLD_FORMATS:
        raise LoaderError(
            f"format non pris en charge : {suffix} (enregistrez-le en {_OLD_FORMATS[suffix]})"
        )
    raise LoaderError(f"format non pris en charge : {suffix or '(sans extension)'}")


def load_document(path: Path, limits: ParseLimits | None = None) -> LoadedDocument:
    """Read ``path`` into a LoadedDocument, choosing the reader from the file's real content.

    Raises LoaderError with a French message ("fichier vide", "PDF protégé par un mot de
    passe", "format non pris en charge : .xyz"...) when the file cannot be read.
    """
    path = Path(path)
    limits = limits or ParseLimits()
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise LoaderError(f"fichier introuvable : {path}") from exc
    except IsADirectoryError as exc:
        raise LoaderError(f"c'est un dossier, pas un fichier : {path}") from exc
    except OSError as exc:
        raise LoaderError(f"lecture impossible : {exc.strerror or exc}") from exc
    if not data.strip():
        raise LoaderError("fichier vide")
    suffix = path.suffix.lower()
    fmt = sniff_format(data, suffix)
    if fmt == "pdf":
        from assistant.ingest.loaders.pdf import load_pdf

        doc = load_pdf(data, max_pages=limits.max_pages)
    elif fmt == "docx":
        from assistant.ingest.loaders.office import check_archive, load_docx

        check_archive(data, limits.docx_max_unpacked_mb, limits.docx_max_ratio)
        doc = load_docx(data)
    else:
        from assistant.ingest.loaders.text import load_csv, load_markdown, load_txt

        loader = {"md": load_markdown, "txt": load_txt, "csv": load_csv}[fmt]
        doc = loader(data, path.stem)
    expected = {"pdf": (".pdf",), "docx": (".docx",)}.get(fmt)
    if expected and suffix not in expected:
        doc.warnings.append(f"contenu {fmt.upper()} sous l'extension {suffix or '(aucune)'}")
    return doc

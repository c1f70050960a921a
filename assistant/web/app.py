"""The web app: FastAPI serving the documents, with the Gradio UI (ui.py) mounted at /."""

from __future__ import annotations

import html
import logging
import mimetypes
from pathlib import Path
from typing import Any

from fastapi import Request

from assistant.settings import Settings
from assistant.types import SUFFIX_FORMATS

log = logging.getLogger(__name__)

# By loader format (types.SUFFIX_FORMATS), so every suffix we ingest is served right.
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
TEXT_WINDOW = 6000  # characters of a long section shown around the passage in the text view


def _text_page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem;"
        "line-height:1.5;color:#1f2933}pre{white-space:pre-wrap;word-wrap:break-word;"
        "font-family:inherit}mark{background:#ffe58a;padding:0 .1em}"
        ".meta{color:#52606d;font-size:.9rem}</style></head><body>"
        f"{body}</body></html>"
    )


def text_view_html(title: str, pages: list[Any], page: int | None, quote: str) -> str:
    """The text of one section (or page) with ``quote`` marked; all of it escaped."""
    idx = 0
    if page is not None:
        numbers = [p.number for p in pages]
        idx = numbers.index(page) if page in numbers else min(max(page - 1, 0), len(pages) - 1)
    norm_quote = " ".join(quote.split())
    if quote and page is None:
        for i, p in enumerate(pages):
            if norm_quote and norm_quote in " ".join(p.text.split()):
                idx = i
                break
    text = pages[idx].text if pages else ""
    body_text = html.escape(text)
    if norm_quote:
        from assistant.web.render import highlight

        marked = highlight(text, norm_quote, context=TEXT_WINDOW)
        if "<mark>" in marked and norm_quote.split()[0] in text:
            body_text = marked.replace("<mark>", '<mark id="passage">', 1)
    where = f"Section {idx + 1} / {len(pages)}" if pages else "Document vide"
    if pages and pages[idx].number is not None:
        where = f"Page {pages[idx].number}"
    return _text_page(
        title,
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(where)}</p>"
        f"<pre>{body_text}</pre>"
        "<script>var m=document.getElementById('passage');if(m)m.scrollIntoView();</script>",
    )


def add_document_routes(app: Any, settings: Settings) -> None:
    """/documents/{doc_id} (the file, inline) and /documents/{doc_id}/text (escaped text)."""
    from fastapi import HTTPException, Query
    from fastapi.responses import FileResponse, HTMLResponse

    from assistant import service
    from assistant.web.auth import visitor_for
    from assistant.web.library import Library
    from assistant.web.users import UserStore

    store = UserStore(settings.users_path)

    def _library(request: Request) -> Library:
        visitor = visitor_for(settings, request, store)
        if visitor is None:
            raise HTTPException(status_code=404, detail="Document inconnu")
        return Library(service.open_index(settings), visitor.role)

    def _doc(doc_id: str, request: Request) -> Any:
        # A document the visitor may not see answers exactly like an unknown one.
        doc = _library(request).get(doc_id)
        if doc is None:
            raise HTTPException(status_code=404, detail="Document inconnu")
        return doc

    @app.get("/documents/{doc_id}")
    def get_document(doc_id: str, request: Request) -> FileResponse:
        doc = _doc(doc_id, request)
        # Only paths recorded by the ingest are served: the id never becomes a path.
        path = Path(str(doc.meta.get("path", "")))
        if not path.is_file():
            raise HTTPException(status_code=404, detail="Fichier introuvable sur le serveur")
        media = MEDIA_TYPES.get(SUFFIX_FORMATS.get(path.suffix.lower(), "")) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        return FileResponse(
            path, media_type=media, filename=path.name, content_disposition_type="inline"
        )

    @app.get("/documents/{doc_id}/text", response_class=HTMLResponse)
    def get_document_text(
        doc_id: str, request: Request, page: int | None = Query(default=None, ge=1), q: str = ""
    ) -> HTMLResponse:
        library = _library(request)
        doc = library.get(doc_id)
        if doc is None:
            raise HTTPException(status_code=404, detail="Document inconnu")
        pages = library.pages(doc_id)
        title = str(doc.meta.get("title") or doc.source)
        return HTMLResponse(text_view_html(title, pages, page, q[:500]))


def create_app(settings: Settings, *, start_ingest: bool = True) -> tuple[Any, Any]:
    """(FastAPI app, Gradio Blocks): document routes first, the UI mounted at /."""
    import gradio as gr
    from fastapi import FastAPI

    import ui  # the top-level module shipped beside the package (pyproject py-modules)
    from assistant.web.auth import add_auth_routes
    from assistant.web.background import BackgroundIngest, needs_initial_ingest
    from assistant.web.guard import UploadGuard
    from assistant.web.uploads import purge_expired
    from assistant.web.users import UserStore

    background = BackgroundIngest(settings)
    if start_ingest and needs_initial_ingest(settings):
        log.info("index empty: indexing %s in the background", settings.corpus_dir)
        background.start()
    blocks = ui.build_ui(settings, background=background)
    # Several sessions at once: an ingest running in one worker never blocks the asks.
    blocks.queue(default_concurrency_limit=8)
    # No schema page: nothing needs it, and FastAPI fails to build one with Gradio mounted.
    app = FastAPI(title="Assistant PVD", docs_url=None, redoc_url=None, openapi_url=None)
    add_auth_routes(app, settings)
    add_document_routes(app, settings)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        status = background.snapshot()
        return {"ok": True, "indexing": status.running, "done": status.done,
                "total": status.total}

    # Gradio's own limit as a backstop; save_upload gives the French message below it.
    max_mb = int(settings.max_file_mb * 2) + 1
    app = gr.mount_gradio_app(
        app, blocks, path="/", css=ui.CSS, head=ui.HEAD, theme=ui.theme(),
        footer_links=[], max_file_size=f"{max_mb}mb", ssr_mode=False,
        app_kwargs={"openapi_url": None, "docs_url": None, "redoc_url": None},
    )
    # Mounted, the Blocks never "launch", and Gradio then skips its check that a file named
    # by a request was uploaded (processing_utils._check_allowed): turn it back on. The
    # guard below checks the role and the paths first, before Gradio touches any file.
    blocks.has_launched = True
    app.add_middleware(UploadGuard, settings=settings, store=UserStore(settings.users_path))
    purge_expired(settings)
    return app, blocks


def run(settings: Settings) -> None:
    """Serve the app on settings.host:settings.port until interrupted."""
    import uvicorn

    app, _ = create_app(settings)
    print(f"Assistant PVD : http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")

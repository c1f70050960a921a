"""The web app: FastAPI serving the documents, with the Gradio UI (ui.py) mounted at /."""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import threading
import time
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


PDFJS_PREFIX = "/static/pdfjs"
# The viewer page: pdf.js's own viewer components (the ones Firefox uses), its find
# controller marking the citation's quote on the cited page. Everything is served by this
# app: nothing is fetched from the Internet.
VIEWER_SCRIPT = """
import * as pdfjsLib from "PREFIX/build/pdf.mjs";
globalThis.pdfjsLib = pdfjsLib;
pdfjsLib.GlobalWorkerOptions.workerSrc = "PREFIX/build/pdf.worker.mjs";
const lib = await import("PREFIX/web/pdf_viewer.mjs");
const cfg = JSON.parse(document.getElementById("pvd-cfg").textContent);
const status = document.getElementById("pvd-found");
const eventBus = new lib.EventBus();
const linkService = new lib.PDFLinkService({eventBus});
const findController = new lib.PDFFindController({eventBus, linkService});
const container = document.getElementById("viewerContainer");
const viewer = new lib.PDFViewer({container, eventBus, linkService, findController});
linkService.setViewer(viewer);
eventBus.on("pagesinit", () => {
  viewer.currentScaleValue = window.innerWidth < 700 ? "page-width" : "auto";
  viewer.currentPageNumber = Math.min(cfg.page, viewer.pagesCount);
  if (cfg.quote) {
    eventBus.dispatch("find", {source: null, type: "", query: cfg.quote, caseSensitive: false,
      entireWord: false, highlightAll: false, findPrevious: false, matchDiacritics: true});
  } else { status.textContent = ""; }
});
eventBus.on("updatefindcontrolstate", (e) => {
  if (e.state === 0 || e.state === 2) {
    status.textContent = "Citation surlignée en jaune.";
    document.body.dataset.found = "yes";
  } else if (e.state === 1) {
    status.textContent = "Citation introuvable dans le texte du PDF : voir la page indiquée.";
    document.body.dataset.found = "no";
  }
});
try {
  const doc = await pdfjsLib.getDocument({url: cfg.url, cMapUrl: "PREFIX/cmaps/",
    cMapPacked: true, standardFontDataUrl: "PREFIX/standard_fonts/"}).promise;
  viewer.setDocument(doc);
  linkService.setDocument(doc, null);
} catch (err) {
  status.textContent = "Impossible d'afficher ce PDF : utilisez le lien de téléchargement.";
}
""".replace("PREFIX", PDFJS_PREFIX)


def viewer_html(title: str, doc_id: str, page: int, quote: str) -> str:
    """The pdf.js viewer page for one PDF, opened at ``page`` with ``quote`` highlighted."""
    from urllib.parse import quote as urlquote

    pdf_url = f"/documents/{urlquote(doc_id)}"
    cfg = json.dumps({"url": pdf_url, "page": page, "quote": " ".join(quote.split())},
                     ensure_ascii=False).replace("</", "<\\/")
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} – p. {page}</title>"
        f'<link rel="stylesheet" href="{PDFJS_PREFIX}/web/pdf_viewer.css"><style>'
        "body{margin:0;font-family:system-ui,sans-serif;background:#e5e7eb;color:#1f2933}"
        "#pvd-bar{position:fixed;top:0;left:0;right:0;z-index:10;background:#fff;"
        "border-bottom:1px solid #cbd5e1;padding:.4rem .75rem;font-size:.9rem;line-height:1.35}"
        "#pvd-bar strong{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
        "#pvd-found{color:#92400e}#viewerContainer{position:absolute;top:3.6rem;bottom:0;"
        "left:0;right:0;overflow:auto}"
        ".textLayer .highlight{background-color:rgba(250,204,21,.55)!important;"
        "border-radius:2px}.textLayer .highlight.selected{background-color:"
        "rgba(250,204,21,.75)!important;outline:2px solid #d97706}"
        "</style></head><body>"
        f'<div id="pvd-bar"><strong>{html.escape(title)}</strong>Page {page} · '
        '<span id="pvd-found">Recherche de la citation…</span> · '
        f'<a href="{html.escape(pdf_url)}#page={page}">Ouvrir le PDF seul</a></div>'
        '<div id="viewerContainer"><div id="viewer" class="pdfViewer"></div></div>'
        f'<script type="application/json" id="pvd-cfg">{cfg}</script>'
        f'<script type="module">{VIEWER_SCRIPT}</script></body></html>'
    )


def add_document_routes(app: Any, settings: Settings) -> None:
    """/documents/{doc_id} (the file, inline), /documents/{doc_id}/viewer (a PDF in the pdf.js
    viewer, the quote highlighted) and /documents/{doc_id}/text (escaped text)."""
    from fastapi import HTTPException, Query
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
    from fastapi.staticfiles import StaticFiles

    pdfjs = settings.pdfjs_dir
    has_pdfjs = (pdfjs / "build" / "pdf.mjs").is_file() and (pdfjs / "web").is_dir()
    if has_pdfjs:
        # Module scripts need a JavaScript type; Python 3.11 does not know .mjs.
        mimetypes.add_type("text/javascript", ".mjs")
        app.mount(PDFJS_PREFIX, StaticFiles(directory=pdfjs), name="pdfjs")
    else:
        log.warning("pdf.js absent from %s: citations open the bare PDF (run "
                    "scripts/bootstrap.sh to fetch it)", pdfjs)

    from assistant import service
    from assistant.web.auth import visitor_for
    from assistant.web.library import Library
    from assistant.web.render import MAX_QUOTE_CHARS
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

    @app.get("/documents/{doc_id}/viewer", response_model=None)
    def get_document_viewer(
        doc_id: str, request: Request, page: int = Query(default=1, ge=1), q: str = ""
    ) -> HTMLResponse | RedirectResponse:
        doc = _doc(doc_id, request)
        if not has_pdfjs or not str(doc.meta.get("path", "")).lower().endswith(".pdf"):
            return RedirectResponse(f"/documents/{doc_id}#page={page}", status_code=307)
        title = str(doc.meta.get("title") or doc.source)
        return HTMLResponse(viewer_html(title, doc_id, page, q[:MAX_QUOTE_CHARS]))

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
        return HTMLResponse(text_view_html(title, pages, page, q[:MAX_QUOTE_CHARS]))


# Gradio picks its labels («Drop File Here» or «Déposez le fichier ici») from the browser's
# language, read before any script of the page's `head` runs (Gradio adds those late): the
# page is French for everyone, so the language is fixed in the HTML itself.
FRENCH_LOCALE_SCRIPT = (
    b"<script>(function(){try{var P=Navigator.prototype;"
    b"Object.defineProperty(P,'language',{get:function(){return 'fr-FR'},configurable:true});"
    b"Object.defineProperty(P,'languages',{get:function(){return ['fr-FR','fr']},"
    b"configurable:true});document.documentElement.lang='fr';}catch(e){}})();</script>"
)


def add_french_locale(app: Any) -> None:
    """Insert :data:`FRENCH_LOCALE_SCRIPT` at the top of every HTML page the app serves."""
    from starlette.responses import Response

    @app.middleware("http")
    async def french_pages(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.method != "GET" or not response.headers.get("content-type", "").startswith(
                "text/html"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        if b"<head>" in body:
            body = body.replace(b"<head>", b"<head>" + FRENCH_LOCALE_SCRIPT, 1)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(body, status_code=response.status_code, headers=headers)


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
    elif start_ingest and settings.warm_up:
        warm_up_in_background(settings)
    blocks = ui.build_ui(settings, background=background)
    # Several sessions at once: an ingest running in one worker never blocks the asks.
    blocks.queue(default_concurrency_limit=8)
    # No schema page: nothing needs it, and FastAPI fails to build one with Gradio mounted.
    app = FastAPI(title="Assistant PVD", docs_url=None, redoc_url=None, openapi_url=None)
    add_auth_routes(app, settings)
    add_document_routes(app, settings)
    add_french_locale(app)

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


def warm_up(settings: Settings) -> float:
    """Load what the first question needs (index, embedding model, lexical statistics,
    commune registry) by answering one; the seconds it took."""
    from assistant.answer.conversation import answer_question
    from assistant.search.access import Role
    from assistant.search.spelling import french_words

    t0 = time.perf_counter()
    answer_question(settings, "Qu'est-ce qu'une opération de revitalisation de territoire ?",
                    role=Role("public"))
    french_words()  # the word list typos are told by, read at the first typo otherwise
    return time.perf_counter() - t0


def warm_up_in_background(settings: Settings) -> threading.Thread:
    def run() -> None:
        from assistant.errors import AssistantError

        try:
            log.info("Modèles chargés en %.1f s : l'assistant est prêt.", warm_up(settings))
        except AssistantError as exc:  # an empty index, for one: the first question says so
            log.info("préchargement incomplet : %s", exc)

    thread = threading.Thread(target=run, name="pvd-warm-up", daemon=True)
    thread.start()
    return thread


def _console_logging() -> None:
    """Progress lines (indexing, warm-up) on the terminal that runs the server."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("assistant")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run(settings: Settings) -> None:
    """Serve the app on settings.host:settings.port until interrupted."""
    import uvicorn

    _console_logging()
    app, _ = create_app(settings)
    print(f"Assistant PVD : http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")

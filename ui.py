"""The Gradio interface of Assistant PVD (French): wires assistant.web functions to four tabs."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import service
from assistant.errors import AssistantError, IndexBusyError
from assistant.search.access import Role
from assistant.settings import Settings
from assistant.types import DOC_TYPES
from assistant.web import auth, discover, render, tabs, uploads
from assistant.web.background import BackgroundIngest
from assistant.web.chat import stream_chat_turn
from assistant.web.feedback import FeedbackStore
from assistant.web.library import Library
from assistant.web.users import UserStore

EXAMPLE_QUESTIONS = [
    "Quels sont les critères d'éligibilité à PVD ?",
    "Comment est financé le chef de projet ?",
    "Où en est la convention-cadre de Modane ?",
    "Qu'est-ce qu'une ORT ?",
]
MANAGERS_ONLY = "Réservé au personnel d'Agate : connectez-vous."
# Gradio's page says lang="en"; screen readers must read French.
HEAD = ('<meta name="description" content="Assistant PVD : réponses citées sur les documents '
        'Petites villes de demain en Savoie">'
        "<script>document.documentElement.lang = 'fr';</script>")
CSS = (Path(render.__file__).with_name("style.css")).read_text(encoding="utf-8")
# Copies with the async clipboard API when allowed (https or localhost), else through a
# selected textarea, which still works on plain http intranets.
COPY_JS = """(text) => {
  if (!text) { return; }
  const btn = document.querySelector('#pvd-copy-btn');
  const say = (msg) => {
    if (!btn) { return; }
    const old = btn.dataset.label || btn.textContent;
    btn.dataset.label = old; btn.textContent = msg;
    setTimeout(() => { btn.textContent = old; }, 2000);
  };
  const fallback = () => {
    const ta = document.createElement('textarea');
    ta.value = text; ta.setAttribute('readonly', '');
    ta.style.position = 'fixed'; ta.style.left = '-9999px';
    document.body.appendChild(ta); ta.select();
    let ok = false; try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(ta); say(ok ? 'Réponse copiée' : 'Copie impossible');
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => say('Réponse copiée'), fallback);
  } else { fallback(); }
}"""


def theme() -> gr.themes.Base:
    """System fonts only: the app must not fetch web fonts (intranets, offline servers)."""
    return gr.themes.Soft(
        primary_hue="blue",
        font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    )


def _error(exc: AssistantError) -> gr.Error:
    text = str(exc)
    return gr.Error(text[:1].upper() + text[1:])


def build_ui(settings: Settings, background: BackgroundIngest | None = None) -> gr.Blocks:
    """The four tabs: Discuter, Rechercher, Documents, Découvrir le programme."""
    background = background or BackgroundIngest(settings)
    communes = tabs.load_communes(settings)
    names = tabs.commune_names(communes)
    feedback = FeedbackStore(settings.feedback_path)
    users = UserStore(settings.users_path)

    def index() -> Any:
        return service.open_index(settings)

    def role_of(request: gr.Request | None) -> Role:
        """The role of whoever sent ``request``: the session's, else public (if allowed)."""
        visitor = auth.visitor_for(settings, request, users)
        if visitor is None:
            raise gr.Error("Connectez-vous pour utiliser l'assistant.")
        return visitor.role

    def require_manager(request: gr.Request | None) -> Role:
        role = role_of(request)
        if not role.can_manage_documents:
            raise gr.Error(MANAGERS_ONLY)
        return role

    # ---- callbacks: Discuter ---------------------------------------------------------

    stops: dict[str, bool] = {}  # session → «Arrêter» pressed during its answer

    def respond(question: str, history: list[dict[str, Any]] | None, commune: str,
                turns: list[dict[str, Any]] | None, request: gr.Request) -> Iterator[tuple]:
        """Streamed: the model's draft shows as it is written, then the checked answer."""
        role = role_of(request)
        session = getattr(request, "session_hash", None) or ""
        stops[session] = False
        try:
            for turn in stream_chat_turn(settings, question, history, commune, communes,
                                         indexing=background.running, turns=turns, role=role,
                                         stop=lambda: stops.get(session, False)):
                yield turn.history, "", turn.last, turn.plain_text, "", turn.turns
        except AssistantError as exc:
            raise _error(exc) from exc
        finally:
            stops.pop(session, None)

    def stop_answer(request: gr.Request) -> None:
        session = getattr(request, "session_hash", None) or ""
        if session in stops:
            stops[session] = True  # the draft so far is checked and shown

    def give_feedback(rating: int, last: dict[str, Any] | None, comment: str) -> tuple[str, str]:
        if not last:
            raise gr.Error("Posez d'abord une question : l'avis porte sur la dernière réponse.")
        feedback.record(
            question=last["question"], answer=last["answer"], citations=last["citations"],
            rating=rating, comment=comment or "", commune=last.get("commune", ""),
        )
        return "Merci pour votre avis, il aidera à améliorer l'assistant.", ""

    # ---- callbacks: Rechercher -------------------------------------------------------

    def do_search(query: str, commune: str, epci: str, types: list[str], y_from: Any,
                  y_to: Any, k: float,
                  request: gr.Request) -> tuple[str, list[dict[str, Any]], Any]:
        role = role_of(request)
        try:
            filters = tabs.search_filters(commune, epci, types, y_from, y_to)
            hits = service.search(settings, query or "", filters=filters, k=int(k), role=role)
        except AssistantError as exc:
            raise _error(exc) from exc
        rows = tabs.search_rows(hits)
        return tabs.search_results_html(rows, names), rows, gr.File(value=None, visible=False)

    def do_export(rows: list[dict[str, Any]], request: gr.Request) -> Any:
        if not rows:
            raise gr.Error("Lancez d'abord une recherche : il n'y a rien à exporter.")
        uploads.purge_expired(settings)
        folder = Path(tempfile.mkdtemp(prefix=uploads.EXPORT_PREFIX))
        # Absolute links in the CSV, so they still work once the file is opened elsewhere.
        base = str(getattr(request, "base_url", "") or "")
        path = tabs.export_csv(rows, folder / "recherche-pvd.csv", base_url=base)
        return gr.File(value=str(path), visible=True)

    # ---- callbacks: Documents --------------------------------------------------------

    def refresh_documents(request: gr.Request) -> tuple[Any, Any]:
        return documents_for(role_of(request))

    def documents_for(role: Role) -> tuple[Any, Any]:
        library = Library(index(), role)
        # Only managers remove documents: the others get no choice at all.
        choices = tabs.document_choices(library) if role.can_manage_documents else []
        return (gr.Dataframe(value=tabs.documents_table(library, names)),
                gr.Dropdown(choices=choices, value=None))

    # Gradio's idiom: a gr.Progress() default is replaced by the live tracker at call time.
    def do_upload(files: list[Any] | None, visibility: str, up_commune: str, up_type: str,
                  request: gr.Request,
                  progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        role = require_manager(request)  # before any file is looked at
        if background.running:
            raise gr.Error("L'indexation du corpus est en cours ; réessayez dans un instant.")

        def step(done: int, total: int, label: str) -> None:
            progress((done, total), desc=f"Indexation : {label}" if label else "Indexation",
                     unit="fichiers")

        try:
            lines = uploads.process_upload(settings, files, visibility=visibility,
                                           commune=up_commune or "", doc_type=up_type or "",
                                           progress=step)
        except IndexBusyError as exc:
            raise gr.Error("Une autre indexation est en cours ; réessayez dans un instant.") \
                from exc
        except AssistantError as exc:
            raise _error(exc) from exc
        return ("\n\n".join(lines), *documents_for(role), None)

    def ask_remove(doc_id: str | None, request: gr.Request) -> tuple[Any, str]:
        require_manager(request)
        if not doc_id:
            raise gr.Error("Choisissez d'abord un document à supprimer.")
        doc = index().catalog.document(doc_id)
        title = doc.meta.get("title") or doc.source if doc else doc_id
        return gr.Group(visible=True), (
            f"Supprimer « {html.escape(str(title))} » de l'index ? Cette action est définitive "
            "pour l'index (le fichier d'origine du corpus n'est pas effacé)."
        )

    def confirm_remove(doc_id: str | None, request: gr.Request) -> tuple:
        role = require_manager(request)
        try:
            message = tabs.remove_document(index(), doc_id or "")
        except AssistantError as exc:
            raise _error(exc) from exc
        return (gr.Group(visible=False), message, *documents_for(role))

    # ---- callbacks: page load and first-start progress -------------------------------

    def discover_html(request: gr.Request) -> tuple[str, ...]:
        """The Découvrir tab and the commune choices, from what the visitor may see."""
        library = Library(index(), role_of(request))
        places = tabs.commune_choices(communes, library)
        return (*discover.discover_html(library), gr.Dropdown(choices=places),
                gr.Dropdown(choices=places),
                gr.Dropdown(choices=tabs.epci_choices(communes, library)),
                gr.Dropdown(choices=places))

    def status_html() -> str:
        s = background.snapshot()
        if s.running:
            return render.ingest_status_html(s.done, s.total, s.label)
        if s.error:
            return (f'<div class="pvd-refusal">L\'indexation a échoué : {html.escape(s.error)}'
                    "</div>")
        return ""

    def account_html(request: gr.Request) -> str:
        return auth.account_line(settings, request, users)

    def on_load(request: gr.Request) -> tuple:
        return (status_html(), gr.Timer(active=background.running), *refresh_documents(request),
                *discover_html(request))

    def on_tick(request: gr.Request) -> tuple:
        if background.running:
            return (status_html(), gr.Timer(active=True),
                    *(gr.skip() for _ in range(len(page_outputs) - 2)))
        return (status_html(), gr.Timer(active=False), *refresh_documents(request),
                *discover_html(request))

    # ---- layout ----------------------------------------------------------------------

    # Built for the public role; each page load replaces them with the visitor's.
    library0 = Library(index(), Role("public"))
    choices = tabs.commune_choices(communes, library0)
    with gr.Blocks(title="Assistant PVD") as demo:
        gr.HTML('<header class="pvd-header"><h1>Assistant PVD</h1><p>Réponses citées sur les '
                "documents du programme <em>Petites villes de demain</em> en Savoie.</p></header>")
        account = gr.HTML(auth.header_html(None), elem_id="pvd-account-line")
        status = gr.HTML(status_html(), elem_id="pvd-status")
        timer = gr.Timer(1.0, active=background.running)
        with gr.Tabs():
            with gr.Tab("Discuter", id="discuter", elem_id="tab-discuter"):
                commune = gr.Dropdown(choices=choices, value="", label="Votre commune",
                                      info="Les réponses privilégient ses documents et les "
                                      "textes généraux du programme.", elem_id="pvd-commune")
                commune_state = gr.State("")
                chat = gr.Chatbot(label="Conversation", elem_id="pvd-chat", height=520,
                                  latex_delimiters=[], feedback_options=None, buttons=[],
                                  placeholder="Posez une question sur le programme ou sur "
                                  "votre commune. Chaque réponse cite ses sources.")
                with gr.Row(elem_classes="pvd-ask-row"):
                    question = gr.Textbox(label="Votre question", scale=5, lines=1, max_lines=4,
                                          placeholder="Ex. : Qu'est-ce qu'une ORT ?",
                                          elem_id="pvd-question")
                    send = gr.Button("Envoyer", variant="primary", scale=1, min_width=100,
                                     elem_id="pvd-send")
                    stop = gr.Button("Arrêter", variant="stop", scale=0, min_width=80,
                                     elem_id="pvd-stop", size="sm")
                gr.Markdown("**Exemples de questions**")
                with gr.Row(elem_classes="pvd-examples"):
                    example_buttons = [gr.Button(q, size="sm") for q in EXAMPLE_QUESTIONS]
                with gr.Row(elem_classes="pvd-feedback-row"):
                    up = gr.Button("✓ Réponse utile", size="sm", elem_id="pvd-up")
                    down = gr.Button("✗ Pas utile", size="sm", elem_id="pvd-down")
                    copy = gr.Button("Copier la réponse", size="sm", elem_id="pvd-copy-btn")
                comment = gr.Textbox(label="Commentaire (facultatif)", lines=1,
                                     elem_id="pvd-comment",
                                     placeholder="Ce qui manque, ce qui est faux…")
                feedback_msg = gr.Markdown(elem_id="pvd-feedback-msg")
                copy_text = gr.Textbox(visible="hidden", elem_id="pvd-copy-text",
                                       label="Réponse en texte brut")
                last = gr.State(None)
                turns_state = gr.State([])

            with gr.Tab("Rechercher", id="rechercher", elem_id="tab-rechercher"):
                query = gr.Textbox(label="Rechercher dans les documents", elem_id="pvd-query",
                                   placeholder="Ex. : manager de commerce")
                with gr.Row(elem_classes="pvd-filters"):
                    s_commune = gr.Dropdown(choices=choices, value="", label="Commune",
                                            elem_id="pvd-s-commune")
                    s_epci = gr.Dropdown(choices=tabs.epci_choices(communes, library0), value="",
                                         label="EPCI", elem_id="pvd-s-epci")
                    s_types = gr.CheckboxGroup(
                        choices=[(render.type_label(t), t) for t in DOC_TYPES],
                        label="Type de document", elem_id="pvd-s-types")
                with gr.Row(elem_classes="pvd-filters"):
                    # Dropdowns, not gr.Number: an empty number field shows 0 in Gradio.
                    y_from = gr.Dropdown(choices=tabs.year_choices(), value="",
                                         label="Année (de)", elem_id="pvd-y-from")
                    y_to = gr.Dropdown(choices=tabs.year_choices(), value="",
                                       label="Année (à)", elem_id="pvd-y-to")
                    k = gr.Slider(5, 50, value=10, step=1, label="Nombre de passages")
                with gr.Row():
                    search_btn = gr.Button("Rechercher", variant="primary",
                                           elem_id="pvd-search-btn")
                    export_btn = gr.Button("Exporter en CSV", elem_id="pvd-export-btn")
                csv_file = gr.File(label="Résultats au format CSV", interactive=False,
                                   visible=False, elem_id="pvd-csv")
                results = gr.HTML(elem_id="pvd-results")
                rows_state = gr.State([])

            with gr.Tab("Documents", id="documents", elem_id="tab-documents"):
                gr.Markdown("### Documents indexés")
                docs_table = gr.Dataframe(headers=tabs.DOCUMENT_HEADERS, interactive=False,
                                          wrap=True, elem_id="pvd-docs")
                refresh_btn = gr.Button("Actualiser la liste", size="sm")
                gr.Markdown(f"### Ajouter des documents\nFormats : PDF, DOCX, MD, TXT, CSV — "
                            f"{settings.max_file_mb:g} Mo au plus par fichier.")
                files = gr.File(file_count="multiple", label="Fichiers à indexer",
                                file_types=list(tabs.UPLOAD_SUFFIXES), elem_id="pvd-upload")
                with gr.Row(elem_classes="pvd-filters"):
                    up_visibility = gr.Radio(uploads.VISIBILITY_CHOICES,
                                             value=uploads.UPLOAD_VISIBILITY,
                                             label="Qui pourra lire ces documents ?",
                                             elem_id="pvd-up-visibility")
                    # Custom values allowed: the choices follow the role at page load, and
                    # process_upload checks the INSEE code itself.
                    up_commune = gr.Dropdown(choices=choices, value="", label="Commune",
                                             info="Obligatoire pour la visibilité « Commune ».",
                                             allow_custom_value=True, elem_id="pvd-up-commune")
                    up_type = gr.Dropdown(
                        choices=[("Déduit du nom du fichier", ""),
                                 *((render.type_label(t), t) for t in DOC_TYPES)],
                        value="", label="Type de document", elem_id="pvd-up-type")
                upload_btn = gr.Button("Indexer les fichiers", variant="primary",
                                       elem_id="pvd-upload-btn")
                upload_msg = gr.Markdown(elem_id="pvd-upload-msg")
                gr.Markdown("### Retirer un document")
                remove_choice = gr.Dropdown(label="Document à retirer", elem_id="pvd-remove")
                remove_btn = gr.Button("Retirer de l'index…", variant="stop", size="sm",
                                       elem_id="pvd-remove-btn")
                with gr.Group(visible=False, elem_classes="pvd-confirm") as confirm_box:
                    confirm_text = gr.Markdown()
                    with gr.Row():
                        confirm_btn = gr.Button("Oui, retirer", variant="stop",
                                                elem_id="pvd-confirm-remove")
                        cancel_btn = gr.Button("Annuler")
                remove_msg = gr.Markdown(elem_id="pvd-remove-msg")

            with gr.Tab("Découvrir le programme", id="decouvrir", elem_id="tab-decouvrir"):
                gr.Markdown("### Les étapes du programme")
                timeline = gr.HTML(elem_id="pvd-timeline")
                gr.Markdown("### Par où commencer")
                reading = gr.HTML(elem_id="pvd-reading")
                gr.Markdown("### Glossaire")
                glossary = gr.HTML(elem_id="pvd-glossary")

        # ---- events --------------------------------------------------------------------
        commune.change(lambda c: c or "", commune, commune_state)
        ask_outputs = [chat, question, last, copy_text, feedback_msg, turns_state]
        ask_inputs = [question, chat, commune_state, turns_state]
        send.click(respond, ask_inputs, ask_outputs, api_name="ask")
        question.submit(respond, ask_inputs, ask_outputs)
        stop.click(stop_answer, None, None, queue=False)
        for btn, text in zip(example_buttons, EXAMPLE_QUESTIONS, strict=True):
            btn.click(lambda t=text: t, None, question, queue=False).then(
                respond, ask_inputs, ask_outputs)
        up.click(lambda prev, c: give_feedback(1, prev, c), [last, comment],
                 [feedback_msg, comment])
        down.click(lambda prev, c: give_feedback(-1, prev, c), [last, comment],
                   [feedback_msg, comment])
        copy.click(None, [copy_text], None, js=COPY_JS)

        search_inputs = [query, s_commune, s_epci, s_types, y_from, y_to, k]
        search_btn.click(do_search, search_inputs, [results, rows_state, csv_file])
        query.submit(do_search, search_inputs, [results, rows_state, csv_file])
        export_btn.click(do_export, rows_state, csv_file)

        refresh_btn.click(refresh_documents, None, [docs_table, remove_choice])
        upload_btn.click(do_upload, [files, up_visibility, up_commune, up_type],
                         [upload_msg, docs_table, remove_choice, files])
        remove_btn.click(ask_remove, remove_choice, [confirm_box, confirm_text])
        cancel_btn.click(lambda: gr.Group(visible=False), None, confirm_box)
        confirm_btn.click(confirm_remove, remove_choice,
                          [confirm_box, remove_msg, docs_table, remove_choice])

        page_outputs = [status, timer, docs_table, remove_choice, glossary, timeline, reading,
                        commune, s_commune, s_epci, up_commune]
        demo.load(on_load, None, page_outputs)
        demo.load(account_html, None, account)
        timer.tick(on_tick, None, page_outputs)
    return demo

"""The Gradio interface of Assistant PVD (French): one builder per tab, wired to assistant.web."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import service
from assistant.errors import AssistantError, IndexBusyError
from assistant.search.access import Role
from assistant.settings import Settings
from assistant.types import DOC_TYPES
from assistant.web import auth, discover, render, tabs, uploads
from assistant.web.auth import Visitor
from assistant.web.background import BackgroundIngest
from assistant.web.chat import check_question, stream_chat_turn
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
# Gradio's page says lang="en" and picks its own labels from the browser's language: the
# page must read French whatever the browser says, so the language is fixed before
# Gradio's scripts run. The click handler opens the source chip a «[n]» link points to.
HEAD = ('<meta name="description" content="Assistant PVD : réponses citées sur les documents '
        'Petites villes de demain en Savoie">'
        "<script>document.documentElement.lang = 'fr';"
        "try{Object.defineProperty(navigator,'language',{get:()=>'fr-FR'});"
        "Object.defineProperty(navigator,'languages',{get:()=>['fr-FR','fr']});}catch(e){}"
        "document.addEventListener('click',(e)=>{const a=e.target.closest&&"
        "e.target.closest('a.pvd-ref');if(!a)return;const d=document.getElementById("
        "a.getAttribute('href').slice(1));if(!d)return;e.preventDefault();d.open=true;"
        "d.scrollIntoView({block:'nearest'});},true);</script>")
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
# After an answer: bring the START of the new answer into view, inside the chat's own
# scroll box and on the page (a phone shows the box taller than the screen). Gradio
# renders the message a moment after the event ends, hence the polling.
SCROLL_JS = """() => {
  const box = document.querySelector('#pvd-chat');
  if (!box) { return; }
  let tries = 0;
  const go = () => {
    const bots = box.querySelectorAll('.message-row.bot-row');
    const users = box.querySelectorAll('.message-row.user-row');
    const answers = box.querySelectorAll('.pvd-answer, .pvd-refusal, .pvd-wait, .pvd-draft');
    const target = answers[answers.length - 1] || bots[bots.length - 1];
    if ((!target || bots.length < users.length) && tries++ < 40) { setTimeout(go, 50); return; }
    if (!target) { return; }
    let el = target.parentElement;
    while (el && el !== document.body) {
      const style = getComputedStyle(el);
      if (/(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight) {
        el.scrollTop += target.getBoundingClientRect().top - el.getBoundingClientRect().top - 8;
      }
      el = el.parentElement;
    }
    const top = target.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.5) {
      window.scrollBy({top: top - 64, left: 0, behavior: 'instant'});
    }
  };
  setTimeout(go, 30);
}"""


def theme() -> gr.themes.Base:
    """System fonts only: the app must not fetch web fonts (intranets, offline servers)."""
    return gr.themes.Soft(
        primary_hue="blue",
        font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    )


def french_error(message: str, title: str = "Attention") -> gr.Error:
    """A toast in French (Gradio's default title is «Error»), without a server traceback:
    these are the user's mistakes, not the server's."""
    return gr.Error(message[:1].upper() + message[1:], title=title, print_exception=False)


def _error(exc: AssistantError) -> gr.Error:
    return french_error(str(exc))


@dataclass
class AppContext:
    """What every tab builder needs: settings, stores and who is asking."""

    settings: Settings
    background: BackgroundIngest
    communes: dict[str, Any] = field(default_factory=dict)
    feedback: FeedbackStore | None = None
    users: UserStore | None = None

    @property
    def names(self) -> dict[str, str]:
        return tabs.commune_names(self.communes)

    def index(self) -> Any:
        return service.open_index(self.settings)

    def visitor(self, request: gr.Request | None) -> Visitor | None:
        return auth.visitor_for(self.settings, request, self.users)

    def role_of(self, request: gr.Request | None) -> Role:
        """The role of whoever sent ``request``: the session's, else public (if allowed)."""
        visitor = self.visitor(request)
        if visitor is None:
            raise french_error("Connectez-vous pour utiliser l'assistant.")
        return visitor.role

    def library(self, request: gr.Request | None) -> Library:
        """The documents the visitor of ``request`` may see: every listing reads it."""
        return Library(self.index(), self.role_of(request))

    def require_manager(self, request: gr.Request | None) -> Role:
        role = self.role_of(request)
        if not role.can_manage_documents:
            raise french_error(MANAGERS_ONLY)
        return role


@dataclass
class ChatTab:
    commune: gr.Dropdown
    commune_state: gr.State


def build_chat_tab(ctx: AppContext, choices: list[tuple[str, str]]) -> ChatTab:
    """Discuter: commune, conversation, question, examples; feedback once there is an answer."""
    commune = gr.Dropdown(choices=choices, value="", label="Votre commune",
                          info="Les réponses privilégient ses documents et les textes généraux "
                          "du programme.", elem_id="pvd-commune")
    commune_state = gr.State("")
    # No label: Gradio floats it over the first words of the answer.
    chat = gr.Chatbot(show_label=False, elem_id="pvd-chat", height=520, autoscroll=False,
                      latex_delimiters=[], feedback_options=None, buttons=[],
                      placeholder="Posez une question sur le programme ou sur votre commune. "
                      "Chaque réponse cite ses sources.")
    with gr.Row(elem_classes="pvd-ask-row"):
        question = gr.Textbox(label="Votre question", scale=5, lines=1, max_lines=4,
                              placeholder="Ex. : Qu'est-ce qu'une ORT ?", elem_id="pvd-question")
        send = gr.Button("Envoyer", variant="primary", scale=1, min_width=100,
                         elem_id="pvd-send")
        stop = gr.Button("Arrêter", variant="stop", scale=1, min_width=100, visible=False,
                         elem_id="pvd-stop", elem_classes="pvd-stop")
    gr.Markdown("**Exemples de questions**")
    with gr.Row(elem_classes="pvd-examples"):
        example_buttons = [gr.Button(q, size="sm") for q in EXAMPLE_QUESTIONS]
    with gr.Column(visible=False, elem_id="pvd-after-answer") as after_answer:
        with gr.Row(elem_classes="pvd-feedback-row"):
            up = gr.Button("✓ Réponse utile", size="sm", elem_id="pvd-up")
            down = gr.Button("✗ Pas utile", size="sm", elem_id="pvd-down")
            copy = gr.Button("Copier la réponse", size="sm", elem_id="pvd-copy-btn")
        comment = gr.Textbox(label="Commentaire (facultatif)", lines=1, elem_id="pvd-comment",
                             placeholder="Ce qui manque, ce qui est faux…")
        feedback_msg = gr.Markdown(elem_id="pvd-feedback-msg")
    copy_text = gr.Textbox(visible="hidden", elem_id="pvd-copy-text",
                           label="Réponse en texte brut")
    last = gr.State(None)
    turns_state = gr.State([])

    def validate(text: str) -> None:
        # An event without outputs: the French toast is all the user sees (no red
        # badges over the chat), and the server logs nothing.
        try:
            check_question(text)
        except AssistantError as exc:
            raise _error(exc) from exc

    stops: dict[str, bool] = {}  # session → «Arrêter» pressed during its answer

    def respond(text: str, history: list[dict[str, Any]] | None, insee: str,
                turns: list[dict[str, Any]] | None, request: gr.Request) -> Iterator[tuple]:
        """Streamed: the model's draft shows as it is written, then the checked answer."""
        role = ctx.role_of(request)
        session = getattr(request, "session_hash", None) or ""
        stops[session] = False
        try:
            for turn in stream_chat_turn(ctx.settings, text, history, insee, ctx.communes,
                                         indexing=ctx.background.running, turns=turns,
                                         role=role, stop=lambda: stops.get(session, False)):
                yield (turn.history, "", turn.last, turn.plain_text, "", turn.turns,
                       gr.Column(visible=turn.last is not None))
        except AssistantError as exc:
            raise _error(exc) from exc
        finally:
            stops.pop(session, None)

    def stop_answer(request: gr.Request) -> None:
        session = getattr(request, "session_hash", None) or ""
        if session in stops:
            stops[session] = True  # the model's draft so far is checked and shown

    def give_feedback(rating: int, prev: dict[str, Any] | None, text: str) -> tuple[str, str]:
        if not prev or ctx.feedback is None:
            raise french_error("Posez d'abord une question : l'avis porte sur la dernière "
                               "réponse.")
        ctx.feedback.record(question=prev["question"], answer=prev["answer"],
                            citations=prev["citations"], rating=rating, comment=text or "",
                            commune=prev.get("commune", ""))
        return "Merci pour votre avis, il aidera à améliorer l'assistant.", ""

    def busy() -> tuple:
        return gr.Button(visible=False), gr.Button(visible=True)

    def idle() -> tuple:
        return gr.Button(visible=True), gr.Button(visible=False)

    commune.change(lambda c: c or "", commune, commune_state)
    ask_inputs = [question, chat, commune_state, turns_state]
    ask_outputs = [chat, question, last, copy_text, feedback_msg, turns_state, after_answer]
    answering = []
    for trigger, preset in [(send.click, None), (question.submit, None),
                            *((b.click, q) for b, q in zip(example_buttons, EXAMPLE_QUESTIONS,
                                                            strict=True))]:
        if preset is None:
            start = trigger(validate, question, None, show_progress="hidden")
        else:
            start = trigger(lambda t=preset: t, None, question, queue=False)
        event = start.success(busy, None, [send, stop], queue=False).then(
            respond, ask_inputs, ask_outputs, api_name="ask" if not answering else False,
            show_progress="minimal")
        event.then(idle, None, [send, stop], queue=False).then(None, None, None, js=SCROLL_JS)
        answering.append(event)
    if ctx.settings.llm_url:
        # A model writes: «Arrêter» ends its draft, which is then checked and shown.
        stop.click(stop_answer, None, None, queue=False).then(idle, None, [send, stop],
                                                              queue=False)
    else:  # an extractive answer has no draft to keep: the event is cancelled
        stop.click(idle, None, [send, stop], cancels=answering, queue=False)
    up.click(lambda prev, c: give_feedback(1, prev, c), [last, comment], [feedback_msg, comment])
    down.click(lambda prev, c: give_feedback(-1, prev, c), [last, comment],
               [feedback_msg, comment])
    copy.click(None, [copy_text], None, js=COPY_JS)
    return ChatTab(commune, commune_state)


@dataclass
class SearchTab:
    commune: gr.Dropdown
    epci: gr.Dropdown


def build_search_tab(ctx: AppContext, choices: list[tuple[str, str]],
                     epcis: list[Any]) -> SearchTab:
    """Rechercher: filters, results grouped by document, CSV export."""
    query = gr.Textbox(label="Rechercher dans les documents", elem_id="pvd-query",
                       placeholder="Ex. : manager de commerce")
    with gr.Row(elem_classes="pvd-filters"):
        s_commune = gr.Dropdown(choices=choices, value="", label="Commune",
                                elem_id="pvd-s-commune")
        s_epci = gr.Dropdown(choices=epcis, value="", label="EPCI", elem_id="pvd-s-epci")
        s_types = gr.CheckboxGroup(choices=[(render.type_label(t), t) for t in DOC_TYPES],
                                   label="Type de document", elem_id="pvd-s-types")
    with gr.Row(elem_classes="pvd-filters"):
        # Dropdowns, not gr.Number: an empty number field shows 0 in Gradio.
        y_from = gr.Dropdown(choices=tabs.year_choices(), value="", label="Année (de)",
                             elem_id="pvd-y-from")
        y_to = gr.Dropdown(choices=tabs.year_choices(), value="", label="Année (à)",
                           elem_id="pvd-y-to")
        k = gr.Slider(5, 30, value=10, step=1, label="Nombre de documents")
    with gr.Row():
        search_btn = gr.Button("Rechercher", variant="primary", elem_id="pvd-search-btn")
        export_btn = gr.Button("Exporter en CSV", elem_id="pvd-export-btn")
    csv_file = gr.File(label="Résultats au format CSV", interactive=False, visible=False,
                       elem_id="pvd-csv")
    results = gr.HTML(elem_id="pvd-results")
    rows_state = gr.State([])

    def do_search(text: str, commune: str, epci: str, types: list[str], y_from_: Any,
                  y_to_: Any, k_: float, request: gr.Request) -> tuple:
        role = ctx.role_of(request)
        try:
            filters = tabs.search_filters(commune, epci, types, y_from_, y_to_)
            found = tabs.grouped_search(ctx.settings, text or "", filters, int(k_), role)
        except AssistantError as exc:
            raise _error(exc) from exc
        epci_names = {value: label for label, value in epcis}
        html_out = tabs.search_results_html(
            found, ctx.names, notice=tabs.empty_notice(found, commune, epci, types, ctx.names,
                                                       epci_names))
        return html_out, tabs.csv_rows(found.rows, ctx.names), gr.File(value=None,
                                                                       visible=False)

    def do_export(rows: list[dict[str, Any]], request: gr.Request) -> Any:
        if not rows:
            raise french_error("Lancez d'abord une recherche : il n'y a rien à exporter.")
        uploads.purge_expired(ctx.settings)
        folder = Path(tempfile.mkdtemp(prefix=uploads.EXPORT_PREFIX))
        # Absolute links in the CSV, so they still work once the file is opened elsewhere.
        base = str(getattr(request, "base_url", "") or "")
        path = tabs.export_csv(rows, folder / "recherche-pvd.csv", base_url=base)
        return gr.File(value=str(path), visible=True)

    inputs = [query, s_commune, s_epci, s_types, y_from, y_to, k]
    search_btn.click(do_search, inputs, [results, rows_state, csv_file])
    query.submit(do_search, inputs, [results, rows_state, csv_file])
    export_btn.click(do_export, rows_state, csv_file)
    return SearchTab(s_commune, s_epci)


@dataclass
class DocumentsTab:
    table: gr.HTML
    remove_choice: gr.Dropdown
    filters: list[Any]
    commune_filter: gr.Dropdown
    upload_commune: gr.Dropdown

    def outputs(self) -> list[Any]:
        return [self.table, self.remove_choice]


def documents_view(ctx: AppContext, role: Role, text: str = "", doc_type: str = "",
                   insee: str = "", visibility: str = "") -> tuple[Any, Any]:
    """The filtered table and the removal choices, from what ``role`` may see."""
    library = Library(ctx.index(), role)
    # Only managers remove documents: the others get no choice at all.
    remove = tabs.document_choices(library) if role.can_manage_documents else []
    table = tabs.documents_table_html(library, ctx.names, text=text, doc_type=doc_type,
                                      commune=insee, visibility=visibility)
    return table, gr.Dropdown(choices=remove, value=None)


def build_documents_tab(ctx: AppContext, choices: list[tuple[str, str]]) -> DocumentsTab:
    """Documents: the filterable table; upload and removal for Agate staff."""
    gr.Markdown("### Documents indexés")
    with gr.Row(elem_classes="pvd-filters"):
        d_text = gr.Textbox(label="Titre contient", elem_id="pvd-d-text", scale=2)
        d_type = gr.Dropdown(choices=[("Tous les types", ""), *((render.type_label(t), t)
                                                                  for t in DOC_TYPES)],
                             value="", label="Type", elem_id="pvd-d-type")
        d_commune = gr.Dropdown(choices=choices, value="", label="Commune",
                                elem_id="pvd-d-commune")
        d_vis = gr.Dropdown(choices=tabs.VISIBILITY_CHOICES, value="", label="Visibilité",
                            elem_id="pvd-d-vis")
    docs_table = gr.HTML(elem_id="pvd-docs")
    refresh_btn = gr.Button("Actualiser la liste", size="sm")
    gr.Markdown(f"### Ajouter des documents\nFormats : PDF, DOCX, MD, TXT, CSV — "
                f"{ctx.settings.max_file_mb:g} Mo au plus par fichier.")
    # No file_types: Gradio would refuse other files with its own English message; the
    # server's check answers in French instead.
    files = gr.File(file_count="multiple", label="Fichiers à indexer", elem_id="pvd-upload")
    with gr.Row(elem_classes="pvd-filters"):
        up_visibility = gr.Radio(uploads.VISIBILITY_CHOICES, value=uploads.UPLOAD_VISIBILITY,
                                 label="Qui pourra lire ces documents ?",
                                 elem_id="pvd-up-visibility")
        # Custom values allowed: the choices follow the role at page load, and
        # process_upload checks the INSEE code itself.
        up_commune = gr.Dropdown(choices=choices, value="", label="Commune",
                                 info="Obligatoire pour la visibilité « Commune ».",
                                 allow_custom_value=True, elem_id="pvd-up-commune")
        up_type = gr.Dropdown(choices=[("Déduit du nom du fichier", ""),
                                       *((render.type_label(t), t) for t in DOC_TYPES)],
                              value="", label="Type de document", elem_id="pvd-up-type")
    upload_btn = gr.Button("Indexer les fichiers", variant="primary", elem_id="pvd-upload-btn")
    upload_msg = gr.Markdown(elem_id="pvd-upload-msg")
    gr.Markdown("### Retirer un document")
    remove_choice = gr.Dropdown(label="Document à retirer", elem_id="pvd-remove")
    remove_btn = gr.Button("Retirer de l'index…", variant="stop", size="sm",
                           elem_id="pvd-remove-btn")
    with gr.Group(visible=False, elem_classes="pvd-confirm") as confirm_box:
        confirm_text = gr.Markdown()
        with gr.Row():
            confirm_btn = gr.Button("Oui, retirer", variant="stop", elem_id="pvd-confirm-remove")
            cancel_btn = gr.Button("Annuler")
    remove_msg = gr.Markdown(elem_id="pvd-remove-msg")
    tab = DocumentsTab(docs_table, remove_choice, [d_text, d_type, d_commune, d_vis],
                       d_commune, up_commune)

    def documents_for(role: Role, text: str = "", doc_type: str = "", insee: str = "",
                      visibility: str = "") -> tuple[Any, Any]:
        return documents_view(ctx, role, text, doc_type, insee, visibility)

    def refresh_documents(text: str = "", doc_type: str = "", insee: str = "",
                          visibility: str = "", request: gr.Request | None = None
                          ) -> tuple[Any, Any]:
        return documents_for(ctx.role_of(request), text, doc_type, insee, visibility)

    cleared = [gr.update(value="") for _ in tab.filters]  # the whole list again after a change

    # Gradio's idiom: a gr.Progress() default is replaced by the live tracker at call time.
    def do_upload(items: list[Any] | None, visibility: str, up_commune_: str, up_type_: str,
                  request: gr.Request,
                  progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        role = ctx.require_manager(request)  # before any file is looked at
        if ctx.background.running:
            raise french_error("L'indexation du corpus est en cours ; réessayez dans un instant.")

        def step(done: int, total: int, label: str) -> None:
            progress((done, total), desc=f"Indexation : {label}" if label else "Indexation",
                     unit="fichiers")

        try:
            lines = uploads.process_upload(ctx.settings, items, visibility=visibility,
                                           commune=up_commune_ or "", doc_type=up_type_ or "",
                                           progress=step)
        except IndexBusyError as exc:
            raise french_error("Une autre indexation est en cours ; réessayez dans un "
                               "instant.") from exc
        except AssistantError as exc:
            raise _error(exc) from exc
        return ("\n\n".join(lines), *documents_for(role), None, *cleared)

    def ask_remove(doc_id: str | None, request: gr.Request) -> tuple[Any, str]:
        ctx.require_manager(request)
        if not doc_id:
            raise french_error("Choisissez d'abord un document à supprimer.")
        doc = ctx.index().catalog.document(doc_id)
        title = doc.meta.get("title") or doc.source if doc else doc_id
        return gr.Group(visible=True), (
            f"Supprimer « {html.escape(str(title))} » de l'index ? Cette action est définitive "
            "pour l'index (le fichier d'origine du corpus n'est pas effacé)."
        )

    for control in tab.filters:
        control.change(refresh_documents, tab.filters, tab.outputs(), show_progress="hidden")
    refresh_btn.click(refresh_documents, tab.filters, tab.outputs())
    upload_btn.click(do_upload, [files, up_visibility, up_commune, up_type],
                     [upload_msg, *tab.outputs(), files, *tab.filters])
    remove_btn.click(ask_remove, remove_choice, [confirm_box, confirm_text])
    cancel_btn.click(lambda: gr.Group(visible=False), None, confirm_box)

    def confirm_remove(doc_id: str | None, request: gr.Request) -> tuple:
        role = ctx.require_manager(request)
        try:
            message = tabs.remove_document(ctx.index(), doc_id or "")
        except AssistantError as exc:
            raise _error(exc) from exc
        return (gr.Group(visible=False), message, *documents_for(role), *cleared)

    confirm_btn.click(confirm_remove, remove_choice,
                      [confirm_box, remove_msg, *tab.outputs(), *tab.filters])
    return tab


def build_discover_tab() -> list[gr.HTML]:
    """Découvrir: the Savoie communes at a glance, whom to call, the first-month checklist,
    the programme steps, after 2026, where to start reading, the glossary."""
    gr.Markdown("### Les 14 communes de Savoie en un coup d'œil")
    communes = gr.HTML(elem_id="pvd-communes")
    gr.Markdown("### Qui appeler")
    contacts = gr.HTML(elem_id="pvd-contacts")
    gr.Markdown("### Vos premiers mois de chef de projet")
    checklist = gr.HTML(elem_id="pvd-checklist")
    gr.Markdown("### Les étapes du programme")
    timeline = gr.HTML(elem_id="pvd-timeline")
    gr.Markdown("### Et après 2026 ?")
    after = gr.HTML(elem_id="pvd-after-2026")
    gr.Markdown("### Par où commencer")
    reading = gr.HTML(elem_id="pvd-reading")
    # Long (about 60 terms): closed until asked for, so the page opens on the essentials.
    with gr.Accordion("Glossaire des sigles", open=False, elem_id="pvd-glossary-box"):
        glossary = gr.HTML(elem_id="pvd-glossary")
    return [communes, contacts, checklist, timeline, after, reading, glossary]


def discover_values(ctx: AppContext, library: Library) -> list[str]:
    """The Découvrir sections in :func:`build_discover_tab`'s order, from what the
    library's role may see."""
    return discover.discover_html(library, ctx.communes)


def build_ui(settings: Settings, background: BackgroundIngest | None = None) -> gr.Blocks:
    """The page: header, account line, indexing banner and the four tabs."""
    ctx = AppContext(settings, background or BackgroundIngest(settings),
                     tabs.load_communes(settings), FeedbackStore(settings.feedback_path),
                     UserStore(settings.users_path))
    # Built for the public role; each page load replaces them with the visitor's.
    library0 = Library(ctx.index(), Role("public"))
    choices = tabs.commune_choices(ctx.communes, library0)

    def status_html() -> str:
        s = ctx.background.snapshot()
        if s.running:
            return render.ingest_status_html(s.done, s.total, s.label)
        if s.error:
            return (f'<div class="pvd-refusal">L\'indexation a échoué : {html.escape(s.error)}'
                    "</div>")
        return ""

    with gr.Blocks(title="Assistant PVD") as demo:
        gr.HTML('<header class="pvd-header"><h1>Assistant PVD</h1><p>Réponses citées sur les '
                "documents du programme <em>Petites villes de demain</em> en Savoie.</p></header>")
        account = gr.HTML(auth.header_html(None), elem_id="pvd-account-line")
        status = gr.HTML(status_html(), elem_id="pvd-status")
        timer = gr.Timer(1.0, active=ctx.background.running)
        # «wrap»: on a phone every tab stays on screen (Gradio folds them behind «···»).
        with gr.Tabs(overflow_behavior="wrap", elem_id="pvd-tabs"):
            with gr.Tab("Discuter", id="discuter", elem_id="tab-discuter"):
                chat = build_chat_tab(ctx, choices)
            with gr.Tab("Rechercher", id="rechercher", elem_id="tab-rechercher"):
                search = build_search_tab(ctx, choices,
                                          tabs.epci_choices(ctx.communes, library0))
            with gr.Tab("Documents", id="documents", elem_id="tab-documents"):
                docs = build_documents_tab(ctx, choices)
            # A short label: the four tabs must fit a phone's width.
            with gr.Tab("Découvrir", id="decouvrir", elem_id="tab-decouvrir"):
                discover_out = build_discover_tab()

        def refreshed(library: Library, mine: str | None = None) -> list[Any]:
            """The views that depend on the visitor's role: documents, Découvrir, and the
            commune and EPCI choices (a commune only hidden documents name stays hidden);
            ``mine`` also selects the chat's commune (page load)."""
            places = tabs.commune_choices(ctx.communes, library)
            table, remove = documents_view(ctx, library.role)
            chat_commune = (gr.Dropdown(choices=places) if mine is None
                            else gr.Dropdown(choices=places, value=mine))
            # In ``page`` order: chat, search commune and EPCI, documents filter, upload.
            return [table, remove, *discover_values(ctx, library), chat_commune,
                    gr.Dropdown(choices=places),
                    gr.Dropdown(choices=tabs.epci_choices(ctx.communes, library)),
                    gr.Dropdown(choices=places), gr.Dropdown(choices=places)]

        def on_load(request: gr.Request) -> list[Any]:
            library = ctx.library(request)
            # An élu starts on the commune of the account.
            mine = tabs.account_commune(ctx.visitor(request),
                                        tabs.commune_choices(ctx.communes, library))
            return [status_html(), gr.Timer(active=ctx.background.running), mine,
                    *refreshed(library, mine)]

        def account_html(request: gr.Request) -> str:
            visitor = ctx.visitor(request)
            # auth's line carries the logout form and its CSRF token; the élu's commune
            # is then named.
            line = auth.account_line(ctx.settings, request, ctx.users)
            return render.account_line(line, visitor, ctx.names)

        def on_tick(request: gr.Request) -> list[Any]:
            if ctx.background.running:
                return [status_html(), gr.Timer(active=True),
                        *(gr.skip() for _ in range(len(page)))]
            return [status_html(), gr.Timer(active=False), *refreshed(ctx.library(request))]

        page = [*docs.outputs(), *discover_out, chat.commune, search.commune, search.epci,
                docs.commune_filter, docs.upload_commune]
        demo.load(on_load, None, [status, timer, chat.commune_state, *page])
        demo.load(account_html, None, account)
        timer.tick(on_tick, None, [status, timer, *page])
    return demo

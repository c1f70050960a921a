"""Status answers: the steps of a commune's status record, told as French sentences, each cited."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.extractive import asked_thing
from assistant.indexing.lexical import fold, fold_words
from assistant.types import Page

# «Étape : Convention-cadre ; Date : 29 mars 2023 ; Commentaire : …» (a table row of the PDF)
_ROW = re.compile(
    r"^Étape : (?P<step>[^;]+?) ; Date : (?P<date>[^;]+?)(?: ; Commentaire : (?P<note>.+))?$"
)
# The same row when the PDF table came out as plain text: «Convention-cadre 29 mars 2023 …».
_STEPS = ("Sélection PVD", "Convention d'adhésion", "Convention-cadre",
          "ORT (opération de revitalisation de territoire)", "Chef de projet PVD (poste)",
          "Dernière mise à jour de la fiche")
_DATE = (r"non renseigné|date non confirmée|(?:1er|\d{1,2}) [a-zéû]+ \d{4}|"
         r"[a-zéû]+ \d{4}(?: \(date approximative\))?|\d{4}")
_PLAIN_ROW = re.compile(
    r"^(?P<step>" + "|".join(re.escape(x) for x in _STEPS) + r") (?P<date>" + _DATE
    + r")(?: (?P<note>.+))?$"
)
_UNKNOWN = ("non renseign",)
_UNCONFIRMED = ("non confirm", "a confirmer")


@dataclass(frozen=True)
class StepRow:
    """One row of a status record, located in its page so the quote is exact."""

    key: str  # "selection" | "adhesion" | "cadre" | "ort" | "chef" | "maj" | "autre"
    step: str
    date: str
    note: str
    quote: str  # the whole row, as in the page text
    page_idx: int
    page_number: int | None

    @property
    def known(self) -> bool:
        folded = fold(self.date)
        return not any(w in folded for w in _UNKNOWN + _UNCONFIRMED)

    @property
    def unconfirmed(self) -> bool:
        return any(w in fold(self.date) for w in _UNCONFIRMED)


def of(name: str) -> str:
    """French «de» before a name, elided before a vowel, contracted with an article:
    «d'Ugine», «de Modane», «du Pont-de-Beauvoisin», «des Échelles»."""
    if name.startswith("Le "):
        return f"du {name[3:]}"
    if name.startswith("Les "):
        return f"des {name[4:]}"
    return f"d'{name}" if fold(name[:1]) in "aeiouy" else f"de {name}"


def _key(step: str) -> str:
    f = fold(step)
    for word, key in (("selection", "selection"), ("adhesion", "adhesion"), ("cadre", "cadre"),
                      ("ort", "ort"), ("chef de projet", "chef"), ("mise a jour", "maj")):
        if word in f:
            return key
    return "autre"


def step_rows(pages: list[Page]) -> list[StepRow]:
    rows = []
    for idx, page in enumerate(pages):
        for line in page.text.split("\n"):
            m = _ROW.match(line.strip()) or _PLAIN_ROW.match(line.strip())
            if m:
                rows.append(StepRow(_key(m["step"]), m["step"].strip(), m["date"].strip(),
                                    (m["note"] or "").strip(), line.strip(), idx, page.number))
    return rows


def _when(date: str) -> str:
    """«29 mars 2023» → «le 29 mars 2023»; «décembre 2020» → «en décembre 2020»."""
    d = date.strip()
    approx = "approximative" in fold(d)
    d = re.sub(r"\s*\(date approximative\)", "", d)
    if re.match(r"^(1er|\d{1,2}) ", d):
        out = f"le {d}"
    else:
        out = f"en {d}"
    return f"vers {d} (date approximative)" if approx else out


# What each step is called in a sentence, and the verb of its event.
_LABEL = {
    "selection": ("La sélection dans le programme", "a eu lieu"),
    "adhesion": ("La convention d'adhésion", "a été signée"),
    "cadre": ("La convention-cadre", "a été signée"),
    "ort": ("L'ORT (opération de revitalisation de territoire)", "date de"),
    "chef": ("Le poste de chef de projet PVD", "date de"),
}


def row_sentence(row: StepRow, commune: str) -> str:
    """One fact of the record as a French sentence (no field names, no ids)."""
    if row.key == "maj":
        return f"La fiche de suivi {of(commune)} a été mise à jour {_when(row.date)}."
    label, verb = _LABEL.get(row.key, (row.step, "date de"))
    if row.key == "selection" and row.known:
        note = " par le préfet" if "prefet" in fold(row.note) else ""
        return f"{commune} a été sélectionnée dans le programme{note} {_when(row.date)}."
    if row.known:
        if verb == "date de":
            return f"{label} date de {row.date}."
        return f"{label} {verb} {_when(row.date)}."
    if row.unconfirmed:
        # «date non confirmée» first, then what the record says about the step.
        note = re.sub(r"\s*;?\s*date (a|à) confirmer\b", "", row.note).strip().rstrip(".")
        return f"{label} : date non confirmée. {note[:1].upper() + note[1:]}." if note else (
            f"{label} : date non confirmée.")
    # Unknown: what is missing, said plainly; the record's own comment when it adds something.
    if row.key == "ort" and "vaut ort" in fold(row.note):
        return "La fiche de suivi ne précise pas si la convention-cadre vaut ORT."
    if row.key == "chef":
        return ("La fiche de suivi ne documente pas le poste de chef de projet PVD "
                "(existence, date de recrutement, portage).")
    what = {"adhesion": "de signature de la convention d'adhésion",
            "cadre": "de signature de la convention-cadre",
            "ort": "de l'ORT", "selection": "de sélection"}.get(row.key, f"de l'étape {row.step}")
    return f"La date {what} n'est pas renseignée dans la fiche de suivi."


# Words of a question that name a step, to answer that step first.
_ASKED = {
    "adhesion": ("adhesion",),
    "cadre": ("cadre", "convention cadre", "convention-cadre"),
    "ort": ("ort", "revitalisation de territoire", "operation de revitalisation"),
    "chef": ("chef de projet", "cdp", "recrut", "poste"),
    "selection": ("selection", "selectionne", "retenu", "laureat"),
    "maj": ("a jour", "mise a jour", "actualis", "derniere version"),
}


def asked_steps(question: str) -> list[str]:
    folded = f" {fold_words(question)} "
    words = set(folded.split())
    out = []
    for key, cues in _ASKED.items():
        if any((f" {c} " in folded) if " " in c else (c in words or any(
                w.startswith(c) for w in words if len(c) > 3)) for c in cues):
            out.append(key)
    # «signé ?» with no step named: the conventions are what gets signed.
    if not out and any(w.startswith("sign") for w in words):
        out = ["adhesion", "cadre"]
    return out


# «avons-nous une ORT ?», «on a signé ?», «où en est…»: a question about where a step
# stands, not about what the step is or brings («l'ORT ça nous apporte quoi ?»).
STATUS_CUE = re.compile(
    r"\b(ou en|sign\w*|date|quand|avons|avez|a t on|a t elle|a t il|on a|on l a|est elle|"
    r"est il|fait|faite|recrut\w*|valid\w*|vaut|obtenu\w*|conclu\w*|lance\w*|demarre\w*|"
    r"en cours|avance\w*|etape|statut|etat|deja|toujours|encore|existe|y a t il|il y a)\b")

_STEP_NAMES = {"adhesion": "la convention d'adhésion", "cadre": "la convention-cadre",
               "ort": "l'ORT", "chef": "le chef de projet", "selection": "la sélection"}


def status_query(topic: str) -> str | None:
    """«où en est l'ORT» for a topic that names steps («l'ORT ça apporte quoi»): what «et
    nous, on l'a ?» asks of the commune's record; None when the topic names no step."""
    steps = [k for k in asked_steps(topic) if k in _STEP_NAMES]
    if not steps:
        return None
    return "où en est " + " et ".join(_STEP_NAMES[k] for k in steps)


_STEP_STATE = re.compile(r"\b(date|signature|etat|avancement|statut|situation|echeance|"
                         r"calendrier)\b")


def detail_of_a_step(question: str) -> bool:
    """«quelles sont les fiches actions de notre convention-cadre ?» asks what the step
    holds, not where it stands: the record's dates do not answer it."""
    thing = asked_thing(question)
    if not thing:
        return False
    head = " ".join(re.sub(r"^(le|la|les|l'|un|une|des|son|sa|ses|notre|nos)\s*", "",
                           thing, flags=re.IGNORECASE).split()[:2])
    return not (asked_steps(head) or _STEP_STATE.search(fold(head)))

"""Candidate answer sentences: located exactly in their page, scored by meaning, words and type."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.embedding.embedders import Embedder
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import analyze, fold, fold_words
from assistant.ingest.chunking import split_sentences
from assistant.types import Hit

_BULLET = re.compile(r"^\s*(?:[•◦▪\-–*]|\d+[.)])\s+")
_NUMBERED_HEADING = re.compile(r"^\d+(\.\d+)*\.?\s+\S")
_ARTICLE_HEADING = re.compile(r"^(Article|Annexe|Chapitre|Titre|Partie)\s+\d+\s*[–—-]\s")
_COVER_LINE = re.compile(
    r"(Émetteur|Emetteur)\s*:|^Date\s*:|Document d'exemple|^Voir (la note|« )|\| Page \d+|"
    r"^[^.;:]{0,80} · [^.;:]{0,80}$",  # running headers: «Fiche de suivi PVD · Modane»
    re.IGNORECASE,
)
# Rows of status records and registries are read by the status answer, never quoted raw;
# internal ids and links to files are no answer either.
# A fiche action's rows of content («Rubrique : Financeurs pressentis ; Contenu : …») answer
# what is asked of it; a study's cover rows (commune, EPCI, year, author) do not.
_FIELD_ROW = re.compile(r"^(Étape|Commune|id_pvd|Code INSEE|Rubrique(?!\s*:\s*(Financeurs|Coût|"
                        r"Calendrier|Maître d|Indicateur|Intitulé|Orientation|"
                        r"Type de document|Thème|Site étudié)))\s*:|"
                        r"identifiant PVD|"
                        r"\bpvd-\d+-\d+|\.(pdf|md|docx|csv)\)", re.IGNORECASE)
# «Clé : valeur ; Clé : valeur»: a table row flattened by the PDF; quoted only when nothing
# reads better.
# «partenaires Pilotage stratégique, validation, arbitrages Comité technique…»: table cells
# run together, a lower-case word followed by a capitalised one with no punctuation between.
_RUN_ON = re.compile(r"[a-zà-ÿ]{3,} [A-ZÀ-Ý][a-zà-ÿ]{2,}")
# «La part restant à la charge de la collectivité est de [montant ou pourcentage].»: a
# model's blank to fill, no answer.
_PLACEHOLDER = re.compile(r"\[[^\]\d]{3,60}\]|\[(n|x|xx|…|\.\.\.)\]")
# «Agate, registre des communes PVD de Savoie (mise à jour octobre 2025).»: a source cited.
_SOURCE_LINE = re.compile(r"\(mise à jour [^)]*\)\.?$", re.IGNORECASE)
_ID_LINE = re.compile(r"identifiant PVD|\bpvd-\d+-\d+", re.IGNORECASE)
_NUMBERED_ROWS = re.compile(r"€ \d{1,2} [A-ZÀ-Ý]")
TABLE_ROW = re.compile(r"^[^:;]{1,40} : [^;]+ ; [^:;]{1,40} : ")
MONTHS = ("janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|"
           "decembre")

# What kind of answer a question expects, from its interrogative words (folded text).
_TYPE_CUES: list[tuple[str, re.Pattern[str]]] = [
    # «il se réunit tous les combien ?»: a frequency, often without a figure («une fois par
    # an»), before «combien» makes it a count.
    ("frequence", re.compile(r"\b(tous les combien|toutes les combien|a quelle frequence|"
                             r"quelle frequence|combien de fois|quel rythme|"
                             r"quelle periodicite)\b")),
    # «ils sont surtout où ?»: a place.
    ("lieu", re.compile(r"\b(surtout|se trouvent?|se situent?|sont|est) ou$|\bou ca$|"
                        r"\bdans quel (quartier|secteur)\b|\bquel(le)? (quartier|secteur|rue)\b")),
    ("duree", re.compile(r"\b(combien de temps|quelle duree|pour quelle duree|duree|delai|"
                         r"en combien de|pendant combien|jusqu a quand)\b")),
    ("date", re.compile(r"\b(quand|quelle date|a quelle date|depuis quand|en quelle annee|"
                        r"quelle annee|date de|date d|date du|date des|date limite|"
                        r"date butoir|quel jour|quel mois)\b")),
    ("nombre", re.compile(r"\b(combien|cb|cbien|montant|taux|quelle part|pourcentage|budget|"
                          r"quelle somme|cout|couts|coute|prix|nombre de|a hauteur de|total|"
                          r"jusqu a combien|population|reste a charge|quelle surface|"
                          r"quelle superficie|fait quelle taille|quelle puissance|"
                          r"en kwc?|en mwh?|en kwh)\b")),
    ("acteur", re.compile(r"\b(qui (signe|finance|porte|pilote|cofinance|decide|selectionne|"
                          r"accompagne|paie|paye|valide)|quels? (organismes?|partenaires?|"
                          r"acteurs?|financeurs?|signataires?)|par qui|aupres de qui)\b")),
]
_TYPE_FOUND = {
    "duree": re.compile(r"\b\d+\s*(mois|ans?|annees?|jours?|semaines?|heures?|h|minutes?|"
                        r"min)\b|\b\d+ ?h ?\d\d\b|\b(un|une|deux|trois|"
                        r"quatre|cinq|six|sept|huit|neuf|dix|douze|quinze|dix-huit|dixhuit|"
                        r"vingt|trente) (mois|ans|annees|semaines|jours)\b"),
    "date": re.compile(rf"\b(19|20)\d{{2}}\b|\b({MONTHS})\b"),
    # «douze fiches actions», «quatre axes»: a count written in words answers «combien» too.
    "nombre": re.compile(r"\d|\b(deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|"
                         r"treize|quatorze|quinze|seize|vingt|trente|quarante|cinquante|"
                         r"soixante|cent|mille) [a-z]{3,}|"
                         # «une trentaine de partenaires»: an approximate count.
                         r"\b(dizaine|douzaine|quinzaine|vingtaine|trentaine|quarantaine|"
                         r"cinquantaine|centaine|millier)s?\b"),
    "frequence": re.compile(r"\b(fois par|par an|par mois|par semaine|par trimestre|"
                            r"chaque (annee|mois|semaine|trimestre)|tous les|toutes les|"
                            r"annuel\w*|mensuel\w*|trimestriel\w*|semestriel\w*|"
                            r"hebdomadaire)\b"),
    "lieu": re.compile(r"\b(quartier|secteur|rue|centre|zone|gare|place|avenue|entree|"
                       r"hameau|bourg|perimetre|axe)\b"),
    "acteur": re.compile(r"\b(anct|etat|prefet|prefecture|banque des territoires|anah|cerema|"
                         r"ademe|agate|commune|epci|region|departement|ministere|intercommunalite"
                         r"|apvf|club)\b"),
}


# Between a follow-up's carried subject and its own words («l'étude date de quand ; et le
# loyer c'est combien»), in the question answered.
FOLLOW_UP_JOIN = " ; "
DEFINITION = re.compile(
    # «avec quoi» holds «c quoi» but asks no definition.
    r"(\bc.?est quoi|\bc koi|\bc quoi|qu.est.ce qu|que veut dire|veut dire quoi|definition|"
    r"signifie|ca veut dire|kesako|c'est koi|a quoi sert|ca sert a quoi|(fait|font) (quoi|koi)|"
    r"\brole (de|du|des)\b|\bdifferences? entre\b)"
)
# A sentence that opens on a term and defines it: «Term : …», «Term – …», «Le X est un …».
_DEFINES = re.compile(r"^[^.:;]{2,80}?(\s[:–—-]\s|\s(est|sont|désigne|désignent)\s)")


# What an answer of the expected type gains, and what a sentence without it loses.
TYPE_BONUS = 0.1
TYPE_MALUS = 0.0
# What a sentence of a gathered neighbour loses against one of a retrieved chunk: the
# neighbour sits in a well-ranked document but scored lower itself (0.02-0.1 alike on
# gold train and dev, docs/benchmarks.md section 8).
GATHERED_PENALTY = 0.05
# What a sentence of the first passage gains over the others (divided by 1 + its rank):
# since the query adapter ranks the answer's chunk first more often, 0.15 rather than 0.05
# (gold dev dialogues 34 -> 35, train answer_contains 0.766 -> 0.782, dialogues 344 -> 352).
RANK_BONUS = 0.15
_FIGURES = ("nombre", "date", "duree")


# «c vrai que la BdT prend 75 % du salaire ?», «il paraît que …, c'est sûr ?»: the figure is
# stated to be checked, not asked; the passage that says it, or says otherwise, answers.
VERIFICATION = re.compile(
    r"^(?:(?:bonjour|salut|dites|dis|au fait|question)\b[ ,]*)?(?:c|c est|cest|est ce|"
    r"est ce que c est|il est|est il|c est bien)\s*(?:vrai|sur|exact|certain|confirme)\w* "
    r"(?:que|qu)\b|^(?:il parait|on m a dit|on nous a dit|j ai entendu dire|j ai lu) (?:que|qu)\b|"
    r"\b(?:c est (?:bien )?ca|vrai ou faux|c est vrai|c est exact|confirmez vous|tu confirmes|"
    r"vous confirmez)$")


def expected_type(question: str) -> str | None:
    """«quand» → date, «combien» → nombre, «combien de temps» → durée, «qui signe» → acteur;
    none for a statement to check («c vrai que … 75 % ?»)."""
    if VERIFICATION.search(fold_words(question)):
        return None
    # «quel % des travaux»: the sign is a word here; fold_words would drop it.
    # «elle peut quand même être PVD ?»: «quand même» asks no date.
    folded = re.sub(r"\bquand meme\b", "meme", fold_words(question.replace("%", " pourcentage ")))
    # «il fait quoi quand un projet bloque ?»: «quand» opens a case, the question is «quoi».
    folded = re.sub(r"\b(quoi|comment|que faire|qu est ce qu on fait) (alors )?quand\b.*",
                    r"\1", folded)
    for kind, cue in _TYPE_CUES:
        if cue.search(folded):
            return kind
    return None


# «combien de km», «cb d'arbres»: the unit asked; a figure in another unit does not answer.
UNITS = {"km": r"\bkm\b|kilometre", "ha": r"\bha\b|hectare", "m2": r"\bm2\b|m²|metres carres",
         "arbre": r"\barbres?\b", "logement": r"\blogements?\b", "place": r"\bplaces?\b",
         "habitant": r"\bhabitants?\b|\bpopulation\b", "emploi": r"\bemplois?\b",
         "mois": r"\bmois\b", "an": r"\bans?\b|\bannees?\b", "commune": r"\bcommunes?\b",
         "minute": r"\bminutes?\b|\bmin\b", "heure": r"\bheures?\b|\b\d+ ?h\b",
         "semaine": r"\bsemaines?\b", "jour": r"\bjours?\b",
         "puissance": r"\bk?wc?\b|\bmw\w*|\bkwh\b|\bgwh\b|\bpuissance\b",
         # Units a question asks without naming them: «à quel taux», «quelle surface»,
         # «ça coûte combien».
         "pct": r"%|\bpour ?cent\b|\bmoitie\b|\btiers\b|\bquart\b",
         "surface": r"\bha\b|hectares?|\bm2\b|m²|metres carres|\bkm2\b|\bares?\b",
         "eur": r"€|\beuros?\b|\bmillions?\b|\bmilliards?\b"}
_UNIT_ASKED = re.compile(r"\b(?:combien|cb|nombre|quelle (?:surface|longueur|distance)) "
                         r"(?:de |d )?(?:en )?(km|kilometres?|ha|hectares?|m2|arbres?|logements?|"
                         r"places?|habitants?|emplois?|mois|ans|annees|communes?|minutes?|"
                         r"heures?|semaines?|jours?)\b")


_RATE_ASKED = re.compile(r"\b(taux|pourcentage|quelle part|quel pourcentage)\b")
# «ça coûte combien», «quel budget», «chiffrée à combien»: an amount of money.
_MONEY_ASKED = re.compile(r"\b(cout|couts|coute|coutent|couter|budget|montant|prix|"
                          r"chiffre|chiffree|chiffres|enveloppe|salaire|salaires|brut|"
                          r"remuneration|remunere|gagne|gagnent|cotisation|cotisations|loyer|"
                          r"loyers|euros|millions|milliards)\b")


def asked_unit(question: str) -> str | None:
    """«combien de km d'aménagements» → km, «à quel taux» → %; None when no unit is named."""
    folded = fold_words(question.replace("%", " pourcentage "))
    m = _UNIT_ASKED.search(folded)
    if not m:
        if re.search(r"\bquelle (surface|superficie|taille)\b", folded):
            return "surface"
        if re.search(r"\b(kwc?|mwc?|kwh|mwh|gwh|puissance)\b", folded):
            return "puissance"
        return "pct" if _RATE_ASKED.search(folded) else (
            "eur" if _MONEY_ASKED.search(folded) else None)
    word = m.group(1)
    return next((u for u, pat in UNITS.items() if re.search(pat, word)), None)


# «combien de places en crèche», «cb de visiteurs»: what is counted. Money and time are
# typed by other means.
# «le taux de logements vacants», «la part des commerces»: a rate of a thing counts it too.
_COUNTED = re.compile(r"\b(?:combien|nombre|taux|part|pourcentage|proportion) (?:de |d |des )"
                      r"(?:la |les |l )?([a-z]+)(?: ([a-z]+))?(?: ([a-z]+))?")
_NOT_COUNTED = {"temps", "fois", "argent", "euros", "euro", "sous", "financement",
                "financements", "subvention", "subventions", "millions", "million", "aide",
                "aides", "plus", "moins", "ce", "cela", "ca", "tout", "monde", "gens",
                "personnes",  # «combien de monde»: people, counted under many names
                # «combien d'années»: a duration, its unit checked apart (asked_unit)
                "annees", "ans", "mois", "jours", "semaines",
                # «combien de sa poche»: a possessive, nothing counted
                "sa", "son", "ses", "leur", "leurs", "notre", "nos", "votre", "vos", "ma", "mon",
                "mes", "ici",  # «combien d'ici 3 ans»: a horizon, not a thing
                # «il fait cb de long ?»: a dimension, which «Longueur : 240 m» gives
                "long", "large", "haut", "profond", "epais"}
# A year in a text: no count, and what a figure «en 1990» must be of.
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
DAY = re.compile(rf"\b\d{{1,2}}(er)? ({MONTHS})\b")
# «c'était quel jour exactement ?»: a day, which a month is not.
DAY_ASKED = re.compile(r"\b(quel jour|quelle date exacte\w*|date exacte|jour exact|"
                       r"quelle date precise)\b")


def counted_thing(question: str) -> list[str]:
    """The stem of what «combien de …» counts, its head noun («places en crèche» → plac);
    empty when no count of a thing is asked."""
    m = _COUNTED.search(fold_words(question))
    if not m or m.group(1) in _NOT_COUNTED:
        return []
    if m.group(2) == "de" and m.group(3) and re.fullmatch(_MEASURE, m.group(1)):
        # «combien de km de rues»: rues are counted, in km.
        return analyze(m.group(3))[:1]
    return analyze(" ".join(g for g in m.groups() if g))[:1]


_MEASURE = r"km|kilometres?|metres?|m2|ha|hectares?|euros?|places?"


# «combien de mètres» is answered by «1 440 m»: a count whose unit is the thing counted.
_COUNTED_UNITS = {"metr": r"\d\s?m\b", "kilometr": r"\d\s?km\b", "hectar": r"\d\s?ha\b",
                  "euro": r"\d\s?(€|k€|m€)"}


def holds_count_of(text: str, stems: list[str]) -> bool:
    """A figure beside one of ``stems`` (a prefix match: «commerces» finds «commerciales»)."""
    folded = DAY.sub(" ", YEAR.sub(" ", fold(text)))
    # «la prolongation de deux ans du cofinancement des postes de chef de projet»: a
    # duration counts no project leads.
    folded = _TYPE_FOUND["duree"].sub(" ", folded)
    if not _TYPE_FOUND["nombre"].search(folded):
        return False
    if any(re.search(unit, folded) for st in stems for prefix, unit in _COUNTED_UNITS.items()
           if st.startswith(prefix)):
        return True
    prefixes = {t[:5] for t in analyze(text)}
    return any(st[:5] in prefixes for st in stems)


# «louées combien par mois», «ça coûte cb par an»: a figure per period, which a total is not.
_PER_ASKED = re.compile(r"\b(?:par|chaque|tous les) (mois|an|annee|jour|semaine)\b")
# «annuel» only beside an amount: «Observatoire annuel de la vacance» gives no yearly figure.
_PER_GIVEN = {"mois": r"par mois|/ ?mois|(cout|loyer|montant)s? mensuel|chaque mois",
              "an": r"par an\b|par annee|/ ?an\b|chaque annee|"
                    r"(cout|budget|montant|enveloppe|loyer|subvention|evolution|croissance|"
                    r"variation|taux|moyenne|hausse|baisse)s? annuel",
              "jour": r"par jour|/ ?jour|quotidien\w*", "semaine": r"par semaine|hebdo\w*"}


def asked_period(question: str) -> str | None:
    """«combien par mois» → mois; None when no figure per period is asked."""
    m = _PER_ASKED.search(fold_words(question))
    return None if not m else ("an" if m.group(1) == "annee" else m.group(1))


def has_type(text: str, kind: str | None, unit: str | None = None,
             period: str | None = None) -> bool:
    if kind is None:
        return True
    if period is not None and kind == "nombre" and not re.search(_PER_GIVEN[period], fold(text)):
        return False
    folded = " ".join(re.findall(r"[a-z0-9²%€]+", fold(text)))
    if kind == "nombre":
        # «combien de conventions signées ?» is not answered by «en 2022 et 2023».
        folded = YEAR.sub(" ", folded)
    if not _TYPE_FOUND[kind].search(folded):
        return False
    return unit is None or kind != "nombre" or bool(re.search(UNITS[unit], folded))


@dataclass
class Candidate:
    hit: Hit
    hit_rank: int
    page_idx: int  # index into the document's pages
    page_number: int | None
    start: int  # offsets in the page text
    end: int
    text: str
    lexical: float = 0.0
    semantic: float = 0.0  # plain e5 cosine with the question (what answerability reads)
    ranking_semantic: float = 0.0  # the one its rank reads (see score)
    type_ok: bool = True
    score: float = 0.0
    chunk_id: str = ""  # the chunk it was read in (a passage has several)
    gathered: bool = False  # read in a neighbour the passage gathered (see collect)
    vector: np.ndarray | None = None  # its e5 vector, when it was scored by meaning
    list_item: bool = False  # quoted as an item of the list the sentence before opens


def not_an_answer(line: str, headings: tuple[str, ...] = (), *, ids_asked: bool = False
                  ) -> bool:
    """Section titles, FAQ questions, cover and field rows make poor answers; short factual
    lines («Le poste est cofinancé à 75 %») are fine. Internal ids only when asked for."""
    stripped = line.strip()
    words = stripped.split()
    if len(words) < 3 or stripped.endswith("?"):
        return True
    if _COVER_LINE.search(stripped) or _PLACEHOLDER.search(stripped) or _SOURCE_LINE.search(
            stripped):
        return True
    if _FIELD_ROW.search(stripped) and not (ids_asked and _ID_LINE.search(stripped)):
        return True
    folded = fold(stripped).rstrip(" .")
    if any(folded in (fold(h).rstrip(" ."), fold(re.sub(r"\s*\([^)]*\)$", "", h)),
                      fold(re.sub(r"^\d+(\.\d+)*\.?\s+", "", h)).rstrip(" ."))
           for h in headings if h):  # «4. Ce qu'a changé la loi 3DS» read without its number
        return True
    # A numbered title («2. Étapes du programme»), or a short line with neither verb-like
    # punctuation nor a figure: a heading.
    if _NUMBERED_HEADING.match(stripped) and len(words) < 12 and stripped[-1] not in ".;:":
        return True
    if _ARTICLE_HEADING.match(stripped) and len(words) < 10:
        return True  # «Article 6 – Gouvernance.»: a convention's article title
    # Table cells run together: four joins, or two in a line with no final punctuation.
    if len(_NUMBERED_ROWS.findall(stripped)) >= 2:
        return True  # «… 1 200 000 € 2 Requalification … 1 800 000 € 3 …»: a table run together
    if len(words) > 70 or len(_RUN_ON.findall(stripped)) >= (
            4 if stripped[-1] in ".;:!?…" else 2):
        return True  # a flattened table or a run-on list: unreadable as an answer
    # A figure keeps a short line («cofinancé à 75 %»); a digit inside a name («3DS») does not.
    return len(words) < 8 and not re.search(r"(?<![^\W\d_])\d+(?![^\W\d_])", stripped) and (
        stripped[-1] not in ".!…;:")


# «Les chiffres de ce document ont été inventés pour tester l'assistant PVD.»: an example
# document's warning is shown as its «exemple» badge, not quoted as what it says.
_DISCLAIMER = re.compile(r"\b(sont|est|ont ete|a ete) (inventes?|inventees?|fictifs?|fictives?|"
                         r"imaginaires?)\b|tester l assistant|situation reelle|"
                         r"etre cites comme|etude fictive a visee|ne decrit aucune|"
                         r"redigee? pour l assistant|a partir des seules sources|"
                         r"^cette fiche resume|"
                         r"ne decrivent aucune|ne doivent pas etre repris comme des donnees|"
                         r"tous ces chiffres sont")


def is_disclaimer(sentence: str) -> bool:
    """An example document's warning about itself, not something it says."""
    return bool(_DISCLAIMER.search(fold_words(sentence)))


_REALITY_ASKED = re.compile(r"\b(fictif\w*|reel\w*|vrai\w*|invente\w*|exemple\w*|imaginaire)")


# «A3 – Boutiques à l'essai. La commune loue deux locaux vacants…»: a numbered label is
# no answer alone; it is read with the sentence it names.
_LABEL = re.compile(r"^(?:[A-Z]{0,3}\d+(?:\.\d+)*|(?:Fiche(?: action)?|Action|Mesure|Axe)\s+"
                    r"(?:n°\s*)?[A-Z]?\d+(?:\.\d+)*)\s*[–—-]\s*[^.:;]{2,80}\.?$")


def _with_labels_joined(part: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentence spans of ``part``, a label joined to the sentence after it."""
    out: list[tuple[int, int]] = []
    label = False
    for s, e in spans:
        if label:
            out[-1] = (out[-1][0], e)
            label = False
            continue
        out.append((s, e))
        label = bool(_LABEL.match(part[s:e].strip()))
    return out


def collect(hits: list[Hit], catalog: Catalog, max_hits: int = 5, question: str = ""
            ) -> list[Candidate]:
    """Sentences of the best hits, located in their page text so quotes are exact substrings.

    A passage is read chunk by chunk, its best chunk first, each chunk in its own pages;
    a chunk it gathered from past the ``max_hits`` best of the fused ranking (a neighbour
    a search of single chunks would not have returned) gives ``gathered`` candidates."""
    ids_asked = bool(re.search(r"\b(identifiant|id pvd|numero pvd|code pvd)\b", fold(question)))
    reality_asked = bool(_REALITY_ASKED.search(fold(question)))
    out: list[Candidate] = []
    pages_cache: dict[str, list] = {}
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(hits[:max_hits]):
        doc_id = str(hit.metadata.get("doc_id"))
        pages = pages_cache.get(doc_id)
        if pages is None:
            pages = pages_cache[doc_id] = catalog.pages(doc_id)
        numbers = [p.number for p in pages]
        for nth, chunk in enumerate(hit.chunks or [hit]):
            want = set(chunk.pages) if chunk.pages else None
            order = [i for i, n in enumerate(numbers) if want is None or n in want] or list(
                range(len(pages)))
            headings = (*str(chunk.metadata.get("heading", "")).split(" > "),
                        str(chunk.metadata.get("title", "")))
            gathered = nth > 0 and chunk.rank >= max_hits
            for part in chunk.text.split("\n"):
                for s, e in _with_labels_joined(part, split_sentences(part)):
                    sentence = part[s:e].strip()
                    if _LABEL.match(sentence) or not_an_answer(
                            sentence, headings, ids_asked=ids_asked) or (
                            not reality_asked and is_disclaimer(sentence)):
                        continue
                    for i in order:
                        pos = pages[i].text.find(sentence)
                        if i == 0 and pos == 0 and sentence[-1] not in ".!?…":
                            break  # the document's own title, on its first line
                        if pos >= 0:
                            key = (doc_id, hash((i, pos)))
                            if key not in seen:
                                seen.add(key)
                                out.append(Candidate(hit, rank, i, numbers[i], pos,
                                                     pos + len(sentence), sentence,
                                                     chunk_id=chunk.chunk_id,
                                                     gathered=gathered))
                            break
    return out


def lexical_overlap(weights: dict[str, float], text: str) -> float:
    """Share of the question's idf mass that a sentence contains."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    found = set(analyze(text))
    return sum(w for t, w in weights.items() if t in found) / total


# e5 cosine similarities of related French sentences sit between ~0.78 and ~0.92.
_SEM_LOW, _SEM_HIGH = 0.78, 0.92


# The meaning's share of a sentence's score: 0.5 with the plain query vector; 0.65 once the
# sentence adapter ranks (dev and fresh batches 18-20, docs/understanding.md §11).
SEMANTIC_WEIGHT = 0.65


def semantic_scale(cos: float) -> float:
    return float(np.clip((cos - _SEM_LOW) / (_SEM_HIGH - _SEM_LOW), 0.0, 1.0))


def score(cands: list[Candidate], question: str, query_vector: np.ndarray | None,
          embedder: Embedder | None, weights: dict[str, float], *, semantic_top: int = 40,
          ranking_vector: np.ndarray | None = None) -> None:
    """Fill each candidate's scores: meaning (e5), idf-weighted words, expected answer type.

    Only the ``semantic_top`` best candidates by words and rank are embedded: sentence
    vectors come from the content-hash cache after the first time. ``ranking_vector`` (the
    question moved by the sentence adapter) ranks them by meaning instead of the plain
    query vector; ``semantic`` keeps the plain cosine.
    """
    kind = expected_type(question)
    unit = asked_unit(question)
    period = asked_period(question)
    for c in cands:
        c.lexical = lexical_overlap(weights, c.text)
        c.type_ok = has_type(c.text, kind, unit, period)
        c.score = 0.6 * c.lexical + 0.1 / (1 + c.hit_rank) - GATHERED_PENALTY * c.gathered
    if query_vector is not None and embedder is not None and cands:
        shortlist = sorted(cands, key=lambda c: -c.score)[:semantic_top]
        vectors = embedder.embed([_clean(c.text) for c in shortlist], is_query=False)
        sims = vectors @ np.asarray(query_vector, dtype=np.float32)
        ranking = sims if ranking_vector is None else _on_scale_of(
            vectors @ np.asarray(ranking_vector, dtype=np.float32), sims)
        for c, sim, rank_sim, vec in zip(shortlist, sims, ranking, vectors, strict=True):
            c.semantic = float(sim)
            c.ranking_semantic = float(rank_sim)
            c.vector = vec
    definition = bool(DEFINITION.search(fold(question)))
    for c in cands:
        c.score = (SEMANTIC_WEIGHT * semantic_scale(c.ranking_semantic) + 0.35 * c.lexical
                   + RANK_BONUS / (1 + c.hit_rank) - GATHERED_PENALTY * c.gathered)
        if kind:
            # «combien coûte la dépollution ?» is answered by a figure, never by the
            # sentence that only repeats the question's words.
            c.score += TYPE_BONUS if c.type_ok else -TYPE_MALUS
        if TABLE_ROW.match(c.text.strip()) and not (kind in _FIGURES and c.type_ok):
            c.score -= 0.15  # a flattened row reads badly, unless it holds the figure asked
        if definition and _DEFINES.match(c.text.strip()) and _opens_with_term(c.text, weights):
            c.score += 0.2  # «ORT – opération de … : convention prévue …» defines the term


def _on_scale_of(moved: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """``moved`` cosines shifted and stretched to the mean and spread of the ``plain`` ones:
    the adapter changes their order, but its cosines sit elsewhere than the 0.78–0.92 that
    ``semantic_scale`` reads (used as they are, nearly all clip to 0 or 1)."""
    spread = float(moved.std())
    if len(moved) < 2 or spread <= 1e-9:
        return plain
    return plain.mean() + (moved - moved.mean()) * (float(plain.std()) / spread)


def _opens_with_term(text: str, weights: dict[str, float]) -> bool:
    """The sentence's first words hold one of the question's terms (the defined term)."""
    head = re.split(r"\s[:–—-]\s|\s(?:est|sont|désigne)\s", text.strip(), maxsplit=1)[0]
    return bool(set(analyze(" ".join(head.split()[:6]))) & set(weights))


def _clean(sentence: str) -> str:
    return " ".join(_BULLET.sub("", sentence).split())


# A fiche's row, «Rubrique : Coût estimé ; Contenu : 1 800 000 € HT», which reads «Coût
# estimé : 1 800 000 € HT» (see also answer/records.py).
FIELD_CONTENT = re.compile(r"^Rubrique : (?P<label>[^;]+?) ; Contenu : ")


def clean_sentence(sentence: str) -> str:
    """A quoted line as a sentence: no bullet, one space, a capital and a final stop; a
    fiche's row without its column names."""
    cleaned = _clean(sentence)
    text = FIELD_CONTENT.sub(r"\g<label> : ", cleaned)
    # «Type de document : Étude … (étude de programmation)» ends a sentence at its bracket
    if text and (text[-1] not in ".!?…:;»)" or (text != cleaned and text[-1] == ")")):
        text += "."
    return text[:1].upper() + text[1:]


# Two sentences this close in meaning say the same thing («le poste peut être cofinancé
# jusqu'à 75 %…» in the FAQ and in the note on the post): measured 0.95-0.97 for such pairs,
# 0.82-0.89 for sentences on the same subject that say different things.
SAME_MEANING = 0.94


def same_meaning(a: Candidate, b: Candidate) -> bool:
    return a.vector is not None and b.vector is not None and float(
        np.dot(a.vector, b.vector)) >= SAME_MEANING


def similar(a: str, b: str) -> bool:
    sa, sb = set(analyze(a)), set(analyze(b))
    if not sa or not sb:
        return False
    return len(sa & sb) / len(sa | sb) > 0.7

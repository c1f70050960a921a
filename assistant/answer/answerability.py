"""Answerable or not: features of the best passages and a logistic model fitted on held-out data."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from assistant.answer.sentences import FOLLOW_UP_JOIN, counted_thing
from assistant.errors import ConfigError
from assistant.indexing.lexical import ABBREVIATIONS, analyze, fold, fold_words
from assistant.types import Hit

MODEL_FILE = Path(__file__).resolve().parent / "data" / "answerability.json"

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
PERSON_QUESTION = re.compile(
    r"\b(nom (du|de la|de l'|des)|qui (en )?(est|etait|était|sera|a [ée]t[ée]) (le|la|l')\s*"
    r"(sous-?)?"
    r"(maire|pr[ée]sident|pr[ée]fet|directeur|directrice|responsable|chef|r[ée]f[ée]rent|"
    r"d[ée]put[ée]|s[ée]nateur|s[ée]natrice|manager|adjoint|d[ée]l[ée]gu[ée]|[ée]lu|"
    r"rapporteur|rapporteuse|ministre|auteur|autrice)|"
    # «c'est qui le maître d'ouvrage ?» asks a body, not a person's name.
    r"c'?est qui (le|la|l'|notre|nos|son|sa|leur)\b(?!\s*(ma[iî]tr\w* d|pilote|porteur|"
    r"financeur|op[ée]rateur|partenaire|gestionnaire|signataire|b[ée]n[ée]ficiaire|"
    r"prestataire|propri[ée]taire|instructeur|payeur))|"
    # «c'était qui le rapporteur ?»
    r"c'?[ée]tait qui (le|la|l')\s*(rapporteur|rapporteuse|pr[ée]sident|maire|auteur|chef|"
    r"directeur|directrice|responsable|ministre)|"
    # «on en a recruté un ? il s'appelle comment» (a person; «l'interco elle s'appelle
    # comment» names a thing)
    r"\b(recrut\w*|embauch\w*|manager|chef|maire|pr[ée]sident\w*|r[ée]f[ée]rent|direct\w*|"
    r"responsable|adjoint|agent|architecte|urbaniste|paysagiste|consultant\w*|animat\w*|"
    r"m[ée]c[èe]ne|donat\w*|propri[ée]taire|bailleur|promoteur|investisseur)\b"
    r".*\b(il|elle)s? s'?\s?appelle(nt)? comment|"
    # «l'opérateur retenu c'est quelle entreprise ?»: a firm's name.
    r"\bquel(le)? (entreprise|societe|cabinet|bureau d'?\s?[ée]tudes|prestataire|"
    r"op[ée]rateur|association|asso|architecte|urbaniste|paysagiste|notaire)\b|"
    # «l'équipe de maîtrise d'œuvre retenue c laquelle ?»: the firm chosen.
    r"\b([ée]quipe|entreprise|cabinet|bureau|prestataire|ma[iî]tr\w* d'?\s?(œ|oe)uvre|"
    r"architecte)\b.*\b(retenu|choisi|s[ée]lectionn[ée])e?s?\b.*\b(laquelle|lequel|qui)\b|"
    # «comment s'appelle le manager…», «le préfet il s'apelle comment»: a person's name;
    # «l'aide … ça s'appelle comment» is not.
    r"^(?=.*\b(maire|pr[ée]fet|pr[ée]sident|directeur|directrice|responsable|chef|"
    r"r[ée]f[ée]rent|[ée]lu|adjoint|d[ée]l[ée]gu[ée]|manager|interlocuteur|contact)\b)"
    r"(?=.*(comment s['’ ]?ap+el+e|s['’ ]?ap+el+e comment|\ba dit\b|\ba d[ée]clar[ée]|"
    r"\ba promis\b|\bpense quoi\b|\ben pense\b|\bson avis\b))|"
    r"(le|son|leur) nom\b|"
    # «vous avez déjà un nom de candidat pour le poste ?»
    r"\b(un|quel|des) noms? (de|du|d'|pour)\s*(la |le )?(candidat\w*|personne|agent|recrue|"
    r"titulaire|chef|manager|remplaçant\w*|rempla[cç]ant\w*)|"
    r"qui est notre|qui sont (les|nos) (élus|conseillers)|"
    # «qui a gagné les élections», «qui a été élu maire»: a person's name.
    r"qui a (gagn[ée]|[ée]t[ée] [ée]lu)|qui est [ée]lu|"
    # «le Premier ministre qui a annoncé …, c'était qui ?», «signée par quel ministre ?»
    r"\b(ministre|pr[ée]fet|pr[ée]sident|d[ée]put[ée]|s[ée]nat(eur|rice)|maire)\b.*"
    r"\bc'?\s?(?:[ée]tait|est) qui\b|"
    r"\bquel(le)? (premier )?(ministre|d[ée]put[ée]|s[ée]nat(eur|rice)|rapporteur)\b)",
    re.IGNORECASE,
)
# A question the intent classifier takes for off-topic at this probability (below the 0.8 at
# which it is declined outright) is refused when no sentence read shares a word with it.
OFF_TOPIC = 0.5
NO_SHARED_WORD = 0.05
CONTACT_QUESTION = re.compile(
    r"\b(e-?mail|mail|courriel|t[ée]l[ée]phone|tel|num[ée]ro de t[ée]l|num[ée]ro|adresses?|"
    # «faut joindre la liste des études ?»: attach a document, not reach someone
    r"(?<!faut )joindre(?! (?:la |le |les |une |un |des |quelle |quel |l')?(?:liste|"
    r"d[ée]lib\w*|pi[èe]ce|document|annexe|dossier|copie|fiche|plan|justificatif|"
    r"attestation|devis|[ée]tude))|appeler|site (?:internet|web)|url)\b", re.IGNORECASE)
# «le rapport du Sénat c'est quel numéro ?»: the number of a text, not a phone.
_NUMBERED_TEXT = re.compile(r"\b(rapport|loi|article|decret|circulaire|arrete|fiche|siren|"
                            r"insee|identifiant|dossier|deliberation|action)s?\b")


def asks_contact(question: str) -> bool:
    """A phone, an e-mail, an address or how to reach someone is asked."""
    words = {fold(w) for w in CONTACT_QUESTION.findall(question)}
    if words == {"numero"} and _NUMBERED_TEXT.search(fold(question)):
        return False
    return bool(words)


_CONTACT_A = re.compile(r"@|\b0\d(?:[ .]?\d{2}){4}\b|\b\d{1,4},? (rue|avenue|place|boulevard)\b",
                        re.IGNORECASE)
_PERSON_A = re.compile(r"\b(M\.|Mme|Monsieur|Madame)\s+[A-ZÀ-Ý]")
# A term this rare in the corpus (idf) is a subject the passage must speak of.
RARE_IDF = 3.0
_MAX_IDF = 7.0  # about the idf of a word absent from a corpus of a thousand passages
# Words of how a figure is asked, not of what it is about.
QUESTION_TERMS = set(analyze(
    "combien cb cbien montant budget coût coûte total somme taux part nombre date quand année "
    "obtenu touché reçu versé attribué prix"))


@dataclass
class Features:
    """What the answerability model sees about one question and its passages."""

    coverage: float  # idf-weighted share of the question's terms in the best passage
    rare_missing: float  # share of the rare terms' idf mass absent from the best passage
    keys_missing: int  # years and rare names of the question absent from every passage
    type_ok: float  # 1 when the expected answer type (date, number…) is in the best sentences
    type_asked: float  # 1 when the question expects a type
    best_semantic: float  # e5 cosine of the best sentence
    dense_top: float  # e5 cosine of the best passage
    dense_margin: float  # best passage minus the mean of the next ones
    sentence_lexical: float  # word coverage of the best sentence
    out_of_scope: float  # the intent classifier's probability of «out of scope»
    person_or_contact_missing: float  # a name or a phone asked, none in the passages
    commune_missing: float  # a commune is asked about, no top passage is about it
    commune_figure_missing: float  # a figure about that commune asked, none of its passages
    asked_unknown: float  # «quel est le salaire…»: the thing asked is in no document at all
    scope_missing: float  # a figure for Savoie asked, only national ones given
    max_missing_idf: float  # the most specific question word absent from the best passage
    # «combien de places en crèche», «à quel taux»: no figure of the thing counted, or in
    # the unit asked, in any passage.
    count_missing: float = 0.0

    def vector(self) -> list[float]:
        return [float(v) for v in asdict(self).values()]


FEATURE_NAMES = tuple(Features.__dataclass_fields__)


def _term_groups(question: str) -> list[tuple[str, set[str]]]:
    """Each content word of the question (once) with the stems that count as finding it."""
    groups: list[tuple[str, set[str]]] = []
    for token in _TOKEN_RE.findall(question):
        stems = analyze(token)
        if not stems:
            continue
        alternatives = set(stems)
        long_form = ABBREVIATIONS.get(fold(token))
        if long_form:
            alternatives |= set(analyze(long_form))
        if all(stems[0] != g[0] for g in groups):
            groups.append((stems[0], alternatives))
    return groups


def key_terms(question: str, idf: dict[str, float] | None = None) -> list[str]:
    """Years, and rare words (any case) the answer must be about: «Halle», «halle», «DDT»."""
    keys = [m.group(0) for m in _YEAR.finditer(question)]
    if idf is None:
        return keys
    for token in _TOKEN_RE.findall(question):
        stems = analyze(token)
        if not stems or fold(token) in ABBREVIATIONS:
            continue
        if min(idf.get(s, 0.0) for s in stems) >= RARE_IDF + 1.5:
            keys.append(token)
    return list(dict.fromkeys(keys))  # a word repeated in the question counts once


def passage_context(hit: Hit) -> str:
    return f"{hit.metadata.get('title', '')} {hit.metadata.get('heading', '')} {hit.text}"


def about_commune(hit: Hit, insee: str, name: str) -> bool:
    """The passage is tagged with the commune or names it."""
    communes = str(hit.metadata.get("communes", "")).split(",")
    return insee in communes or fold(name) in fold(hit.text)


# Words of how a figure is asked, not of what it is about: «sur quelle période», «d'après
# notre enquête», «ça représente quelle proportion».
_FORM_TERMS = set(analyze("période horizon échéance proportion pourcentage d'après"))


def _covers(hit: Hit, groups: list[tuple[str, set[str]]], weights: dict[str, float],
            name: str, known: Callable[[str], bool], misspelt: Callable[[str], bool],
            share: float = 0.5) -> bool:
    """The passage holds at least half of the question's own words (the commune's name,
    the words of the question form and words no document uses aside): it speaks of the
    thing asked."""
    own = set(analyze(name)) | QUESTION_TERMS | _FORM_TERMS
    mine = [(s, alts) for s, alts in groups if s not in own and known(s)]
    # One rare word («prévoit») must not outweigh all the others: rare counts as rare.
    capped = {s: min(weights[s], RARE_IDF) for s, _ in mine}
    total = sum(capped.values())
    if total <= 0:
        return True
    terms = set(analyze(passage_context(hit)))
    return sum(capped[s] for s, alts in mine if alts & terms) / total >= share


# A figure asked at one of these scales must be given at that scale: «combien de logements
# rénovés en Savoie ?» is not answered by the national count.
PLACES = (r"\bsavoi(e|sien\w*)\b|\bsavoyard\w*", r"\bhaute savoie\b", r"\bisere\b",
           r"\b(l|dans l|departement de l) ain\b",
           # «elle aura combien d'arbres ?»: the verb, not the region (only «en AURA»)
           r"\b(auvergne|rhone alpes|(?:en|la|region|conseil regional) aura|region)\b")


# «côté Isère», «au niveau du département»: words of the scale, not of the thing asked.
_SCALE_WORDS = set(analyze("côté niveau échelle partie département commune communes"))


# «Financeur (exemple) : Région ; Montant : …»: a row of a plan's funders.
_FUNDER_ROW_REGION = re.compile(r"\bfinanceur\w*( \w+)? region\b")


def _scope_missing(question: str, sentences: list[str], groups: list[tuple[str, set[str]]],
                   weights: dict[str, float], known: Callable[[str], bool]) -> bool:
    """The question names a scale (Savoie, Isère, the region) and no sentence holding a
    figure names it beside the question's most specific word."""
    folded_q = fold_words(question)
    places = [p for p in PLACES if re.search(p, folded_q)]
    if re.search(r"\bregion( \w+){0,3} (financ\w*|met|mettrait|donne\w*|pai\w*|pay\w*|"
                 r"vers\w*|apport\w*|particip\w*|attend\w*|contribu\w*|pese\w*|"
                 r"represent\w*|prend\w*|couvr\w*)\b|"
                 r"\b(plan de financement|financeurs?|hauteur de)\b", folded_q) or any(
            _FUNDER_ROW_REGION.search(fold_words(s)) for s in sentences):
        # «la région elle met combien ?», «la région elle pèse quel % ?», or the Région in
        # a funders' table: the Région as a funder, not a scale.
        places = [p for p in places if "region" not in p]
    if not places:
        return False
    place_terms = set(analyze(" ".join(m.group(0) for p in places
                                       for m in re.finditer(p, folded_q))))
    thing = [(st, alts) for st, alts in groups
             if st not in QUESTION_TERMS and st not in place_terms and st not in _SCALE_WORDS
             and known(st)]
    # «combien de territoires … vu que certaines communes sont regroupées»: what is counted is
    # the head, before any rarer word of the question's explanation.
    counted = counted_thing(question)
    if counted and counted[0].startswith("habit"):
        counted = counted + analyze("population")  # «population ANCT 3 630» counts them
    head = set(counted) if counted else (
        max(thing, key=lambda g: weights.get(g[0], 0.0))[1] if thing else set())
    for sentence in sentences:
        folded = fold_words(sentence)
        if all(re.search(p, folded) for p in places) and (
                not head or head & set(analyze(sentence))):
            return False
    return True


def _proper_names(question: str) -> list[tuple[str, set[str]]]:
    """The stems of the words that stand where names stand: written with a capital past
    the first word, or typed in lower case first or after «à» or «chez»
    («aix les bains ça fait cb», «a bozel c quoi le taux»)."""
    words = re.findall(r"[^\W_]+", question)
    out = []
    for i, w in enumerate(words):
        after = i > 0 and fold(words[i - 1]) in _BEFORE_NAMES and (
            fold(w) not in _AFTER_A_NOT_NAMES)
        named = (i > 0 and w[:1].isupper()) or i == 0 or after
        if named and len(w) >= (3 if after else 4):
            out += [(st, {st}) for st in analyze(w)]
    return out


_BEFORE_NAMES = {"a", "chez"}
# «à hauteur de», «à partir de», «à peu près»: «à» before an ordinary word.
_AFTER_A_NOT_NAMES = {"hauteur", "partir", "peu", "propos", "travers", "cause", "condition",
                      "raison", "savoir", "terme", "moins", "plus", "nouveau", "mesure",
                      "cote", "faire", "quoi", "quel", "quelle", "quels", "quelles", "combien",
                      "jour", "temps", "present", "long", "court", "priori", "titre", "charge",
                      "disposition", "destination", "proximite", "lieu", "date"}


def _unknown_word(groups: list[tuple[str, set[str]]], known: Callable[[str], bool],
                  misspelt: Callable[[str], bool]) -> bool:
    """A content word of 5 letters or more that no document uses, nor a typo of one."""
    return any(len(s) >= 5 and s not in QUESTION_TERMS and not known(s) and not misspelt(s)
               for s, _ in groups)


def _head_unknown(asked: str, known: Callable[[str], bool],
                  misspelt: Callable[[str], bool]) -> bool:
    """The head of the thing asked, «le salaire du chef de projet», «le taux de chômage»,
    has a word no document uses (nor a typo of one): its noun, or the noun it takes."""
    stems = analyze(asked)[:2]
    return any((i == 0 or len(st) >= 5) and not known(st) and not misspelt(st)
               for i, st in enumerate(stems))


def features(question: str, hits: list[Hit], idf: dict[str, float], *, best_semantic: float,
             sentence_lexical: float, type_asked: bool, type_ok: bool,
             out_of_scope: float, commune: tuple[str, str] | None = None,
             figure_asked: bool = False, asked: str | None = None,
             figure_sentences: list[str] | None = None, count_missing: bool = False
             ) -> Features:
    """``commune`` is the (INSEE, name) the question is about, if any;
    ``figure_sentences`` the candidate sentences that hold a figure of the type asked."""
    known: Callable[[str], bool] = getattr(idf, "known", lambda term: term in idf)
    misspelt: Callable[[str], bool] = getattr(idf, "misspelt", lambda term: False)
    groups = _term_groups(question)
    weights = {stem: idf.get(stem, 0.0) for stem, _ in groups}
    # A follow-up is read with the previous question before it («le plan propose cb de
    # mesures ; l'enquête a interrogé cb de ménages»): the passage that covers its own words
    # speaks of the thing asked, though not of the previous one.
    # Its own words are fewer: two thirds of them, not half.
    asked_groups = [(groups, 0.5)]
    if FOLLOW_UP_JOIN in question:
        asked_groups.append((_term_groups(question.rsplit(FOLLOW_UP_JOIN, 1)[-1]), 0.66))
    total = sum(weights.values())
    rare = {s: w for s, w in weights.items() if w >= RARE_IDF}
    rare_total = sum(rare.values())
    keys = key_terms(question, idf)
    best_cov, best_rare_missing = 0.0, 1.0 if rare_total else 0.0
    max_missing = 1.0
    contexts = [passage_context(h) for h in hits]
    for context in contexts:
        terms = set(analyze(context))
        covered = sum(weights[s] for s, alts in groups if alts & terms) / total if total else 0.0
        missing_idf = max((weights[s] for s, alts in groups if not alts & terms), default=0.0)
        max_missing = min(max_missing, missing_idf / _MAX_IDF)
        missing = (sum(w for s, w in rare.items()
                       if not any(s in alts and alts & terms for st, alts in groups if st == s))
                   / rare_total) if rare_total else 0.0
        if covered > best_cov:
            best_cov = covered
        best_rare_missing = min(best_rare_missing, missing)
    folded_all = fold(" ".join(contexts))
    all_terms = set(analyze(" ".join(contexts)))
    keys_missing = sum(1 for k in keys if fold(k) not in folded_all and not (
        set(analyze(k)) and set(analyze(k)) <= all_terms))
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    dense_top = max(dense) if dense else 0.0
    rest = sorted(dense, reverse=True)[1:5]
    margin = dense_top - (sum(rest) / len(rest)) if rest else 0.0
    joined = " ".join(h.text for h in hits)
    mismatch = (PERSON_QUESTION.search(question) and not _PERSON_A.search(joined)) or (
        asks_contact(question) and not _CONTACT_A.search(joined))
    return Features(
        coverage=best_cov, rare_missing=best_rare_missing, keys_missing=keys_missing,
        type_ok=1.0 if type_ok else 0.0, type_asked=1.0 if type_asked else 0.0,
        best_semantic=best_semantic, dense_top=dense_top, dense_margin=margin,
        sentence_lexical=sentence_lexical, out_of_scope=out_of_scope,
        person_or_contact_missing=1.0 if mismatch else 0.0,
        commune_missing=1.0 if commune and not any(about_commune(h, *commune) for h in hits[:3])
        else 0.0,
        max_missing_idf=max_missing if contexts else 1.0,
        # «combien d'habitants à Saint-Julien-Montdenis ?»: a figure about a place no
        # document names cannot be read in them.
        asked_unknown=1.0 if (asked and _head_unknown(asked, known, misspelt)) or (
            figure_asked and _unknown_word(_proper_names(question), known, misspelt))
        else 0.0,
        scope_missing=1.0 if figure_asked and figure_sentences is not None and _scope_missing(
            question, figure_sentences, groups, weights, known) else 0.0,
        count_missing=1.0 if count_missing else 0.0,
        commune_figure_missing=1.0 if commune and figure_asked and not any(
            about_commune(h, *commune) and any(_covers(h, g, weights, commune[1], known,
                                                       misspelt, share)
                                               for g, share in asked_groups)
            for h in hits) else 0.0,
    )


@dataclass
class AnswerabilityModel:
    """Logistic regression: P(the documents answer) = σ(w·x + b), refuse under ``threshold``."""

    weights: dict[str, float]
    bias: float
    threshold: float
    mean: dict[str, float]
    scale: dict[str, float]
    meta: dict[str, object]

    def probability(self, f: Features) -> float:
        if (f.person_or_contact_missing or f.commune_figure_missing or f.asked_unknown
                or f.scope_missing or f.count_missing):
            # A name, a phone number, or a figure about one commune asked, and none of the
            # passages holds one: whatever else they say, they do not answer.
            return 0.0
        if f.out_of_scope >= OFF_TOPIC and f.sentence_lexical < NO_SHARED_WORD:
            # «c quand la prochaine pleine lune ?»: taken for off-topic, and no sentence read
            # shares a word with it; the programme's dates would only look like an answer.
            return 0.0
        x = asdict(f)
        z = self.bias + sum(self.weights[k] * (float(x[k]) - self.mean[k]) / self.scale[k]
                            for k in self.weights)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    # Features computed from the embedding model: meaningless under another model.
    EMBEDDING_FEATURES = ("best_semantic", "dense_top", "dense_margin")

    def for_embedder(self, model_id: str) -> AnswerabilityModel:
        """This model, or, under an embedder it was not fitted with (the tests' hash
        embedder, a sentence-transformers model), the same without the embedding features."""
        if self.meta.get("embedder") in (None, model_id):
            return self
        weights = {k: (0.0 if k in self.EMBEDDING_FEATURES else w)
                   for k, w in self.weights.items()}
        return AnswerabilityModel(weights, self.bias, self.threshold, self.mean, self.scale,
                                  {**self.meta, "embedding_features": "off"})

    def with_threshold(self, threshold: float) -> AnswerabilityModel:
        return AnswerabilityModel(self.weights, self.bias, threshold, self.mean, self.scale,
                                  self.meta)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerabilityModel:
        """The model in ``path``, read once per process and change of the file."""
        try:
            return _load(path, path.stat().st_mtime_ns)
        except OSError as exc:
            raise ConfigError(f"answerability model unreadable: {path} ({exc})") from exc


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> AnswerabilityModel:
    try:
        return AnswerabilityModel(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ConfigError(f"answerability model unreadable: {path} ({exc})") from exc


def fit(rows: list[tuple[Features, bool]], *, l2: float = 0.05, epochs: int = 3000,
        lr: float = 0.1) -> tuple[dict[str, float], float, dict[str, float], dict[str, float]]:
    """Standardised features, L2-regularised logistic regression by gradient descent."""
    names = FEATURE_NAMES
    xs = [[float(asdict(f)[k]) for k in names] for f, _ in rows]
    ys = [1.0 if y else 0.0 for _, y in rows]
    n = len(xs)
    mean = {k: sum(x[i] for x in xs) / n for i, k in enumerate(names)}
    scale = {k: (math.sqrt(sum((x[i] - mean[k]) ** 2 for x in xs) / n) or 1.0)
             for i, k in enumerate(names)}
    z = [[(x[i] - mean[k]) / scale[k] for i, k in enumerate(names)] for x in xs]
    # Classes weighted: refusals are the minority and the costlier error.
    pos = sum(ys) or 1.0
    neg = (n - sum(ys)) or 1.0
    cw = [n / (2 * pos) if y else n / (2 * neg) for y in ys]
    w = [0.0] * len(names)
    b = 0.0
    for _ in range(epochs):
        gw = [0.0] * len(names)
        gb = 0.0
        for xi, yi, ci in zip(z, ys, cw, strict=True):
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, b + sum(
                wj * xj for wj, xj in zip(w, xi, strict=True))))))
            g = (p - yi) * ci
            gb += g
            for j, xj in enumerate(xi):
                gw[j] += g * xj
        w = [wj - lr * (gj / n + l2 * wj) for wj, gj in zip(w, gw, strict=True)]
        b -= lr * gb / n
    return dict(zip(names, w, strict=True)), b, mean, scale

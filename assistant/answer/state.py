"""Conversation state as data: which commune and which topic a turn is about, by written rules.

The rules, in order (see ``plan_turn``):

1. a commune named in the question wins;
2. else, for a follow-up («et sur le commerce ?»), the commune of the previous turn;
3. else, the commune the user selected (or their account's commune);
4. else, no commune.

A question that is not a follow-up never inherits the previous turn's commune or topic, and a
commune in scope never turns a definition («qu'est-ce qu'une ORT ?») into a status answer:
the intent decides what is answered, the commune only narrows where to look.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.answer.sentences import DEFINITION, FOLLOW_UP_JOIN
from assistant.answer.status import STATUS_CUE, asked_steps, status_query
from assistant.indexing.lexical import fold, fold_words

# «t'as un exemple en savoie ?», «y a des cas ?»: an example of what was just said.
_EXAMPLE_ASKED = (r"(?:(?:t['’ ]?as|tu as|vous avez|avez[ -]vous|y a|y a[ -]t[ -]il|il y a) )?"
                  r"(?:un|des|d['’ ]autres) (?:exemples?|cas)\b")
# Words that open an elliptic turn, and filler words around the new element.
_FOLLOW_UP_START = re.compile(
    r"^(et|puis|pareil|idem|meme chose|la meme chose|meme question|aussi|sinon|ok et|"
    r"d'accord et|et alors|et du coup|et pour|et chez|et a|et au|et sur|et en)\b|"
    # «on l'a ?», «elle est signée ?»: a pronoun standing for the previous subject.
    # «y en a une toute petite en savoie ?»: «en» stands for what was just asked about.
    r"^(il )?y en a\b|"
    r"^" + _EXAMPLE_ASKED + r"|"
    r"^(on|nous|vous) ((pourrait|pourrions|peut|pouvons|pourra|doit|devrait|va|veut|voudrait) )?"
    r"(l|la|le|les|en|y) |^(elle|il|ca|c) (est|a|sont|ont|etait)\b|"
    # «sa population ?», «cette étude date de quand ?», «le parcours il fait combien ?»:
    # a possessive, a demonstrative or a subject taken up by a pronoun points back.
    r"^(son|sa|ses|leur|leurs) |^(cette|ces|cet) |"
    # «celle de St Jean elle date de quand ?» after a list of studies: one of them.
    r"^(celle|celui|celles|ceux) (de|d|du|des|pour|a|sur)\b|"
    r"^(le|la|les|l) \w+( \w+)? (il|elle|ils|elles|on|ca) (?!faut|y a)|"
    # «elle prévoit combien de fiches ?», «il coûte combien ce scénario ?», «pour quel
    # montant ?»: a pronoun for the subject, or the question's end alone.
    r"^(il|elle|ils|elles|ca|cela) (?!faut|y a|s agit)\w+|"
    r"^pour (quel|quelle|quels|quelles|combien|qui|quand)\b|"
    # «c la plus petite des 14 ?»: the previous subject, compared; «… quand du coup ?»
    r"^(c|c est|cest) (la|le|les|l) (plus|moins|seule?|premier\w*|dernier\w*)\b|"
    r".*\b(du coup|dans ce cas|ca donne quoi|ca donne combien)$|"
    # «la renaturation ça rentre dedans ?»: «dedans» is the previous subject.
    r".*\b(la )?dedans$|"
    # «faut surveiller ça combien de temps ?»: «ça», the object of a verb, is the subject.
    r"^(?!.*\b(en france|national)).{0,40}\b(faut|faudra|faudrait|doit|doivent|peut|peuvent|"
    r"va|vont|pour|de|a) \w+(er|ir|re) (ca|cela)\b|"
    # «qui paye ?», «c'est quand ?», «combien ?»: a question word and at most two more.
    r"^(c.?est )?((avec|aupres de|par|pour|chez|de|sur|en|dans|pendant) )?"
    r"(qui|quand|combien|pourquoi|comment|"
    r"ou ca|lequel|laquelle)( [\w']+){0,2}$|"
    r"^(pendant|depuis|jusqu a|a partir de|a hauteur de) (combien|quand|quel\w*)\b|"
    r"^dont\b|"  # «dont le fonds friches ?»: a part of the previous figure
    # «genre quoi ?», «par exemple ?», «lesquels ?»: the same thing, in detail.
    r"^(genre|par exemple|concretement|precisement|c est a dire|comme quoi|lesquel\w*|"
    r"quoi exactement|a savoir|style)\b|"
    # «de quelle heure à quelle heure ?», «sur quelle période ?»: the question's end alone.
    r"^(de|a|sur|vers|en|dans) (quel|quelle|quels|quelles) \w+( (a|au|jusqu a) "
    r"(quel|quelle) \w+)?$|"
    # «c'est géré par qui localement ?»: a participle, then who.
    r"^(c.?est|il est|elle est|ils sont|elles sont) (\w+ )?(par|avec|pour|chez|aupres de) "
    r"(qui|quoi|quand|combien)\b|"
    # «c'est prévu quand ?»: a participle, then when.
    r"^(c.?est|il est|elle est) \w+ (quand|combien|ou)$|"
    r".*\b(ce|cet|cette|ces) (projet|etude|scenario|parcours|plan|operation|diagnostic|"
    r"document|site|friche|dispositif|poste|convention|option|action|aide|subvention|"
    r"enveloppe|mesure)s?\b"
)
# «notre», «chez nous», «ma commune»: the question is about the user's own commune.
OURS = re.compile(r"\b(notre|nos|nous|on|chez nous|ma commune)\b")
_FILLER = re.compile(
    r"\b(et|puis|pareil|idem|meme|chose|question|aussi|sinon|ok|alors|du|coup|pour|chez|sur|"
    r"a|au|aux|en|de|des|la|le|les|l|d|un|une|concernant|cote|niveau|question|svp|stp|"
    r"ca|cela|ce|qu|quoi|il|elle|ils|elles|y|est|dans|c|donc|nous|notre|nos|vous|votre|"
    r"on|avons|ont|celle|celui|celles|ceux|la|meme)\b"
)
# Words asking for an attribute of the previous topic («et la date ?», «et le montant ?»):
# the previous question is asked again with them.
_ATTRIBUTE = re.compile(
    r"\b(date|quand|montant|combien|taux|duree|delai|pourquoi|comment|qui|ou|salaire|"
    r"numero|tel|telephone|mail|email|courriel|adresse|contact|nom|budget|cout|prix|"
    r"signe|signee|signature|apres|avant|suite|ensuite|financement|financements|"
    r"financeurs?|subventions?)\b"
)
_MONEY_ATTRIBUTE = re.compile(r"\b(montant|budget|cout|prix|financ\w*|subventions?)\b")
_QUESTION_WORD = re.compile(r"\b(quoi|quel|quelle|quels|quelles|lequel|laquelle|est-ce|y a|"
                            r"peut|faut|doit)\b")
# «le parc prévu il…», «la zone bleue on…»: a subject put first, taken up by a pronoun.
_OWN_SUBJECT = re.compile(r"^(le|la|les|l) \w+( \w+){0,3} (il|elle|ils|elles|on) ")
_OBJECT_PRONOUN = re.compile(r"^(on|nous|vous) (\w+ )?(l|la|le|les|en|y) ")
_PRONOUN_START = re.compile(r"^(il|elle|ils|elles|ca|cela) ")
_SUBJECT_PRONOUN = re.compile(r"\b(il|elle|ils|elles)\b")
_DEMONSTRATIVE = re.compile(r"\b(ce|cet|cette|ces)\b")
# «pour y avoir droit», «là-dedans»: however long the question, it is about the previous
# subject («il y a» points at nothing). Makes a follow-up of a question that did not look
# like one.
_POINTS_AT_IT = re.compile(r"\b(elle|on|ils|elles|je|j|nous|vous) y\b|"
                           r"(?<!\bil )\by (?!(a|avait|aura|aurait|en a|en avait|a t il)\b)|"
                           r"\b(dedans|dessus|celui ci|celle ci)\b|"
                           r"\bpour (l|la|le|les|en) \w+(er|ir|re)\b")
# «c'est qui qui le pilote ?», «on la finance avec quoi ?»: an object pronoun before a verb
# of the programme's work stands for the previous subject.
_PRONOUN_OBJECT = re.compile(r"\b(qui|on|il|elle|ils|elles|ca|nous|vous) (le|la|les|l) "
                             r"(pilot|financ|pai|pay|port|ger|lanc|sign|demand|obtien|obten|"
                             r"touch|utilis|mont|anim|realis|redig|valid|vot|approuv|recrut|"
                             r"embauch|subventionn|accompagn|suiv|suit|coordonn|organis|prevo|"
                             r"propos|chiffr|estim|evalu|dirig|consult|instrui|attribu|verse|"
                             r"rembours|cofinanc|conduit|conduis|fix|calcul)\w*")
# «d'après l'étude», «pendant le diag»: the study just asked about, for its commune.
_THE_STUDY_AGAIN = re.compile(r"\b(l|le|la) (etude|diag|diagnostic|scenario|plan d actions|"
                              r"plan de financement|bilan d amenagement)\b")
# «l'anah elle en prend quel % là-dedans ?»: a share of the previous subject, whatever the
# scheme named. Keeps a follow-up that names a new scheme from standing alone.
_IN_IT = re.compile(r"\b(la dedans|dedans|la dessus|dessus|(il|elle|ils|elles|on|ca) en)\b")
_LINK = re.compile(r"^\s*(et|puis|pareil|idem|aussi|sinon|ok|alors)\b[\s,]*", re.IGNORECASE)


def _subject(topic: str) -> str:
    """The previous topic without its «c'est quoi»: «une opah-ru», what a follow-up is about
    («on pourrait en faire une chez nous ?» asks no definition)."""
    folded = fold(topic)
    m = DEFINITION.search(folded)
    if not m or len(folded) != len(topic):
        return topic
    return " ".join((topic[:m.start()] + " " + topic[m.end():]).split()) or topic


_ASKING = re.compile(r"(?<!\w)(dat\w* de quand|depuis quand|de quand|quand|combien|cb|"
                     r"pourquoi|comment|quel(le)?s?|c'?est quoi|quoi|koi|[àa] quelle date)(?!\w)",
                     re.IGNORECASE)


# «la commune elle en paye combien là-dedans ?»: «en», «là-dedans» point back at the subject.
_POINTS_BACK = re.compile(r"\b(en|y|dedans|la dedans|dessus|ca|cela|celui ci|celle ci)\b")
_THEN = FOLLOW_UP_JOIN


def own_words(query: str) -> str:
    """What this turn itself asks: a joined follow-up's part after the chain's subject
    («l'étude … date de quand ; le comité y avait qui» → «le comité y avait qui»); a bare
    «et celle de BSM ?» repeats the previous question whole."""
    return query.rsplit(_THEN, 1)[-1]


_ASKS_WHO = re.compile(r"\b(qui|ou|lequel|laquelle|lesquel\w*|est ce|y a)\b")


def _asks_its_own(text: str) -> bool:
    """An asking word of its own («c'est combien ?»); «ça donne quoi ?» asks the same thing
    again."""
    # «avec quoi», «sur quoi», «pour quoi faire»: a question of its own.
    return bool(_WITH_WHAT.search(fold(text))) or any(
        m.group(1).lower() not in ("quoi", "koi", "c'est quoi", "cest quoi")
        for m in _ASKING.finditer(text))


_WITH_WHAT = re.compile(r"\b(avec|par|sur|de|en|pour|dans|grace a) (quoi|koi)\b|"
                        r"\b(quoi|koi) comme\b")


def asked_words(query: str) -> str:
    """What this turn asks: its own words, or the whole chain when they ask nothing of
    their own («… date de quand ; et l'étude friche d'Ugine ?» asks the date again)."""
    own = own_words(query)
    return own if _asks_its_own(own) or _ASKS_WHO.search(fold(own)) else query


def _joined(topic: str, new: str) -> str:
    """The previous subject followed by the new words; when they ask their own question
    («et le loyer c'est combien ?» after «l'étude date de quand ?»), the previous
    question's own asking words go, or they would decide what kind of answer is wanted."""
    # «ça donne quoi ?» asks the same thing again; «c'est combien ?» asks its own.
    own_asking = _asks_its_own(new)
    folded = fold(new)
    if own_asking and (_OWN_SUBJECT.match(folded) or OURS.search(folded)) and not (
            _POINTS_BACK.search(folded) or _OBJECT_PRONOUN.match(folded)
            or _PRONOUN_OBJECT.search(folded)):
        # «le parc prévu il ferait quelle surface ?», «notre interco elle a quel siren ?»:
        # a subject of its own and a question of its own; the carried commune is enough.
        return new
    # A chain of follow-ups is about its first question's subject: «le plan mobilité de
    # BSM il coûte combien ?» → «c'est sur combien d'années ?» → «c'est qui qui finance ?»
    # asks who funds the plan, not who funds «combien d'années».
    subject = _subject(topic.split(_THEN)[0])
    if _THEN in topic and set(content_words(new)) <= _BARE_ASKING:
        # «avec qui ?» after «ils ont fait combien d'entretiens ?»: with whom those were
        # held, the last question's thing, not the chain's first subject alone.
        subject = topic
    if own_asking:
        # «le plan propose cb de mesures» → «le plan propose»: the thing counted before is
        # not the one asked now («et l'enquête elle a interrogé cb de ménages ?»).
        if not (_PRONOUN_START.match(_without_link(folded)) or _POINTS_BACK.search(folded)):
            # «ils seraient construits sous quelle forme ?», «ils en ont rencontré cb ?»: the
            # things counted are still the subject.
            subject = _COUNTED_THING.sub(" ", subject)
        subject = " ".join(_ASKING.sub(" ", subject).split()) or subject
    return f"{subject}{_THEN}{new}"


# «et celle sur les espaces publics ?», «celui de Moûtiers»: the same kind of thing, of another.
_THE_SAME_OF = re.compile(r"^(?:et |puis |ok )?(?:celle|celui|celles|ceux)(?: ci| la)? "
                          r"(?:sur|de|du|des|d|pour|a|au|aux|concernant|dans|en)\b")
_ORPHAN_PREPOSITION = re.compile(r"\b(?:a|à|au|aux|de|d|du|des|pour|sur|en|chez)\s*"
                                 r"(?=$|[?!.,]|\b(?:il|elle|ils|elles|on)\b)", re.IGNORECASE)
_COUNTED_THING = re.compile(r"\b(?:combien|cb|nombre) (?:de |d ?['’]?)\w+", re.IGNORECASE)


# «genre quoi ?», «lesquels concrètement ?»: more of what was just said.
_MORE_OF_IT = {"genre", "exemple", "exemples", "precisement", "concretement", "detail",
               "details", "lesquels", "lesquelles", "lequel", "laquelle", "quoi", "koi",
               "comme", "par", "dire", "savoir", "style", "exactement", "cest"}
# «avec qui ?», «pour quoi faire ?»: nothing asked but a question word.
_BARE_ASKING = {"avec", "qui", "quoi", "koi", "pourquoi", "comment", "quand", "ou", "par",
                "pour", "faire", "de", "cest", "est", "ce", "que", "c"}


def _without_link(text: str) -> str:
    return _LINK.sub("", text).strip(" ?!.")


# «c koi les conditions ?»: words that name no subject of their own.
_GENERIC_ASKED = {"conditions", "condition", "criteres", "critere", "regles", "regle",
                  "modalites", "etapes", "avantages", "inconvenients", "obligations",
                  "demarches", "pieces", "plafonds", "plafond", "delais", "delai", "koi",
                  "quoi", "est", "c", "cest"}
# «et son code insee c'est quoi ?»: a value of the previous subject, not a term to define.
_POSSESSIVE = re.compile(r"\b(son|sa|ses|leur|leurs)\b")
_CONTACT_ATTRIBUTE = re.compile(r"\b(numero(?! (siren|siret|insee|pvd|de fiche|d action))|tel|"
                                r"telephone|mail|email|courriel|adresse|contact)\b")


@dataclass
class Turn:
    """One exchange, as much as the next turn needs."""

    question: str
    commune: str | None = None  # INSEE code the turn was about
    intent: str = "programme"
    topic: str = ""  # the question as answered (follow-ups rewritten), without commune names

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Turn:
        intent = str(item.get("intent") or "programme")
        if intent == "general":  # histories written before the intent classifier
            intent = "programme"
        question = str(item.get("question", ""))
        return cls(question, item.get("commune"), intent, str(item.get("topic") or question))


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> Conversation:
        return cls([Turn.from_dict(i) for i in items])

    def to_list(self) -> list[dict[str, Any]]:
        return [asdict(t) for t in self.turns]

    @property
    def previous(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


@dataclass
class TurnPlan:
    """What this turn is about, and why."""

    query: str  # the question to answer (a follow-up rewritten with the previous topic)
    topic: str  # ``query`` without commune names, carried to the next turn
    intent: str
    commune: str | None  # INSEE
    commune_source: str  # "question" | "follow_up" | "selected" | "none"
    follow_up: bool


def looks_elliptic(question: str) -> bool:
    """«et pour Ugine ?», «pareil pour Moûtiers», «et la date ?»: short and opened by a link."""
    folded = fold(question).strip(" ?!.")
    # «et il y a quelle part des locaux vides depuis plus de 3 ans ?»: opened by «et», a
    # longer question still goes on with the previous one.
    limit = 16 if _LINK.match(folded) else 10
    return bool(_FOLLOW_UP_START.match(folded)) and len(folded.split()) <= limit


def _goes_on_with_the_record(question: str, previous: Turn, named: str | None,
                             selected: str | None) -> bool:
    """«l'adhésion c'était quand ?» right after where a commune's convention-cadre stands:
    another step of the same record, though nothing says it follows up."""
    folded = fold(question)
    return (previous.intent == "status" and bool(previous.commune) and named is None
            and not DEFINITION.search(folded) and bool(asked_steps(folded))
            and bool(STATUS_CUE.search(folded))
            and not (selected and selected != previous.commune and OURS.search(folded)))


def puts_its_subject_first(question: str) -> bool:
    """«la loi 3DS elle date de quand ?»: a subject of its own put first, nothing that points
    back («et», «son», «ce projet», «en», «là-dedans»); a follow-up only if what answers it
    is about the previous subject."""
    folded = fold(question)
    return bool(_OWN_SUBJECT.match(folded)) and not (
        _refers_back(folded) or _POINTS_BACK.search(folded))


def _refers_back(folded: str) -> bool:
    """A link («et …»), a possessive («son code insee») or a demonstrative («ce projet»):
    the words say the turn is about the previous subject."""
    return bool(_LINK.match(folded) or _POSSESSIVE.search(folded)
                or _DEMONSTRATIVE.search(folded))


def _only_generic(question: str) -> bool:
    """«c koi les conditions ?»: nothing but a generic word, about the previous subject."""
    words = content_words(question)
    return bool(words) and set(words) <= _GENERIC_ASKED and bool(set(words) - {
        "koi", "quoi", "est", "c", "cest"})


def strip_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the character ``spans`` (commune mentions)."""
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    return " ".join("".join(out).split())


def content_words(text: str) -> list[str]:
    """The words of a follow-up once links and fillers are gone: the new element asked."""
    return [w for w in re.findall(r"[a-z0-9]+", _FILLER.sub(" ", fold(text)))
            if len(w) > 1 or w.isdigit()]


# «l'étude patrimoine», «le plan mobilité»: a commune's study named in a follow-up.
_STUDY_WORDS = re.compile(r"\b(etude|diag\w*|plan (de )?mobilite|plan patrimoine|opah\w*|"
                          r"strategie)\b")
# «combien de communes …»: what a count counts, which «et d'intercos ?» replaces.
_COUNTED_BEFORE = re.compile(r"\b(combien|cb|nombre) (de |d ?')(\w+)")
_NATIONAL = re.compile(r"\b(en france|national\w*|dans toute la france|partout en france|"
                       r"dans tout le pays)\b")


# «sinon le chef de projet il a quoi comme missions ?», «autre question : …»: a new subject
# announced. A short «sinon pour Modane ?» still takes up the previous question.
_NEW_SUBJECT = re.compile(r"^(?:(?:bon|ok|d accord|merci)(?: \w+)? )?(?:et )?(?:sinon|"
                          r"(?:une )?autre (?:question|chose|sujet)|rien a voir|"
                          r"changement de sujet)\b(?P<rest>.*)$")
_IN_GENERAL = re.compile(r"\b(en general|generalement|de maniere generale|en regle generale)\b")


# The same announcement as typed, to drop from the question answered.
_ANNOUNCED = re.compile(r"^\s*(?:(?:bon|ok|d'accord|d’accord|d accord|merci)\b[^,]{0,20}?[,\s]+)?"
                        r"(?:et\s+)?(?:sinon|(?:une\s+)?autre\s+(?:question|chose|sujet)|"
                        r"rien\s+[àa]\s+voir|changement\s+de\s+sujet)\b[\s,:;.!–-]*",
                        re.IGNORECASE)


def without_announcement(question: str) -> str:
    """«sinon, le chef de projet il fait quoi ?» → «le chef de projet il fait quoi ?»:
    the announcement of a new subject says nothing about it."""
    rest = _ANNOUNCED.sub("", question, count=1)
    return rest if len(rest.split()) >= 4 else question


def starts_afresh(question: str) -> bool:
    """A question asked on its own, whatever came before: a national figure («ça fait cb de
    communes pvd en france ?») or a rule «en général», unless a link takes up the previous
    question («et au niveau national ?»); or a new subject announced («sinon, …»)."""
    words = fold_words(question)
    announced = _NEW_SUBJECT.match(words)
    if announced:
        return len(announced["rest"].split()) >= 4
    folded = fold(question)
    return bool(_NATIONAL.search(folded) or _IN_GENERAL.search(words)) and not _refers_back(
        folded)


# «et le département ?» after «la région elle met combien ?»: another funder of the same
# thing, not another project to fund.
_FUNDER_NAMED = re.compile(r"\b(departement|region|etat|anah|ademe|drac|banque des territoires|"
                           r"agence de l eau|detr|dsil|fonds vert|fonds friches|"
                           r"bdt|caisse des depots|europe\w*|feder|interco\w*|agglo\w*|"
                           r"communaute)\b")


# After the asking word, what a frame keeps: a unit («quel %», «combien d'€») or what is
# counted («combien de places»), not the complement naming the previous thing («du déficit»).
_COMPLEMENT = {"du", "des", "dans", "ds", "pour", "sur", "a", "au", "aux", "en", "la", "le",
               "les", "l", "chez", "pr", "avec", "par", "ce", "cette", "son", "sa", "ses"}


_SHARE_ASKED = re.compile(r"\b(combien|cb|montant|part|pourcentage|quel %|taux)\b|%")


def asking_frame(topic: str) -> str:
    """«les Échelles, l'agence de l'eau elle pèse quel % du total» → «agence de l eau quel %»:
    what the previous question asked and of which funder, without the thing it asked it
    of, for a follow-up that names another commune and another thing («et à BSM dans le plan
    mobilité ?»)."""
    folded = fold(topic.split(_THEN)[0])
    funder = _FUNDER_NAMED.search(folded)
    asking = _ASKING.search(folded)
    if asking is None:
        return funder.group(1) if funder else ""
    words = [asking.group(0)]
    rest = folded[asking.end():].split()
    if words[0] in ("combien", "cb") and rest[:1] in (["de"], ["d"]):
        words += rest[:2]
    else:
        for w in rest[:2]:
            if w in _COMPLEMENT:
                break
            words.append(w)
    return " ".join(([funder.group(1)] if funder else []) + words)


def _takes_up_the_study(folded: str, previous: Turn, named: str | None) -> bool:
    """«on la finance avec quoi d'après l'étude ?» right after a commune's study or project:
    that commune's study, though nothing else points back."""
    # A commune's project («la halle couverte d'Entrelacs») is read in its study too.
    return (named is None and bool(previous.commune)
            and bool(_THE_STUDY_AGAIN.search(folded)) and not DEFINITION.search(folded))


# «des sous pour rénover l'église ?», «quelles aides pour …»: which funding, asked of a thing
# («et pour la maison de santé ?» asks the same of another); not a figure of a commune's
# project («la friche, le bilan, les dépenses ça fait cb ?» → «et côté recettes ?»).
_FUNDING_LIST = re.compile(r"\b(quel\w* (financements?|aides?|subventions?|dispositifs?|fonds)|"
                           r"financ\w* pour|financer (nos|notre|le|la|les|un|une|des|l)|"
                           r"des sous|de l argent|aides? pour|subventions? pour|"
                           r"qui peut (nous )?financer|comment (on )?financ\w*)\b")


def plan_turn(
    question: str,
    *,
    intent: str,
    confidence: float,
    content_intent: str | None,
    named: str | None,
    named_spans: list[tuple[int, int]],
    selected: str | None,
    previous: Turn | None,
    min_confidence: float,
    new_subject: bool = False,
) -> TurnPlan:
    """Apply the rules above; ``content_intent`` is the intent of the follow-up's new words
    alone (``None`` when it has none or is unsure); ``new_subject``: the question names a
    scheme or a body the previous turn did not («le fonds vert il a été lancé quand ?»)."""
    without_names = strip_spans(question, named_spans)
    folded_question = fold(question)
    # Spoken French puts every subject first («le fonds vert il…»): that form points back
    # only when what it names was the previous subject; a link («et le fonds vert ?») or a
    # possessive («son code insee») always does.
    stands_alone = new_subject and not (
        _refers_back(folded_question) or _PRONOUN_START.match(folded_question)
        or _IN_IT.search(folded_question))
    stands_alone = stands_alone or starts_afresh(question)
    follow_up = previous is not None and (
        (not stands_alone and (intent == "follow_up" or looks_elliptic(question)
                               or bool(_POINTS_AT_IT.search(folded_question))
                               or (len(folded_question.split()) <= 12
                                   and bool(_PRONOUN_OBJECT.search(folded_question)))
                               or _takes_up_the_study(folded_question, previous, named)))
                                          or _goes_on_with_the_record(question, previous,
                                                                      named, selected)
                                          or _only_generic(without_names))
    if not follow_up:
        if intent == "follow_up":  # elliptic but nothing to follow: answer it as it stands
            intent = "programme"
        if confidence < min_confidence and intent not in ("out_of_scope",):
            intent = "programme"  # unsure: plain cited retrieval
        commune = named or selected
        source = "question" if named else ("selected" if selected else "none")
        return TurnPlan(without_announcement(question), without_announcement(without_names),
                        intent, commune, source, False)

    assert previous is not None
    commune = named or previous.commune or selected
    source = "question" if named else ("follow_up" if previous.commune else (
        "selected" if selected else "none"))
    words = content_words(without_names)
    if not words:
        # «et pour Ugine ?»: the previous question again, for this commune; «et nous ?»,
        # «on l'a ?» after a rule of the programme: where our commune stands on it.
        repeat, query = previous.intent, previous.topic
        if repeat == "programme" and commune and OURS.search(fold(without_names)):
            # Asked of the commune's record: the steps the topic names, not its other words.
            repeat, query = "status", status_query(previous.topic) or previous.topic
        return TurnPlan(query, previous.topic, repeat, commune, source, True)
    folded = fold(without_names)
    if set(words) <= _MORE_OF_IT:
        # «genre quoi ?» after «l'étude prévoit des animations ?»: which ones, i.e. the
        # same question, read for its details.
        return TurnPlan(previous.topic, previous.topic, previous.intent, commune, source, True)
    numbers = re.findall(r"\d[\d  .]*\d|\d", without_names)
    old_numbers = re.findall(r"\d[\d  .]*\d|\d", previous.topic)
    if numbers and len(old_numbers) == 1 and len(words) <= 3:
        # «et une de 500 ?» after «une commune de 25000 habitants peut être PVD ?»: the
        # same question with this figure.
        query = previous.topic.replace(old_numbers[0], numbers[0].strip(), 1)
        return TurnPlan(query, query, previous.intent, commune, source, True)
    if re.match(_EXAMPLE_ASKED, folded):
        # «t'as un exemple en savoie ?» after «une commune de 700 habitants peut être PVD
        # ?»: an example of that, searched with it (not the criteria again).
        query = _joined(previous.topic, _without_link(without_names))
        return TurnPlan(query, query, previous.intent if previous.intent != "eligibility"
                        else "programme", commune, source, True)
    if set(words) <= _GENERIC_ASKED and DEFINITION.search(folded):
        # «c koi les conditions ?» after «on est éligible au Denormandie ?»: its conditions.
        query = _joined(previous.topic, _without_link(without_names))
        return TurnPlan(query, query, previous.intent if previous.intent != "eligibility"
                        else "programme", commune, source, True)
    on_a_study = previous.intent == "studies" or bool(_STUDY_WORDS.search(fold(previous.topic)))
    if DEFINITION.search(folded) and on_a_study and _LINK.match(folded):
        # «et les principes communs à tous les aménagements c koi ?» after a study: what
        # that study says, for its commune.
        query = _joined(previous.topic, _without_link(without_names))
        return TurnPlan(query, query, previous.intent, commune, source, True)
    if DEFINITION.search(folded) and not (_POSSESSIVE.search(folded)
                                          or _POINTS_AT_IT.search(folded)):
        # «et le dispositif du département, c'est quoi ?»: a term to define stands alone,
        # about no commune.
        query = _without_link(without_names)
        return TurnPlan(query, query, "programme", None, "none", True)
    if commune and asked_steps(folded) and STATUS_CUE.search(folded):
        # «et leur conv cadre elle est signée ?»: where a step stands, for the same commune,
        # whatever the previous question was about.
        query = _without_link(without_names)
        before = asked_steps(previous.topic)
        if _PRONOUN_START.match(folded) and before and set(before) < set(asked_steps(folded)):
            # «elle a été signée quel jour ?» after our convention-cadre: that one, not
            # every step that is signed.
            query = _joined(previous.topic, query)
        return TurnPlan(query, query, "status", commune, source, True)
    kind = _STUDY_WORDS.search(fold(previous.topic)) or re.search(r"\betudes\b",
                                                                    fold(previous.topic))
    own = _without_link(without_names)
    if kind and _THE_SAME_OF.match(folded) and not (_asks_its_own(own)
                                                     or _ASKS_WHO.search(fold(own))):
        # «et celle sur les espaces publics aux Échelles ?» after «l'étude commerce de Moûtiers
        # elle date de quand»: the same kind of thing (a study), of this other subject, and
        # the same question (one asking its own, «celle de Montmélian porte sur quoi», is
        # read below).
        new = re.sub(r"^(?:celle|celui|celles|ceux)(?:[- ]ci|[- ]l[àa])?\s+", "",
                     _without_link(without_names), flags=re.IGNORECASE)
        # The commune's name is gone (it is the plan's commune): so is its preposition.
        new = _ORPHAN_PREPOSITION.sub(" ", new)
        thing = "etude" if kind.group(0).startswith("etude") else kind.group(0)
        query = " ".join(f"{thing} {new} {asking_frame(previous.topic)}".split())
        new_intent = previous.intent if previous.intent not in ("out_of_scope", "follow_up") else (
            "programme")
        return TurnPlan(query, query, new_intent, commune, source, True)
    if named and len(words) >= 3 and (_QUESTION_WORD.search(folded) or _ASKING.search(folded)):
        # «et modane elle dépend de quelle communauté de communes ?», «et à montmélian les
        # points de vue ça coûte combien ?»: a question of its own
        # about the commune it names; the previous topic has nothing to add.
        query = _without_link(without_names)
        intent = content_intent if content_intent not in (None, "follow_up") else intent
        return TurnPlan(query, query, intent if intent != "follow_up" else "programme",
                        commune, source, True)
    first_asked = fold(previous.topic.split(_THEN)[0])
    if named and named != previous.commune and not (
            _asks_its_own(folded) or _QUESTION_WORD.search(folded)) and _FUNDER_NAMED.search(
            first_asked) and _SHARE_ASKED.search(first_asked):
        # «et à BSM l'interco dans le plan mobilité ?» after «aux Échelles, l'agence de l'eau
        # elle pèse quel % ?»: the same thing asked (which funder, what share) of what this
        # commune names; the previous commune's project would only mislead. (Without a
        # funder, «et pour le plan de Montmélian ?» after «le comité de pilotage de l'OPAH
        # se réunit cb de fois ?» keeps the previous subject, below.)
        new = _without_link(without_names)
        frame = asking_frame(previous.topic)
        if _FUNDER_NAMED.search(folded):  # «l'interco»: this funder, not the previous one
            frame = _FUNDER_NAMED.sub(" ", frame).strip()
        query = f"{new} {frame}".strip()
        return TurnPlan(query, query, previous.intent, commune, source, True)
    if _OBJECT_PRONOUN.match(folded) or (
            _PRONOUN_START.match(folded) and not _ATTRIBUTE.search(folded)):
        # «on pourrait en faire une chez nous ?» after what an OPAH-RU is: that thing, here;
        # «il existe toujours ?» after the State's fund for brownfields: that fund.
        query = _joined(previous.topic, _without_link(without_names))
        new_intent = previous.intent if previous.intent not in ("studies", "out_of_scope") else (
            "programme")
        return TurnPlan(query, query, new_intent, commune, source, True)
    if _ATTRIBUTE.search(folded):
        # «et la date ?», «et son salaire ?»: the previous topic, asking for this attribute.
        new_intent = "contact" if _CONTACT_ATTRIBUTE.search(folded) else previous.intent
        if _MONEY_ATTRIBUTE.search(folded) and not (previous.commune and previous.intent in (
                "studies", "programme", "status")):
            # «et le financement ?» after a rule or a scheme: who funds it; after a commune's
            # study or project, the study's own plan (read below as a detail of it).
            new_intent = "funding"
        if content_intent == "out_of_scope" and new_intent != "contact":
            new_intent = content_intent
        if new_intent == "studies":
            new_intent = "programme"  # a detail of a study: read in the study, not a list
        query = _joined(previous.topic, _without_link(without_names))
        if new_intent != "funding" and _MONEY_ATTRIBUTE.search(folded) and not re.search(
                r"\b(combien|montant)\b", folded):
            # «et le financement ?» after a commune's study: its table of funders and sums.
            query += " : financeurs et montants"
        return TurnPlan(query, query, new_intent, commune, source, True)
    if len(words) > 3 or _QUESTION_WORD.search(folded):
        # «et c'était quoi l'objectif au départ ?»: a question about the previous topic; a
        # question complete in itself («et il y a quelle part des locaux vides depuis plus
        # de trois ans ?») is searched as typed, the previous topic would only blur it.
        query = _without_link(without_names) if len(words) >= 6 and not (
            _POINTS_AT_IT.search(folded)) else (
            _joined(previous.topic, _without_link(without_names)))
        intent = content_intent if content_intent not in (None, "follow_up") else previous.intent
        return TurnPlan(query, query, intent, commune, source, True)
    if commune and previous.intent == "status" and asked_steps(folded):
        # «et la convention cadre ?» after where the ORT stands: that step, same record.
        query = _without_link(without_names)
        return TurnPlan(query, query, "status", commune, source, True)
    if named and _STUDY_WORDS.search(folded) and not (
            _QUESTION_WORD.search(folded) or _ASKING.search(folded)):
        # «et ds l'étude patrimoine de Montmélian ?» after «le plan mobilité de BSM, le
        # département il met cb ?»: the previous question, asked of that commune's study.
        query = _joined(previous.topic, _without_link(without_names))
        return TurnPlan(query, query, previous.intent, commune, source, True)
    funder = _FUNDER_NAMED.search(folded)
    if previous.intent == "funding" and content_intent not in ("contact", "eligibility") and (
            not _SUBJECT_PRONOUN.search(folded)) and not funder and (
            _FUNDING_LIST.search(fold(previous.topic)) or not previous.commune):
        # «et pour la maison de santé ?» after «des sous pour rénover l'église ?»: the same
        # question about another project.
        query = f"financements pour {' '.join(words)}"
        return TurnPlan(query, query, "funding", commune, source, True)
    if funder and len(words) <= 3 and (previous.intent == "funding" or re.search(
            r"\b(financ\w*|pay\w*|pai\w*|met|mettrait|donne)\b", fold(previous.topic))):
        # «et le département ?» after «la région elle met combien ?»: the same question, of
        # that funder.
        before = fold(previous.topic)
        query = (_FUNDER_NAMED.sub(funder.group(1), before, count=1)
                 if _FUNDER_NAMED.search(before)
                 else _joined(previous.topic, _without_link(without_names)))
        return TurnPlan(query, query, "funding", commune, source, True)
    if _SUBJECT_PRONOUN.search(folded):
        # «et les études préalables elle les paye aussi ?»: «elle» is the previous subject.
        query = _joined(previous.topic, _without_link(without_names))
        new_intent = content_intent if content_intent not in (None, "follow_up") else (
            previous.intent)
        return TurnPlan(query, query, new_intent, commune, source, True)
    counted = _COUNTED_BEFORE.search(fold(previous.topic))
    if counted and re.match(r"^(et )?(de |d ?')", folded) and len(words) <= 3:
        # «et d'intercos ?» after «ya combien de communes pvd en savoie»: the same count, of
        # that thing.
        before = fold(previous.topic)
        query = f"{before[:counted.start(3)]}{' '.join(words)}{before[counted.end(3):]}"
        return TurnPlan(query, query, previous.intent, commune, source, True)
    if _IN_IT.search(folded) or _POINTS_AT_IT.search(folded):
        # «et les frais financiers là-dedans ?» after the brownfield's balance: in it.
        query = _joined(previous.topic, _without_link(without_names))
        return TurnPlan(query, query, previous.intent if previous.intent != "studies" else (
            "programme"), commune, source, True)
    # «et sur le commerce ?»: a new subject, same commune.
    new_intent = content_intent if content_intent not in (None, "follow_up") else "programme"
    if new_intent == "status":
        new_intent = "programme"  # a theme in a commune is looked up, not read in the record
    query = " ".join(words)
    return TurnPlan(query, query, new_intent, commune, source, True)

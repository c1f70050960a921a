"""Test helper: a tiny PVD-like corpus (one 3-page PDF, Markdown files, manifest, registry)."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import Settings

MODANE = "73157"
UGINE = "73303"

PDF_PAGES = [
    [
        "Petites villes de demain : critères d'éligibilité",
        "",
        "Le programme Petites villes de demain s'adresse aux communes de moins de",
        "20 000 habitants qui exercent des fonctions de centralité pour leur territoire.",
        "Les communes sont sélectionnées par le préfet de département avec les partenaires.",
        "Les critères d'éligibilité tiennent compte de la fragilité du centre-bourg.",
    ],
    [
        "Le chef de projet",
        "",
        "Le poste de chef de projet est financé à hauteur de 75 % par l'État,",
        "la Banque des Territoires et l'Agence nationale de l'habitat.",
        "Le reste du financement du chef de projet est pris en charge par la collectivité.",
    ],
    [
        "L'opération de revitalisation de territoire",
        "",
        "L'opération de revitalisation de territoire (ORT) est un outil juridique",
        "créé par la loi ÉLAN de 2018 pour redynamiser les centres-villes.",
        "La convention-cadre signée par la ville principale vaut ORT.",
    ],
]

FILES: dict[str, str] = {
    "programme/pvd-etapes.md": (
        "# Les étapes du programme\n\n"
        "## Sélection\n\nLa sélection des communes est faite par l'État et ses partenaires "
        "au niveau départemental.\n\n"
        "## Convention d'adhésion\n\nLa convention d'adhésion est signée dans les mois qui "
        "suivent la sélection et ouvre les premiers financements d'ingénierie.\n\n"
        "## Convention-cadre\n\nLa convention-cadre est signée dans les dix-huit mois qui "
        "suivent la convention d'adhésion ; elle vaut opération de revitalisation de "
        "territoire.\n\n## Mise en œuvre\n\nLa mise en œuvre du plan d'actions est suivie "
        "en comité de projet au moins une fois par an.\n"
    ),
    "suivi/suivi-modane.md": (
        "# Fiche de suivi PVD – Modane\n\n"
        "## Convention-cadre\n\nLa convention-cadre de Modane a été signée le 29 mars 2023 "
        "avec l'État et la communauté de communes Haute Maurienne Vanoise.\n\n"
        "## Projets\n\nModane réaménage la place de l'Hôtel de ville et rénove les façades "
        "de la rue principale avec une opération façades.\n"
    ),
    "suivi/suivi-ugine.md": (
        "# Fiche de suivi PVD – Ugine\n\n"
        "## Convention-cadre\n\nLa date de signature de la convention-cadre d'Ugine avec "
        "l'État et la communauté d'agglomération Arlysère est non renseignée.\n"
    ),
    "etudes/etude-ugine-friche.md": (
        "# Ugine – Reconversion d'une friche industrielle\n\n"
        "## Synthèse\n\nL'étude propose de reconvertir la friche des anciennes aciéries "
        "en quartier mixte avec des logements et une halle artisanale.\n"
    ),
    "glossaire/glossaire-pvd.md": (
        "# Glossaire PVD\n\n"
        "ANCT : Agence nationale de la cohésion des territoires.\n\n"
        "ORT : Opération de revitalisation de territoire, créée par la loi ÉLAN.\n\n"
        "EPCI : Établissement public de coopération intercommunale.\n\n"
        "OPAH-RU : Opération programmée d'amélioration de l'habitat – renouvellement urbain.\n"
    ),
}

MANIFEST = f"""
[[document]]
file = "programme/pvd-eligibilite.pdf"
title = "Critères d'éligibilité et financement du chef de projet"
type = "programme"
date = "2024-03-01"

[[document]]
file = "programme/pvd-etapes.md"
title = "Les étapes du programme"
type = "programme"
date = "2024"

[[document]]
file = "suivi/suivi-modane.md"
title = "Fiche de suivi PVD – Modane"
type = "suivi"
communes = ["{MODANE}"]
date = "2023-06-01"

[[document]]
file = "suivi/suivi-ugine.md"
title = "Fiche de suivi PVD – Ugine"
type = "suivi"
communes = ["{UGINE}"]
date = "2022"

[[document]]
file = "etudes/etude-ugine-friche.md"
title = "Ugine – Reconversion d'une friche (étude d'exemple)"
type = "etude"
communes = ["{UGINE}"]
exemple = true
visibility = "public"
date = "2022"

[[document]]
file = "glossaire/glossaire-pvd.md"
title = "Glossaire PVD"
type = "glossaire"
"""


def make_corpus(root: Path) -> Path:
    """Write the corpus under ``root`` and return it."""
    from pdf_factory import make_pdf

    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "programme").mkdir(parents=True, exist_ok=True)
    make_pdf(root / "programme" / "pvd-eligibilite.pdf", PDF_PAGES,
             page_numbers="Page {n} / {total}", title="Critères d'éligibilité")
    (root / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    return root


def save_registry(settings: Settings) -> None:
    """A two-commune registry in the index folder (what `assistant communes import` writes)."""
    from assistant.communes.registry import Commune, Registry

    Registry([
        Commune(MODANE, "Modane", "73", "Savoie", epci_siren="200070340",
                epci_name="CC Haute Maurienne Vanoise"),
        Commune(UGINE, "Ugine", "73", "Savoie", epci_siren="200068674",
                epci_name="CA Arlysère"),
    ]).save(settings.registry_path)

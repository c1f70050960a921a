"""Tests of the commune registry: CSV import, JSON storage, name matching, text detection."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.communes.names import normalize, osa_distance
from assistant.communes.registry import Commune, Registry, RegistryError, load_registry
from assistant.errors import AssistantError
from assistant.settings import get_settings

FIXTURE = Path(__file__).parent / "fixtures" / "communes_anct_sample.csv"
ANCT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pvd_communes_anct_2021.csv"
HEADER = (
    "id_pvd,insee_com,lib_com,lib_reg,insee_dep,lib_dep,regroupement,pop,date_signature,"
    "siren_epci,lib_epci"
)


@pytest.fixture(scope="module")
def sample() -> Registry:
    return Registry.from_csv(FIXTURE)


@pytest.fixture(scope="module")
def savoie(sample: Registry) -> Registry:
    """The 14 Savoie communes only, as in the corpus registry."""
    return Registry(c for c in sample.all() if c.dep_code == "73")


SPELLINGS = [
    ("Les Echelles", "73105"),
    ("les échelles", "73105"),
    ("LES ECHELLES", "73105"),
    ("Les Échelles", "73105"),
    ("echelles", "73105"),
    ("st jean de maurienne", "73248"),
    ("Saint Jean de Maurienne", "73248"),
    ("Saint-Jean-de-Maurienne", "73248"),
    ("ST-JEAN-DE-MAURIENNE", "73248"),
    ("saint jean de mauriene", "73248"),
    ("bourg st maurice", "73054"),
    ("Bourg-St-Maurice", "73054"),
    ("bourg saint maurice", "73054"),
    ("Bourg-Saint-Maurice", "73054"),
    ("valgelon", "73215"),
    ("Valgelon-La Rochette", "73215"),
    ("valgelon la rochette", "73215"),
    ("la rochette", "73215"),  # former commune, now the second half of Valgelon-La Rochette
    ("moutiers", "73181"),
    ("Moûtiers", "73181"),
    ("MOUTIERS", "73181"),
    ("montmelian", "73171"),
    ("Montmélian", "73171"),
    ("montmellian", "73171"),
    ("st pierre d albigny", "73270"),
    ("saint-pierre-d'albigny", "73270"),
    ("Saint Pierre d’Albigny", "73270"),
    ("st pierre dalbigny", "73270"),
    ("entrelacs", "73010"),
    ("albertvile", "73011"),
    ("Albertville", "73011"),
    ("albertvil", "73011"),
    ("ugine", "73303"),
    ("Ugine", "73303"),
    ("fourneaux", "73117"),
    ("modane", "73157"),
    ("Modanne", "73157"),
    ("st genix", "73236"),
    ("saint genix les villages", "73236"),
    ("Saint-Genix-les-Villages", "73236"),
    ("st-genix-les-villages", "73236"),
    ("le pont de beauvoisin", "73204"),
    ("pont de beauvoisin", "73204"),
    ("Le Pont-de-Beauvoisin", "73204"),
    ("73204", "73204"),  # an INSEE code is accepted too
    ("73999", None),  # a code that is not in the registry
]


@pytest.mark.parametrize(("spelling", "insee"), SPELLINGS)
def test_match_spellings(savoie: Registry, spelling: str, insee: str | None) -> None:
    match = savoie.match(spelling)
    if insee is None:
        assert match.status == "not_found"
    else:
        assert match.status == "found", (spelling, match)
        assert match.commune is not None and match.commune.insee == insee


def test_match_on_sample_with_other_departments(sample: Registry) -> None:
    assert sample.match("thones").commune.insee == "74280"  # type: ignore[union-attr]
    assert sample.match("Ahun").commune.insee == "23001"  # type: ignore[union-attr]
    assert sample.match("st junien").commune.insee == "87187"  # type: ignore[union-attr]


def test_match_priorities() -> None:
    reg = Registry(
        [
            Commune("11111", "Montagne", "01", "Ain"),
            Commune("22222", "Montagny", "02", "Aisne"),
            Commune("33333", "Montagne-Haute", "03", "Allier"),
        ]
    )
    assert reg.match("montagne").commune.insee == "11111"  # exact beats fuzzy and prefix
    assert reg.match("montagny").method == "exact"
    m = reg.match("montagnx")
    assert m.status == "ambiguous" and m.method == "fuzzy"  # two names at distance 1


def test_short_names_need_exact_spelling(savoie: Registry) -> None:
    # "ugin" is 4 letters: no typo tolerance under 5 characters.
    assert savoie.match("ugin").status == "not_found"
    assert savoie.match("xyzzy").status == "not_found"


def test_not_found_has_suggestions(savoie: Registry) -> None:
    match = savoie.match("Montmelianne-sur-Isère")
    assert match.status == "not_found"
    match = savoie.match("Albertvilleeee")
    assert match.status == "not_found"
    assert [c.insee for c in match.candidates][:1] == ["73011"]


def test_empty_name_rejected(savoie: Registry) -> None:
    with pytest.raises(ValueError, match="vide"):
        savoie.match("  ")


def test_pont_de_beauvoisin_ambiguous_after_merge(savoie: Registry, tmp_path: Path) -> None:
    reg = Registry(savoie.all())
    assert reg.match("Le Pont de Beauvoisin").status == "found"
    isere = tmp_path / "isere.csv"
    isere.write_text(
        HEADER + "\npvd-84-3873-9,38315,Le Pont-de-Beauvoisin,Auvergne-Rhône-Alpes,38,"
        "Isère,NA,3630,,200068567,CC Les Vals du Dauphiné\n",
        encoding="utf-8",
    )
    report = reg.merge(Registry.from_csv(isere))
    assert (report.added, report.updated, report.total) == (1, 0, 15)
    match = reg.match("Le Pont de Beauvoisin")
    assert match.status == "ambiguous"
    # Neither has a programme territory in this fixture: candidates come by INSEE code.
    assert [c.insee for c in match.candidates] == ["38315", "73204"]
    for hinted, insee in [
        ("Le Pont-de-Beauvoisin (Savoie)", "73204"),
        ("Le Pont-de-Beauvoisin (73)", "73204"),
        ("le pont de beauvoisin 38", "38315"),
        ("Le Pont-de-Beauvoisin en Isère", "38315"),
        ("Le Pont-de-Beauvoisin, Isere", "38315"),
    ]:
        m = reg.match(hinted)
        assert m.status == "found" and m.commune.insee == insee, hinted  # type: ignore[union-attr]
    m = reg.match("pont de beauvoisin", prefer_dep="Savoie")
    assert m.commune is not None and m.commune.insee == "73204"
    m = reg.match("pont de beauvoisin", prefer_dep="38")
    assert m.commune is not None and m.commune.insee == "38315"
    # A department matching neither keeps the ambiguity rather than guessing.
    assert reg.match("Le Pont-de-Beauvoisin", prefer_dep="75").status == "ambiguous"
    # Same programme: the ANCT id links the Savoie and Isère communes.
    members = reg.territory_members(reg.get("73204"))  # type: ignore[arg-type]
    assert {c.insee for c in members} == {"73204", "38315"}


FIND_CASES = [
    ("Où en est Modane ?", ["73157"]),
    ("Quels projets à st jean de maurienne ?", ["73248"]),
    ("Des aides pour bourg st maurice", ["73054"]),
    ("Les Echelles", ["73105"]),
    ("Quelle convention pour Les Échelles ?", ["73105"]),
    ("valgelon", ["73215"]),
    ("Le Pont de Beauvoisin", ["73204"]),
    ("Modane et Fourneaux ont-ils signé ?", ["73157", "73117"]),
    ("Où en est la commune de fourneaux ?", ["73117"]),
    ("centre-bourg de Saint-Pierre-d'Albigny", ["73270"]),
    ("OÙ EN EST MODANE", ["73157"]),
    ("Le projet d'albertvile avance-t-il ?", ["73011"]),
    ("Ahun", ["23001"]),
    ("Rue piétonne à Moûtiers", ["73181"]),
    ("Le marché de Rue et celui d'Eu", ["80688", "76255"]),
    ("Thônes est en Haute-Savoie", ["74280"]),
    # negatives: no commune named
    ("Quels sont les critères d'éligibilité ?", []),
    ("Il y a eu une rue piétonne au bord de la mer", []),
    ("Une approche à toutes les échelles du territoire", []),
    ("Les fourneaux de la cantine sont neufs", []),
    ("Quel financement pour le centre-bourg ?", []),
    ("Ahunville n'existe pas", []),
    ("La fête de la Saint-Julien", []),  # one letter from Saint-Junien
    ("Le chef de projet est-il cofinancé à 75 % ?", []),
]


@pytest.mark.parametrize(("question", "expected"), FIND_CASES)
def test_find_in_text(sample: Registry, question: str, expected: list[str]) -> None:
    found = [m.commune.insee for m in sample.find_in_text(question, prefer_dep="73") if m.commune]
    assert found == expected


def test_find_in_text_ambiguous_and_hints(sample: Registry) -> None:
    [m] = sample.find_in_text("Où en est Le Pont de Beauvoisin ?")
    assert m.status == "ambiguous" and {c.insee for c in m.candidates} == {"73204", "38315"}
    assert m.query == "Le Pont de Beauvoisin"
    q = "Où en est Le Pont-de-Beauvoisin (Savoie) ?"
    [m] = sample.find_in_text(q)
    assert m.commune is not None and m.commune.insee == "73204"
    assert q[m.start : m.end] == "Le Pont-de-Beauvoisin"  # type: ignore[index]
    [m] = sample.find_in_text("Le Pont-de-Beauvoisin en Isère a-t-il un chef de projet ?")
    assert m.commune is not None and m.commune.insee == "38315"
    [m] = sample.find_in_text("Le Pont-de-Beauvoisin en Haute-Savoie")  # wrong: stays ambiguous
    assert m.status == "ambiguous"


def test_find_in_text_fast_on_national_list(sample: Registry) -> None:
    reg = Registry(sample.all())
    for i in range(1600):
        reg.merge(Registry([Commune(f"{10000 + i:05d}", f"Villeneuve-sur-Test{i}", "10", "Aube")]))
    reg.find_in_text("amorce")  # builds the index
    question = (
        "Quels sont les projets de revitalisation à Saint-Jean-de-Maurienne et à Modane en 2024 ?"
    )
    start = time.perf_counter()
    for _ in range(20):
        found = reg.find_in_text(question)
    assert (time.perf_counter() - start) / 20 < 0.05
    assert [m.commune.insee for m in found if m.commune] == ["73248", "73157"]


def test_normalize_and_distance() -> None:
    assert normalize("St-Jean-de-Maurienne") == "saint jean de maurienne"
    assert normalize("Saint-Pierre-d’Albigny") == "saint pierre d albigny"
    assert normalize("CŒUR de Savoie") == "coeur de savoie"
    assert osa_distance("albertvile", "albertville", 2) == 1
    assert osa_distance("modnae", "modane", 2) == 1  # transposition
    assert osa_distance("abc", "xyz", 1) == 2  # above the limit → limit + 1


# ---- import, storage -----------------------------------------------------------------------


def test_import_fixture(sample: Registry) -> None:
    assert len(sample) == 22
    albertville = sample.get("73011")
    assert albertville is not None
    assert albertville.population == 18899 and albertville.epci_siren == "200068997"
    assert albertville.dep_name == "Savoie" and albertville.region == "Auvergne-Rhône-Alpes"
    assert albertville.regroupement is None  # "NA"
    test_row = sample.get("99001")
    assert test_row is not None and test_row.population is None and test_row.epci_siren is None
    assert [c.insee for c in sample.by_epci("200041010")] == ["73171", "73215", "73270"]
    assert {c.insee for c in sample.territory_members(sample.get("73157"))} == {"73157", "73117"}  # type: ignore[arg-type]
    assert [c.insee for c in sample.territory_members(sample.get("23001"))] == ["23001"]  # type: ignore[arg-type]


def test_csv_semicolon_cp1252_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = (
        HEADER.replace(",", ";") + ";pop_insee_2021;territoire\n"
        "pvd-84-73-5;73157;Modane;Auvergne-Rhône-Alpes;73;Savoie;NA;3 097;;200070340;"
        "CC Haute-Maurienne Vanoise;2944;modane-fourneaux\n"
        "pvd-84-73-5;73117;Fourneaux;Auvergne-Rhône-Alpes;73;Savoie;NA;676;;200070340;"
        "CC Haute-Maurienne Vanoise;700;modane-fourneaux\n"
        "pvd-84-73-8;73181;Moûtiers;Auvergne-Rhône-Alpes;73;Savoie;NA;3501;;200023299;"
        "CC Cœur de Tarentaise;3475;moutiers\n"
        "x;1004;Ambérieu-test;Auvergne-Rhône-Alpes;1;Ain;NA;12;;;\n"
    )
    path.write_bytes(text.encode("cp1252"))
    reg = Registry.from_csv(path)
    modane = reg.get("73157")
    assert modane is not None and modane.population == 3097 and modane.population_insee_2021 == 2944
    assert modane.territoire == "modane-fourneaux"
    assert reg.get("73181").name == "Moûtiers"  # type: ignore[union-attr]
    assert reg.get("73181").epci_name == "CC Cœur de Tarentaise"  # type: ignore[union-attr]
    # A spreadsheet dropped the leading zeros: padded back.
    assert reg.get("01004") is not None and reg.get("01004").dep_code == "01"  # type: ignore[union-attr]
    assert {c.insee for c in reg.territory_members(modane)} == {"73157", "73117"}


def test_csv_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        (
            "\ufeff" + HEADER + "\n,73010,Entrelacs,ARA,73,Savoie,NA,6268,,200068674,CA Grand Lac\n"
        ).encode("utf-8")
    )
    assert Registry.from_csv(path).get("73010").name == "Entrelacs"  # type: ignore[union-attr]


def test_csv_missing_columns_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("insee_com,lib_com,lib_dep\n73010,Entrelacs,Savoie\n", encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        Registry.from_csv(path)
    message = str(err.value)
    assert isinstance(err.value, AssistantError)
    for column in ("insee_dep", "siren_epci", "lib_epci", "pop"):
        assert column in message
    assert "lib_com," not in message.split("trouvées")[0]


def test_csv_invalid_rows_skipped_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        HEADER + "\nx,999999,Trifouilly,R,99,D,NA,999999,,NA,NA\n"
        ",73010,Entrelacs,ARA,73,Savoie,NA,beaucoup,,200068674,CA Grand Lac\n",
        encoding="utf-8",
    )
    reg = Registry.from_csv(path)
    assert len(reg) == 1 and reg.get("73010").population is None  # type: ignore[union-attr]
    assert any("999999" in w for w in reg.warnings)
    assert any("beaucoup" in w for w in reg.warnings)


def test_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="introuvable"):
        Registry.from_csv(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RegistryError, match="vide"):
        Registry.from_csv(empty)
    only_bad = tmp_path / "only_bad.csv"
    only_bad.write_text(HEADER + "\nx,12,X,R,99,D,NA,1,,NA,NA\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="aucune ligne valide"):
        Registry.from_csv(only_bad)


def test_save_load_roundtrip(sample: Registry, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "communes.json"
    sample.save(path)
    loaded = Registry.load(path)
    assert [c.to_dict() for c in loaded.all()] == [c.to_dict() for c in sample.all()]
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(RegistryError, match="illisible"):
        Registry.load(path)
    path.write_text('{"format": "autre"}', encoding="utf-8")
    with pytest.raises(RegistryError, match="registre"):
        Registry.load(path)


def test_merge_keeps_known_values() -> None:
    base = Registry(
        [
            Commune(
                "73157",
                "Modane",
                "73",
                "Savoie",
                population=3097,
                population_insee_2021=2944,
                territoire="modane-fourneaux",
            )
        ]
    )
    incoming = Registry(
        [
            Commune(
                "73157", "Modane", "73", "Savoie", region="Auvergne-Rhône-Alpes", population=3100
            ),
            Commune("73117", "Fourneaux", "73", "Savoie"),
        ]
    )
    report = base.merge(incoming)
    assert (report.added, report.updated, report.unchanged, report.total) == (1, 1, 0, 2)
    modane = base.get("73157")
    assert modane is not None
    assert (modane.population, modane.population_insee_2021, modane.territoire) == (
        3100,
        2944,
        "modane-fourneaux",
    )
    assert base.merge(incoming).unchanged == 2
    assert base.match("fourneaux").status == "found"  # name index rebuilt after merge


def test_load_registry_order(tmp_path: Path, sample: Registry) -> None:
    settings = get_settings(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus")
    assert len(load_registry(settings)) == 0
    registre = tmp_path / "corpus" / "registre"
    registre.mkdir(parents=True)
    (registre / "communes-pvd-savoie.csv").write_text(
        FIXTURE.read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert len(load_registry(settings)) == 22
    Registry(sample.all()[:3]).save(settings.registry_path)
    assert len(load_registry(settings)) == 3


def test_load_registry_is_cached_until_the_file_changes(tmp_path: Path, sample: Registry) -> None:
    settings = get_settings(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus")
    Registry(sample.all()[:3]).save(settings.registry_path)
    first = load_registry(settings)
    assert load_registry(settings) is first  # one read per process and file version
    Registry(sample.all()[:5]).save(settings.registry_path)  # `assistant communes import`
    again = load_registry(settings)
    assert again is not first and len(again) == 5


@pytest.mark.skipif(not ANCT.exists(), reason="shared ANCT list not available")
def test_import_national_list() -> None:
    reg = Registry.from_csv(ANCT)
    assert len(reg) == 1606  # 1,607 rows, one test row with INSEE "999999" skipped
    assert any("999999" in w for w in reg.warnings)
    thones = reg.match("thones")
    assert thones.commune is not None and thones.commune.insee == "74280"
    assert thones.commune.dep_name == "Haute-Savoie"
    assert reg.match("Le Pont-de-Beauvoisin").status == "ambiguous"
    assert reg.match("Le Pont-de-Beauvoisin (Savoie)").commune.insee == "73204"  # type: ignore[union-attr]
    for spelling, insee in SPELLINGS:
        if insee and spelling not in (
            "le pont de beauvoisin",
            "pont de beauvoisin",
            "Le Pont-de-Beauvoisin",
        ):
            m = reg.match(spelling, prefer_dep="73")
            assert m.commune is not None and m.commune.insee == insee, spelling
    for question, expected in FIND_CASES:
        found = [m.commune.insee for m in reg.find_in_text(question, prefer_dep="73") if m.commune]
        assert found == expected, question


def test_territory_codes_include_the_commune_and_its_partners(savoie: Registry) -> None:
    montmelian = savoie.match("Montmélian").commune
    codes = savoie.territory_codes(montmelian)
    assert montmelian.insee in codes
    assert {c.insee for c in savoie.territory_members(montmelian)} <= codes and len(codes) == 3

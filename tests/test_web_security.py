"""Attacks on the running app (issue 13, web side), over HTTP against the real app:
forged upload paths, upload limits and visibility, one role-aware listing, sessions."""

from __future__ import annotations

import asyncio
import csv
import html
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from assistant import service
from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.settings import get_settings
from assistant.web import auth, tabs, uploads
from assistant.web.throttle import LoginThrottle
from assistant.web.users import UserStore

PASSWORD = "motdepasse-agate"
GLOSSARY_TERM = "ZORGLUB"  # only in the interne glossary
GLOSSARY = f"""# Glossaire PVD interne

{GLOSSARY_TERM} : Zone opérationnelle de revitalisation globale urbaine et locale.

QUIDAM : Quartier d'intervention durable et d'aménagement mixte du centre.

FRIBOUL : Fonds régional d'investissement pour les boutiques et l'urbanisme local.
"""
MANIFEST = """
[[document]]
file = "glossaire/glossaire-pvd.md"
title = "Glossaire PVD"
type = "glossaire"
visibility = "interne"

[[document]]
file = "programme/pvd-presentation.md"
title = "Présentation confidentielle du programme"
type = "programme"
visibility = "interne"
communes = ["73250"]

[[document]]
file = "programme/pvd-etapes.md"
title = "Étapes internes"
type = "programme"
visibility = "interne"

[[document]]
file = "programme/pvd-eligibilite.md"
title = "Critères d'éligibilité"
type = "programme"
visibility = "public"
"""


def _corpus(root: Path) -> Path:
    files = {
        "glossaire/glossaire-pvd.md": GLOSSARY,
        "programme/pvd-presentation.md": "# Présentation\n\nLe programme accompagne les "
        "communes dans leur projet de revitalisation pendant six ans.\n",
        "programme/pvd-eligibilite.md": "# Éligibilité\n\nLa sélection retient les communes "
        "de moins de 20 000 habitants exerçant des fonctions de centralité.\n",
        "programme/pvd-etapes.md": "# Étapes\n\nLa convention d'adhésion engage la "
        "commune ; la convention-cadre suit dans les dix-huit mois.\n",
        "manifest.toml": MANIFEST,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("security")
    with pytest.MonkeyPatch.context() as patch:
        # Gradio's upload folder and cache of this app only: what it copies can be listed.
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        settings = get_settings(embedder="hash", index_dir=root / "index",
                                corpus_dir=_corpus(root / "corpus"), max_upload_files=3,
                                max_file_mb=1.0)
        assert not service.ingest(settings).failed
        store = UserStore(settings.users_path)
        for name, role in (("marie", Role("agate")), ("paul", Role("elu", "73157")),
                           ("lea", Role("agate")), ("bob", Role("agate"))):
            store.add(name, role, PASSWORD)
        from assistant.web.app import create_app

        app, blocks = create_app(settings, start_ingest=False)
        with TestClient(app) as client:  # lifespan on: Gradio's queue runs events
            yield {"settings": settings, "app": app, "blocks": blocks, "client": client,
                   "root": root, "gradio": root / "gradio"}


def _login(env: dict[str, Any], name: str, password: str = PASSWORD,
           **headers: str) -> Any:
    r = env["client"].post("/login", data={"username": name, "password": password},
                           headers=headers, follow_redirects=False)
    env["client"].cookies.clear()  # each request below says which cookie it sends
    return r


def _cookie(env: dict[str, Any], name: str) -> str:
    r = _login(env, name)
    assert r.status_code == 303, r.text
    return r.cookies[auth.COOKIE]


def _headers(cookie: str | None) -> dict[str, str]:
    return {"cookie": f"{auth.COOKIE}={cookie}"} if cookie else {}


def _call(env: dict[str, Any], api: str, data: list[Any], cookie: str | None) -> tuple[Any, Any]:
    """POST /gradio_api/call/API then, if accepted, read the event: (status, payload)."""
    client = env["client"]
    r = client.post(f"/gradio_api/call/{api}", json={"data": data}, headers=_headers(cookie))
    if r.status_code != 200:
        return r.status_code, r.json()
    stream = client.get(f"/gradio_api/call/{api}/{r.json()['event_id']}",
                        headers=_headers(cookie)).text
    kind = "complete" if "event: complete" in stream else "error"
    payload = stream.split("data:", 1)[-1].strip()
    return kind, json.loads(payload) if kind == "complete" else payload


def _file(path: str, name: str = "x.md", meta: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"path": path, "orig_name": name}
    if meta:
        data["meta"] = {"_type": "gradio.FileData"}
    return data


def _all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _sources(settings: Any) -> set[str]:
    return {d.source for d in service.open_index(settings).catalog.documents()}


def _upload(env: dict[str, Any], cookie: str | None, *files: tuple[str, bytes]) -> Any:
    return env["client"].post(
        "/gradio_api/upload", headers=_headers(cookie),
        files=[("files", (name, body, "text/markdown")) for name, body in files])


# -- item 1: forged upload paths --------------------------------------------------------------


def test_forged_upload_paths_refused_before_any_file_is_touched(env: dict[str, Any]) -> None:
    settings = env["settings"]
    phrase = f"phrase cible {uuid.uuid4().hex}"
    target = env["root"] / "serveur" / f"cible-{uuid.uuid4().hex[:8]}.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(f"# Fichier du serveur\n\nLa {phrase} ne doit jamais sortir.\n",
                      encoding="utf-8")
    env["gradio"].mkdir(exist_ok=True)
    link = env["gradio"] / "lien.md"  # inside the upload folder, pointing outside it
    link.symlink_to(target)
    before = set(_all_files(env["gradio"]))
    agate = _cookie(env, "marie")
    forged = [
        [[_file(str(target))], "public", "", ""],
        [[_file(str(target), meta=False)], "public", "", ""],
        [[_file(str(link))], "public", "", ""],
        [[_file(str(env["gradio"] / ".." / "serveur" / target.name))], "public", "", ""],
        [[_file("http://127.0.0.1:9/secret.md")], "public", "", ""],
    ]
    for cookie in (agate, None):
        for data in forged:
            status, body = _call(env, "do_upload", data, cookie)
            assert status == (400 if cookie else 403), (data, body)
            assert ("Réservé au personnel" in body["detail"] if cookie is None
                    else "Fichier refusé" in body["detail"])
        # The queue route the browser uses is guarded the same way.
        fn_index = next(i for i, f in env["blocks"].fns.items() if f.name == "do_upload")
        r = env["client"].post("/gradio_api/queue/join", headers=_headers(cookie), json={
            "data": forged[0], "fn_index": fn_index, "session_hash": "abc"})
        assert r.status_code in (400, 403)
    # Nothing copied into Gradio's cache, nothing kept, nothing indexed.
    assert set(_all_files(env["gradio"])) == before
    assert not any(p.name == target.name for p in _all_files(settings.index_dir))
    assert target.name not in _sources(settings)
    hits = service.search(settings, phrase, k=5, role=Role("admin"))
    assert all(h.source != target.name for h in hits)


def test_deeply_nested_request_is_refused_not_a_500(env: dict[str, Any]) -> None:
    body = '{"data": ' + "[" * 5000 + "]" * 5000 + "}"
    r = env["client"].post("/gradio_api/call/do_upload", content=body,
                           headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_do_upload_checks_the_path_itself(env: dict[str, Any], tmp_path: Path) -> None:
    """Behind the guard, the upload action refuses a path outside the upload folder too."""
    outside = tmp_path / "dehors.md"
    outside.write_text("# Dehors\n\nTexte hors du dossier d'envoi.\n", encoding="utf-8")
    lines = uploads.process_upload(env["settings"], [str(outside)], visibility="public")
    assert len(lines) == 1 and "fichier refusé" in lines[0]
    assert "dehors.md" not in _sources(env["settings"])


# -- items 2 and 8: uploads ---------------------------------------------------------------------


def test_upload_visibility_commune_and_type(env: dict[str, Any]) -> None:
    settings, blocks = env["settings"], env["blocks"]
    radio = next(b for b in blocks.blocks.values()
                 if getattr(b, "elem_id", None) == "pvd-up-visibility")
    assert radio.value == "interne"  # the default choice
    agate = _cookie(env, "marie")
    phrase = "kiosque à musique restauré"
    body = f"# Note kiosque\n\nLe {phrase} ouvre au printemps.\n".encode()
    (path,) = _upload(env, agate, ("note-kiosque.md", body)).json()
    status, out = _call(env, "do_upload", [[_file(path, "note-kiosque.md")], "interne", "", ""],
                        agate)
    assert status == "complete" and "visibilité : interne" in out[0], out
    assert not Path(path).exists()  # Gradio's temporary copy is gone once kept

    def seen(role: Role) -> bool:
        return any(h.source == "note-kiosque.md"
                   for h in service.search(settings, phrase, k=5, role=role))

    assert seen(Role("agate")) and not seen(Role("public"))
    assert not seen(Role("elu", "73157"))
    # Sent again as «commune» for Modane, as a «suivi»: the choice is applied to the index.
    (path,) = _upload(env, agate, ("note-kiosque.md", body)).json()
    status, out = _call(env, "do_upload",
                        [[_file(path, "note-kiosque.md")], "commune", "73157", "suivi"], agate)
    assert status == "complete", out
    assert seen(Role("elu", "73157")) and not seen(Role("public"))
    doc = tabs.find_document(service.open_index(settings), "note-kiosque.md")
    assert doc.meta["visibility"] == "commune" and doc.meta["communes"] == ["73157"]
    assert doc.meta["doc_type"] == "suivi"
    # «commune» needs a commune.
    (path,) = _upload(env, agate, ("autre.md", b"# Autre\n\nAutre texte.\n")).json()
    status, out = _call(env, "do_upload", [[_file(path, "autre.md")], "commune", "", ""], agate)
    assert status == "error" and "demande de choisir la commune" in out


def test_anonymous_upload_refused_and_limits(env: dict[str, Any]) -> None:
    before = set(_all_files(env["gradio"]))
    r = _upload(env, None, ("a.md", b"# A\n\nTexte.\n"))
    assert r.status_code == 403 and "Réservé au personnel" in r.json()["detail"]
    paul = _cookie(env, "paul")
    assert _upload(env, paul, ("a.md", b"# A\n\nTexte.\n")).status_code == 403
    assert set(_all_files(env["gradio"])) == before
    agate = _cookie(env, "marie")
    many = [(f"f{i}.md", b"# F\n\nTexte.\n") for i in range(4)]  # max_upload_files = 3
    r = _upload(env, agate, *many)
    assert r.status_code == 413 and "Trop de fichiers" in r.json()["detail"]
    big = [(f"g{i}.md", b"x" * 1_500_000) for i in range(3)]  # 4.5 MB > 3 x 1 MB + 1 MB
    r = _upload(env, agate, *big)
    assert r.status_code == 413 and "trop volumineux" in r.json()["detail"]
    assert _upload(env, agate, *many[:3]).status_code == 200
    # Gradio's recording upload is not used by this app: closed for everyone.
    r = env["client"].post("/gradio_api/process_recording", headers=_headers(agate),
                           files=[("files", ("a.wav", b"RIFF", "audio/wav"))])
    assert r.status_code == 404


def test_failed_upload_is_not_kept(env: dict[str, Any]) -> None:
    agate = _cookie(env, "marie")
    (path,) = _upload(env, agate, ("rapport-casse.pdf", b"%PDF-1.4 pas un vrai pdf")).json()
    status, out = _call(env, "do_upload", [[_file(path, "rapport-casse.pdf")], "interne", "",
                                            ""], agate)
    assert status == "complete" and "Échec" in out[0], out
    folder = env["settings"].index_dir / "uploads"
    assert not (folder / "rapport-casse.pdf").exists()
    assert "rapport-casse.pdf" not in (folder / "manifest.toml").read_text(encoding="utf-8")


def test_retention_purges_old_uploads_and_exports(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    settings = get_settings(embedder="hash", index_dir=tmp_path / "index",
                            upload_retention_hours=1)
    old_upload = tmp_path / "gradio" / ("a" * 64)
    new_upload = tmp_path / "gradio" / ("b" * 64)
    other = tmp_path / "gradio" / "pas-a-nous"
    old_export = Path(tempfile.mkdtemp(prefix=uploads.EXPORT_PREFIX))
    new_export = Path(tempfile.mkdtemp(prefix=uploads.EXPORT_PREFIX))
    for folder in (old_upload, new_upload, other):
        folder.mkdir(parents=True)
        (folder / "f.md").write_text("x", encoding="utf-8")
    two_hours_ago = time.time() - 7200
    for folder in (old_upload, other, old_export):
        os.utime(folder, (two_hours_ago, two_hours_ago))
    orphan = settings.index_dir / "uploads" / "echec.md"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("x", encoding="utf-8")
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    try:
        assert uploads.purge_expired(settings) >= 2
        assert not old_upload.exists() and not old_export.exists()
        assert new_upload.exists() and new_export.exists() and other.exists()
        assert uploads.purge_orphans(settings, set()) == ["echec.md"]
    finally:
        for folder in (old_export, new_export):
            if folder.exists():
                os.rmdir(folder)


# -- item 4: one role-aware listing ---------------------------------------------------------


PAGE = ["status", "timer", "commune_state", "table", "remove", "communes", "contacts",
        "checklist", "timeline", "after", "reading", "glossary", "commune", "s_commune",
        "s_epci", "d_commune", "up_commune"]  # on_load's outputs, in order


def _page(env: dict[str, Any], user: str | None) -> dict[str, Any]:
    on_load = next(f.fn for f in env["blocks"].fns.values() if f.name == "on_load")
    cookies = {}
    if user:
        account = UserStore(env["settings"].users_path).get(user)
        cookies[auth.COOKIE] = auth.make_session(env["settings"], user,
                                                 generation=account.generation)
    out = on_load(SimpleNamespace(cookies=cookies, headers={}))
    assert len(out) == len(PAGE)
    return dict(zip(PAGE, out, strict=True))


def test_discover_shows_only_what_the_role_may_see(env: dict[str, Any]) -> None:
    page = _page(env, None)
    glossary, timeline, reading = page["glossary"], page["timeline"], page["reading"]
    assert GLOSSARY_TERM not in glossary and "QUIDAM" not in glossary
    etapes = tabs.find_document(service.open_index(env["settings"]), "programme/pvd-etapes.md")
    assert etapes.doc_id not in timeline and "Étapes internes" not in timeline
    assert timeline.count("Lire la section") == 1  # only the public Sélection step
    assert "Glossaire abrégé" in glossary  # the static fallback instead
    assert "Présentation confidentielle" not in reading
    assert html.escape("Critères d'éligibilité") in reading
    for name in ("commune", "s_commune", "d_commune", "up_commune"):
        assert "73250" not in json.dumps(page[name].choices), name
    assert "confidentielle" not in page["table"]
    page = _page(env, "marie")
    glossary, timeline, reading = page["glossary"], page["timeline"], page["reading"]
    row = next(r for r in page["table"].split("<tr>") if "Présentation confidentielle" in r)
    assert "Interne (Agate)" in row
    assert etapes.doc_id in timeline and GLOSSARY_TERM in glossary
    assert "Présentation confidentielle" in reading
    for name in ("commune", "s_commune", "d_commune", "up_commune"):
        assert "73250" in json.dumps(page[name].choices), name


# -- item 7: sessions -----------------------------------------------------------------------


def test_logout_and_new_password_end_sessions(env: dict[str, Any]) -> None:
    settings, client = env["settings"], env["client"]
    interne = tabs.find_document(service.open_index(settings), "glossaire/glossaire-pvd.md")
    url = f"/documents/{interne.doc_id}"
    first, second = _cookie(env, "lea"), _cookie(env, "lea")
    assert client.get(url, headers=_headers(first)).status_code == 200
    r = client.post("/logout", headers=_headers(first), follow_redirects=False,
                    data={"csrf": auth.csrf_token(settings, first)})
    assert r.status_code == 303
    # A copy of the cookie kept by an attacker, and the other device, are logged out.
    assert client.get(url, headers=_headers(first)).status_code == 404
    assert client.get(url, headers=_headers(second)).status_code == 404
    third = _cookie(env, "lea")
    assert client.get(url, headers=_headers(third)).status_code == 200
    new_password = "nouveau-secret-du-jour"
    r = CliRunner().invoke(
        __import__("assistant.cli.main", fromlist=["cli"]).cli,
        ["users", "password", "lea", "--password-stdin", "--index", str(settings.index_dir)],
        input=new_password + "\n")
    assert r.exit_code == 0, r.output
    assert client.get(url, headers=_headers(third)).status_code == 404
    assert _login(env, "lea").status_code == 401
    assert _login(env, "lea", new_password).status_code == 303


def test_logout_needs_post_and_csrf(env: dict[str, Any]) -> None:
    settings, client = env["settings"], env["client"]
    cookie = _cookie(env, "paul")
    page = client.get("/logout", headers=_headers(cookie), follow_redirects=False)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert auth.csrf_token(settings, cookie) in page.text
    r = client.post("/logout", headers=_headers(cookie), data={}, follow_redirects=False)
    assert r.status_code == 403
    assert "paul" in _account(env, cookie)
    line = _account(env, cookie)
    assert 'action="/logout"' in line and auth.csrf_token(settings, cookie) in line


def _account(env: dict[str, Any], cookie: str) -> str:
    account = next(f.fn for f in env["blocks"].fns.values() if f.name == "account_html")
    return account(SimpleNamespace(cookies={auth.COOKIE: cookie}, headers={}))


def test_login_throttled_per_account(env: dict[str, Any]) -> None:
    throttle: LoginThrottle = env["app"].state.login_throttle
    throttle._states.clear()
    statuses = [_login(env, "bob", f"mauvais-{i}").status_code for i in range(200)]
    limit = env["settings"].login_max_failures
    assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}
    r = _login(env, "bob")  # the right password, while locked
    assert r.status_code == 429 and auth.COOKIE not in r.headers.get("set-cookie", "")
    assert "Trop de tentatives" in r.text and "réessayez dans" in r.text
    assert int(r.headers["Retry-After"]) > 0
    # Another account from the same address is not locked by bob's failures alone...
    throttle._states.pop(("address", "testclient"), None)
    assert _login(env, "marie").status_code == 303
    # ...and once the lock has passed, bob's right password works again.
    real = throttle.clock
    throttle.clock = lambda: real() + 3 * 3600
    try:
        assert _login(env, "bob").status_code == 303
    finally:
        throttle.clock = real
        throttle._states.clear()


def test_login_throttled_per_address() -> None:
    now = [1000.0]
    settings = get_settings(login_max_failures=5, login_ip_max_failures=20)
    throttle = LoginThrottle(settings, clock=lambda: now[0])
    for i in range(20):
        assert throttle.wait_seconds(f"inconnu{i}", "10.0.0.9") == 0
        throttle.failure(f"inconnu{i}", "10.0.0.9")
    assert throttle.wait_seconds("quelqu-un", "10.0.0.9") > 0  # any name from there
    assert throttle.wait_seconds("quelqu-un", "10.0.0.10") == 0
    first = throttle.wait_seconds("x", "10.0.0.9")
    now[0] += first + 1
    throttle.failure("y", "10.0.0.9")
    assert throttle.wait_seconds("x", "10.0.0.9") > first  # the lock doubles


def test_password_checks_run_in_a_bounded_pool() -> None:
    """A flood of logins waits for (or is refused by) two argon2 workers; pages are not
    starved of threads or CPU."""

    class SlowStore:
        def verify(self, name: str, password: str) -> None:
            time.sleep(0.2)

    checks = auth.PasswordChecks(SlowStore(), workers=1)  # type: ignore[arg-type]

    async def flood() -> list[Any]:
        return await asyncio.gather(*(checks.verify("x", "y") for _ in range(10)))

    results = asyncio.run(flood())
    assert results.count(False) == 6 and results.count(None) == 4


def test_secure_cookie_over_https(env: dict[str, Any]) -> None:
    plain = _login(env, "paul").headers["set-cookie"].lower()
    proxied = _login(env, "paul", **{"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert "secure" not in plain and "secure" in proxied.lower()


@pytest.mark.parametrize(("password", "message"), [
    ("password", "trop court"),
    ("motdepasse123", "trop courant"),
    ("Password123456!", "trop courant"),
    ("aaaaaaaaaaaaaaa", "trop simple"),
    ("marie-2024-secret", "l'identifiant"),
])
def test_password_policy(tmp_path: Path, password: str, message: str) -> None:
    store = UserStore(tmp_path / "users.json")
    with pytest.raises(ConfigError, match=message):
        store.add("marie", Role("agate"), password)
    from assistant.cli.main import cli

    r = CliRunner().invoke(cli, ["users", "add", "marie", "--role", "agate", "--password-stdin",
                                 "--index", str(tmp_path)], input=password + "\n")
    assert r.exit_code == 1 and message in r.output


# -- item 9: CSV cells, /openapi.json -------------------------------------------------------


def test_csv_cells_cannot_be_formulas(tmp_path: Path) -> None:
    row = {"rank": 1, "doc_id": "d", "title": "=HYPERLINK(\"http://x\",\"clic\")",
           "source": "@SUM(A1)", "type": "+autre", "page": None, "score": 0.5,
           "communes": "-73157", "epci": "=EPCI", "date": "+2024", "exemple": False,
           "url": "/documents/d", "passage": "\t=1+1"}
    path = tabs.export_csv([row], tmp_path / "r.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, cells = list(csv.reader(handle, delimiter=";"))[:2]
    assert header == tabs.CSV_HEADERS
    assert cells[1] == "'=HYPERLINK(\"http://x\",\"clic\")" and cells[2] == "'@SUM(A1)"
    assert cells[3] == "'+autre" and cells[5] == "'-73157" and cells[10] == "'\t=1+1"
    assert cells[6] == "'=EPCI" and cells[7] == "'+2024"
    assert cells[0] == "1" and cells[4] == ""


def test_openapi_json_is_not_a_500(env: dict[str, Any]) -> None:
    assert env["client"].get("/openapi.json").status_code == 404

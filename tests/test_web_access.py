"""Roles on the web: login, sessions, and what each role may see or download."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from fastapi.testclient import TestClient

from assistant import service
from assistant.search.access import Role
from assistant.settings import get_settings
from assistant.web import auth, tabs
from assistant.web.users import UserStore

PASSWORD = "motdepasse-agate"
SECRET_PHRASE = "plan de financement confidentiel"
PUBLIC_PHRASE = "halle du marché couvert"

MANIFEST = """
[[document]]
file = "interne/note-interne.md"
title = "Note interne Agate"
type = "autre"
visibility = "interne"

[[document]]
file = "programme/fiche-publique.md"
title = "Fiche publique"
type = "programme"
visibility = "public"
"""


def _corpus(root: Path) -> Path:
    (root / "interne").mkdir(parents=True)
    (root / "programme").mkdir(parents=True)
    (root / "interne" / "note-interne.md").write_text(
        f"# Note interne Agate\n\nLe {SECRET_PHRASE} du centre-bourg est en cours de "
        "négociation avec les partenaires financeurs du programme.\n", encoding="utf-8")
    (root / "programme" / "fiche-publique.md").write_text(
        f"# Fiche publique\n\nLa commune rénove la {PUBLIC_PHRASE} pour accueillir les "
        "producteurs locaux chaque samedi matin.\n", encoding="utf-8")
    (root / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("access")
    settings = get_settings(embedder="hash", index_dir=root / "index",
                            corpus_dir=_corpus(root / "corpus"))
    report = service.ingest(settings)
    assert not report.failed, report.failed
    store = UserStore(settings.users_path)
    store.add("marie", Role("agate"), PASSWORD)
    store.add("paul", Role("elu", "73157"), PASSWORD)
    from assistant.web.app import create_app

    app, blocks = create_app(settings, start_ingest=False)
    idx = service.open_index(settings)
    ids = {tabs.find_document(idx, name).doc_id: name
           for name in ("interne/note-interne.md", "programme/fiche-publique.md")}
    by_name = {v: k for k, v in ids.items()}
    return {"settings": settings, "app": app, "blocks": blocks,
            "interne": by_name["interne/note-interne.md"],
            "public": by_name["programme/fiche-publique.md"]}


def _login(client: TestClient, name: str, password: str) -> Any:
    return client.post("/login", data={"username": name, "password": password},
                       follow_redirects=False)


def _fn(blocks: gr.Blocks, name: str) -> Any:
    return next(f.fn for f in blocks.fns.values() if f.name == name)


def _session(settings: Any, user: str, **kwargs: Any) -> str:
    """A cookie for ``user``'s current generation (a logout in an earlier test bumps it)."""
    account = UserStore(settings.users_path).get(user)
    generation = account.generation if account is not None else 0
    return auth.make_session(settings, user, generation=generation, **kwargs)


def _request(settings: Any, user: str | None = None, **cookie: str) -> SimpleNamespace:
    """What the Gradio callbacks read: the cookies of the page's request."""
    cookies = dict(cookie)
    if user is not None:
        cookies[auth.COOKIE] = _session(settings, user)
    return SimpleNamespace(cookies=cookies, headers={})


def test_anonymous_sees_only_public_documents(env: dict[str, Any]) -> None:
    client = TestClient(env["app"])
    assert client.get(f"/documents/{env['interne']}").status_code == 404
    assert client.get(f"/documents/{env['interne']}/text").status_code == 404
    r = client.get(f"/documents/{env['public']}")
    assert r.status_code == 200 and PUBLIC_PHRASE in r.text
    assert client.get(f"/documents/{env['public']}/text").status_code == 200


def test_login_page_in_french(env: dict[str, Any]) -> None:
    page = TestClient(env["app"]).get("/login").text
    for text in ("Connexion", "Identifiant", "Mot de passe", "Se connecter",
                 "Continuer sans compte"):
        assert text in page


def test_agate_login_logout(env: dict[str, Any]) -> None:
    client = TestClient(env["app"])
    r = _login(client, "marie", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert auth.COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "max-age=28800" in cookie
    r = client.get(f"/documents/{env['interne']}")
    assert r.status_code == 200 and SECRET_PHRASE in r.text
    assert SECRET_PHRASE in client.get(f"/documents/{env['interne']}/text").text
    # GET /logout only asks (a link on another site cannot log anyone out)...
    r = client.get("/logout", follow_redirects=False)
    assert r.status_code == 200 and 'method="post"' in r.text
    assert client.get(f"/documents/{env['interne']}").status_code == 200
    # ...the POST needs the session's CSRF token...
    r = client.post("/logout", data={"csrf": "faux"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get(f"/documents/{env['interne']}").status_code == 200
    token = auth.csrf_token(env["settings"], client.cookies[auth.COOKIE])
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/documents/{env['interne']}").status_code == 404


def test_wrong_password_or_unknown_user(env: dict[str, Any]) -> None:
    client = TestClient(env["app"])
    for name, password in (("marie", "mauvais-mot-de-passe"), ("inconnu", PASSWORD)):
        r = _login(client, name, password)
        assert r.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in r.text
        assert "set-cookie" not in r.headers
    assert client.get(f"/documents/{env['interne']}").status_code == 404


def test_expired_forged_or_removed_sessions_are_public(env: dict[str, Any]) -> None:
    settings = env["settings"]
    url = f"/documents/{env['interne']}"
    old = _session(settings, "marie", now=time.time() - 9 * 3600)
    assert auth.read_session(settings, old) is None
    client = TestClient(env["app"], cookies={auth.COOKIE: old})
    assert client.get(url).status_code == 404
    fresh = _session(settings, "marie")
    assert auth.read_session(settings, fresh).name == "marie"
    body, sig = fresh.rsplit(".", 1)
    forged = f"{body}.{'0' * len(sig)}"
    for value in (forged, fresh[:-1] + ("0" if fresh[-1] != "0" else "1"), "n'importe quoi"):
        assert TestClient(env["app"], cookies={auth.COOKIE: value}).get(url).status_code == 404
    assert TestClient(env["app"], cookies={auth.COOKIE: fresh}).get(url).status_code == 200
    # A session made for an account that does not exist (or no longer) gives nothing more.
    ghost = auth.make_session(settings, "fantome")
    assert TestClient(env["app"], cookies={auth.COOKIE: ghost}).get(url).status_code == 404


def test_secret_key_created_once(env: dict[str, Any]) -> None:
    path = env["settings"].secret_path
    key = path.read_text()
    assert len(key) == 64 and oct(path.stat().st_mode)[-3:] == "600"
    auth.load_secret(env["settings"])
    assert path.read_text() == key


def test_search_and_documents_follow_the_role(env: dict[str, Any]) -> None:
    settings, blocks = env["settings"], env["blocks"]
    do_search = _fn(blocks, "do_search")
    refresh = _fn(blocks, "refresh_documents")
    args = (SECRET_PHRASE, "", "", [], "", "", 10)

    html_public, rows, _ = do_search(*args, request=_request(settings))
    assert all(r["doc_id"] != env["interne"] for r in rows)
    assert "Note interne" not in html_public
    html_agate, rows, _ = do_search(*args, request=_request(settings, "marie"))
    assert any(r["doc_id"] == env["interne"] for r in rows)
    assert "Note interne Agate" in html_agate
    _, rows, _ = do_search(*args, request=_request(settings, "paul"))
    assert all(r["doc_id"] != env["interne"] for r in rows)

    table, choices = refresh(request=_request(settings))
    assert "Fiche publique" in table and "Note interne" not in table
    assert choices.choices == []
    table, choices = refresh(request=_request(settings, "marie"))
    assert "Fiche publique" in table and "Note interne Agate" in table
    assert len(choices.choices) == 2


def test_upload_and_removal_reserved_to_agate(env: dict[str, Any], tmp_path: Path) -> None:
    settings, blocks = env["settings"], env["blocks"]
    upload, ask_remove, confirm_remove = (
        _fn(blocks, "do_upload"), _fn(blocks, "ask_remove"), _fn(blocks, "confirm_remove"))
    path = tmp_path / "note.md"
    path.write_text("# Note\n\nUn texte.\n", encoding="utf-8")
    for user in (None, "paul"):
        request = _request(settings, user)
        with pytest.raises(gr.Error, match="Réservé au personnel d'Agate"):
            upload([str(path)], "interne", "", "", request)
        with pytest.raises(gr.Error, match="Réservé au personnel d'Agate"):
            ask_remove(env["public"], request)
        with pytest.raises(gr.Error, match="Réservé au personnel d'Agate"):
            confirm_remove(env["public"], request)
    assert service.open_index(settings).catalog.document(env["public"]) is not None
    _, text = ask_remove(env["public"], _request(settings, "marie"))
    assert "Fiche publique" in text


def test_chat_answers_follow_the_role(env: dict[str, Any]) -> None:
    settings, respond = env["settings"], _fn(env["blocks"], "respond")
    question = f"Où en est le {SECRET_PHRASE} ?"
    # respond streams (a draft when a model writes); its last output is the answer.
    history, *_ = list(respond(question, [], "", [], _request(settings)))[-1]
    assert "Note interne Agate" not in history[-1]["content"]
    history, *_ = list(respond(question, [], "", [], _request(settings, "marie")))[-1]
    assert "Note interne Agate" in history[-1]["content"]


def test_header_shows_the_account(env: dict[str, Any]) -> None:
    account = _fn(env["blocks"], "account_html")
    assert "Se connecter" in account(_request(env["settings"]))
    line = account(_request(env["settings"], "paul"))
    assert "paul" in line and "élu 73157" in line and "Se déconnecter" in line


def test_anonymous_access_can_be_turned_off(env: dict[str, Any]) -> None:
    from assistant.web.app import create_app

    settings = env["settings"].model_copy(update={"allow_anonymous": False})
    app, blocks = create_app(settings, start_ingest=False)
    client = TestClient(app)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get(f"/documents/{env['public']}", follow_redirects=False).status_code == 303
    page = client.get("/login").text
    assert "Se connecter" in page and "Continuer sans compte" not in page
    assert client.get("/healthz").status_code == 200
    with pytest.raises(gr.Error, match="Connectez-vous"):
        _fn(blocks, "do_search")("financement", "", "", [], "", "", 5,
                                 request=_request(settings))
    assert _login(client, "marie", PASSWORD).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get(f"/documents/{env['interne']}").status_code == 200

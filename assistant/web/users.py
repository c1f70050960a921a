"""Web accounts: names, roles and argon2 password hashes in a JSON file (settings.users_path)."""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from dataclasses import replace as with_changes
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.web.passwords import check_password

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()
_LOCK = threading.Lock()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so that a wrong name costs as long as a wrong
    password; computed at the first login, not at import (it costs about as much as one)."""
    return _HASHER.hash("compte-inexistant")


@dataclass(frozen=True)
class User:
    name: str
    role: str  # as Role.parse reads it: public, elu:INSEE, agate, admin
    password_hash: str
    created_at: float = 0.0
    # Sessions carry it: bumping it (logout, new password) ends every open session.
    generation: int = 0

    @property
    def parsed_role(self) -> Role:
        return Role.parse(self.role)


def user_role(role: str, commune: str | None = None) -> Role:
    """The role of a new account: ``elu`` needs ``commune`` (INSEE), the others refuse one."""
    text = (role or "").strip().lower()
    if text == "elu":
        if not commune:
            raise ConfigError("le rôle elu demande --commune (code INSEE de la commune)")
        return Role.parse(f"elu:{commune.strip()}")
    if commune:
        if text.startswith("elu:"):
            raise ConfigError(
                "donnez la commune soit dans le rôle (elu:INSEE), soit avec --commune"
            )
        raise ConfigError(f"--commune ne s'applique qu'au rôle elu, pas à {role!r}")
    return Role.parse(text)


def check_name(name: str) -> str:
    value = (name or "").strip()
    if not NAME_RE.fullmatch(value):
        raise ConfigError(
            f"identifiant invalide : {name!r} (lettres, chiffres, . _ @ -, 64 caractères au plus)"
        )
    return value


class UserStore:
    """The accounts file; every read sees the file as it is now (edited by the CLI)."""

    def __init__(self, path: Path, *, min_password_length: int = MIN_PASSWORD) -> None:
        self.path = path
        self.min_password_length = min_password_length
        self._cache: tuple[float, dict[str, User]] | None = None

    def _load(self) -> dict[str, User]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == mtime:
            return self._cache[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"fichier des comptes illisible : {self.path} ({exc})") from exc
        users = {
            entry["name"]: User(entry["name"], entry["role"], entry["password_hash"],
                                float(entry.get("created_at", 0.0)),
                                int(entry.get("generation", 0)))
            for entry in data.get("users", [])
        }
        self._cache = (mtime, users)
        return users

    def _save(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"users": [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._cache = None

    def all(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        return self._load().get(name)

    def add(self, name: str, role: Role, password: str, *, replace: bool = False) -> User:
        name = check_name(name)
        check_password(password, name, min_length=self.min_password_length)
        with _LOCK:
            users = dict(self._load())
            if name in users and not replace:
                raise ConfigError(f"le compte « {name} » existe déjà")
            # A replaced account (new password or role) starts a new generation: the
            # sessions opened with the old one end.
            old = users.get(name)
            generation = old.generation + 1 if old is not None else 0
            user = User(name, str(role), _HASHER.hash(password), time.time(), generation)
            users[name] = user
            self._save(users)
        return user

    def remove(self, name: str) -> bool:
        with _LOCK:
            users = dict(self._load())
            if users.pop(name, None) is None:
                return False
            self._save(users)
        return True

    def set_password(self, name: str, password: str) -> User:
        """A new password for an existing account (its open sessions end)."""
        user = self.get(name)
        if user is None:
            raise ConfigError(f"aucun compte « {name} »")
        return self.add(name, user.parsed_role, password, replace=True)

    def end_sessions(self, name: str) -> bool:
        """Bump ``name``'s generation: every session cookie issued before stops working."""
        with _LOCK:
            users = dict(self._load())
            user = users.get(name)
            if user is None:
                return False
            users[name] = with_changes(user, generation=user.generation + 1)
            self._save(users)
        return True

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (same cost for unknown names)."""
        user = self.get((name or "").strip())
        try:
            _HASHER.verify(user.password_hash if user else _dummy_hash(), password or "")
        except (VerificationError, InvalidHashError):
            return None
        return user


def to_dict(user: User) -> dict[str, Any]:
    """What `assistant users list --json` shows: never the hash."""
    return {"name": user.name, "role": user.role, "created_at": user.created_at}

"""Login throttling: failed logins lock an account and a client address for a growing time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from assistant.settings import Settings

FIRST_LOCK_SECONDS = 30.0  # the lock after the last allowed failure; doubles with each next one
MAX_KEYS = 20_000  # states kept at most (names are attacker-chosen): the oldest are dropped


@dataclass
class _State:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per account and per address; a locked key is refused before any
    password is checked, so the right password is refused too while the lock lasts."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = settings.login_window_minutes * 60
        self.cap = settings.login_lock_max_minutes * 60
        self.limits = {"account": settings.login_max_failures,
                       "address": settings.login_ip_max_failures}
        self.clock = clock
        self._states: OrderedDict[tuple[str, str], _State] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        return [("account", account.strip().lower()), ("address", address)]

    def wait_seconds(self, account: str, address: str) -> float:
        """Seconds before a login for ``account`` from ``address`` may be tried (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [s.locked_until - now for k in self._keys(account, address)
                     if (s := self._states.get(k)) is not None]
        return max([0.0, *waits])

    def failure(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(account, address):
                state = self._states.pop(key, None) or _State()
                if now - state.last_failure > self.window and now >= state.locked_until:
                    state.failures = 0  # a quiet window forgives the old failures
                state.failures += 1
                state.last_failure = now
                over = state.failures - self.limits[key[0]]
                if over >= 0:
                    state.locked_until = now + min(FIRST_LOCK_SECONDS * 2 ** min(over, 30),
                                                   self.cap)
                self._states[key] = state
                while len(self._states) > MAX_KEYS:
                    self._states.popitem(last=False)

    def success(self, account: str) -> None:
        """A successful login forgets the account's failures (not the address's)."""
        with self._lock:
            self._states.pop(self._keys(account, "")[0], None)


def wait_message(seconds: float) -> str:
    minutes = max(1, round(seconds / 60 + 0.49))
    unit = "minute" if minutes == 1 else "minutes"
    return (f"Trop de tentatives de connexion : réessayez dans {minutes} {unit}. "
            "Si vous avez oublié votre mot de passe, demandez-en un nouveau à Agate.")

"""The minimum password policy of web accounts: long enough, not a common or trivial one."""

from __future__ import annotations

from assistant.errors import ConfigError

# The most used passwords (public breach lists), French ones included; compared lower-cased
# and with any trailing digits/punctuation removed, so «Password123!» is caught too.
COMMON = frozenset("""
password motdepasse mot-de-passe azerty azertyuiop qwerty qwertyuiop 123456 12345678
123456789 1234567890 0123456789 111111 000000 abc123 iloveyou admin administrateur
administrator welcome bienvenue letmein monkey dragon football soleil doudou chouchou
loulou marseille doudou nicolas camille julien bonjour secret changeme motdepasse
passw0rd p@ssw0rd p@ssword pa55word trustno1 sunshine princess master superman
azerty123 qwerty123 password123 utilisateur savoie agate assistant pvd
petitesvillesdedemain
""".split())


def _stem(password: str) -> str:
    return password.lower().rstrip("0123456789!?.*#@$%&_- ")


def check_password(password: str, name: str = "", *, min_length: int = 12) -> str:
    """``password`` when it meets the policy; a ConfigError in French saying why not."""
    if len(password) < min_length:
        raise ConfigError(
            f"mot de passe trop court : {len(password)} caractères ({min_length} au moins)"
        )
    folded = password.lower()
    stem = _stem(password)
    if folded in COMMON or stem in COMMON or stem.replace(" ", "") in COMMON:
        raise ConfigError("mot de passe trop courant : choisissez-en un moins prévisible")
    if len(set(folded)) < 4:
        raise ConfigError("mot de passe trop simple : il répète presque un seul caractère")
    if name and name.lower() in folded:
        raise ConfigError("le mot de passe ne doit pas contenir l'identifiant")
    return password

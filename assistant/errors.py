"""The assistant's error hierarchy; edges turn these into CLI or UI messages."""


class AssistantError(Exception):
    """Base class: a problem the user can understand and act on."""


class ConfigError(AssistantError):
    """A setting or argument has a bad value."""


class LoaderError(AssistantError):
    """A file could not be read as a document (the message says why, in French)."""


class IndexBusyError(AssistantError):
    """Another ingest holds the index lock (the CLI exits with code 3, see docs/cli.md)."""

    exit_code = 3


class IndexUnavailableError(AssistantError):
    """The index is missing, incompatible or damaged."""


class DependencyError(AssistantError):
    """An optional package needed for this feature is not installed."""


class AccessError(AssistantError):
    """The visitor's role does not allow the action, or a request names a file it may not."""
def missing_extra(extra: str, what: str) -> DependencyError:
    """The error for an optional package that is not installed, naming the extra to add."""
    return DependencyError(
        f"{what} demande l'option [{extra}] de l'installation, absente ici : "
        f"pip install 'assistant-pvd[{extra}]' (ou bash scripts/bootstrap.sh {extra})"
    )


class LLMError(AssistantError):
    """The language model could not give a usable answer (the extractive one is used)."""

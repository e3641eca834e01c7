"""One exception root for everything the library refuses or cannot do.

The CLI and the API catch only :class:`ProvenanceError` at their edge. Each
subclass stands for one kind of trouble and carries the exit code the CLI
documents (2: the input was bad or the work could not be done). Messages name
what was wrong and what is accepted; ``hint`` says what to do next.
"""

from __future__ import annotations

__all__ = [
    "ProvenanceError",
    "ManifestError",
    "ClaimsError",
    "KeystoreError",
    "SignatureError",
    "LedgerUnavailable",
    "RegistryNotFound",
    "ContractRejected",
    "ChainError",
    "StatementError",
]


class ProvenanceError(Exception):
    """Root of the project's errors; ``str(err)`` is meant for a person."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ManifestError(ProvenanceError):
    """An artifact cannot be hashed: a refused path, an unreadable or changing file."""


class ClaimsError(ProvenanceError):
    """A claims file is missing, malformed or states something impossible."""


class KeystoreError(ProvenanceError):
    """A key is unknown, its password is wrong or its file is unusable."""


class SignatureError(ProvenanceError):
    """A signature does not match the signer it claims."""


class StatementError(ProvenanceError):
    """A Statement is not JSON, not ours, or inconsistent."""


class LedgerUnavailable(ProvenanceError):
    """The Ethereum node does not answer; nothing was sent."""

    def __init__(self, url: str, detail: str = "", *, hint: str | None = None) -> None:
        message = f"the Ethereum node at {url} does not answer"
        if detail:
            message += f" ({detail})"
        super().__init__(message, hint=hint)
        self.url = url


class RegistryNotFound(ProvenanceError):
    """The configured address holds no ProvenanceRegistry."""


class ChainError(ProvenanceError):
    """The local chain cannot be started, stopped or found."""


class ContractRejected(ProvenanceError):
    """The registry reverted with one of its custom errors.

    ``error`` is the Solidity error name (e.g. ``NotPublisher``) and ``args``
    its decoded arguments by name, so callers can branch on the reason.
    """

    def __init__(self, error: str, args: dict[str, object], message: str) -> None:
        super().__init__(message)
        self.error = error
        self.args_by_name = args

"""One exception hierarchy for everything the library refuses or cannot do.

The CLI and the API catch only :class:`ProvenanceError` at their edge. Each
subclass stands for one kind of trouble and carries the exit code the CLI
documents (2: the input was bad or the work could not be done; 1: a check
failed; 3: a transaction was sent but is not final yet, :class:`WaitTimedOut`).
Messages name what was wrong and what is accepted; ``hint`` says what to do next.

The tree, by what a caller does about it (the API maps the four families to
HTTP statuses: 422, 404, 409, 502/503; and :class:`IndexUnavailable`, 503)::

    ProvenanceError
    ├── InvalidInput            the caller gave something unusable (422)
    │   ├── ManifestError ── ManifestMismatch ── BlobMismatch
    │   ├── ClaimsError
    │   ├── PolicyError
    │   ├── StatementError ── BatchDocumentError
    │   ├── VerdictError
    │   ├── InvalidValue        a subject, address, kind, size or digest out of range
    │   └── UsageError          command-line options that do not go together
    ├── NotFound                nothing is known of what was asked about (404)
    │   ├── UnknownParent
    │   └── NotInStore
    ├── Conflict                the request contradicts recorded state (409)
    │   ├── ContractRejected    the registry reverted with one of its custom errors
    │   └── StoreCorrupted
    ├── NodeError               trouble with the Ethereum node (502/503)
    │   ├── LedgerUnavailable   it does not answer (503)
    │   │   └── RateLimited         it refuses requests for now (HTTP 429), still after retries
    │   ├── RpcError            it answered with an error (502)
    │   │   └── LogRangeRefused     an eth_getLogs block range it will not serve
    │   │       └── ResultCapExceeded   ... because the answer would hold too many logs
    │   ├── BadNodeAnswer       it answered something that cannot be decoded (502)
    │   ├── RegistryNotFound    the address holds no ProvenanceRegistry (502)
    │   ├── TransactionFailed   a transaction was mined but did not do its work (502)
    │   └── WaitTimedOut        a transaction was sent but is not final in the time given (exit 3)
    ├── FetchError              a uri's Statement or batch document could not be fetched (exit 2)
    ├── KeystoreError
    ├── SignatureError
    ├── LineageError            a lineage handed to the rules is malformed
    ├── ChainError              the local chain cannot be started or found
    ├── StoreError              the local store cannot be used
    ├── IndexFileError          the index file cannot be used
    │   └── IndexUnavailable    the index database does not answer (503)
    └── DataFileError           a data file shipped with the package is broken
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: manifest imports this module
    from provenance.manifest import Manifest, ManifestDiff

__all__ = [
    "ProvenanceError",
    "InvalidInput",
    "ManifestError",
    "ManifestMismatch",
    "BlobMismatch",
    "ClaimsError",
    "PolicyError",
    "StatementError",
    "BatchDocumentError",
    "VerdictError",
    "InvalidValue",
    "UsageError",
    "NotFound",
    "UnknownParent",
    "NotInStore",
    "Conflict",
    "ContractRejected",
    "StoreCorrupted",
    "NodeError",
    "LedgerUnavailable",
    "RateLimited",
    "RpcError",
    "LogRangeRefused",
    "ResultCapExceeded",
    "BadNodeAnswer",
    "RegistryNotFound",
    "TransactionFailed",
    "WaitTimedOut",
    "FetchError",
    "KeystoreError",
    "SignatureError",
    "LineageError",
    "ChainError",
    "StoreError",
    "IndexFileError",
    "IndexUnavailable",
    "DataFileError",
]


class ProvenanceError(Exception):
    """Root of the project's errors; ``str(err)`` is meant for a person."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


# ------------------------------------------------------------------ bad input


class InvalidInput(ProvenanceError):
    """The caller gave something that cannot be used as it is."""


class ManifestError(InvalidInput):
    """An artifact cannot be hashed: a refused path, an unreadable or changing file."""


class ManifestMismatch(ManifestError):
    """Files do not match the manifest they were checked against (exit code 1).

    ``diff`` holds the changed, missing and extra files.
    """

    exit_code = 1

    def __init__(self, message: str, diff: ManifestDiff, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.diff = diff


class BlobMismatch(ManifestMismatch):
    """Files of a Hugging Face cache snapshot are not what their blobs' names say (exit code 1).

    A blob of an LFS file is named by the SHA-256 of its content (provenance.hfcache): ``diff`` names
    each file whose content hashes otherwise, that name being the expected digest; ``manifest`` is
    the files as found, so a verifier can still say which record they were downloaded as.
    """

    def __init__(self, message: str, diff: ManifestDiff, manifest: Manifest, *, hint: str | None = None) -> None:
        super().__init__(message, diff, hint=hint)
        self.manifest = manifest


class ClaimsError(InvalidInput):
    """A claims file is missing, malformed or states something impossible."""


class PolicyError(InvalidInput):
    """A policy file is missing, malformed or asks for something impossible."""


class StatementError(InvalidInput):
    """A Statement is not JSON, not ours, or inconsistent."""


class BatchDocumentError(StatementError):
    """A batch document is not JSON, not ours, or does not match the batch anchored on chain."""


class VerdictError(InvalidInput):
    """A verdict document cannot be read back (wrong shape, version or values)."""


class InvalidValue(InvalidInput):
    """One value is out of range: a subject, address, kind, size, digest or name."""


class UsageError(InvalidInput):
    """Options or arguments that do not go together or are out of range."""


# ------------------------------------------------------------------ not found


class NotFound(ProvenanceError):
    """Nothing is known of the artifact asked about: no Statement and no record on chain."""


class UnknownParent(NotFound):
    """A parent subject that no registered record has."""


class NotInStore(NotFound):
    """A record or batch asked for is not in the local store."""


# ------------------------------------------------------------------ conflicts


class Conflict(ProvenanceError):
    """The request contradicts what is recorded (on chain or in a store)."""


class ContractRejected(Conflict):
    """The registry reverted with one of its custom errors.

    ``error`` is the Solidity error name (e.g. ``NotPublisher``) and ``args_by_name``
    its decoded arguments, so callers can branch on the reason.
    """

    def __init__(self, error: str, args: dict[str, object], message: str) -> None:
        super().__init__(message)
        self.error = error
        self.args_by_name = args


class StoreCorrupted(Conflict):
    """The local store no longer agrees with itself (it was altered by hand)."""


# ------------------------------------------------------------------ the node


class NodeError(ProvenanceError):
    """Trouble with the Ethereum node or what it serves; ``url`` names the node.

    Only by scheme, host and port (:func:`provenance._rpc.redact_url`): an RPC URL
    may carry a provider's API key, so the full URL is replaced wherever the
    message quotes it, and ``url`` holds the redacted form.
    """

    def __init__(self, message: str, *, url: str = "", hint: str | None = None) -> None:
        from provenance._rpc import redact_url  # lazy: provenance._rpc imports this module

        shown = redact_url(url) if url else ""
        super().__init__(message.replace(url, shown) if url else message, hint=hint)
        self.url = shown


class LedgerUnavailable(NodeError):
    """The Ethereum node does not answer; nothing was sent."""

    def __init__(self, url: str, detail: str = "", *, hint: str | None = None) -> None:
        from provenance._rpc import redact_url  # lazy: provenance._rpc imports this module

        url = redact_url(url)
        message = f"the Ethereum node at {url} does not answer"
        if detail:
            message += f" ({detail})"
        super().__init__(message, url=url, hint=hint)


class RateLimited(LedgerUnavailable):
    """The node, or its provider's gateway, refuses requests for now (HTTP 429), still after the retries.

    ``detail`` is what it answered; ``retry_after``: the seconds it asked to wait, when it said.
    """

    def __init__(self, url: str, detail: str, *, retry_after: float | None = None, hint: str | None = None) -> None:
        from provenance._rpc import redact_url  # lazy: provenance._rpc imports this module

        url = redact_url(url)
        NodeError.__init__(self, f"the Ethereum node at {url} refuses requests for now ({detail})", url=url, hint=hint)
        self.retry_after = retry_after


class RpcError(NodeError):
    """The node answered a JSON-RPC call with an error (``code`` as it gave it)."""

    def __init__(self, message: str, *, url: str = "", code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, url=url, hint=hint)
        self.code = code


class LogRangeRefused(RpcError):
    """The node will not serve ``eth_getLogs`` over this block range (too large, too many results).

    What the node said it would serve, when it said: ``limit``, the most blocks a range may span;
    ``suggested``, a range (first, last block) to ask for instead.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        code: int | None = None,
        hint: str | None = None,
        limit: int | None = None,
        suggested: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message, url=url, code=code, hint=hint)
        self.limit = limit
        self.suggested = suggested


class ResultCapExceeded(LogRangeRefused):
    """The range's logs are more than the node returns in one answer (``cap``: that count, when it said).

    Unlike a block limit, this depends on how busy the blocks are: a smaller range over the same blocks
    may pass, and a larger one over quiet blocks too.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        code: int | None = None,
        hint: str | None = None,
        cap: int | None = None,
        suggested: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message, url=url, code=code, hint=hint, suggested=suggested)
        self.cap = cap


class BadNodeAnswer(NodeError):
    """The node answered something that is not what the protocol or the contract's ABI says."""


class RegistryNotFound(NodeError):
    """The configured address holds no ProvenanceRegistry."""


class TransactionFailed(NodeError):
    """A transaction was mined but did not do its work (reverted without a reason, created nothing)."""


class WaitTimedOut(NodeError):
    """A transaction was sent but is not mined, or not confirmed, within the time the caller gave (exit 3).

    Nothing is lost: a journaled transaction stays open and the next chain
    command (or ``provenance journal retry TX``) finishes it, never sending a
    second one. ``tx_hash``: the journaled transaction (what ``retry`` takes);
    ``sent``: the version last sent (a replacement's hash, else the same);
    ``block_number``: where it was mined, None while it is not;
    ``confirmations`` of ``needed``: blocks on top of it so far.
    """

    exit_code = 3

    def __init__(
        self, message: str, *, tx_hash: bytes, sent: bytes | None = None, block_number: int | None = None,
        confirmations: int = 0, needed: int = 0, url: str = "", hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, hint=hint)
        self.tx_hash = tx_hash
        self.sent = sent or tx_hash
        self.block_number = block_number
        self.confirmations = confirmations
        self.needed = needed


# ------------------------------------------------------------------ the rest


class FetchError(ProvenanceError):
    """What a record's uri names could not be fetched (provenance.fetch): ``uri``, the ``url`` last asked, why.

    Exit code 2 like the node's troubles: the work could not be done, nothing was checked. ``status``: the
    HTTP status when the answer was one.
    """

    def __init__(
        self, message: str, *, uri: str = "", url: str = "", status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.uri = uri
        self.url = url
        self.status = status


class KeystoreError(ProvenanceError):
    """A key is unknown, its password is wrong or its file is unusable."""


class SignatureError(ProvenanceError):
    """A signature does not match the signer it claims."""


class LineageError(ProvenanceError):
    """A lineage handed to the rules is malformed (a bug of the caller, not of the artifact)."""


class ChainError(ProvenanceError):
    """The local chain cannot be started, stopped or found."""


class StoreError(ProvenanceError):
    """The local store cannot be opened or written."""


class IndexFileError(ProvenanceError):
    """The index file cannot be used (another schema version, not SQLite)."""


class IndexUnavailable(IndexFileError):
    """The index's PostgreSQL database does not answer (stopped, refusing connections, no pooled connection in
    time). Transient, unlike its parent: a service answers 503 with ``Retry-After`` and its indexer tries
    again; nothing half-written is kept (each write is one transaction). ``location``: the database's URL
    without its password."""

    def __init__(self, location: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"the index database {location} does not answer: {detail}", hint=hint)
        self.location = location


class DataFileError(ProvenanceError):
    """A data file shipped with the package is broken (a packaging bug)."""

"""The verifier: files, Statement and chain in, a :class:`~provenance.verdict.Verdict` out.

This is the chain-reading half; :mod:`provenance.rules` is the claims half.
For the artifact asked about it checks, in order:

integrity     the files against the Statement's manifest (TAMPERED names each
              changed, missing and extra file), or one file's inclusion proof;
authenticity  the EIP-712 signature under the domain of the registry this
              verifier reads (a Statement made for another chain or registry
              is refused, whatever it says of itself), its signer compared with
              the publisher or, for a publisher that is a contract, accepted by
              its ERC-1271 ``isValidSignature``; then the publisher against the
              trust policy;
anchoring     a direct record in the registry, or a batch the publisher itself
              anchored (or proved the record into: a root anchored by anyone
              else proves inclusion, not consent) and the record's inclusion
              proof; confirmations;
status        revoked, superseded, with their reason codes (from the registry's
              events);
              anchoring and status are then cross-checked with the registry's
              storage (``recordState``, ``batchState``) read at the node's
              finalized block (:mod:`provenance.crosscheck`): where the two
              answers differ the check is unverifiable, naming both;
claims        every disclosure against the signed claimsRoot;
then copyright, privacy, lineage and endorsements over the whole lineage,
with parents resolved from chain events and from Statements the sources
(the local store, the service's index, Statements given by the caller) hold;
then evaluations: the evaluation records naming the subject as a parent
(:meth:`provenance.index.Index.evaluations_of`, and those given or carried),
each Statement checked against its own record like an ancestor's before its
results are read (:mod:`provenance.rules.evaluations` decides what counts).
When integrity, authenticity or anchoring fails, those four are not evaluated
(unverifiable, "not evaluated: <check> failed"): a forged Statement costs no
lineage walk.

A wrong pass is the worst defect this tool can have, so every path that
cannot prove something says so: nothing defaults to OK.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provenance import merkle
from provenance.commitments import Disclosure, disclosed_view
from provenance.crosscheck import Disagreement, batch_disagreements, record_disagreements
from provenance.errors import BlobMismatch, ClaimsError, ManifestError, NotFound, ProvenanceError, StatementError
from provenance.lineage import walk
from provenance.located import statement_of
from provenance.manifest import Manifest, ManifestEntry, Progress
from provenance.policy import Policy
from provenance.record import Domain, Kind, ReasonCode, hex32
from provenance.rules import ArtifactFacts, Erasure, EvaluationSeen, Lineage, evaluate, evaluation_checks
from provenance.rules.evaluations import MAX_UNTRUSTED
from provenance.signing import recover_record_signer
from provenance.statement import Statement, statement_path_for
from provenance.trust import Candidate, Reliance, rely_on_parent, rely_on_subject
from provenance.verdict import Check, CheckName, Code, RecordSeen, Status, Verdict
from provenance.vocabulary import fields_of

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import Batch, HistoryEntry, Index, IndexedRecord
    from provenance.ledger import BatchState, Ledger, RecordState, Settled

__all__ = ["Verifier", "StatementSource", "NotFound", "Acceptance", "ACCEPTANCE_CHECKS"]

MAX_LINEAGE = 256  # artifacts walked at most; a deeper graph is reported, not followed forever
_MAX_INFORMATION = 10  # records nobody relied on, per ancestor, and information lines they give, at most


class StatementSource(Protocol):
    """Where Statements and file digests come from (the local store, the service's index)."""

    def statements_for(self, subject: bytes) -> list[Statement]: ...

    def statement(self, record_id: bytes) -> Statement | None: ...

    def files(self, sha256_hex: str) -> list[tuple[str, str]]: ...


# The checks a posted Statement must pass to be kept (Verifier.accept_statement): it is what it says and it
# is on this registry. Claims rules (licenses, privacy) are not conditions.
ACCEPTANCE_CHECKS = (CheckName.INTEGRITY, CheckName.AUTHENTICITY, CheckName.ANCHORING, CheckName.CLAIMS)
_REFUSING = frozenset({Code.TAMPERED, Code.BAD_SIGNATURE, Code.NOT_REGISTERED, Code.NOT_ANCHORED, Code.BAD_PROOF,
                       Code.DISCLOSURE_MISMATCH})


@dataclass(frozen=True)
class Acceptance:
    """Whether a publisher's Statement may be kept by a verifier of ``registry`` on ``chain_id``, and why not.

    A Statement naming another registry or another chain is refused before
    anything is checked (``other_registry``, no ``checks``). Otherwise
    ``checks`` are the deciding checks (:data:`ACCEPTANCE_CHECKS`) as run and
    ``refused_by`` those of them that failed or say it is not on chain.
    """

    statement: Statement
    registry: str
    chain_id: int
    checks: tuple[Check, ...] = ()
    refused_by: tuple[Check, ...] = ()

    @property
    def other_registry(self) -> bool:
        """The Statement is for another registry, or for this registry's address on another chain."""
        return self.statement.registry.lower() != self.registry.lower() or self.statement.chain_id != self.chain_id

    @property
    def accepted(self) -> bool:
        return not self.other_registry and not self.refused_by

    def reason(self) -> str:
        """Why it is refused, for a person ('' when it is accepted)."""
        if self.other_registry:
            return (
                f"the Statement is for registry {self.statement.registry} on chain {self.statement.chain_id}, "
                f"this service follows registry {self.registry} on chain {self.chain_id}"
            )
        if self.refused_by:
            return "the Statement does not verify: " + "; ".join(
                f"{c.check} {c.code}: {c.message}" for c in self.refused_by)
        return ""


@dataclass(frozen=True)
class _Found:
    """One artifact as found: its Statement if any, and what the chain says of its record."""

    subject: bytes
    statement: Statement | None
    record: IndexedRecord | None  # the on-chain registration seen by the index (direct records)

    @property
    def on_chain(self) -> IndexedRecord:
        """The chain's record of an artifact found without a Statement (found by it, so always there)."""
        if self.record is None:
            raise NotFound(f"no Statement and no record of {hex32(self.subject)} is known")
        return self.record


def _own(given: Sequence[Statement], subject: bytes) -> Statement | None:
    """The artifact's own Statement among those given apart from it: the one of its subject, else the first."""
    return next((s for s in given if s.subject == subject), given[0] if given else None)


def _short(value: bytes) -> str:
    text = value.hex()
    return f"0x{text[:8]}...{text[-4:]}"


def _why(code: str | None, reason: str) -> str:
    """``' (erasure): "text"'``: a revocation's or supersession's reason code and text, as a message ends."""
    named = f" ({code})" if code is not None and code != ReasonCode.OTHER.label else ""
    return f"{named}: {reason!r}" if reason else named


# A Statement that fails one of these is not what it says (or not on this registry): its lineage is not
# walked (no ancestor look-ups for parents anyone can write into a forged Statement) and the rules' lines
# say why. An untrusted publisher is the policy's view, not a failure of the Statement: its lineage is judged.
_GATES = (CheckName.INTEGRITY, CheckName.AUTHENTICITY, CheckName.ANCHORING)
_RULES = (CheckName.COPYRIGHT, CheckName.PRIVACY, CheckName.LINEAGE, CheckName.ENDORSEMENTS, CheckName.EVALUATIONS)


def _not_evaluated(subject: bytes, failed: Check) -> list[Check]:
    """The rules' lines when ``failed`` stopped the verification: unverifiable, with its code."""
    return [Check(rule, Status.UNVERIFIABLE, failed.code,
                  f"not evaluated: {failed.check} failed ({failed.code}); the rules are judged only for a "
                  "Statement whose integrity, authenticity and anchoring hold",
                  {"subject": subject, "notEvaluatedBecause": failed.check.value}) for rule in _RULES]


_RANK = {Status.PASS: 0, Status.INFO: 0, Status.WARN: 1, Status.UNVERIFIABLE: 1, Status.FAIL: 2}


def _restrictiveness(verdict: Verdict) -> tuple[int, int, int]:
    """Sort key, most restrictive verdict first: its overall, then how many lines fail, then warn."""
    fails = sum(c.status is Status.FAIL for c in verdict.checks)
    doubts = sum(c.status in (Status.WARN, Status.UNVERIFIABLE) for c in verdict.checks)
    return (-_RANK[verdict.overall], -fails, -doubts)


def _state(candidate: Candidate) -> str:
    if not candidate.anchored:
        return "not anchored"
    if candidate.revoked is not None:
        return "revoked"
    return "superseded" if candidate.successor is not None else "registered"


# What one ChainReads holds at most before it starts afresh (a long-lived service's, per head).
READS_KEPT = 100_000


@dataclass
class ChainReads:
    """What verifiers read of the registry's storage (the second opinion, :mod:`provenance.crosscheck`): the
    settled block, fixed by the first to need it, and record and batch states at that block, each asked once.
    Verifiers given the same one share it: a service's verdicts at one chain head, or every chunk of one batch
    document; at a fixed block a state does not change, so a shared answer is the answer each would read."""

    settled: Settled | None = None
    states: dict[bytes, RecordState] = field(default_factory=dict)
    batch_states: dict[tuple[str, bytes], BatchState] = field(default_factory=dict)
    fingerprint: bytes | None = None
    """The registry's state at the settled block (:meth:`Ledger.registry_fingerprint`), once asked."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def moved_to(self, settled: Settled, fingerprint: bytes) -> ChainReads:
        """These reads at another settled block, of the same ``fingerprint`` as this one's: the registry's
        storage is the same there, so is every state read of it. The states are shared, not copied: one
        read by either holds for both."""
        return ChainReads(settled=settled, states=self.states, batch_states=self.batch_states,
                          fingerprint=fingerprint)

    def settled_block(self, ledger: Ledger) -> Settled:
        """The block the registry's storage is read at: the node's finalized one (else safe, else latest),
        read once (under a lock: states of two blocks are never mixed in one)."""
        if self.settled is None:
            with self._lock:
                if self.settled is None:
                    self.settled = ledger.settled()
        return self.settled

    def full(self) -> bool:
        """Holding READS_KEPT states or more: a service starts a new one rather than growing this one."""
        return len(self.states) + len(self.batch_states) >= READS_KEPT


class Verifier:
    """Verifies artifacts against one registry. ``index`` must follow that registry (it is synced here)."""

    def __init__(
        self,
        ledger: Ledger,
        index: Index,
        policy: Policy,
        sources: Sequence[StatementSource] = (),
        *,
        extra_statements: Iterable[Statement] = (),
        sync: bool = True,
        head: int | None = None,
        fetch: Callable[[str], bytes] | None = None,
        fetch_document: Callable[[str], bytes] | None = None,
        reads: ChainReads | None = None,
    ) -> None:
        """``sync``: bring the index up to the chain first. ``head``: the chain head to count
        confirmations against (default: asked from the node); a service passes the one its
        indexer last saw, which is never ahead of the chain, so it can only under-count.
        ``fetch``: reads what a record's uri names (:meth:`provenance.fetch.Fetcher.fetch`); the
        Statement of a record no source holds is fetched from its uri when a verdict needs it;
        ``fetch_document`` reads a batch's document (default ``fetch``). ``reads``: what other verifiers
        read of the registry's storage, shared with them (:class:`ChainReads`; default: this one's own)."""
        self.ledger = ledger
        self.index = index
        self.policy = policy
        self.sources = list(sources)
        self._given: dict[bytes, list[Statement]] = {}
        self._found: dict[bytes, list[_Found]] = {}  # subject -> its records (cleared when a Statement is given)
        self._carried: dict[bytes, list[Statement]] = {}  # subject -> Statements carried in lineages
        self._fetch = fetch
        self._fetch_document = fetch_document
        self._unobtained: dict[bytes, str] = {}  # record id -> why its Statement could not be obtained
        for statement in extra_statements:
            self._given.setdefault(statement.subject, []).append(statement)
            self._carry(statement)
        if sync:
            from provenance.indexer import Indexer

            Indexer(index, ledger).sync()
        self._head = ledger.block_number() if head is None else head
        self._reads = ChainReads() if reads is None else reads  # read when first needed, then fixed
        self._unindexed: set[bytes] = set()  # record ids the index had nothing of when read ahead (read_ahead)
        self._events: dict[bytes, list[HistoryEntry]] = {}  # record id -> its events in the index (_record_events)
        self._batches: dict[tuple[str, str], Batch | None] = {}  # (root, submitter) -> the index's (_indexed_batch)
        self._trust: dict[bytes, Candidate] = {}  # record id -> what trust reads of it
        self._evaluations_seen: dict[bytes, tuple[list[EvaluationSeen], int]] = {}  # subject -> (seen, unexamined)

    # ------------------------------------------------------------ entry points

    def verify_path(
        self, path: Path, *, given: Sequence[Statement] = (), progress: Progress | None = None,
        hashed: Callable[[], Manifest] | None = None,
    ) -> Verdict:
        """A downloaded artifact: a directory or a file, with or without its Statement beside it.

        ``given``: Statements given apart from the artifact (``--statement``). When none sits beside it,
        the artifact's own is the one of its subject, else the first given: when the files no longer give
        its subject and no record knows theirs, they are checked against its manifest (a changed file is
        ``TAMPERED``, named). The files are hashed once. ``progress`` sees the files hashed. ``hashed``:
        the files' manifest (``Manifest.from_path(path)``) from hashing the caller started earlier (the CLI
        hashes while it connects to the chain), raising what it would.
        """
        path = Path(path)
        if not path.exists():
            raise ManifestError(f"{path} does not exist", hint="give the artifact's directory or file")
        beside = statement_path_for(path)
        try:
            actual = Manifest.from_path(path, progress=progress) if hashed is None else hashed()
        except BlobMismatch as err:  # a Hugging Face cache blob that is not what its name says
            return self._changed_blobs(path, err, None if beside.exists() else _own(given, err.manifest.subject))
        if beside.exists():
            return self.verify_statement(Statement.from_file(beside), files=actual, path=path)
        statement = _own(given, actual.subject)
        if statement is not None and statement.subject == actual.subject:
            return self.verify_statement(statement, files=actual, path=path)
        if self._candidates(actual.subject):
            return self._verify_subject(actual.subject, files=actual, path=path)
        if path.is_file():  # one file of an artifact, found by its digest, or a one-file artifact
            try:
                return self._verify_single_file(path, actual)
            except NotFound:
                changed = self._changed_file(path, statement) if statement is not None else None
                if changed is None:
                    raise
                return changed
        if statement is not None:  # the files no longer give its subject: which of them changed is said
            return self.verify_statement(statement, files=actual, path=path)
        return Verdict(actual.subject, None, (Check(
            CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
            f"No Statement beside {path}, and no record of its subject {_short(actual.subject)} is registered "
            f"in registry {self.ledger.registry} on chain {self.ledger.chain_id} or known to the sources asked. "
            "A batched record is on chain only as its batch's root: give the Statement that came with the "
            "artifact (--statement FILE) or ask a verifier service that indexes batches (--service URL)",
            {"subject": actual.subject, "path": str(path)},
        ),))

    def _changed_blobs(self, path: Path, err: BlobMismatch, statement: Statement | None) -> Verdict:
        """A cache snapshot whose blobs are not what their names say: ``TAMPERED``, naming the files,
        whatever else is known. The artifact is looked up as the cache says it was downloaded (each
        changed file with the SHA-256 its blob's name gives, at its size), so that a registered
        record's checks come with it; a file whose size changed too leaves that subject unknown."""
        actual = err.manifest
        named = {c.name: c.expected_sha256 for c in err.diff.changed}
        downloaded = actual if actual.shard_size is not None else Manifest.from_entries(
            ManifestEntry(e.path, e.size, named.get(e.path, e.sha256)) for e in actual.entries)
        changed = err.diff.changed
        files = "; ".join(f"{c.name}: its blob is named {c.expected_sha256.hex()}, its content hashes to "
                          f"{c.actual_sha256.hex()}" for c in changed[:10])
        more = f"; and {len(changed) - 10} more" if len(changed) > 10 else ""
        line = Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                     "Changed in the Hugging Face cache after download (an LFS blob is named by the SHA-256 of "
                     f"its content): {files}{more}",
                     {"subject": downloaded.subject, "path": str(path), "actual": actual.subject,
                      **err.diff.to_dict()})
        beside = statement_path_for(path)
        given = Statement.from_file(beside) if beside.exists() else statement
        if given is not None:
            verdict = self.verify_statement(given, files=actual, path=path)
        elif self._candidates(downloaded.subject):
            verdict = self._verify_subject(downloaded.subject, files=actual, path=path)
        else:
            return Verdict(downloaded.subject, None, (line,))
        rest = (c for c in verdict.checks if not (c.check is CheckName.INTEGRITY and c.status is Status.PASS))
        return replace(verdict, checks=(line, *rest))

    def _changed_file(self, path: Path, statement: Statement) -> Verdict | None:
        """A file whose digest no artifact lists, checked against the file of its name in the Statement
        given: that file changed (``TAMPERED``, named); None when the Statement lists no such file."""
        try:
            registered = Manifest.from_dict(statement.manifest) if statement.manifest is not None else None
        except ManifestError:
            return None
        entries = [e for e in registered.entries if e.offset is None and Path(e.path).name == path.name] \
            if registered is not None else []
        if len(entries) != 1:
            return None
        verdict = self.verify_statement(statement)
        line = Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                     f"{path.name} differs from {entries[0].path} of the Statement given (its SHA-256 is not that "
                     "of the registered file, nor of any file of a registered artifact)",
                     {"subject": statement.subject, "path": entries[0].path, "changed": [entries[0].path]})
        return replace(verdict, checks=(line, *(c for c in verdict.checks if c.check is not CheckName.INTEGRITY)))

    def verify_subject(self, subject: bytes) -> Verdict:
        """By subject alone: no files are checked, the rest is."""
        if not self._candidates(subject):
            return Verdict(subject, None, (Check(
                CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                f"No record of {_short(subject)} is registered in registry {self.ledger.registry} "
                f"on chain {self.ledger.chain_id}, and no Statement of it is known",
                {"subject": subject},
            ),))
        return self._verify_subject(subject)

    def verify_statement(self, statement: Statement, *, files: Manifest | None = None,
                         path: Path | None = None) -> Verdict:
        """The artifact a Statement speaks for. Possession decides nothing (DESIGN.md, "Whose word counts"):
        the Statement is one of its subject's records, weighed by trust like the others; one whose record
        is not in this registry is judged as well, so that what it says wrong is said."""
        self._give(statement)
        return self._verify_subject(statement.subject, files=files, path=path, given=statement)

    def accept_statement(self, statement: Statement) -> Acceptance:
        """Whether a publisher's Statement may be kept (a service learns batched records from them).

        Kept only when it is for this registry on this chain, its manifest gives the subject, the
        publisher signed it, it is anchored here (directly, or in a batch the publisher anchored or
        proved it into, with a valid proof) and its disclosures match claimsRoot. The claims rules
        are no condition: a true Statement about a restricted artifact is kept.
        """
        # no registry: nothing is kept
        acceptance = Acceptance(statement, self.ledger.registry or "", self.ledger.chain_id)
        if acceptance.other_registry:
            return acceptance
        self._give(statement)
        # only the checks acceptance reads (ACCEPTANCE_CHECKS), as _verify makes them: the record's status
        # and the claims rules decide nothing here, and a batch document's members are accepted by the
        # thousand (the rules took a third of a member's time)
        checks = [self._integrity(statement, None, None), *self._authenticity(statement)]
        checks += self._anchoring(statement, self._chain_record(statement))[0]
        checks.append(self._claims(statement)[0])
        # who published it is the policy's view, no condition: a service trusting some publishers keeps the
        # Statements of the others too (their ancestors' claims, the records a verdict shows as information)
        refused = tuple(c for c in checks if (c.status is Status.FAIL and c.code is not Code.UNTRUSTED_PUBLISHER)
                        or c.code in _REFUSING)
        return replace(acceptance, checks=tuple(checks), refused_by=refused)

    def read_ahead(self, record_ids: Sequence[bytes]) -> None:
        """Before accepting a batch document's chunk of members: the registry's storage of each of
        ``record_ids`` at the settled block, asked in one exchange with the node, and which of them the
        index knows nothing of yet, in one query (each would be a few queries otherwise: on PostgreSQL a
        round trip each, most of a member's time). Their checks then read both from here."""
        unique = list(dict.fromkeys(record_ids))
        missing = [r for r in unique if r not in self._reads.states]
        if missing:
            settled = self._settled_block()
            self._reads.states.update(zip(missing, self.ledger.record_states(missing, block=settled.number),
                                    strict=True))
        self._unindexed.update(self.index.unknown_records(unique))

    # ------------------------------------------------------------ look-ups

    def _statements(self, subject: bytes) -> list[Statement]:
        found = list(self._given.get(subject, []))
        for source in self.sources:
            found.extend(source.statements_for(subject))
        found.extend(self._carried.get(subject, []))
        mine = [s for s in found if s.chain_id == self.ledger.chain_id and s.registry == self.ledger.registry]
        unique: dict[bytes, Statement] = {}
        for statement in mine:
            previous = unique.get(statement.record_id)
            if previous is None or (previous.anchor is None and statement.anchor is not None):
                chosen, other = statement, previous
            else:
                chosen, other = previous, statement
            if other is not None:
                # copies of one record may disclose different fields (disclosure is selective): a copy
                # with fewer disclosures must not hide what another reveals (an opt-out, a license)
                have = {d.get("field") for d in chosen.disclosures if isinstance(d, dict)}
                more = tuple(d for d in other.disclosures if isinstance(d, dict) and d.get("field") not in have)
                if more:
                    chosen = replace(chosen, disclosures=chosen.disclosures + more)
            unique[statement.record_id] = chosen
        return list(unique.values())

    def _chain_record(self, statement: Statement) -> IndexedRecord | None:
        if statement.record_id in self._unindexed:
            return None
        return self.index.record(statement.record_id)

    def _give(self, statement: Statement) -> None:
        """A Statement the caller holds: first among the copies of its record."""
        self._given.setdefault(statement.subject, []).insert(0, statement)
        self._found.pop(statement.subject, None)
        self._carry(statement)

    def _carry(self, statement: Statement) -> None:
        """The Statements ``statement`` carries in its lineage: copies like any other, each checked on its
        own against the chain when a verdict reads it (a carried Statement is evidence, never trust)."""
        for carried in statement.lineage:
            known = self._carried.setdefault(carried.subject, [])
            if all(c.record_id != carried.record_id for c in known):
                known.append(carried)
                self._found.pop(carried.subject, None)

    def _obtained(self, found: _Found) -> _Found:
        """``found`` with its Statement fetched from its record's uri when no source held it (cached per
        record; why it could not be obtained is kept for the verdict). A fetched Statement must be that
        record's, for this chain and registry; its own checks against the chain come after."""
        if found.statement is not None or found.record is None or self._fetch is None:
            return found
        record = found.record
        rid = bytes.fromhex(record.record_id[2:])
        if rid in self._unobtained:
            return found
        try:
            statement = statement_of(record, self._fetch, self.index, fetch_document=self._fetch_document)
        except NotFound as err:
            self._unobtained[rid] = str(err)
            return found
        obtained = replace(found, statement=statement)
        cached = self._found.get(found.subject)
        if cached is not None:
            self._found[found.subject] = [obtained if f is found else f for f in cached]
        self._carry(statement)
        return obtained

    def _candidates(self, subject: bytes) -> list[_Found]:
        """Every record known for ``subject``: from Statements (given, then the sources) and from the chain."""
        cached = self._found.get(subject)
        if cached is not None:
            return cached
        statements = self._statements(subject)
        chain = {bytes.fromhex(r.record_id[2:]): r for r in self.index.records_by_subject(subject)}
        candidates = [_Found(subject, s, chain.get(s.record_id) or self.index.record(s.record_id)) for s in statements]
        covered = {s.record_id for s in statements}
        candidates += [_Found(subject, None, r) for rid, r in chain.items() if rid not in covered]
        self._found[subject] = candidates
        return candidates

    def _found_by_record(self, record_id: bytes) -> _Found | None:
        """The record with this id (a successor, a pinned parent), found through its subject."""
        subject: bytes | None = None
        record = self.index.record(record_id)
        if record is not None and record.subject is not None:
            subject = bytes.fromhex(record.subject[2:])
        else:
            for statements in (*self._given.values(), *self._carried.values()):
                subject = next((s.subject for s in statements if s.record_id == record_id), subject)
            for source in self.sources:
                if subject is None:
                    found = source.statement(record_id)
                    subject = found.subject if found is not None else None
        if subject is None:
            return None  # a batched record whose Statement no source holds: its subject is unknown
        return next((f for f in self._candidates(subject) if self._record_id(f) == record_id), None)

    @staticmethod
    def _record_id(found: _Found) -> bytes:
        return found.statement.record_id if found.statement is not None else bytes.fromhex(found.on_chain.record_id[2:])

    def _candidate(self, found: _Found) -> Candidate:
        """What trust reads of a record: who published it, whether it is in this registry, its corrections."""
        rid = self._record_id(found)
        known = self._trust.get(rid)
        if known is not None:
            return known
        block = -1
        if found.statement is not None:
            publisher = found.statement.publisher
            lines, _ = self._anchoring_by_events(found.statement, found.record)
            anchored = any(c.code in (Code.OK, Code.UNCONFIRMED) for c in lines)
            if anchored:
                block = int(lines[0].evidence.get("block", -1))
        else:
            record = found.on_chain
            publisher = record.publisher
            batch = self._accepted_batch(None, record) if record.batch_root is not None else None
            anchored = record.batch_root is None or batch is not None
            block = record.block_number if record.batch_root is None else (batch.block_number if batch else -1)
        revoked: str | None = None
        successor: bytes | None = None
        for entry in self._record_events(rid):
            if entry.event == "RecordRevoked" and revoked is None:
                revoked = entry.details.get("reason_code") or ReasonCode.OTHER.label
            elif entry.event == "RecordSuperseded" and entry.details.get("successor"):
                successor = bytes.fromhex(entry.details["successor"][2:])
        candidate = Candidate(rid, found.subject, publisher, anchored, block, revoked, successor)
        self._trust[rid] = candidate
        return candidate

    def _look_up(self, record_id: bytes) -> Candidate | None:
        known = self._trust.get(record_id)
        if known is not None:
            return known
        found = self._found_by_record(record_id)
        return self._candidate(found) if found is not None else None

    # ------------------------------------------------------------ the checks

    def _verify_subject(self, subject: bytes, *, files: Manifest | None = None, path: Path | None = None,
                        given: Statement | None = None) -> Verdict:
        """The verdict on a subject by the records trust relies on (:mod:`provenance.trust`), the most
        restrictive first, with every record of the subject listed and the others as information."""
        found = self._candidates(subject)
        by_id = {self._record_id(f): f for f in found}
        candidates = [self._candidate(f) for f in found]
        reliance = rely_on_subject(candidates, self.policy, self._look_up)
        judged = [f for c in reliance.relied if (f := by_id.get(c.record_id) or self._found_by_record(c.record_id))]
        trusting = [self._candidate(f) for f in judged]
        unheard: Statement | None = None  # a Statement in hand that is not in this registry and is not judged
        if given is not None and self._foreign(given):
            # one made for another chain or registry shares its record id with a record here: what it says
            # wrong (the domain it was signed for) is said, so it is judged as given
            judged.insert(0, _Found(subject, given, self._chain_record(given)))
            trusting.insert(0, Candidate(given.record_id, subject, given.publisher, anchored=False))
        elif given is not None and not self._candidate(by_id[given.record_id]).anchored:
            if judged:  # possession decides nothing: the registry's records of the subject do
                unheard = given
            else:  # nothing of the subject is in the registry: the Statement in hand says why
                judged = [by_id[given.record_id]]
                trusting = [self._candidate(judged[0])]
        if not judged:  # nothing of it is in the registry: judged on the best Statement, which says why
            judged = [min(found, key=lambda f: (f.statement is None, not self._trusted_found(f)))]
            trusting = [self._candidate(judged[0])]
        judged = [self._obtained(f) for f in judged]
        verdicts = [self._verify(f, files=files, path=path) for f in judged]
        seen = candidates + [c for c in trusting if c.record_id not in by_id]
        verdict = self._combined(subject, verdicts, trusting, seen, reliance)
        if unheard is None:
            return verdict
        return replace(verdict, checks=verdict.checks + (Check(
            CheckName.AUTHENTICITY, Status.INFO, Code.NOT_REGISTERED,
            f"The Statement given with the artifact (record {_short(unheard.record_id)} by {unheard.publisher}) "
            "is not in this registry: it decides nothing; the verdict rests on the registry's records of the subject",
            {"subject": subject, "recordId": unheard.record_id, "publisher": unheard.publisher}),))

    def _foreign(self, statement: Statement) -> bool:
        """Made for another chain or registry than the one read here."""
        return statement.chain_id != self.ledger.chain_id \
            or statement.registry.lower() != (self.ledger.registry or "").lower()

    def _trusted_found(self, found: _Found) -> bool:
        publisher = found.statement.publisher if found.statement is not None else found.on_chain.publisher
        return self.policy.is_trusted_publisher(publisher)

    def _combined(self, subject: bytes, verdicts: list[Verdict], judged: list[Candidate],
                  candidates: list[Candidate], reliance: Reliance) -> Verdict:
        """One verdict from the verdicts of every judged record: the most restrictive one's lines, the
        other records' problems that it lacks, who claims what, and the rest of the records as information."""
        order = sorted(range(len(verdicts)), key=lambda i: _restrictiveness(verdicts[i]))
        primary = verdicts[order[0]]
        checks = list(primary.checks)
        seen = {(c.check, c.code, c.message) for c in checks}
        for i in order[1:]:
            for line in verdicts[i].checks:
                key = (line.check, line.code, line.message)
                if line.status in (Status.FAIL, Status.WARN, Status.UNVERIFIABLE) and key not in seen \
                        and line.check is not CheckName.INTEGRITY:
                    checks.append(Check(line.check, line.status, line.code, line.message,
                                        {**line.evidence, "recordId": judged[i].record_id}))
                    seen.add(key)
        if len(judged) > 1 and not any(self.policy.is_trusted_publisher(c.publisher) for c in judged):
            said = "; ".join(f"{c.publisher}: record {_short(c.record_id)}, {self._claimed(c, verdicts[i])}"
                             for i, c in enumerate(judged))
            agree = len({verdicts[i].overall for i in range(len(judged))}) == 1
            checks.append(Check(
                CheckName.AUTHENTICITY, self.policy.status_of(Code.UNTRUSTED_PUBLISHER), Code.UNTRUSTED_PUBLISHER,
                f"{len(judged)} records of this subject count and the policy trusts none of their publishers; "
                f"they {'agree on the outcome' if agree else 'disagree'} ({said}). The verdict judges by the most "
                "restrictive; a policy that trusts one of these publishers settles it",
                {"subject": subject, "records": [c.record_id for c in judged],
                 "publishers": [c.publisher for c in judged]}))
        judged_ids = {c.record_id for c in judged}
        replaced = {r for earlier in reliance.replaced.values() for r in earlier}
        unrelied = [c for c in candidates if c.record_id not in judged_ids and c.record_id not in replaced
                    and c.anchored]
        if len(unrelied) > _MAX_INFORMATION:
            checks.append(Check(
                CheckName.AUTHENTICITY, Status.INFO, Code.UNTRUSTED_PUBLISHER,
                f"{len(unrelied)} records of this subject are not relied on; the first {_MAX_INFORMATION} are "
                "named below, all are in the records list",
                {"subject": subject, "count": len(unrelied)}))
        for c in unrelied[:_MAX_INFORMATION]:
            checks.append(Check(
                CheckName.AUTHENTICITY, Status.INFO, Code.UNTRUSTED_PUBLISHER,
                f"Record {_short(c.record_id)} of this subject by {c.publisher} is not relied on "
                f"({reliance.why.get(c.record_id, 'not trusted')})",
                {"subject": subject, "recordId": c.record_id, "publisher": c.publisher}))
        records = tuple(RecordSeen(
            record_id=c.record_id, publisher=c.publisher, relied=c.record_id in judged_ids,
            trusted=self.policy.is_trusted_publisher(c.publisher), state=_state(c),
            why=reliance.why.get(c.record_id) or "the Statement given with the artifact, not in this registry",
        ) for c in candidates)
        return Verdict(subject, primary.record_id, tuple(checks), records=records)

    def _claimed(self, candidate: Candidate, verdict: Verdict) -> str:
        """Who claims what, in a few words: a record's license, personal data and outcome."""
        found = self._found_by_record(candidate.record_id)
        view = self._claims(found.statement)[1] if found is not None and found.statement is not None else {}
        facts = ArtifactFacts(subject=candidate.subject, kind=Kind.OTHER, claims=view)
        license_ = facts.claim("copyright.license", "undisclosed")
        personal = facts.claim("privacy.personal_data", "undisclosed")
        state = _state(candidate)
        return f"license {license_}, personal data {personal}, {state}, overall {verdict.overall}"


    def _verify(self, found: _Found, *, files: Manifest | None = None, path: Path | None = None) -> Verdict:
        statement = found.statement
        checks: list[Check] = []
        if statement is None:
            checks.append(Check(
                CheckName.INTEGRITY, Status.UNVERIFIABLE, Code.NOT_REGISTERED,
                "A record of this subject is on chain but its Statement could not be obtained "
                f"({self._missing_why(bytes.fromhex(found.on_chain.record_id[2:]))}): its manifest, signature "
                "and claims cannot be checked",
                {"subject": found.subject, "recordId": found.on_chain.record_id},
            ))
            facts = self._facts(found, own_checks=[])
            checks += self._chain_only_checks(found)
            checks += self._evaluate(facts)
            checks += self._evaluations(found.subject, facts.kind)
            return Verdict(found.subject, bytes.fromhex(found.on_chain.record_id[2:]), tuple(checks))
        checks.append(self._integrity(statement, files, path))
        checks += self._authenticity(statement)
        anchoring, chain_state = self._anchoring(statement, found.record)
        checks += anchoring
        checks += self._status(statement, chain_state)
        claims_check, claims = self._claims(statement)
        checks.append(claims_check)
        failed = next((c for c in checks if c.check in _GATES and c.status is Status.FAIL
                       and c.code is not Code.UNTRUSTED_PUBLISHER), None)
        if failed is not None:
            checks += _not_evaluated(statement.subject, failed)
        else:
            facts = self._facts(found, own_checks=checks, claims=claims)  # disclosures are checked once
            checks += self._evaluate(facts)
            checks += self._evaluations(found.subject, facts.kind)
        return Verdict(statement.subject, statement.record_id, tuple(checks))

    def _integrity(self, statement: Statement, files: Manifest | None, path: Path | None) -> Check:
        evidence: dict[str, object] = {"subject": statement.subject}
        if path is not None:
            evidence["path"] = str(path)
        if statement.manifest is None:
            if files is not None and files.subject == statement.subject:
                return Check(CheckName.INTEGRITY, Status.PASS, Code.OK,
                             f"The {files.file_count} files hash to the registered subject", evidence)
            if files is not None:
                return Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                             f"The files hash to {_short(files.subject)}, not to the registered subject "
                             f"{_short(statement.subject)}; the Statement has no manifest to name the files",
                             {**evidence, "actual": files.subject})
            # verified by subject (a batch document's member, an ancestor carried in a lineage): no files,
            # nothing to compare; the subject itself is what the signed record names
            return Check(CheckName.INTEGRITY, Status.PASS, Code.OK,
                         "No files were given to compare, and the Statement carries no manifest (a batch "
                         "document's member or a carried ancestor): the subject is the signed record's", evidence)
        try:
            registered = Manifest.from_dict(statement.manifest)
        except ManifestError as err:
            return Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                         f"The Statement's manifest is invalid: {err}", evidence)
        if registered.subject != statement.subject:
            return Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                         "The Statement's manifest does not hash to the record's subject", evidence)
        if files is None:
            return Check(CheckName.INTEGRITY, Status.PASS, Code.OK,
                         f"The Statement's manifest ({registered.file_count} files) hashes to the subject; "
                         "no files were given to compare", evidence)
        diff = registered.diff(files)
        if diff.ok:
            return Check(CheckName.INTEGRITY, Status.PASS, Code.OK,
                         f"{files.file_count} files match the registered manifest", evidence)
        return Check(CheckName.INTEGRITY, Status.FAIL, Code.TAMPERED,
                     f"The files differ from the registered manifest: {diff.report(limit=10)}",
                     {**evidence, **diff.to_dict()})

    def _verify_single_file(self, path: Path, actual: Manifest) -> Verdict:
        """One file of a larger artifact: find the artifact by the file's SHA-256, prove the file is in it."""
        entry = actual.entries[0]
        hits: list[tuple[str, str]] = []
        for source in self.sources:
            hits.extend(source.files(entry.sha256_hex))
        for given in (s for statements in self._given.values() for s in statements):  # --statement files
            for item in (given.manifest or {}).get("files") or ():
                if isinstance(item, dict) and item.get("sha256") == entry.sha256_hex and "offset" not in item:
                    member = item.get("path")
                    if isinstance(member, str):
                        hits.append((hex32(given.subject), member))
        judged: list[tuple[bool, Verdict]] = []
        for subject_hex, member in dict.fromkeys(hits):
            subject = bytes.fromhex(subject_hex[2:])
            manifests = [f.statement.manifest for f in self._candidates(subject)
                         if f.statement is not None and f.statement.manifest is not None]
            if not manifests or any(subject == v.subject for _, v in judged):
                continue
            registered = Manifest.from_dict(manifests[0])
            if member not in registered or registered.entry(member).sha256 != entry.sha256:
                continue
            proof = registered.proof(member)
            ok = merkle.verify(subject, registered.entry(member).leaf, proof)
            check = Check(
                CheckName.INTEGRITY, Status.PASS if ok else Status.FAIL, Code.OK if ok else Code.BAD_PROOF,
                (f"{path.name} is {member} of the registered artifact (inclusion proof against its subject)"
                 if ok else f"The inclusion proof of {member} does not lead to the subject"),
                {"subject": subject, "path": member, "proof": proof},
            )
            verdict = self._verify_subject(subject)
            rest = tuple(c for c in verdict.checks if c.check is not CheckName.INTEGRITY)
            trusted = any(r.relied and r.trusted for r in verdict.records)
            judged.append((trusted, Verdict(verdict.subject, verdict.record_id, (check, *rest), verdict.records)))
        if judged:
            # the file alone cannot tell which artifact it came from: a trusted publisher's artifact decides,
            # else the most restrictive of them (a stranger's artifact holding a copy never makes it pass)
            pool = [v for trusted, v in judged if trusted] or [v for _, v in judged]
            chosen = min(pool, key=_restrictiveness)
            others = [v for _, v in judged if v is not chosen]
            if not others:
                return chosen
            note = Check(CheckName.INTEGRITY, Status.INFO, Code.UNTRUSTED_PUBLISHER,
                         f"{path.name} is also part of {len(others)} other registered artifact(s) "
                         f"({', '.join(_short(v.subject) for v in others)}); the verdict is about "
                         f"{_short(chosen.subject)}, "
                         + ("a trusted publisher's artifact" if any(t for t, _ in judged) else "the most restrictive"),
                         {"subject": chosen.subject, "alsoIn": [v.subject for v in others]})
            return Verdict(chosen.subject, chosen.record_id, (*chosen.checks, note), chosen.records)
        raise NotFound(
            f"no registered artifact is known to contain {path} (sha256 {entry.sha256_hex})",
            hint="verify the whole artifact, or its Statement",
        )

    def _authenticity(self, statement: Statement) -> list[Check]:
        evidence: dict[str, object] = {"publisher": statement.publisher, "recordId": statement.record_id}
        # the domain of the registry read here, never the one the Statement names: a signature made for
        # another chain or registry says nothing about a record here (record ids do not depend on the domain)
        here = Domain(self.ledger.chain_id, self.ledger.registry or "")
        if statement.chain_id != here.chain_id or statement.registry.lower() != here.verifying_contract.lower():
            return [Check(CheckName.AUTHENTICITY, Status.FAIL, Code.BAD_SIGNATURE,
                          f"The Statement is for registry {statement.registry} on chain {statement.chain_id}, but "
                          f"this verifier reads registry {here.verifying_contract} on chain {here.chain_id}: its "
                          "signature does not hold here",
                          {**evidence, "chainId": statement.chain_id, "registry": statement.registry})]
        try:
            signer: str | None = recover_record_signer(statement.record, here, statement.signature)
        except ProvenanceError as err:
            signer, why = None, str(err)
        else:
            why = f"it was signed by {signer}"
        signed_by = f"Signed by {statement.publisher}"
        if signer != statement.publisher:
            if not self._wallet_signed(statement, here):
                return [Check(CheckName.AUTHENTICITY, Status.FAIL, Code.BAD_SIGNATURE,
                              f"The record's signature does not match its publisher {statement.publisher}: {why}",
                              evidence)]
            evidence["wallet"] = "ERC-1271"
            signed_by = f"Signed for {statement.publisher} (a contract wallet that accepts the signature, ERC-1271)"
        if self.policy.is_trusted_publisher(statement.publisher):
            return [Check(CheckName.AUTHENTICITY, Status.PASS, Code.OK,
                          f"{signed_by}, a publisher the policy trusts", evidence)]
        listed = bool(self.policy.trusted_publishers)
        return [Check(CheckName.AUTHENTICITY, self.policy.status_of(Code.UNTRUSTED_PUBLISHER),
                      Code.UNTRUSTED_PUBLISHER,
                      f"{signed_by}, "
                      + ("who is not among the policy's trusted publishers" if listed
                         else "but the policy names no trusted publishers"),
                      evidence)]

    def _wallet_signed(self, statement: Statement, domain: Domain) -> bool:
        """Whether the publisher is a contract whose ERC-1271 ``isValidSignature`` accepts the Statement's
        signature of the record's digest, as the registry's SignatureChecker would."""
        return self.ledger.has_code(statement.publisher) and self.ledger.is_valid_signature(
            statement.publisher, statement.record.digest(domain), statement.signature
        )

    def _accepted_batch(self, statement: Statement | None, record: IndexedRecord | None) -> Batch | None:
        """The batch that anchors the record, if one does: the publisher's own anchor of the Statement's
        root, or the batch the record was proven into (the registry lets only the publisher prove a record
        into another submitter's batch). Another submitter's anchor of the root alone counts for nothing:
        a root proves inclusion, not the publisher's consent."""
        candidates: list[tuple[str, str]] = []
        anchor = statement.anchor if statement is not None else None
        if statement is not None and anchor is not None and anchor.type == "batch" and anchor.batch_root is not None:
            candidates.append((statement.publisher, hex32(anchor.batch_root)))
        if record is not None and record.batch_root is not None and record.batch_submitter is not None:
            candidates.append((record.batch_submitter, record.batch_root))
        for submitter, root in candidates:
            batch = self._indexed_batch(root, submitter)
            if batch is not None:
                return batch
        return None

    def _indexed_batch(self, root: str | bytes, submitter: str) -> Batch | None:
        """The index's batch (``root``, ``submitter``), read once per verifier: a verdict, or a chunk of a
        batch document's members, who all name the same batch."""
        key = (hex32(root) if isinstance(root, bytes) else root.lower(), submitter.lower())
        if key not in self._batches:
            self._batches[key] = self.index.batch(root, submitter)
        return self._batches[key]

    def _anchoring(
        self, statement: Statement, record: IndexedRecord | None
    ) -> tuple[list[Check], IndexedRecord | None]:
        """Anchoring by the events, then cross-checked with the registry's storage (:meth:`_doubted`)."""
        checks, record = self._anchoring_by_events(statement, record)
        if any(c.code is Code.BAD_PROOF for c in checks):  # the Statement's own proof fails: no chain read helps
            return checks, record
        doubts = [d for d in self._record_doubts(statement.record_id, record) if d.check is CheckName.ANCHORING]
        keys: list[tuple[str, bytes]] = []
        anchor = statement.anchor
        if anchor is not None and anchor.type == "batch" and anchor.batch_root is not None:
            keys.append((statement.publisher, anchor.batch_root))
        if record is not None and record.batch_root is not None and record.batch_submitter is not None:
            keys.append((record.batch_submitter, bytes.fromhex(record.batch_root[2:])))
        for submitter, root in dict.fromkeys(keys):
            settled = self._settled_block()
            state = self._batch_state(submitter, root)
            doubts += batch_disagreements(state, self._indexed_batch(root, submitter), settled,
                                          submitter=submitter, root=root)
        return self._doubted(CheckName.ANCHORING, checks, doubts, statement.record_id), record

    def _anchoring_by_events(
        self, statement: Statement, record: IndexedRecord | None
    ) -> tuple[list[Check], IndexedRecord | None]:
        rid = statement.record_id
        evidence: dict[str, Any] = {"recordId": rid}
        if record is not None and record.batch_root is None:  # registered directly, seen on chain
            if record.publisher != statement.publisher:
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.BAD_SIGNATURE,
                              f"The registry lists {record.publisher} as publisher, not {statement.publisher}",
                              evidence)], record
            evidence.update(txHash=record.tx_hash, block=record.block_number)
            return [self._confirmed(record.block_number, "registered directly", evidence)], record
        anchor = statement.anchor
        if anchor is not None and anchor.type == "batch" and anchor.batch_root is not None:
            root = anchor.batch_root
            evidence.update(batchRoot=root, proof=list(anchor.proof), txHash=anchor.tx_hash)
            if anchor.submitter is not None:
                evidence.update(submitter=anchor.submitter)
            if not merkle.verify(root, merkle.record_leaf(rid), anchor.proof):
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.BAD_PROOF,
                              f"The record's inclusion proof does not lead to batch root {_short(root)}",
                              evidence)], record
        batch = self._accepted_batch(statement, record)
        if batch is not None:
            batch_root = bytes.fromhex(batch.root[2:])
            if anchor is None or anchor.batch_root != batch_root:
                evidence.pop("proof", None)  # proven on chain into another batch than the Statement's
            evidence.update(batchRoot=batch_root, block=batch.block_number, txHash=batch.tx_hash,
                            submitter=batch.submitter)
            return [self._confirmed(batch.block_number, f"in batch {_short(batch_root)} of {batch.count} records "
                                    f"anchored by {batch.submitter}", evidence)], record
        if anchor is not None and anchor.type == "batch" and anchor.batch_root is not None:
            root = anchor.batch_root
            strangers = self.index.batches(root)
            if not strangers and (statement.chain_id != self.ledger.chain_id
                                  or statement.registry.lower() != (self.ledger.registry or "").lower()):
                # anchored elsewhere: not "not yet anchored" here, but not registered here at all (as direct)
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                              f"The Statement says the record was anchored in batch {_short(root)} of registry "
                              f"{statement.registry} on chain {statement.chain_id}; registry {self.ledger.registry} "
                              f"on chain {self.ledger.chain_id} has no such record", evidence)], record
            if strangers:
                who = ", ".join(sorted({b.submitter for b in strangers}))
                return [Check(CheckName.ANCHORING, self.policy.status_of(Code.NOT_ANCHORED), Code.NOT_ANCHORED,
                              f"Batch root {_short(root)} is anchored in registry {self.ledger.registry} only by "
                              f"{who}, not by the publisher {statement.publisher}, who never proved the record into "
                              "it: a root anchored by someone else does not anchor a publisher's record",
                              {**evidence, "submitters": sorted({b.submitter for b in strangers})})], record
            return [Check(CheckName.ANCHORING, self.policy.status_of(Code.NOT_ANCHORED), Code.NOT_ANCHORED,
                          f"Batch root {_short(root)} is not anchored in registry {self.ledger.registry}",
                          evidence)], record
        if anchor is not None and anchor.type == "direct":
            evidence.update(txHash=anchor.tx_hash)
            return [Check(CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                          f"The Statement says the record was registered in tx {hex32(anchor.tx_hash)}, but registry "
                          f"{self.ledger.registry} on chain {self.ledger.chain_id} has no such record",
                          evidence)], record
        return [Check(CheckName.ANCHORING, self.policy.status_of(Code.NOT_ANCHORED), Code.NOT_ANCHORED,
                      "The record is not anchored yet (queued for a batch, or never sent)", evidence)], record

    def _confirmed(self, block: int, how: str, evidence: dict[str, Any]) -> Check:
        confirmations = self._head - block + 1
        evidence = {**evidence, "confirmations": confirmations}
        if confirmations < self.policy.confirmations:
            return Check(CheckName.ANCHORING, self.policy.status_of(Code.UNCONFIRMED), Code.UNCONFIRMED,
                         f"Anchored ({how}) in block {block}, {confirmations} of the "
                         f"{self.policy.confirmations} confirmations the policy asks for", evidence)
        return Check(CheckName.ANCHORING, Status.PASS, Code.OK,
                     f"Anchored ({how}) in block {block}, {confirmations} confirmations", evidence)

    def _status(self, statement: Statement, record: IndexedRecord | None) -> list[Check]:
        rid = statement.record_id
        lines = self._status_lines(rid, self._record_events(rid))
        doubts = [d for d in self._record_doubts(rid, record) if d.check is CheckName.STATUS]
        return self._doubted(CheckName.STATUS, lines, doubts, rid)

    # ------------------------------------------------------------ the second opinion (provenance.crosscheck)

    def _settled_block(self) -> Settled:
        """The block the registry's storage is read at: the node's finalized one (else safe, else latest)."""
        return self._reads.settled_block(self.ledger)

    def _record_doubts(self, record_id: bytes, record: IndexedRecord | None) -> list[Disagreement]:
        """Where ``recordState`` at the settled block and the record's events disagree."""
        settled = self._settled_block()
        state = self._reads.states.get(record_id)
        if state is None:
            state = self._reads.states[record_id] = self.ledger.record_state(record_id, block=settled.number)
        return record_disagreements(state, record, self._record_events(record_id), settled)

    def _batch_state(self, submitter: str, root: bytes) -> BatchState:
        """``batchState`` at the settled block, asked once per batch (the block is fixed, so is its answer)."""
        key = (submitter.lower(), bytes(root))
        state = self._reads.batch_states.get(key)
        if state is None:
            state = self._reads.batch_states[key] = self.ledger.batch_state(
                submitter, root, block=self._settled_block().number)
        return state

    def _doubted(self, check: CheckName, lines: list[Check], doubts: Sequence[Disagreement],
                 record_id: bytes) -> list[Check]:
        """``lines`` of ``check`` with what ``doubts`` contradicts replaced by unverifiable lines naming both answers.

        Anchoring is one line: it becomes one unverifiable line with the first disagreement's code (and
        the events' line's evidence). Status lines are per fact: a revocation or
        supersession the two answers tell differently is one unverifiable line, in place of the
        events' line of that code and of the OK line.
        """
        if not doubts:
            return lines
        settled = self._settled_block()
        cursor = self.index.cursor(self.ledger.chain_id, self.ledger.registry or "")
        indexed = "" if cursor is None else f" (indexed up to block {cursor})"

        def line(code: Code, found: Sequence[Disagreement], evidence: dict[str, Any]) -> Check:
            said = "; ".join(f"the registry's state says {d.chain}, the events{indexed} say {d.events}"
                             for d in found)
            what = "Anchoring" if check is CheckName.ANCHORING else "The record's status"
            return Check(check, Status.UNVERIFIABLE, code,
                         f"{what} cannot be verified: at the {settled.tag} block {settled.number} {said}. The node "
                         "left events out, or the index is stale, or the state it answers is wrong: verify against "
                         "your own node or another provider",
                         {**evidence, "recordId": record_id, "settledTag": settled.tag,
                          "settledBlock": settled.number, "chainSays": [d.chain for d in found],
                          "eventsSay": [d.events for d in found]})

        if check is CheckName.ANCHORING:
            return [line(doubts[0].code, doubts, dict(lines[0].evidence)), *lines[1:]]
        codes = {d.code for d in doubts}
        kept = [c for c in lines if c.code is not Code.OK and c.code not in codes]
        return kept + [line(code, [d for d in doubts if d.code is code], {}) for code in dict.fromkeys(
            d.code for d in doubts)]

    def _status_lines(self, record_id: bytes, events: Sequence[HistoryEntry]) -> list[Check]:
        lines: list[Check] = []
        for entry in events:
            code = entry.details.get("reason_code")
            reason = entry.details.get("reason") or ""
            why = _why(code, reason)
            if entry.event == "RecordRevoked":
                lines.append(Check(CheckName.STATUS, Status.FAIL, Code.REVOKED,
                                   f"The publisher revoked this record in block {entry.block_number}{why}",
                                   {"recordId": record_id, "reason": reason, "reasonCode": code,
                                    "txHash": entry.tx_hash, "block": entry.block_number}))
            elif entry.event == "RecordSuperseded":
                successor = entry.details.get("successor")
                lines.append(Check(CheckName.STATUS, Status.WARN, Code.SUPERSEDED,
                                   f"The publisher superseded this record by {successor}{why}",
                                   {"recordId": record_id, "successor": successor, "reason": reason,
                                    "reasonCode": code, "txHash": entry.tx_hash, "block": entry.block_number}))
        if not lines:
            lines.append(Check(CheckName.STATUS, Status.PASS, Code.OK, "Not revoked, not superseded",
                               {"recordId": record_id}))
        return lines

    def _record_events(self, record_id: bytes) -> list[HistoryEntry]:
        """The index's events of a record in this registry, read once per verifier (a verdict asks for a
        record's events from several checks: its status, its doubts, its facts)."""
        if record_id in self._unindexed:
            return []
        events = self._events.get(record_id)
        if events is None:
            events = self._events[record_id] = [
                e for e in self.index.history(record_id=record_id)
                if e.chain_id == self.ledger.chain_id and e.registry == self.ledger.registry]
        return events

    def _claims(self, statement: Statement) -> tuple[Check, dict[str, Any]]:
        evidence = {"recordId": statement.record_id}
        try:
            disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
            view = disclosed_view(statement.record.claims_root, disclosures)
        except (ClaimsError, StatementError, KeyError, TypeError, ValueError) as err:
            return Check(CheckName.CLAIMS, Status.FAIL, Code.DISCLOSURE_MISMATCH,
                         f"Disclosed claims do not match the signed claimsRoot: {err}", evidence), {}
        # An evaluation record commits its own field set (provenance.claims.EVALUATION_FIELDS).
        kind = "evaluation" if statement.record.kind is Kind.EVALUATION else "other"
        return Check(CheckName.CLAIMS, Status.PASS, Code.OK,
                     f"{len(view)} of {len(fields_of(kind))} claim fields disclosed, each matching the signed "
                     "claimsRoot", {**evidence, "fields": list(view)}), view

    def _chain_only_checks(self, found: _Found) -> list[Check]:
        record = found.on_chain
        rid = bytes.fromhex(record.record_id[2:])
        doubts = self._record_doubts(rid, record)
        checks = self._doubted(CheckName.ANCHORING, [self._confirmed(
            record.block_number, "registered directly",
            {"recordId": rid, "txHash": record.tx_hash, "block": record.block_number})],
            [d for d in doubts if d.check is CheckName.ANCHORING], rid)
        checks += self._doubted(CheckName.STATUS, self._status_lines(rid, self._record_events(rid)),
                                [d for d in doubts if d.check is CheckName.STATUS], rid)
        return checks

    # ------------------------------------------------------------ evaluations

    def _evaluations(self, subject: bytes, kind: Kind) -> list[Check]:
        """The evaluations check of ``subject`` (:func:`provenance.rules.evaluation_checks`)."""
        if subject not in self._evaluations_seen:
            self._evaluations_seen[subject] = self._evaluations_of(subject)
        seen, unexamined = self._evaluations_seen[subject]
        return evaluation_checks(subject, kind, seen, self.policy, unexamined=unexamined)

    def _evaluations_of(self, subject: bytes) -> tuple[list[EvaluationSeen], int]:
        """Every evaluation record naming ``subject`` as a parent, as :class:`EvaluationSeen`: those of the
        evaluators the policy counts all examined, at most :data:`MAX_UNTRUSTED` of anyone else's (anyone
        can register many); and how many were left unexamined."""
        publishers: dict[bytes, str] = {}
        for record in self.index.evaluations_of(subject):
            if record.chain_id == self.ledger.chain_id and record.registry == self.ledger.registry:
                publishers.setdefault(bytes.fromhex(record.record_id[2:]), record.publisher)
        for statements in (*self._given.values(), *self._carried.values()):
            for statement in statements:
                if statement.record.kind == Kind.EVALUATION and subject in statement.record.parents \
                        and not self._foreign(statement):
                    publishers.setdefault(statement.record_id, statement.publisher)
        policy = self.policy
        counting = {a.lower() for a in policy.trusted_evaluators} | {
            a.lower() for r in policy.require.evaluations for a in policy.evaluators_for(r)}
        ours = [rid for rid, p in publishers.items() if p.lower() in counting]
        theirs = [rid for rid, p in publishers.items() if p.lower() not in counting]
        examined = ours + theirs[:MAX_UNTRUSTED]
        unexamined = max(len(theirs) - MAX_UNTRUSTED, 0)
        return [self._evaluation_seen(rid, publishers[rid]) for rid in examined], unexamined

    def _evaluation_seen(self, record_id: bytes, publisher: str) -> EvaluationSeen:
        """One evaluation record: its Statement obtained and checked against the chain (signature, anchoring,
        status, disclosures) before anything it discloses is read."""
        found = self._found_by_record(record_id)
        found = self._obtained(found) if found is not None else None
        if found is None or found.statement is None:
            return EvaluationSeen(record_id, publisher, unreadable=True, problem=(
                Code.NOT_REGISTERED, f"its Statement could not be obtained ({self._missing_why(record_id)})"))
        statement = found.statement
        own = [*self._authenticity(statement), *self._anchoring(statement, found.record)[0],
               *self._status(statement, found.record)]
        claims_line, view = self._claims(statement)
        own.append(claims_line)
        revoked = self._candidate(found).revoked
        for line in own:
            if line.code in (Code.OK, Code.UNTRUSTED_PUBLISHER, Code.REVOKED) or line.status is Status.INFO:
                continue  # who published it is the evaluators' policy's question; a revocation is said below
            if line.status in (Status.FAIL, Status.UNVERIFIABLE) \
                    or line.code in (Code.NOT_ANCHORED, Code.UNCONFIRMED, Code.SUPERSEDED):
                return EvaluationSeen(record_id, statement.publisher, problem=(line.code, f"{line.check}: "
                                      f"{line.message}"), unreadable=line.status is Status.UNVERIFIABLE)
        return EvaluationSeen.from_claims(record_id, statement.publisher, view, revoked=revoked)

    # ------------------------------------------------------------ lineage

    def _facts(self, found: _Found, own_checks: list[Check],
               claims: dict[str, Any] | None = None) -> ArtifactFacts:
        """``claims``: what :meth:`_claims` read of ``found``'s Statement, when the caller already checked it."""
        statement, record = found.statement, found.record
        if statement is not None:
            rid = statement.record_id
            publisher, kind, parents, uri = (statement.publisher, statement.record.kind,
                                             statement.record.parents, statement.record.uri)
            if claims is None:
                _, claims = self._claims(statement)
        else:
            chain = found.on_chain  # a record of a subject: registered alone, so its kind is on chain
            rid = bytes.fromhex(chain.record_id[2:])
            publisher, uri, claims = chain.publisher, chain.uri or "", {}
            kind = Kind(chain.kind) if chain.kind is not None else Kind.OTHER
            parents = tuple(bytes.fromhex(p[2:]) for p in chain.parents)
        events = self._record_events(rid)
        registered_at = None
        if record is not None and record.batch_root is None:
            registered_at = record.block_time
        else:  # a batched record is registered when its batch was anchored (as the registry counts it)
            batch = self._accepted_batch(statement, record)
            registered_at = batch.block_time if batch else None
        revoked = [e for e in events if e.event == "RecordRevoked"]
        superseded = [e for e in events if e.event == "RecordSuperseded"]
        successor = successor_at = None
        if superseded:
            successor = bytes.fromhex(superseded[-1].details["successor"][2:])
            successor_record = self.index.record(successor)
            successor_at = successor_record.block_time if successor_record else None
        # an ancestor's own failure (not the policy's view of who published it) fails its descendants
        failed = any(c.status is Status.FAIL and c.code is not Code.UNTRUSTED_PUBLISHER
                     and c.check in (CheckName.INTEGRITY, CheckName.AUTHENTICITY, CheckName.ANCHORING,
                                     CheckName.STATUS, CheckName.CLAIMS)
                     for c in own_checks)
        return ArtifactFacts(
            subject=found.subject, kind=kind, publisher=publisher, record_id=rid, registered_at=registered_at,
            uri=uri, parents=tuple(parents), claims=claims,
            revoked_at=revoked[0].block_time if revoked else None,
            revocation_reason=(revoked[0].details.get("reason") or "") if revoked else None,
            revocation_code=(revoked[0].details.get("reason_code") or ReasonCode.OTHER.label) if revoked else None,
            erasure=self._erasure(rid),
            successor=successor, successor_registered_at=successor_at,
            endorsements=tuple(e.actor for e in events if e.event == "RecordEndorsed" and e.actor is not None),
            disputes=tuple(e.actor for e in events if e.event == "RecordDisputed" and e.actor is not None),
            own_verdict_failed=failed,
            statement_missing=statement is None,  # no claims could be read: said so, not "not disclosed"
            statement_missing_why=self._missing_why(rid) if statement is None else "",
        )

    def _missing_why(self, record_id: bytes) -> str:
        """Why a record's Statement could not be obtained, for a person."""
        why = self._unobtained.get(record_id)
        if why is not None:
            return why
        asked = "the Statement given, the lineage it carries" + (", the sources asked" if self.sources else "")
        return f"neither {asked} nor a uri gave it" if self._fetch is not None else f"{asked} do not hold it"

    def _erasure(self, record_id: bytes) -> Erasure | None:
        """The record's revocation or supersession with reason code ``erasure``, if its publisher made one."""
        for entry in self._record_events(record_id):
            if entry.event in ("RecordRevoked", "RecordSuperseded") \
                    and entry.details.get("reason_code") == ReasonCode.ERASURE.label:
                action = "revoked" if entry.event == "RecordRevoked" else "superseded"
                return Erasure(action, entry.block_time, entry.details.get("reason") or "")
        return None

    def _evaluate(self, root: ArtifactFacts) -> list[Check]:
        """The rules over the lineage. An ancestor subject with several records (anyone may register
        any subject) is judged by each of them in turn and every problem found is kept: picking one
        record would let a second registration hide a revocation or an opt-out of the first."""
        lineage, alternatives, unanchored, doubted, information = self._lineage(root)
        checks = evaluate(lineage, self.policy)
        for subject, others in alternatives.items():
            for other in others:
                artifacts = dict(lineage.artifacts)
                artifacts[subject] = other
                for check in evaluate(replace(lineage, artifacts=artifacts), self.policy):
                    if check.code is not Code.OK and check not in checks:
                        checks.append(check)
        said = {(c.check, c.code) for c in checks}
        notes: list[Check] = []
        for subject, others in information.items():  # what records nobody relied on would change: information
            for other in others:
                if other.statement_missing:  # nothing it claims could be read: it would say nothing of use
                    continue
                artifacts = dict(lineage.artifacts)
                artifacts[subject] = other
                for check in evaluate(replace(lineage, artifacts=artifacts), self.policy):
                    if check.status in (Status.PASS, Status.INFO) or (check.check, check.code) in said \
                            or check.code is Code.UNTRUSTED_PUBLISHER:
                        continue
                    said.add((check.check, check.code))
                    notes.append(Check(
                        check.check, Status.INFO, check.code,
                        f"Not relied on: record {_short(other.record_id or b'')} of {_short(subject)} by "
                        f"{other.publisher} would say: {check.message}",
                        {**check.evidence, "recordId": other.record_id, "publisher": other.publisher,
                         "wouldBe": check.status.value}))
        checks += notes[:_MAX_INFORMATION]
        for facts in unanchored:  # CLAIMS.md: an ancestor that is not registered -> PARENT_UNKNOWN
            checks.append(Check(
                CheckName.LINEAGE, self.policy.status_of(Code.PARENT_UNKNOWN), Code.PARENT_UNKNOWN,
                f"Ancestor {facts.kind.name.lower()} {_short(facts.subject)} has a signed Statement but no record "
                f"in registry {self.ledger.registry} on chain {self.ledger.chain_id} (not anchored yet): "
                "it is not registered, cannot be revoked, and its claims are taken on its Statement alone",
                {"subject": root.subject, "ancestor": facts.subject, "recordId": facts.record_id},
            ))
        for facts, line in doubted:  # an ancestor whose record the chain's two answers tell differently
            checks.append(Check(
                CheckName.LINEAGE, Status.UNVERIFIABLE, Code.PARENT_FAILED,
                f"Ancestor {facts.kind.name.lower()} {_short(facts.subject)} cannot be verified ({line.check} "
                f"{line.code}): {line.message}",
                {**line.evidence, "subject": root.subject, "ancestor": facts.subject},
            ))
        problems = {c.check for c in checks if c.status not in (Status.PASS, Status.INFO)}
        return [c for c in checks if c.code is not Code.OK or c.check not in problems]

    def _ancestor_facts(self, found: _Found) -> tuple[ArtifactFacts, bool, list[Check]]:
        """An ancestor's facts, whether its record is on chain, and its lines the registry's storage
        contradicts (:meth:`_doubted`)."""
        own: list[Check] = []
        if found.statement is not None:
            own += self._authenticity(found.statement)
            own += self._anchoring(found.statement, found.record)[0]
            own += self._status(found.statement, found.record)
            own.append(self._claims(found.statement)[0])  # claims that do not match are no claims
        else:
            own += self._chain_only_checks(found)
        on_chain = any(c.check is CheckName.ANCHORING and c.code in (Code.OK, Code.UNCONFIRMED) for c in own)
        doubted = [c for c in own if c.status is Status.UNVERIFIABLE and "settledBlock" in c.evidence]
        return self._facts(found, own_checks=own), on_chain, doubted

    def _lineage(self, root: ArtifactFacts) -> tuple[
        Lineage, dict[bytes, list[ArtifactFacts]], list[ArtifactFacts], list[tuple[ArtifactFacts, Check]],
        dict[bytes, list[ArtifactFacts]],
    ]:
        """The lineage with a relied-on record of each ancestor, the facts of its other relied-on
        records, the ancestors none of whose records is on chain (and did not fail otherwise), the
        ancestors' lines the registry's storage contradicts, and the facts of records nobody relied on
        (shown as information)."""
        doubted: dict[bytes, list[tuple[ArtifactFacts, Check]]] = {}
        pinned: dict[bytes, set[bytes]] = {}  # parent subject -> the record ids children pinned for it
        named_by: dict[bytes, set[str]] = {}  # parent subject -> publishers of children naming it without a pin
        used: dict[bytes, tuple[frozenset[bytes], frozenset[str]]] = {}
        information: dict[bytes, list[ArtifactFacts]] = {}  # records of an ancestor nobody relied on

        def look_up(subject: bytes) -> tuple[ArtifactFacts, list[ArtifactFacts], bool] | None:
            """The facts of the relied-on record(s) (:func:`provenance.trust.rely_on_parent`) and whether
            any of them is on chain."""
            if subject == root.subject:
                return root, [], True
            used[subject] = (frozenset(pinned.get(subject, ())), frozenset(named_by.get(subject, ())))
            found = self._candidates(subject)
            by_id = {self._record_id(f): f for f in found}
            reliance = rely_on_parent(subject, [self._candidate(f) for f in found], self.policy, self._look_up,
                                      pinned=used[subject][0], named_by=used[subject][1])
            relied = [(c, f) for c in reliance.relied
                      if (f := by_id.get(c.record_id) or self._found_by_record(c.record_id)) is not None]
            if not relied:
                return None
            mentioned = {c.record_id for c in reliance.relied} | {r for rs in reliance.replaced.values() for r in rs}
            unrelied = [f for f in found if self._record_id(f) not in mentioned and self._candidate(f).anchored]
            information[subject] = [replace(self._ancestor_facts(f)[0], subject=subject)
                                    for f in unrelied[:_MAX_INFORMATION]]
            all_facts: list[ArtifactFacts] = []
            on_chain = False
            doubted[subject] = []
            for candidate, record in relied:
                facts, anchored, doubts = self._ancestor_facts(self._obtained(record))
                earlier = reliance.replaced.get(candidate.record_id, ())
                erasure = facts.erasure or next((e for r in earlier if (e := self._erasure(r)) is not None), None)
                facts = replace(facts, subject=subject, replaced=earlier, erasure=erasure)
                on_chain = on_chain or anchored
                all_facts.append(facts)
                doubted[subject] += [(facts, line) for line in doubts]
            return all_facts[0], all_facts[1:], on_chain

        def parents_of(_: bytes, found: tuple[ArtifactFacts, list[ArtifactFacts], bool]) -> list[bytes]:
            parents: list[bytes] = []
            for facts in (found[0], *found[1]):
                pins = facts.pins()
                for parent in facts.derived_from():
                    if parent in pins:
                        pinned.setdefault(parent, set()).add(pins[parent])
                    elif facts.publisher is not None:
                        named_by.setdefault(parent, set()).add(facts.publisher)
                    parents.append(parent)
            return parents

        for _ in range(4):  # a child reached after its parent was looked up may pin another record: again
            walked = walk(root.subject, look_up, parents_of, max_nodes=MAX_LINEAGE)
            if all(used[s] == (frozenset(pinned.get(s, ())), frozenset(named_by.get(s, ()))) for s in used):
                break
        ancestors: list[ArtifactFacts] = []
        alternatives: dict[bytes, list[ArtifactFacts]] = {}
        unanchored: list[ArtifactFacts] = []
        for subject, (facts, others, on_chain) in walked.found.items():
            if subject == root.subject:
                continue
            ancestors.append(facts)
            if others:
                alternatives[subject] = others
            if not on_chain and not facts.own_verdict_failed and not doubted.get(subject):
                unanchored.append(facts)
        lines = [item for subject in walked.found if subject != root.subject for item in doubted.get(subject, [])]
        # limits are never passes: the parents the walk left out are named as not checked, not as unknown
        reached = set(walked.order)
        unchecked = ([p for subject, found in walked.found.items() for p in parents_of(subject, found)
                      if p not in reached] if walked.truncated else [])
        lineage = Lineage.build(root, ancestors, walked.unknown, unchecked=unchecked,
                                limit=MAX_LINEAGE if walked.truncated else None)
        shown = {subject: information[subject] for subject in walked.found if information.get(subject)}
        return lineage, alternatives, unanchored, lines, shown

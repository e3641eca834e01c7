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
(the local store, the service's index, Statements given by the caller) hold.
When integrity, authenticity or anchoring fails, those four are not evaluated
(unverifiable, "not evaluated: <check> failed"): a forged Statement costs no
lineage walk.

A wrong pass is the worst defect this tool can have, so every path that
cannot prove something says so: nothing defaults to OK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provenance import merkle
from provenance.claims import CLAIM_FIELDS
from provenance.commitments import Disclosure, disclosed_view
from provenance.crosscheck import Disagreement, batch_disagreements, record_disagreements
from provenance.errors import ClaimsError, ManifestError, NotFound, ProvenanceError, StatementError
from provenance.lineage import walk
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.record import Domain, Kind, ReasonCode, hex32
from provenance.rules import ArtifactFacts, Lineage, evaluate
from provenance.signing import recover_record_signer
from provenance.statement import Statement, statement_path_for
from provenance.verdict import Check, CheckName, Code, Status, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import Batch, HistoryEntry, Index, IndexedRecord
    from provenance.ledger import Ledger, RecordState, Settled

__all__ = ["Verifier", "StatementSource", "NotFound", "Acceptance", "ACCEPTANCE_CHECKS"]

MAX_LINEAGE = 256  # artifacts walked at most; a deeper graph is reported, not followed forever


class StatementSource(Protocol):
    """Where Statements and file digests come from (the local store, the service's index)."""

    def statements_for(self, subject: bytes) -> list[Statement]: ...

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


def _short(value: bytes) -> str:
    text = value.hex()
    return f"0x{text[:8]}...{text[-4:]}"


def _why(code: str | None, reason: str) -> str:
    """``' (erasure): "text"'``: a revocation's or supersession's reason code and text, as a message ends."""
    named = f" ({code})" if code is not None and code != ReasonCode.OTHER.label else ""
    return f"{named}: {reason!r}" if reason else named


def _revocation_reason(code: str | None, reason: str | None) -> str | None:
    """The reason the rules read: the text, led by the code's name unless it is ``other`` (so that a
    revocation with reason code ``erasure`` reads as one for erasure whatever its text says)."""
    if code is None or code == ReasonCode.OTHER.label:
        return reason
    text = reason or ""
    if text.lower().startswith(code):
        return text
    return f"{code}: {text}" if text else code


# A Statement that fails one of these is not what it says (or not on this registry): its lineage is not
# walked (no ancestor look-ups for parents anyone can write into a forged Statement) and the rules' lines
# say why. An untrusted publisher is the policy's view, not a failure of the Statement: its lineage is judged.
_GATES = (CheckName.INTEGRITY, CheckName.AUTHENTICITY, CheckName.ANCHORING)
_RULES = (CheckName.COPYRIGHT, CheckName.PRIVACY, CheckName.LINEAGE, CheckName.ENDORSEMENTS)


def _not_evaluated(subject: bytes, failed: Check) -> list[Check]:
    """The rules' lines when ``failed`` stopped the verification: unverifiable, with its code."""
    return [Check(rule, Status.UNVERIFIABLE, failed.code,
                  f"not evaluated: {failed.check} failed ({failed.code}); the rules are judged only for a "
                  "Statement whose integrity, authenticity and anchoring hold",
                  {"subject": subject, "notEvaluatedBecause": failed.check.value}) for rule in _RULES]


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
    ) -> None:
        """``sync``: bring the index up to the chain first. ``head``: the chain head to count
        confirmations against (default: asked from the node); a service passes the one its
        indexer last saw, which is never ahead of the chain, so it can only under-count."""
        self.ledger = ledger
        self.index = index
        self.policy = policy
        self.sources = list(sources)
        self._given: dict[bytes, list[Statement]] = {}
        for statement in extra_statements:
            self._given.setdefault(statement.subject, []).append(statement)
        if sync:
            from provenance.indexer import Indexer

            Indexer(index, ledger).sync()
        self._head = ledger.block_number() if head is None else head
        self._settled: Settled | None = None  # read when first needed (crosscheck), then fixed
        self._states: dict[bytes, RecordState] = {}

    # ------------------------------------------------------------ entry points

    def verify_path(self, path: Path) -> Verdict:
        """A downloaded artifact: a directory or a file, with or without its Statement beside it."""
        path = Path(path)
        if not path.exists():
            raise ManifestError(f"{path} does not exist", hint="give the artifact's directory or file")
        beside = statement_path_for(path)
        actual = Manifest.from_path(path)
        if beside.exists():
            return self.verify_statement(Statement.from_file(beside), files=actual, path=path)
        found = self._best(actual.subject)
        if found.statement is not None or found.record is not None:
            return self._verify(found, files=actual, path=path)
        if path.is_file():
            return self._verify_single_file(path, actual)
        raise NotFound(
            f"no Statement beside {path} and no record of its subject {hex32(actual.subject)} "
            f"on chain {self.ledger.chain_id} or in the local sources",
            hint="pass the Statement file that came with the artifact",
        )

    def verify_subject(self, subject: bytes) -> Verdict:
        """By subject alone: no files are checked, the rest is."""
        found = self._best(subject)
        if found.statement is None and found.record is None:
            return Verdict(subject, None, (Check(
                CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                f"No record of {_short(subject)} is registered in registry {self.ledger.registry} "
                f"on chain {self.ledger.chain_id}, and no Statement of it is known",
                {"subject": subject},
            ),))
        return self._verify(found)

    def verify_statement(self, statement: Statement, *, files: Manifest | None = None,
                         path: Path | None = None) -> Verdict:
        self._given.setdefault(statement.subject, []).insert(0, statement)
        return self._verify(_Found(statement.subject, statement, self._chain_record(statement)), files=files,
                            path=path)

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
        verdict = self.verify_statement(statement)
        checks = tuple(c for c in verdict.checks if c.check in ACCEPTANCE_CHECKS)
        refused = tuple(c for c in checks if c.status is Status.FAIL or c.code in _REFUSING)
        return replace(acceptance, checks=checks, refused_by=refused)

    # ------------------------------------------------------------ look-ups

    def _statements(self, subject: bytes) -> list[Statement]:
        found = list(self._given.get(subject, []))
        for source in self.sources:
            found.extend(source.statements_for(subject))
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
        return self.index.record(statement.record_id)

    def _best(self, subject: bytes) -> _Found:
        """The record to verify: a trusted publisher's first, then one not revoked, newest first."""
        candidates = self._candidates(subject)
        return candidates[0] if candidates else _Found(subject, None, None)

    def _candidates(self, subject: bytes) -> list[_Found]:
        """Every record known for ``subject``, best first (see :meth:`_best`)."""
        statements = self._statements(subject)
        chain = {bytes.fromhex(r.record_id[2:]): r for r in self.index.records_by_subject(subject)}
        candidates = [_Found(subject, s, chain.get(s.record_id) or self.index.record(s.record_id)) for s in statements]
        covered = {s.record_id for s in statements}
        candidates += [_Found(subject, None, r) for rid, r in chain.items() if rid not in covered]

        def rank(found: _Found) -> tuple[bool, bool, bool, int]:
            publisher = found.statement.publisher if found.statement else found.on_chain.publisher
            revoked = bool(found.record and found.record.revoked)
            block = found.record.block_number if found.record else -1
            return (not self.policy.is_trusted_publisher(publisher), revoked, found.statement is None, -block)

        return sorted(candidates, key=rank)

    # ------------------------------------------------------------ the checks

    def _verify(self, found: _Found, *, files: Manifest | None = None, path: Path | None = None) -> Verdict:
        statement = found.statement
        checks: list[Check] = []
        if statement is None:
            checks.append(Check(
                CheckName.INTEGRITY, Status.UNVERIFIABLE, Code.NOT_REGISTERED,
                "A record of this subject is on chain but no Statement of it is known: its manifest, signature "
                "and claims cannot be checked",
                {"subject": found.subject, "recordId": found.on_chain.record_id},
            ))
            facts = self._facts(found, own_checks=[])
            checks += self._chain_only_checks(found)
            checks += self._evaluate(facts)
            return Verdict(found.subject, bytes.fromhex(found.on_chain.record_id[2:]), tuple(checks))
        checks.append(self._integrity(statement, files, path))
        checks += self._authenticity(statement)
        anchoring, chain_state = self._anchoring(statement, found.record)
        checks += anchoring
        checks += self._status(statement, chain_state)
        claims_check, _ = self._claims(statement)
        checks.append(claims_check)
        failed = next((c for c in checks if c.check in _GATES and c.status is Status.FAIL
                       and c.code is not Code.UNTRUSTED_PUBLISHER), None)
        if failed is not None:
            checks += _not_evaluated(statement.subject, failed)
        else:
            facts = self._facts(found, own_checks=checks)
            checks += self._evaluate(facts)
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
            return Check(CheckName.INTEGRITY, Status.UNVERIFIABLE, Code.TAMPERED,
                         "The Statement carries no manifest and no files were given: integrity cannot be checked",
                         evidence)
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
        for subject_hex, member in hits:
            subject = bytes.fromhex(subject_hex[2:])
            found = self._best(subject)
            if found.statement is None or found.statement.manifest is None:
                continue
            registered = Manifest.from_dict(found.statement.manifest)
            if member not in registered or registered.entry(member).sha256 != entry.sha256:
                continue
            proof = registered.proof(member)
            leaf = registered.entry(member).leaf
            ok = merkle.verify(subject, leaf, proof)
            check = Check(
                CheckName.INTEGRITY, Status.PASS if ok else Status.FAIL, Code.OK if ok else Code.BAD_PROOF,
                (f"{path.name} is {member} of the registered artifact (inclusion proof against its subject)"
                 if ok else f"The inclusion proof of {member} does not lead to the subject"),
                {"subject": subject, "path": member, "proof": proof},
            )
            verdict = self._verify(found)
            rest = tuple(c for c in verdict.checks if c.check is not CheckName.INTEGRITY)
            return Verdict(verdict.subject, verdict.record_id, (check, *rest))
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
            batch = self.index.batch(root, submitter)
            if batch is not None:
                return batch
        return None

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
            state = self.ledger.batch_state(submitter, root, block=settled.number)
            doubts += batch_disagreements(state, self.index.batch(root, submitter), settled,
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
        if self._settled is None:
            self._settled = self.ledger.settled()
        return self._settled

    def _record_doubts(self, record_id: bytes, record: IndexedRecord | None) -> list[Disagreement]:
        """Where ``recordState`` at the settled block and the record's events disagree."""
        settled = self._settled_block()
        state = self._states.get(record_id)
        if state is None:
            state = self._states[record_id] = self.ledger.record_state(record_id, block=settled.number)
        return record_disagreements(state, record, self._record_events(record_id), settled)

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
        return [e for e in self.index.history(record_id=record_id)
                if e.chain_id == self.ledger.chain_id and e.registry == self.ledger.registry]

    def _claims(self, statement: Statement) -> tuple[Check, dict[str, Any]]:
        evidence = {"recordId": statement.record_id}
        try:
            disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
            view = disclosed_view(statement.record.claims_root, disclosures)
        except (ClaimsError, StatementError, KeyError, TypeError, ValueError) as err:
            return Check(CheckName.CLAIMS, Status.FAIL, Code.DISCLOSURE_MISMATCH,
                         f"Disclosed claims do not match the signed claimsRoot: {err}", evidence), {}
        return Check(CheckName.CLAIMS, Status.PASS, Code.OK,
                     f"{len(view)} of {len(CLAIM_FIELDS)} claim fields disclosed, each matching the signed "
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

    # ------------------------------------------------------------ lineage

    def _facts(self, found: _Found, own_checks: list[Check]) -> ArtifactFacts:
        statement, record = found.statement, found.record
        if statement is not None:
            rid = statement.record_id
            publisher, kind, parents, uri = (statement.publisher, statement.record.kind,
                                             statement.record.parents, statement.record.uri)
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
            revocation_reason=(
                _revocation_reason(revoked[0].details.get("reason_code"), revoked[0].details.get("reason"))
                if revoked else None
            ),
            successor=successor, successor_registered_at=successor_at,
            endorsements=tuple(e.actor for e in events if e.event == "RecordEndorsed" and e.actor is not None),
            disputes=tuple(e.actor for e in events if e.event == "RecordDisputed" and e.actor is not None),
            own_verdict_failed=failed,
            statement_missing=statement is None,  # no claims could be read: said so, not "not disclosed"
        )

    def _evaluate(self, root: ArtifactFacts) -> list[Check]:
        """The rules over the lineage. An ancestor subject with several records (anyone may register
        any subject) is judged by each of them in turn and every problem found is kept: picking one
        record would let a second registration hide a revocation or an opt-out of the first."""
        lineage, alternatives, unanchored, doubted = self._lineage(root)
        checks = evaluate(lineage, self.policy)
        for subject, others in alternatives.items():
            for other in others:
                artifacts = dict(lineage.artifacts)
                artifacts[subject] = other
                for check in evaluate(replace(lineage, artifacts=artifacts), self.policy):
                    if check.code is not Code.OK and check not in checks:
                        checks.append(check)
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
        problems = {c.check for c in checks if c.code is not Code.OK}
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

    def _lineage(
        self, root: ArtifactFacts
    ) -> tuple[Lineage, dict[bytes, list[ArtifactFacts]], list[ArtifactFacts], list[tuple[ArtifactFacts, Check]]]:
        """The lineage with the best record of each ancestor, the facts of its other records, the
        ancestors none of whose records is on chain (and did not fail otherwise), and the ancestors'
        lines the registry's storage contradicts."""
        doubted: dict[bytes, list[tuple[ArtifactFacts, Check]]] = {}

        def look_up(subject: bytes) -> tuple[ArtifactFacts, list[ArtifactFacts], bool] | None:
            """The facts of the best record, of the others, and whether any of them is on chain."""
            if subject == root.subject:
                return root, [], True
            candidates = self._candidates(subject)
            if not candidates:
                return None
            facts, on_chain, doubts = self._ancestor_facts(candidates[0])
            doubted[subject] = [(facts, line) for line in doubts]
            others = []
            for other in candidates[1:]:
                alternative, also, doubts = self._ancestor_facts(other)
                on_chain = on_chain or also
                others.append(alternative)
                doubted[subject] += [(alternative, line) for line in doubts]
            return facts, others, on_chain

        def parents_of(_: bytes, found: tuple[ArtifactFacts, list[ArtifactFacts], bool]) -> list[bytes]:
            return [p for facts in (found[0], *found[1]) for p in facts.derived_from()]

        walked = walk(root.subject, look_up, parents_of, max_nodes=MAX_LINEAGE)
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
        return lineage, alternatives, unanchored, lines

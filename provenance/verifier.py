"""The verifier: files, Statement and chain in, a :class:`~provenance.verdict.Verdict` out.

This is the chain-reading half; :mod:`provenance.rules` is the claims half.
For the artifact asked about it checks, in order:

integrity     the files against the Statement's manifest (TAMPERED names each
              changed, missing and extra file), or one file's inclusion proof;
authenticity  the EIP-712 signer recovered and compared with the publisher,
              then the publisher against the trust policy;
anchoring     a direct record in the registry, or a batch root anchored on
              chain and the record's inclusion proof; confirmations;
status        revoked, superseded (from the registry and its events);
claims        every disclosure against the signed claimsRoot;
then copyright, privacy, lineage and endorsements over the whole lineage,
with parents resolved from chain events and from Statements the sources
(the local store, the service's index, Statements given by the caller) hold.

A wrong pass is the worst defect this tool can have, so every path that
cannot prove something says so: nothing defaults to OK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from provenance import merkle
from provenance.claims import CLAIM_FIELDS
from provenance.commitments import Disclosure, disclosed_view
from provenance.errors import ClaimsError, ManifestError, NotFound, ProvenanceError, StatementError
from provenance.lineage import walk
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.record import Domain, hex32
from provenance.rules import ArtifactFacts, Lineage, evaluate
from provenance.signing import recover_record_signer
from provenance.statement import Statement, statement_path_for
from provenance.verdict import Check, CheckName, Code, Status, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import Index, IndexedRecord
    from provenance.ledger import Ledger

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
    """Whether a publisher's Statement may be kept by a verifier of ``registry``, and why not.

    A Statement naming another registry is refused before anything is checked
    (``other_registry``, no ``checks``). Otherwise ``checks`` are the deciding
    checks (:data:`ACCEPTANCE_CHECKS`) as run and ``refused_by`` those of them
    that failed or say it is not on chain.
    """

    statement: Statement
    registry: str
    checks: tuple[Check, ...] = ()
    refused_by: tuple[Check, ...] = ()

    @property
    def other_registry(self) -> bool:
        return self.statement.registry.lower() != self.registry.lower()

    @property
    def accepted(self) -> bool:
        return not self.other_registry and not self.refused_by

    def reason(self) -> str:
        """Why it is refused, for a person ('' when it is accepted)."""
        if self.other_registry:
            return f"the Statement is for registry {self.statement.registry}, this service follows {self.registry}"
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


def _short(value: bytes) -> str:
    text = value.hex()
    return f"0x{text[:8]}...{text[-4:]}"


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
        self._given = {}
        for statement in extra_statements:
            self._given.setdefault(statement.subject, []).append(statement)
        if sync:
            from provenance.indexer import Indexer

            Indexer(index, ledger).sync()
        self._head = ledger.block_number() if head is None else head

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

        Kept only when it is for this registry, its manifest gives the subject, the publisher
        signed it, it is anchored here (directly, or in an anchored batch with a valid proof) and
        its disclosures match claimsRoot. The claims rules are no condition: a true Statement
        about a restricted artifact is kept.
        """
        acceptance = Acceptance(statement, self.ledger.registry or "")  # no registry: nothing is kept
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

        def rank(found: _Found) -> tuple:
            publisher = found.statement.publisher if found.statement else found.record.publisher
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
                {"subject": found.subject, "recordId": found.record.record_id},
            ))
            facts = self._facts(found, own_checks=[])
            checks += self._chain_only_checks(found)
            checks += self._evaluate(facts)
            return Verdict(found.subject, bytes.fromhex(found.record.record_id[2:]), tuple(checks))
        checks.append(self._integrity(statement, files, path))
        checks += self._authenticity(statement)
        anchoring, chain_state = self._anchoring(statement, found.record)
        checks += anchoring
        checks += self._status(statement, chain_state)
        claims_check, _ = self._claims(statement)
        checks.append(claims_check)
        facts = self._facts(found, own_checks=checks)
        checks += self._evaluate(facts)
        return Verdict(statement.subject, statement.record_id, tuple(checks))

    def _integrity(self, statement: Statement, files: Manifest | None, path: Path | None) -> Check:
        evidence = {"subject": statement.subject}
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
        hits = []
        for source in self.sources:
            hits.extend(source.files(entry.sha256_hex))
        for given in (s for statements in self._given.values() for s in statements):  # --statement files
            for item in (given.manifest or {}).get("files") or ():
                if isinstance(item, dict) and item.get("sha256") == entry.sha256_hex and "offset" not in item:
                    hits.append((hex32(given.subject), item.get("path")))
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
        domain = Domain(statement.chain_id, statement.registry)
        evidence = {"publisher": statement.publisher, "recordId": statement.record_id}
        try:
            signer = recover_record_signer(statement.record, domain, statement.signature)
        except ProvenanceError as err:
            signer, why = None, str(err)
        else:
            why = f"it was signed by {signer}"
        if signer != statement.publisher:
            return [Check(CheckName.AUTHENTICITY, Status.FAIL, Code.BAD_SIGNATURE,
                          f"The record's signature does not match its publisher {statement.publisher}: {why}",
                          evidence)]
        if self.policy.is_trusted_publisher(statement.publisher):
            return [Check(CheckName.AUTHENTICITY, Status.PASS, Code.OK,
                          f"Signed by {statement.publisher}, a publisher the policy trusts", evidence)]
        listed = bool(self.policy.trusted_publishers)
        return [Check(CheckName.AUTHENTICITY, self.policy.status_of(Code.UNTRUSTED_PUBLISHER),
                      Code.UNTRUSTED_PUBLISHER,
                      f"Signed by {statement.publisher}, "
                      + ("who is not among the policy's trusted publishers" if listed
                         else "but the policy names no trusted publishers"),
                      evidence)]

    def _anchoring(self, statement: Statement, record: IndexedRecord | None) -> tuple[list[Check], IndexedRecord | None]:
        rid = statement.record_id
        evidence: dict = {"recordId": rid}
        if record is not None and record.batch_root is None:  # registered directly, seen on chain
            if record.publisher != statement.publisher:
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.BAD_SIGNATURE,
                              f"The registry lists {record.publisher} as publisher, not {statement.publisher}",
                              evidence)], record
            evidence.update(txHash=record.tx_hash, block=record.block_number)
            return [self._confirmed(record.block_number, "registered directly", evidence)], record
        anchor = statement.anchor
        if anchor is not None and anchor.type == "batch":
            root = anchor.batch_root
            evidence.update(batchRoot=root, proof=list(anchor.proof), txHash=anchor.tx_hash)
            if not merkle.verify(root, merkle.record_leaf(rid), anchor.proof):
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.BAD_PROOF,
                              f"The record's inclusion proof does not lead to batch root {_short(root)}",
                              evidence)], record
            batch = self.index.batch(root)
            if batch is None and (statement.chain_id != self.ledger.chain_id
                                  or statement.registry.lower() != self.ledger.registry.lower()):
                # anchored elsewhere: not "not yet anchored" here, but not registered here at all (as direct)
                return [Check(CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                              f"The Statement says the record was anchored in batch {_short(root)} of registry "
                              f"{statement.registry} on chain {statement.chain_id}; registry {self.ledger.registry} "
                              f"on chain {self.ledger.chain_id} has no such record", evidence)], record
            if batch is None:
                return [Check(CheckName.ANCHORING, self.policy.status_of(Code.NOT_ANCHORED), Code.NOT_ANCHORED,
                              f"Batch root {_short(root)} is not anchored in registry {self.ledger.registry}",
                              evidence)], record
            evidence.update(block=batch.block_number, txHash=batch.tx_hash, submitter=batch.submitter)
            return [self._confirmed(batch.block_number, f"in batch {_short(root)} of {batch.count} records",
                                    evidence)], record
        if anchor is not None and anchor.type == "direct":
            evidence.update(txHash=anchor.tx_hash)
            return [Check(CheckName.ANCHORING, Status.FAIL, Code.NOT_REGISTERED,
                          f"The Statement says the record was registered in tx {hex32(anchor.tx_hash)}, but registry "
                          f"{self.ledger.registry} on chain {self.ledger.chain_id} has no such record",
                          evidence)], record
        return [Check(CheckName.ANCHORING, self.policy.status_of(Code.NOT_ANCHORED), Code.NOT_ANCHORED,
                      "The record is not anchored yet (queued for a batch, or never sent)", evidence)], record

    def _confirmed(self, block: int, how: str, evidence: dict) -> Check:
        confirmations = self._head - block + 1
        evidence = {**evidence, "confirmations": confirmations}
        if confirmations < self.policy.confirmations:
            return Check(CheckName.ANCHORING, self.policy.status_of(Code.UNCONFIRMED), Code.UNCONFIRMED,
                         f"Anchored ({how}) in block {block}, {confirmations} of the "
                         f"{self.policy.confirmations} confirmations the policy asks for", evidence)
        return Check(CheckName.ANCHORING, Status.PASS, Code.OK,
                     f"Anchored ({how}) in block {block}, {confirmations} confirmations", evidence)

    def _status(self, statement: Statement, record: IndexedRecord | None) -> list[Check]:
        events = self._record_events(statement.record_id)
        return self._status_lines(statement.record_id, events)

    def _status_lines(self, record_id: bytes, events) -> list[Check]:
        lines = []
        for entry in events:
            if entry.event == "RecordRevoked":
                reason = entry.details.get("reason") or ""
                lines.append(Check(CheckName.STATUS, Status.FAIL, Code.REVOKED,
                                   f"The publisher revoked this record in block {entry.block_number}: {reason!r}",
                                   {"recordId": record_id, "reason": reason, "txHash": entry.tx_hash,
                                    "block": entry.block_number}))
            elif entry.event == "RecordSuperseded":
                successor = entry.details.get("successor")
                lines.append(Check(CheckName.STATUS, Status.WARN, Code.SUPERSEDED,
                                   f"The publisher superseded this record by {successor}",
                                   {"recordId": record_id, "successor": successor, "txHash": entry.tx_hash,
                                    "block": entry.block_number}))
        if not lines:
            lines.append(Check(CheckName.STATUS, Status.PASS, Code.OK, "Not revoked, not superseded",
                               {"recordId": record_id}))
        return lines

    def _record_events(self, record_id: bytes):
        return [e for e in self.index.history(record_id=record_id)
                if e.chain_id == self.ledger.chain_id and e.registry == self.ledger.registry]

    def _claims(self, statement: Statement) -> tuple[Check, dict]:
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
        record = found.record
        rid = bytes.fromhex(record.record_id[2:])
        checks = [self._confirmed(record.block_number, "registered directly",
                                  {"recordId": rid, "txHash": record.tx_hash, "block": record.block_number})]
        checks += self._status_lines(rid, self._record_events(rid))
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
            rid = bytes.fromhex(record.record_id[2:])
            publisher, kind, uri, claims = record.publisher, record.kind, record.uri or "", {}
            parents = tuple(bytes.fromhex(p[2:]) for p in record.parents)
        events = self._record_events(rid)
        registered_at = None
        if record is not None:
            registered_at = record.block_time
        elif statement is not None and statement.anchor is not None and statement.anchor.batch_root:
            batch = self.index.batch(statement.anchor.batch_root)
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
            revocation_reason=(revoked[0].details.get("reason") if revoked else None),
            successor=successor, successor_registered_at=successor_at,
            endorsements=tuple(e.actor for e in events if e.event == "RecordEndorsed"),
            disputes=tuple(e.actor for e in events if e.event == "RecordDisputed"),
            own_verdict_failed=failed,
        )

    def _evaluate(self, root: ArtifactFacts) -> list[Check]:
        """The rules over the lineage. An ancestor subject with several records (anyone may register
        any subject) is judged by each of them in turn and every problem found is kept: picking one
        record would let a second registration hide a revocation or an opt-out of the first."""
        lineage, alternatives, unanchored = self._lineage(root)
        checks = evaluate(lineage, self.policy)
        for subject, others in alternatives.items():
            for other in others:
                artifacts = dict(lineage.artifacts)
                artifacts[subject] = other
                for check in evaluate(Lineage(lineage.root, artifacts), self.policy):
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
        problems = {c.check for c in checks if c.code is not Code.OK}
        return [c for c in checks if c.code is not Code.OK or c.check not in problems]

    def _ancestor_facts(self, found: _Found) -> tuple[ArtifactFacts, bool]:
        """An ancestor's facts, and whether its record is on chain."""
        own: list[Check] = []
        if found.statement is not None:
            own += self._authenticity(found.statement)
            own += self._anchoring(found.statement, found.record)[0]
            own += self._status(found.statement, found.record)
            own.append(self._claims(found.statement)[0])  # claims that do not match are no claims
        else:
            own += self._chain_only_checks(found)
        on_chain = any(c.check is CheckName.ANCHORING and c.code in (Code.OK, Code.UNCONFIRMED) for c in own)
        return self._facts(found, own_checks=own), on_chain

    def _lineage(
        self, root: ArtifactFacts
    ) -> tuple[Lineage, dict[bytes, list[ArtifactFacts]], list[ArtifactFacts]]:
        """The lineage with the best record of each ancestor, the facts of its other records, and the
        ancestors none of whose records is on chain (and did not fail otherwise)."""
        def look_up(subject: bytes) -> tuple[ArtifactFacts, list[ArtifactFacts], bool] | None:
            """The facts of the best record, of the others, and whether any of them is on chain."""
            if subject == root.subject:
                return root, [], True
            candidates = self._candidates(subject)
            if not candidates:
                return None
            facts, on_chain = self._ancestor_facts(candidates[0])
            others = []
            for other in candidates[1:]:
                alternative, also = self._ancestor_facts(other)
                on_chain = on_chain or also
                others.append(alternative)
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
            if not on_chain and not facts.own_verdict_failed:
                unanchored.append(facts)
        return Lineage.build(root, ancestors, walked.unknown), alternatives, unanchored

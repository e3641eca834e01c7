"""The verifier does not take one node's events on trust: it reads the registry's storage at the
finalized block and makes anchoring or status unverifiable where the two answers differ.

The stale evidence is real: an index synced before a revocation (or a registration) and not
since, verified without syncing it (as the service does between its indexer's polls), or a node
that hides revocation logs while answering ``eth_call`` honestly. anvil calls the block 64 below
its head finalized; each test mines past that so its transactions are settled.
"""

from __future__ import annotations

import os

import jsonschema
import pytest

from provenance.claims import Claims
from provenance.errors import RpcError
from provenance.index import Index
from provenance.indexer import Indexer
from provenance.ledger import Ledger
from provenance.policy import Policy
from provenance.publish import Publisher, prepare
from provenance.record import hex32
from provenance.statement import Statement
from provenance.store import Store
from provenance.verdict import CheckName, Code, Status, Verdict, verdict_schema
from provenance.verifier import Verifier
from tests.helpers import account_factory, free_port, fresh_registry, start_anvil

pytestmark = pytest.mark.chain

FINALITY = 64  # anvil: finalized = latest - 64, safe = latest - 32


@pytest.fixture(scope="module")
def node():
    """An anvil of this module's own: the tests mine many blocks."""
    port = free_port()
    process = start_anvil(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


class World:
    def __init__(self, url: str, home) -> None:
        self.ledger = fresh_registry(url)
        self.account = account_factory(self.ledger)()
        self.store = Store.open(home)
        self.publisher = Publisher(self.store, self.ledger, self.account)
        self.home = home

    def spec(self, kind: str, **lineage) -> Claims:
        return Claims.from_mapping({
            "kind": kind, "name": f"trust/{kind}",
            "copyright": {"license": "Apache-2.0" if kind == "model" else "CC-BY-4.0",
                          "training_mining": {"ai_training": "allowed", "ai_generative_training": "allowed",
                                              "data_mining": "allowed", "ai_inference": "allowed"}},
            "privacy": {"personal_data": "absent", "confidentiality": "clear"},
            "lineage": lineage, "disclose": ["copyright", "privacy", "lineage"],
        })

    def prepared(self, kind: str, parents=(), **lineage):
        return prepare(account=self.account, domain=self.ledger.domain, claims=self.spec(kind, **lineage),
                       manifest=None, subject=os.urandom(32), extra_parents=parents)

    def register(self, kind: str = "model", parents=(), **lineage) -> Statement:
        return self.publisher.register(self.prepared(kind, parents, **lineage))

    def batch(self, kind: str = "dataset") -> Statement:
        prepared = self.prepared(kind)
        self.publisher.queue([prepared])
        result = self.publisher.anchor()
        assert result is not None
        return next(s for s in result.statements if s.record_id == prepared.statement.record_id)

    def settle(self) -> None:
        """Mine until everything sent so far is below the finalized block."""
        self.ledger.rpc("anvil_mine", [hex(FINALITY + 2)])

    def index(self, name: str, *, synced: bool = True) -> Index:
        index = Index.open(self.home / f"{name}.db")
        if synced:
            Indexer(index, self.ledger).sync()
        return index

    def verify(self, statement: Statement, index: Index, *, ledger: Ledger | None = None, sync: bool = False):
        policy = Policy.from_mapping({"trusted_publishers": [self.account.address]})
        verifier = Verifier(ledger or self.ledger, index, policy, [self.store], sync=sync)
        return verifier.verify_statement(statement)


@pytest.fixture
def world(node, tmp_path):
    made = World(node, tmp_path)
    yield made
    made.store.close()


def lines(verdict: Verdict, check: CheckName) -> list[tuple[Status, Code]]:
    return [(c.status, c.code) for c in verdict.checks if c.check is check]


def test_the_settled_block_is_the_finalized_one_and_falls_back_to_safe_then_latest(world, monkeypatch):
    world.settle()
    head = world.ledger.block_number()
    settled = world.ledger.settled()
    assert (settled.tag, settled.number) == ("finalized", head - FINALITY)

    asked: list[str] = []
    honest = world.ledger.rpc

    def refusing(method, params=()):
        if method == "eth_getBlockByNumber" and params[0] in ("finalized", "safe"):
            asked.append(params[0])
            if params[0] == "finalized":
                raise RpcError("unknown block tag finalized", code=-32602)
            return None  # no safe block (yet)
        return honest(method, params)

    monkeypatch.setattr(world.ledger, "rpc", refusing)
    settled = world.ledger.settled()
    assert asked == ["finalized", "safe"] and settled.tag == "latest" and settled.number >= head


def test_record_and_batch_state_are_read_at_a_block(world):
    before = world.ledger.block_number()
    statement = world.register()
    batched = world.batch()
    state = world.ledger.record_state(statement.record_id, block=before)
    assert not state.known and not state.revoked  # not registered yet at that block
    assert world.ledger.record_state(statement.record_id).publisher == world.account.address
    assert world.ledger.record_state(statement.record_id, block="finalized").publisher is None  # not final yet
    root = batched.anchor.batch_root
    assert world.ledger.batch_state(world.account.address, root, block=before).submitter is None
    assert world.ledger.batch_state(world.account.address, root).count == 1
    assert world.ledger.record_state(statement.record_id, block=0).publisher is None  # no registry at genesis


def test_a_revocation_missing_from_a_stale_index_is_unverifiable_never_a_pass(world):
    statement = world.register()
    stale = world.index("stale")  # synced now, before the revocation, and never again
    world.publisher.revoke(statement.record_id, "weights leaked a secret")
    world.settle()

    verdict = world.verify(statement, stale)
    assert lines(verdict, CheckName.STATUS) == [(Status.UNVERIFIABLE, Code.REVOKED)], verdict.to_table()
    line = next(c for c in verdict.checks if c.check is CheckName.STATUS)
    assert "the record is revoked" in line.message and "no revocation of it" in line.message
    assert line.evidence["settledTag"] == "finalized"
    assert line.evidence["chainSays"] == ("the record is revoked",)
    assert verdict.overall is not Status.PASS and verdict.exit_code() == 2
    assert lines(verdict, CheckName.ANCHORING) == [(Status.PASS, Code.OK)]  # the registration is not in doubt
    jsonschema.validate(verdict.to_json(), verdict_schema())

    fresh = world.verify(statement, world.index("fresh"))
    assert lines(fresh, CheckName.STATUS) == [(Status.FAIL, Code.REVOKED)], fresh.to_table()


def test_a_node_that_hides_revocation_logs_cannot_pass_the_record(world):
    """The node answers eth_call honestly but leaves RecordRevoked logs out of eth_getLogs."""
    statement = world.register()
    world.publisher.revoke(statement.record_id, "key compromised")
    world.settle()
    revoked_topic = next(topic for topic, spec in world.ledger._events.items() if spec.name == "RecordRevoked")

    hiding = Ledger.connect(world.ledger.rpc_url, world.ledger.registry)
    honest = hiding.rpc

    def rpc(method, params=()):
        answer = honest(method, params)
        if method == "eth_getLogs":
            answer = [log for log in answer if log["topics"][0] != "0x" + revoked_topic.hex()]
        return answer

    hiding.rpc = rpc  # type: ignore[method-assign]
    verdict = world.verify(statement, world.index("hidden", synced=False), ledger=hiding, sync=True)
    assert lines(verdict, CheckName.STATUS) == [(Status.UNVERIFIABLE, Code.REVOKED)], verdict.to_table()
    assert verdict.exit_code() == 2


def test_a_supersession_missing_from_the_evidence_is_unverifiable(world):
    old, new = world.register(), world.register()
    stale = world.index("stale")
    world.publisher.supersede(old.record_id, new.record_id)
    world.settle()
    verdict = world.verify(old, stale)
    assert lines(verdict, CheckName.STATUS) == [(Status.UNVERIFIABLE, Code.SUPERSEDED)], verdict.to_table()
    assert hex32(new.record_id) in next(c.message for c in verdict.checks if c.check is CheckName.STATUS)


def test_a_registration_or_batch_missing_from_the_evidence_makes_anchoring_unverifiable(world):
    stale = world.index("stale")
    direct = world.register()
    batched = world.batch()
    world.settle()

    verdict = world.verify(direct, stale)
    assert lines(verdict, CheckName.ANCHORING) == [(Status.UNVERIFIABLE, Code.NOT_REGISTERED)], verdict.to_table()
    line = next(c for c in verdict.checks if c.check is CheckName.ANCHORING)
    assert f"the record is registered, by {world.account.address}" in line.message
    assert "no registration of it" in line.message

    verdict = world.verify(batched, stale)
    assert lines(verdict, CheckName.ANCHORING) == [(Status.UNVERIFIABLE, Code.NOT_ANCHORED)], verdict.to_table()
    assert verdict.exit_code() == 2


def test_an_ancestor_revoked_on_chain_but_not_in_the_evidence_leaves_the_lineage_unverifiable(world):
    dataset = world.register("dataset")
    model = world.register("model", parents=[dataset.subject])
    stale = world.index("stale")
    world.publisher.revoke(dataset.record_id, "mislabelled rows")
    world.settle()

    verdict = world.verify(model, stale)
    doubted = [c for c in verdict.checks if c.check is CheckName.LINEAGE and c.status is Status.UNVERIFIABLE]
    assert [c.code for c in doubted] == [Code.PARENT_FAILED], verdict.to_table()
    assert doubted[0].evidence["ancestor"] == hex32(dataset.subject)
    assert "the record is revoked" in doubted[0].message
    assert verdict.overall is not Status.PASS and verdict.exit_code() == 2

    fresh = world.verify(model, world.index("fresh"))
    assert (Status.FAIL, Code.PARENT_FAILED) in lines(fresh, CheckName.LINEAGE), fresh.to_table()


def test_settled_records_whose_evidence_agrees_still_pass(world):
    """The cross-check is live (everything is below the finalized block) and finds nothing to doubt."""
    dataset = world.batch("dataset")
    world.publisher.submit("proveBatched", dataset.publisher, dataset.record.struct_hash(),
                           dataset.anchor.submitter, dataset.anchor.batch_root, list(dataset.anchor.proof))
    model = world.register("model", parents=[dataset.subject])
    old, new = world.register(), world.register()
    world.publisher.supersede(old.record_id, new.record_id)
    world.settle()
    index = world.index("synced")
    for statement in (dataset, model, new):
        verdict = world.verify(statement, index)
        # integrity aside (these Statements carry no manifest), every check passes
        assert all(c.status is Status.PASS for c in verdict.checks if c.check is not CheckName.INTEGRITY), \
            verdict.to_table()
    assert lines(world.verify(old, index), CheckName.STATUS) == [(Status.WARN, Code.SUPERSEDED)]

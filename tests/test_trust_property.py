"""Property (issue 12): an untrusted stranger cannot change a verdict the wrong way.

For random lineages of 2 to 6 artifacts, registered by 1 to 3 honest
publishers through the library's publisher path on a real registry, any
number of records, revocations and disputes by a stranger

* never turns a fail into a pass or a warn, under the default policy or under
  one that trusts the lineage's publishers (DESIGN.md, "Whose word counts":
  without trust every record counts and the most restrictive decides), and
* never turns a pass (nor a warn) into a fail under the policy that trusts the
  lineage's publishers (there, anyone else's word is information).

The lineage's root (the last artifact) is registered with a manifest of a tiny
directory and verified by its files without a Statement beside them (so by
subject, and a pass is reachable: a subject-only record's integrity cannot be
checked, which never passes); its ancestors are subject-only records. Each
example registers a fresh lineage with fresh accounts, so examples are
independent on one registry per module. Two plain tests pin one example of
each property.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from provenance.claims import Claims
from provenance.index import Index
from provenance.ledger import Ledger
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.publish import Publisher, prepare
from provenance.record import ReasonCode, hex32
from provenance.statement import Statement
from provenance.store import Store
from provenance.verdict import Status, Verdict
from provenance.verifier import Verifier
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain

KINDS = ("dataset", "model", "other")
RELATIONS = ("finetune", "adapter", "quantized", "merge")
# (license, extra claims): a palette that makes both passes and failures likely
LICENSES = (
    ("Apache-2.0", {}),
    ("CC-BY-4.0", {}),
    ("CC-BY-NC-4.0", {"copyright.commercial_use": False}),
    ("CC-BY-SA-4.0", {}),
    ("MIT", {}),
)
STRANGER_LICENSES = (*LICENSES, ("CC-BY-ND-4.0", {}))
PERSONAL = (
    {"privacy.personal_data": "absent"},
    {"privacy.personal_data": "present", "privacy.lawful_basis": "consent"},
)
TRAINING = ("allowed", "notAllowed")
REASONS = tuple(ReasonCode)


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Palette:
    """One choice of claims: indexes into the palettes above."""

    license: int
    personal: int
    training: int

    def changes(self, licenses=LICENSES) -> dict:
        name, extra = licenses[self.license]
        return {"copyright.license": name, **extra, **PERSONAL[self.personal],
                "copyright.training_mining.ai_training": TRAINING[self.training]}


def claims(kind: str, changes: dict, *, trained_on=(), base_models=()) -> dict:
    """Fully disclosed claims of ``kind`` with dotted-path ``changes`` and the given lineage entries."""
    data: dict = {
        "kind": kind,
        "name": f"property/{kind}",
        "copyright": {"training_mining": {"ai_generative_training": "allowed", "data_mining": "allowed",
                                          "ai_inference": "allowed"}},
        "privacy": {"confidentiality": "clear"},
        "lineage": {"trained_on": list(trained_on), "base_models": list(base_models)},
        "disclose": ["copyright", "privacy", "lineage"],
    }
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Node:
    """An honest artifact: its kind, publisher (index), claims and parents (indexes of earlier nodes)."""

    kind: str
    publisher: int
    palette: Palette
    parents: tuple[int, ...]
    relations: tuple[str, ...]


@dataclass(frozen=True)
class Register:
    """The stranger registers a record of node ``target``'s subject.

    ``parents``: ("self",) its own subject, ("node", i, pin) node i's subject (pinned to the honest record
    or plain), ("unknown",) a random subject nobody registered.
    """

    target: int
    kind: str
    palette: Palette
    parents: tuple[tuple, ...]


@dataclass(frozen=True)
class Revoke:
    """The stranger revokes its ``which``-th unrevoked record (modulo how many it has; none: nothing)."""

    which: int
    code: ReasonCode


@dataclass(frozen=True)
class Dispute:
    """The stranger disputes node ``target``'s honest record, or (``own``) its own ``target``-th record."""

    target: int
    own: bool


@dataclass(frozen=True)
class Plan:
    publishers: int
    nodes: tuple[Node, ...]
    actions: tuple[Register | Revoke | Dispute, ...]
    shares_statements: bool  # the stranger's Statements are in the verifier's source (posted to the service)


palettes = st.builds(Palette, st.integers(0, len(LICENSES) - 1), st.integers(0, 1), st.integers(0, 1))
stranger_palettes = st.builds(Palette, st.integers(0, len(STRANGER_LICENSES) - 1), st.integers(0, 1),
                              st.integers(0, 1))


@st.composite
def plans(draw) -> Plan:
    publishers = draw(st.integers(1, 3))
    size = draw(st.integers(2, 6))
    nodes: list[Node] = []
    for i in range(size):
        kind = draw(st.sampled_from(KINDS))
        parents: tuple[int, ...] = ()
        if i > 0:
            parents = tuple(sorted(draw(st.sets(st.integers(0, i - 1), min_size=1, max_size=min(3, i)))))
        relations = tuple(draw(st.sampled_from(RELATIONS)) for _ in parents)
        nodes.append(Node(kind, draw(st.integers(0, publishers - 1)), draw(palettes), parents, relations))
    parent_refs = st.one_of(
        st.just(("self",)),
        st.tuples(st.just("node"), st.integers(0, size - 1), st.booleans()),
        st.just(("unknown",)),
    )
    actions = st.one_of(
        st.builds(Register, st.integers(0, size - 1), st.sampled_from(KINDS), stranger_palettes,
                  st.lists(parent_refs, max_size=3).map(tuple)),
        st.builds(Revoke, st.integers(0, 7), st.sampled_from(REASONS)),
        st.builds(Dispute, st.integers(0, size - 1), st.booleans()),
    )
    return Plan(publishers, tuple(nodes), tuple(draw(st.lists(actions, max_size=8))), draw(st.booleans()))


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """One registry, the honest publishers' store (the verifier's source), the stranger's own, one index."""

    ledger: Ledger
    home: Path
    store: Store
    private: Store
    index: Index
    made: int = 0
    account: Callable[[], Any] = field(init=False)  # a fresh funded account

    def __post_init__(self) -> None:
        self.account = account_factory(self.ledger)

    def register(self, store: Store, account, spec: dict, *, subject: bytes | None = None,
                 path: Path | None = None) -> Statement:
        manifest = Manifest.from_path(path) if path is not None else None
        prepared = prepare(account=account, domain=self.ledger.domain, claims=Claims.from_mapping(spec),
                           manifest=manifest, subject=None if manifest is not None else subject)
        return Publisher(store, self.ledger, account).register(prepared)

    def artifact(self) -> Path:
        """A fresh one-file directory (random content, so a random subject)."""
        self.made += 1
        root = self.home / "artifacts" / str(self.made)
        root.mkdir(parents=True)
        (root / "weights.bin").write_bytes(os.urandom(32))
        return root

    def verify(self, path: Path, policy: Policy) -> Verdict:
        """A new Verifier each time (it caches what it read), by the files alone."""
        return Verifier(self.ledger, self.index, policy, [self.store]).verify_path(path)


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    home = tmp_path_factory.mktemp("trust-property")
    store = Store.open(home / "honest")
    private = Store.open(home / "stranger")
    index = Index.open(home / "index.db")
    yield World(ledger, home, store, private, index)
    index.close()
    private.close()
    store.close()


@dataclass
class Lineage:
    """A registered lineage: its Statements in node order, the root's files, the trusting policy."""

    statements: list[Statement]
    path: Path
    publishers: list = field(default_factory=list)

    @property
    def trusting(self) -> Policy:
        return Policy.from_mapping({"trusted_publishers": [a.address for a in self.publishers]})


def register_lineage(world: World, plan: Plan) -> Lineage:
    publishers = [world.account() for _ in range(plan.publishers)]
    statements: list[Statement] = []
    path = world.artifact()
    for i, node in enumerate(plan.nodes):
        trained_on, base_models = [], []
        for parent, relation in zip(node.parents, node.relations, strict=True):
            pin = {"subject": hex32(statements[parent].subject), "record": hex32(statements[parent].record_id)}
            if plan.nodes[parent].kind == "model":
                base_models.append({**pin, "relation": relation})
            else:
                trained_on.append(pin)
        spec = claims(node.kind, node.palette.changes(), trained_on=trained_on, base_models=base_models)
        root = i == len(plan.nodes) - 1
        statements.append(world.register(world.store, publishers[node.publisher], spec,
                                         subject=None if root else os.urandom(32), path=path if root else None))
    return Lineage(statements, path, publishers)


def act(world: World, plan: Plan, lineage: Lineage) -> list[str]:
    """Apply the stranger's actions with a fresh stranger account; what was done, for the report."""
    stranger = world.account()
    store = world.store if plan.shares_statements else world.private
    publisher = Publisher(store, world.ledger, stranger)
    own: list[Statement] = []
    revoked: set[bytes] = set()
    done: list[str] = []
    for action in plan.actions:
        if isinstance(action, Register):
            subject = lineage.statements[action.target].subject
            trained_on, base_models, named = [], [], set()
            for ref in action.parents:
                if ref[0] == "self":
                    entry = {"subject": hex32(subject)}
                elif ref[0] == "node":
                    parent = lineage.statements[ref[1]]
                    entry = {"subject": hex32(parent.subject)}
                    if ref[2]:
                        entry["record"] = hex32(parent.record_id)
                else:
                    entry = {"subject": hex32(os.urandom(32))}
                if entry["subject"] in named:
                    continue  # claims name a parent once
                named.add(entry["subject"])
                if ref[0] == "node" and plan.nodes[ref[1]].kind == "model":
                    base_models.append({**entry, "relation": "finetune"})
                else:
                    trained_on.append(entry if "record" in entry else entry["subject"])
            spec = claims(action.kind, action.palette.changes(STRANGER_LICENSES),
                          trained_on=trained_on, base_models=base_models)
            own.append(world.register(store, stranger, spec, subject=subject))
            done.append(f"registered {hex32(own[-1].record_id)} of node {action.target}: {spec}")
        elif isinstance(action, Revoke):
            standing = [s for s in own if s.record_id not in revoked]
            if not standing:
                done.append("revoke: no unrevoked record of its own, nothing done")
                continue
            target = standing[action.which % len(standing)]
            publisher.revoke(target.record_id, "stranger's revocation", action.code)
            revoked.add(target.record_id)
            done.append(f"revoked its {hex32(target.record_id)} ({action.code.label})")
        else:
            target = own[action.target % len(own)] if action.own and own else lineage.statements[action.target]
            publisher.dispute(target.record_id, os.urandom(32), "https://example.org/stranger")
            done.append(f"disputed {hex32(target.record_id)}")
    return done


def check(world: World, lineage: Lineage, apply) -> None:
    """Verify the root both ways, ``apply`` the stranger's actions, verify again; assert the two properties."""
    policies = {"default": Policy.default(), "trusting": lineage.trusting}
    before = {name: world.verify(lineage.path, policy) for name, policy in policies.items()}
    done = apply()
    after = {name: world.verify(lineage.path, policy) for name, policy in policies.items()}

    def report(name: str) -> str:
        actions = "\n".join(f"  {line}" for line in done)
        return (f"under the {name} policy, {before[name].overall} became {after[name].overall} after:\n{actions}\n"
                f"before:\n{before[name].to_table()}\nafter:\n{after[name].to_table()}")

    for name in policies:
        if currently_in_test_context():  # --hypothesis-show-statistics shows how often each case came up
            event(f"{name}: {before[name].overall} -> {after[name].overall}")
        if before[name].overall is Status.FAIL:
            assert after[name].overall is Status.FAIL, report(name)
    if before["trusting"].overall in (Status.PASS, Status.WARN):
        assert after["trusting"].overall is not Status.FAIL, report("trusting")


# --------------------------------------------------------------------------- the property


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no explain phase: minutes of chain work
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=plans())
def test_a_stranger_never_turns_a_fail_into_a_pass_nor_a_trusted_pass_into_a_fail(world, plan):
    event(f"{len(plan.nodes)} artifacts, {len(plan.actions)} stranger actions")
    lineage = register_lineage(world, plan)
    check(world, lineage, lambda: act(world, plan, lineage))


# --------------------------------------------------------------------------- one example of each


def test_a_strangers_clean_record_of_a_failing_roots_subject_leaves_it_failing(world):
    dataset = Node("dataset", 0, Palette(license=2, personal=0, training=0), (), ())  # CC-BY-NC: commercial use
    model = Node("model", 0, Palette(license=0, personal=0, training=0), (0,), ("finetune",))
    plan = Plan(1, (dataset, model), (Register(1, "model", Palette(0, 0, 0), ()),), shares_statements=True)
    lineage = register_lineage(world, plan)
    assert world.verify(lineage.path, Policy.default()).overall is Status.FAIL
    check(world, lineage, lambda: act(world, plan, lineage))


def test_a_strangers_no_derivatives_record_of_a_pinned_ancestor_fails_nothing_under_trust(world):
    dataset = Node("dataset", 0, Palette(license=1, personal=0, training=0), (), ())  # CC-BY-4.0
    model = Node("model", 0, Palette(license=0, personal=0, training=0), (0,), ("finetune",))
    nd = Palette(license=len(STRANGER_LICENSES) - 1, personal=0, training=0)  # CC-BY-ND-4.0
    plan = Plan(1, (dataset, model), (Register(0, "dataset", nd, ()),), shares_statements=True)
    lineage = register_lineage(world, plan)
    assert world.verify(lineage.path, lineage.trusting).overall is Status.PASS
    check(world, lineage, lambda: act(world, plan, lineage))

// Tests of ProvenanceRegistry: every external function, every custom error with
// its arguments and every event with its arguments. Each test starts from a
// freshly deployed registry (loadFixture).
"use strict";

const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const {
  loadFixture,
  RECORD_TYPES,
  REVOKE_TYPES,
  SUPERSEDE_TYPES,
  URI,
  coder,
  word,
  makeRecord,
  structHashOf,
  recordIdOf,
  batchTree,
  timestampOf,
} = require("./helpers");

const ZERO = ethers.ZeroHash;

async function deployRegistry() {
  const [deployer, publisher, other, relayer, owner] = await ethers.getSigners();
  const registry = await ethers.deployContract("ProvenanceRegistry");
  const wallet = await ethers.deployContract("TestWallet", [owner.address]);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "ProvenanceRegistry",
    version: "1",
    chainId,
    verifyingContract: await registry.getAddress(),
  };
  return { registry, wallet, domain, chainId, deployer, publisher, other, relayer, owner };
}

/** A registry with one record registered directly by `publisher`. */
async function withRecord() {
  const f = await deployRegistry();
  const record = makeRecord("stored");
  await f.registry.connect(f.publisher).register(record);
  const id = recordIdOf(f.publisher.address, record);
  const successorRecord = makeRecord("successor");
  await f.registry.connect(f.publisher).register(successorRecord);
  const successor = recordIdOf(f.publisher.address, successorRecord);
  return { ...f, record, id, successor };
}

/** A registry with a batch of five records by `publisher` (plus others' ids) anchored by `publisher`. */
async function withBatch() {
  const f = await deployRegistry();
  const records = [0, 1, 2, 3, 4].map((i) => makeRecord(`batched${i}`));
  const ids = records.map((r) => recordIdOf(f.publisher.address, r));
  const foreign = [word("foreign0"), word("foreign1"), word("foreign2")];
  const tree = batchTree([...ids, ...foreign]);
  const anchoredAt = await timestampOf(
    f.registry.connect(f.publisher).anchorBatch(tree.root, ids.length + foreign.length, URI)
  );
  const proofOf = (id) => tree.getProof([id]);
  return { ...f, records, ids, tree, anchoredAt, proofOf };
}

function expectState(state, { publisher, registeredAt, revokedAt = 0, successor = ZERO }) {
  expect(state.publisher).to.equal(publisher);
  expect(state.registeredAt).to.equal(registeredAt);
  expect(state.revokedAt).to.equal(revokedAt);
  expect(state.successor).to.equal(successor);
}

describe("ProvenanceRegistry", function () {
  describe("metadata", function () {
    it("reports version 1, matching the EIP-712 domain version", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expect(await registry.version()).to.equal("1");
    });

    it("exposes the EIP-712 domain separator of this chain and contract", async function () {
      const { registry, domain } = await loadFixture(deployRegistry);
      expect(await registry.domainSeparator()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
    });

    it("describes its domain through ERC-5267 eip712Domain()", async function () {
      const { registry, domain } = await loadFixture(deployRegistry);
      const d = await registry.eip712Domain();
      expect(d.fields).to.equal("0x0f");
      expect(d.name).to.equal(domain.name);
      expect(d.version).to.equal(domain.version);
      expect(d.chainId).to.equal(domain.chainId);
      expect(d.verifyingContract).to.equal(domain.verifyingContract);
    });

    it("publishes the EIP-712 type hashes", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expect(await registry.RECORD_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(RECORD_TYPES).encodeType("Record"))
      );
      expect(await registry.REVOKE_TYPEHASH()).to.equal(ethers.id("Revoke(bytes32 recordId,string reason)"));
      expect(await registry.SUPERSEDE_TYPEHASH()).to.equal(
        ethers.id("Supersede(bytes32 recordId,bytes32 successor)")
      );
    });
  });

  describe("hashRecord and recordIdOf", function () {
    const cases = {
      "two parents and an ipfs uri": makeRecord("a"),
      "no parents and an empty uri": makeRecord("b", { parents: [], uri: "" }),
      "one parent, a dataset": makeRecord("c", { kind: 1, parents: [word("p")] }),
      "many parents and a non-ASCII uri": makeRecord("d", {
        kind: 2,
        parents: Array.from({ length: 9 }, (_, i) => word(`d/p${i}`)),
        uri: "https://example.org/модель/ß.json?x=1&y=✓",
      }),
    };
    for (const [name, record] of Object.entries(cases)) {
      it(`agree with ethers' TypedDataEncoder.hashStruct: ${name}`, async function () {
        const { registry, publisher } = await loadFixture(deployRegistry);
        expect(await registry.hashRecord(record)).to.equal(structHashOf(record));
        expect(await registry.recordIdOf(publisher.address, record)).to.equal(recordIdOf(publisher.address, record));
      });
    }

    it("gives the same record two ids under two publishers", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      const record = makeRecord("shared");
      const a = await registry.recordIdOf(publisher.address, record);
      const b = await registry.recordIdOf(other.address, record);
      expect(a).to.not.equal(b);
      expect(a).to.equal(ethers.keccak256(coder.encode(["address", "bytes32"], [publisher.address, structHashOf(record)])));
    });

    it("changes the id when any signed field changes", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const base = makeRecord("base");
      const id = await registry.recordIdOf(publisher.address, base);
      const variants = [
        { subject: word("x") },
        { kind: 1 },
        { claimsRoot: word("y") },
        { parents: [...base.parents].reverse() },
        { parents: base.parents.slice(0, 1) },
        { uri: `${URI}/` },
      ];
      for (const v of variants) {
        expect(await registry.recordIdOf(publisher.address, { ...base, ...v })).to.not.equal(id);
      }
    });
  });

  describe("batchLeaf and verifyInclusion", function () {
    it("batchLeaf equals StandardMerkleTree's leaf hash of a bytes32 value", async function () {
      const { registry } = await loadFixture(deployRegistry);
      for (const id of [word("l0"), word("l1"), ZERO]) {
        expect(await registry.batchLeaf(id)).to.equal(StandardMerkleTree.of([[id]], ["bytes32"]).leafHash([id]));
        expect(await registry.batchLeaf(id)).to.equal(
          ethers.keccak256(ethers.keccak256(coder.encode(["bytes32"], [id])))
        );
      }
    });

    for (const size of [1, 2, 3, 7, 33]) {
      it(`verifyInclusion accepts every proof of a ${size}-leaf tree and rejects wrong ones`, async function () {
        const { registry } = await loadFixture(deployRegistry);
        const ids = Array.from({ length: size }, (_, i) => word(`tree${size}/${i}`));
        const tree = batchTree(ids);
        for (const [i, [id]] of tree.entries()) {
          const proof = tree.getProof(i);
          const leaf = await registry.batchLeaf(id);
          expect(leaf).to.equal(tree.leafHash([id]));
          expect(await registry.verifyInclusion(tree.root, leaf, proof)).to.equal(true);
          expect(await registry.verifyInclusion(tree.root, await registry.batchLeaf(word("absent")), proof)).to.equal(
            false
          );
          expect(await registry.verifyInclusion(word("other root"), leaf, proof)).to.equal(false);
        }
      });
    }
  });

  describe("register", function () {
    it("stores the caller as publisher and emits RecordRegistered", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const record = makeRecord("r");
      const id = recordIdOf(publisher.address, record);
      expect(await registry.connect(publisher).register.staticCall(record)).to.equal(id);
      const tx = registry.connect(publisher).register(record);
      await expect(tx)
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, publisher.address, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      expectState(await registry.recordState(id), { publisher: publisher.address, registeredAt: await timestampOf(tx) });
    });

    it("accepts the three kinds and records without parents or uri", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const kind of [0, 1, 2]) {
        const record = makeRecord(`kind${kind}`, { kind, parents: [], uri: "" });
        await expect(registry.connect(publisher).register(record))
          .to.emit(registry, "RecordRegistered")
          .withArgs(recordIdOf(publisher.address, record), publisher.address, record.subject, kind, record.claimsRoot, [], "");
      }
    });

    it("lets two publishers register the same record under two ids", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      const record = makeRecord("shared");
      await registry.connect(publisher).register(record);
      await registry.connect(other).register(record);
      expect((await registry.recordState(recordIdOf(publisher.address, record))).publisher).to.equal(publisher.address);
      expect((await registry.recordState(recordIdOf(other.address, record))).publisher).to.equal(other.address);
    });

    it("reverts with ZeroValue for a zero subject", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).register(makeRecord("z", { subject: ZERO })))
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
    });

    it("reverts with InvalidKind for a kind above 2", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const kind of [3, 255]) {
        await expect(registry.connect(publisher).register(makeRecord("k", { kind })))
          .to.be.revertedWithCustomError(registry, "InvalidKind")
          .withArgs(kind);
      }
    });

    it("reverts with AlreadyRegistered for the same record twice", async function () {
      const { registry, publisher, record, id } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).register(record))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(id);
    });
  });

  describe("registerFor", function () {
    it("registers a relayed record under the signer and emits RecordRegistered", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("relayed");
      const signature = await publisher.signTypedData(domain, RECORD_TYPES, record);
      const id = recordIdOf(publisher.address, record);
      expect(await registry.connect(relayer).registerFor.staticCall(record, publisher.address, signature)).to.equal(id);
      const tx = registry.connect(relayer).registerFor(record, publisher.address, signature);
      await expect(tx)
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, publisher.address, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      expectState(await registry.recordState(id), { publisher: publisher.address, registeredAt: await timestampOf(tx) });
    });

    it("rejects a replayed signature with AlreadyRegistered", async function () {
      const { registry, domain, publisher, relayer, other } = await loadFixture(deployRegistry);
      const record = makeRecord("replayed");
      const signature = await publisher.signTypedData(domain, RECORD_TYPES, record);
      await registry.connect(relayer).registerFor(record, publisher.address, signature);
      await expect(registry.connect(other).registerFor(record, publisher.address, signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(recordIdOf(publisher.address, record));
    });

    it("rejects a relayed record the publisher registered directly with AlreadyRegistered", async function () {
      const { registry, domain, publisher, relayer, record, id } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, RECORD_TYPES, record);
      await expect(registry.connect(relayer).registerFor(record, publisher.address, signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(id);
    });

    it("rejects a forged signature (signed by someone else) with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("forged");
      const signature = await other.signTypedData(domain, RECORD_TYPES, record);
      await expect(registry.connect(relayer).registerFor(record, publisher.address, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
    });

    it("rejects a signature over different content with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("tampered");
      const signature = await publisher.signTypedData(domain, RECORD_TYPES, record);
      for (const change of [{ uri: "ipfs://elsewhere" }, { parents: [] }, { kind: 1 }, { claimsRoot: word("c") }]) {
        await expect(registry.connect(relayer).registerFor({ ...record, ...change }, publisher.address, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("rejects malformed signature bytes with InvalidSignature", async function () {
      const { registry, publisher, relayer } = await loadFixture(deployRegistry);
      for (const signature of ["0x", "0x1234", ethers.hexlify(new Uint8Array(65))]) {
        await expect(registry.connect(relayer).registerFor(makeRecord("bad"), publisher.address, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("rejects a record signed for another chain id with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("other chain");
      const signature = await publisher.signTypedData({ ...domain, chainId: 1n }, RECORD_TYPES, record);
      await expect(registry.connect(relayer).registerFor(record, publisher.address, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
    });

    it("rejects a record signed for another registry address with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const elsewhere = await ethers.deployContract("ProvenanceRegistry");
      const record = makeRecord("other contract");
      const signature = await publisher.signTypedData(
        { ...domain, verifyingContract: await elsewhere.getAddress() },
        RECORD_TYPES,
        record
      );
      await expect(registry.connect(relayer).registerFor(record, publisher.address, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
      // The same signature is good where it was meant to go.
      await expect(elsewhere.connect(relayer).registerFor(record, publisher.address, signature)).to.emit(
        elsewhere,
        "RecordRegistered"
      );
    });

    it("checks the record's fields before the signature (ZeroValue, InvalidKind)", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const zero = makeRecord("z", { subject: ZERO });
      await expect(
        registry
          .connect(relayer)
          .registerFor(zero, publisher.address, await publisher.signTypedData(domain, RECORD_TYPES, zero))
      )
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
      const badKind = makeRecord("k", { kind: 7 });
      await expect(registry.connect(relayer).registerFor(badKind, publisher.address, "0x"))
        .to.be.revertedWithCustomError(registry, "InvalidKind")
        .withArgs(7);
    });
  });

  describe("ERC-1271 wallet as publisher", function () {
    it("registerFor accepts the wallet owner's signature and stores the wallet as publisher", async function () {
      const { registry, wallet, domain, owner, relayer } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const record = makeRecord("wallet relayed");
      const signature = await owner.signTypedData(domain, RECORD_TYPES, record);
      const id = recordIdOf(walletAddr, record);
      const tx = registry.connect(relayer).registerFor(record, walletAddr, signature);
      await expect(tx)
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, walletAddr, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      expectState(await registry.recordState(id), { publisher: walletAddr, registeredAt: await timestampOf(tx) });
    });

    it("registerFor rejects a signature the wallet does not accept with InvalidSignature", async function () {
      const { registry, wallet, domain, other, relayer } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const record = makeRecord("wallet forged");
      const signature = await other.signTypedData(domain, RECORD_TYPES, record);
      await expect(registry.connect(relayer).registerFor(record, walletAddr, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(walletAddr);
    });

    it("registers directly through execute, then revokes and supersedes through it", async function () {
      const { registry, wallet, owner } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const registryAddr = await registry.getAddress();
      const record = makeRecord("wallet direct");
      const id = recordIdOf(walletAddr, record);
      const next = makeRecord("wallet next");
      const nextId = recordIdOf(walletAddr, next);

      await expect(wallet.connect(owner).execute(registryAddr, registry.interface.encodeFunctionData("register", [record])))
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, walletAddr, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      await wallet.connect(owner).execute(registryAddr, registry.interface.encodeFunctionData("register", [next]));
      await expect(
        wallet.connect(owner).execute(registryAddr, registry.interface.encodeFunctionData("supersede", [id, nextId]))
      )
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, nextId, walletAddr);
      await expect(
        wallet.connect(owner).execute(registryAddr, registry.interface.encodeFunctionData("revoke", [id, "retracted"]))
      )
        .to.emit(registry, "RecordRevoked")
        .withArgs(id, walletAddr, "retracted");
    });

    it("bubbles the registry's errors up through execute", async function () {
      const { registry, wallet, owner } = await loadFixture(deployRegistry);
      const registryAddr = await registry.getAddress();
      const record = makeRecord("wallet twice");
      const data = registry.interface.encodeFunctionData("register", [record]);
      await wallet.connect(owner).execute(registryAddr, data);
      await expect(wallet.connect(owner).execute(registryAddr, data))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(recordIdOf(await wallet.getAddress(), record));
    });

    it("revokeBySig and supersedeBySig accept the wallet owner's signature", async function () {
      const { registry, wallet, domain, owner, relayer } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const a = makeRecord("wallet a");
      const b = makeRecord("wallet b");
      for (const r of [a, b]) {
        await registry.connect(relayer).registerFor(r, walletAddr, await owner.signTypedData(domain, RECORD_TYPES, r));
      }
      const [idA, idB] = [recordIdOf(walletAddr, a), recordIdOf(walletAddr, b)];
      const sup = await owner.signTypedData(domain, SUPERSEDE_TYPES, { recordId: idA, successor: idB });
      await expect(registry.connect(relayer).supersedeBySig(idA, idB, sup))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(idA, idB, walletAddr);
      const rev = await owner.signTypedData(domain, REVOKE_TYPES, { recordId: idA, reason: "old" });
      await expect(registry.connect(relayer).revokeBySig(idA, "old", rev))
        .to.emit(registry, "RecordRevoked")
        .withArgs(idA, walletAddr, "old");
    });
  });

  describe("anchorBatch", function () {
    it("stores submitter, time and count, and emits BatchAnchored", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const tree = batchTree([word("a"), word("b"), word("c")]);
      const tx = registry.connect(publisher).anchorBatch(tree.root, 3, URI);
      await expect(tx).to.emit(registry, "BatchAnchored").withArgs(tree.root, publisher.address, 3, URI);
      const state = await registry.batchState(tree.root);
      expect(state.submitter).to.equal(publisher.address);
      expect(state.anchoredAt).to.equal(await timestampOf(tx));
      expect(state.count).to.equal(3);
    });

    it("accepts the largest count and an empty uri", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).anchorBatch(word("big"), 2n ** 32n - 1n, ""))
        .to.emit(registry, "BatchAnchored")
        .withArgs(word("big"), publisher.address, 2n ** 32n - 1n, "");
      expect((await registry.batchState(word("big"))).count).to.equal(2n ** 32n - 1n);
    });

    it("costs the same gas whatever the count", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      // Execution gas = gasUsed - 21,000 - calldata (4 per zero byte, 16 per other byte).
      const executionGas = async (root, count) => {
        const tx = await registry.connect(publisher).anchorBatch(root, count, URI);
        const calldata = ethers.getBytes(tx.data).reduce((sum, b) => sum + (b === 0 ? 4n : 16n), 0n);
        return (await tx.wait()).gasUsed - 21000n - calldata;
      };
      const gas = [];
      for (const [i, count] of [1, 1000, 10000, 2 ** 32 - 1].entries()) gas.push(await executionGas(word(`r${i}`), count));
      expect(new Set(gas).size, `execution gas ${gas}`).to.equal(1);
    });

    it("reverts with ZeroValue for a zero root", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).anchorBatch(ZERO, 1, URI))
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
    });

    it("reverts with EmptyBatch for a zero count", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).anchorBatch(word("r"), 0, URI))
        .to.be.revertedWithCustomError(registry, "EmptyBatch")
        .withArgs();
    });

    it("reverts with BatchAlreadyAnchored for a root anchored before, by anyone", async function () {
      const { registry, publisher, other, tree } = await loadFixture(withBatch);
      for (const submitter of [publisher, other]) {
        await expect(registry.connect(submitter).anchorBatch(tree.root, 1, URI))
          .to.be.revertedWithCustomError(registry, "BatchAlreadyAnchored")
          .withArgs(tree.root);
      }
    });

    it("reports zeros for a root never anchored", async function () {
      const { registry } = await loadFixture(deployRegistry);
      const state = await registry.batchState(word("never"));
      expect([state.submitter, state.anchoredAt, state.count]).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });
  });

  describe("proveBatched", function () {
    it("stores a batched record with the batch's time and emits BatchedRecordProven; anyone may call it", async function () {
      const { registry, publisher, other, records, ids, tree, anchoredAt, proofOf } = await loadFixture(withBatch);
      await network.provider.send("evm_increaseTime", [3600]);
      const structHash = structHashOf(records[2]);
      expect(
        await registry.connect(other).proveBatched.staticCall(publisher.address, structHash, tree.root, proofOf(ids[2]))
      ).to.equal(ids[2]);
      await expect(registry.connect(other).proveBatched(publisher.address, structHash, tree.root, proofOf(ids[2])))
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(ids[2], publisher.address, tree.root);
      expectState(await registry.recordState(ids[2]), { publisher: publisher.address, registeredAt: anchoredAt });
    });

    it("proves a one-record batch with an empty proof", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const record = makeRecord("alone");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id]);
      expect(tree.getProof(0)).to.deep.equal([]);
      await registry.connect(publisher).anchorBatch(tree.root, 1, URI);
      await expect(registry.proveBatched(publisher.address, structHashOf(record), tree.root, []))
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(id, publisher.address, tree.root);
    });

    it("lets the publisher prove its record from a batch someone else anchored", async function () {
      const { registry, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("relayed batch");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id, word("x")]);
      const anchoredAt = await timestampOf(registry.connect(relayer).anchorBatch(tree.root, 2, URI));
      await expect(registry.connect(publisher).proveBatched(publisher.address, structHashOf(record), tree.root, tree.getProof([id])))
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(id, publisher.address, tree.root);
      expectState(await registry.recordState(id), { publisher: publisher.address, registeredAt: anchoredAt });
    });

    it("reverts with NotPublisher when a third party proves a record from a batch the publisher did not anchor", async function () {
      const { registry, publisher, other, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("claimed for someone else");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id, word("x")]);
      await registry.connect(relayer).anchorBatch(tree.root, 2, URI);
      for (const caller of [relayer, other]) {
        await expect(
          registry.connect(caller).proveBatched(publisher.address, structHashOf(record), tree.root, tree.getProof([id]))
        )
          .to.be.revertedWithCustomError(registry, "NotPublisher")
          .withArgs(id, caller.address);
      }
    });

    it("reverts with BatchNotAnchored for an unknown root", async function () {
      const { registry, publisher, records, ids, proofOf } = await loadFixture(withBatch);
      await expect(registry.proveBatched(publisher.address, structHashOf(records[0]), word("unknown"), proofOf(ids[0])))
        .to.be.revertedWithCustomError(registry, "BatchNotAnchored")
        .withArgs(word("unknown"));
    });

    it("reverts with InvalidProof for a wrong proof, a record not in the batch or a wrong struct hash", async function () {
      const { registry, publisher, records, ids, tree, proofOf } = await loadFixture(withBatch);
      const cases = [
        [structHashOf(records[0]), proofOf(ids[1])],
        [structHashOf(records[0]), []],
        [structHashOf(makeRecord("not batched")), proofOf(ids[0])],
        [word("garbage"), proofOf(ids[0])],
      ];
      for (const [structHash, proof] of cases) {
        const id = ethers.keccak256(coder.encode(["address", "bytes32"], [publisher.address, structHash]));
        await expect(registry.proveBatched(publisher.address, structHash, tree.root, proof))
          .to.be.revertedWithCustomError(registry, "InvalidProof")
          .withArgs(id, tree.root);
      }
    });

    it("reverts with AlreadyRegistered when proven twice, or after or before a direct registration", async function () {
      const { registry, publisher, records, ids, tree, proofOf } = await loadFixture(withBatch);
      await registry.proveBatched(publisher.address, structHashOf(records[0]), tree.root, proofOf(ids[0]));
      await expect(registry.proveBatched(publisher.address, structHashOf(records[0]), tree.root, proofOf(ids[0])))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(ids[0]);
      // Proven, then registered directly.
      await expect(registry.connect(publisher).register(records[0]))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(ids[0]);
      // Registered directly, then proven.
      await registry.connect(publisher).register(records[1]);
      await expect(registry.proveBatched(publisher.address, structHashOf(records[1]), tree.root, proofOf(ids[1])))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(ids[1]);
    });
  });

  describe("revoke", function () {
    it("marks the record revoked and emits RecordRevoked", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      const registeredAt = (await registry.recordState(id)).registeredAt;
      const tx = registry.connect(publisher).revoke(id, "license withdrawn");
      await expect(tx).to.emit(registry, "RecordRevoked").withArgs(id, publisher.address, "license withdrawn");
      expectState(await registry.recordState(id), {
        publisher: publisher.address,
        registeredAt,
        revokedAt: await timestampOf(tx),
      });
    });

    it("reverts with UnknownRecord for an id never stored", async function () {
      const { registry, publisher } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).revoke(word("unknown"), "x"))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("unknown"));
    });

    it("reverts with NotPublisher for anyone but the publisher", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      await expect(registry.connect(other).revoke(id, "x"))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(id, other.address);
    });

    it("reverts with AlreadyRevoked the second time", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await registry.connect(publisher).revoke(id, "first");
      await expect(registry.connect(publisher).revoke(id, "second"))
        .to.be.revertedWithCustomError(registry, "AlreadyRevoked")
        .withArgs(id);
    });
  });

  describe("revokeBySig", function () {
    it("revokes with the publisher's signature sent by a relayer", async function () {
      const { registry, domain, publisher, relayer, id } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, REVOKE_TYPES, { recordId: id, reason: "bad eval" });
      const tx = registry.connect(relayer).revokeBySig(id, "bad eval", signature);
      await expect(tx).to.emit(registry, "RecordRevoked").withArgs(id, publisher.address, "bad eval");
      expect((await registry.recordState(id)).revokedAt).to.equal(await timestampOf(tx));
    });

    it("rejects a replayed signature with AlreadyRevoked", async function () {
      const { registry, domain, publisher, relayer, other, id } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, REVOKE_TYPES, { recordId: id, reason: "r" });
      await registry.connect(relayer).revokeBySig(id, "r", signature);
      await expect(registry.connect(other).revokeBySig(id, "r", signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRevoked")
        .withArgs(id);
    });

    it("rejects a forged signature, another reason, another chain or another contract with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer, id } = await loadFixture(withRecord);
      const value = { recordId: id, reason: "r" };
      const signatures = {
        forged: [await other.signTypedData(domain, REVOKE_TYPES, value), "r"],
        "other reason": [await publisher.signTypedData(domain, REVOKE_TYPES, value), "something else"],
        "other chain": [await publisher.signTypedData({ ...domain, chainId: 5n }, REVOKE_TYPES, value), "r"],
        "other contract": [
          await publisher.signTypedData({ ...domain, verifyingContract: other.address }, REVOKE_TYPES, value),
          "r",
        ],
        "record type": [await publisher.signTypedData(domain, SUPERSEDE_TYPES, { recordId: id, successor: ZERO }), "r"],
      };
      for (const [signature, reason] of Object.values(signatures)) {
        await expect(registry.connect(relayer).revokeBySig(id, reason, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("reverts with UnknownRecord for an id never stored", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, REVOKE_TYPES, { recordId: word("u"), reason: "r" });
      await expect(registry.connect(relayer).revokeBySig(word("u"), "r", signature))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
    });
  });

  describe("supersede", function () {
    it("sets the successor and emits RecordSuperseded", async function () {
      const { registry, publisher, id, successor } = await loadFixture(withRecord);
      const before = await registry.recordState(id);
      await expect(registry.connect(publisher).supersede(id, successor))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, successor, publisher.address);
      expectState(await registry.recordState(id), {
        publisher: publisher.address,
        registeredAt: before.registeredAt,
        successor,
      });
    });

    it("reverts with UnknownRecord when the record or the successor is not stored", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).supersede(word("u"), id))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(publisher).supersede(id, word("u")))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(publisher).supersede(id, ZERO))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(ZERO);
    });

    it("reverts with SelfSupersede for a record replacing itself", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).supersede(id, id))
        .to.be.revertedWithCustomError(registry, "SelfSupersede")
        .withArgs(id);
    });

    it("reverts with NotPublisher for anyone but the publisher", async function () {
      const { registry, other, id, successor } = await loadFixture(withRecord);
      await expect(registry.connect(other).supersede(id, successor))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(id, other.address);
    });

    it("reverts with AlreadySuperseded the second time", async function () {
      const { registry, publisher, id, successor } = await loadFixture(withRecord);
      await registry.connect(publisher).supersede(id, successor);
      const third = makeRecord("third");
      await registry.connect(publisher).register(third);
      await expect(registry.connect(publisher).supersede(id, recordIdOf(publisher.address, third)))
        .to.be.revertedWithCustomError(registry, "AlreadySuperseded")
        .withArgs(id);
    });
  });

  describe("supersedeBySig", function () {
    it("supersedes with the publisher's signature sent by a relayer", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, SUPERSEDE_TYPES, { recordId: id, successor });
      await expect(registry.connect(relayer).supersedeBySig(id, successor, signature))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, successor, publisher.address);
      expect((await registry.recordState(id)).successor).to.equal(successor);
    });

    it("rejects a replayed signature with AlreadySuperseded", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const signature = await publisher.signTypedData(domain, SUPERSEDE_TYPES, { recordId: id, successor });
      await registry.connect(relayer).supersedeBySig(id, successor, signature);
      await expect(registry.connect(relayer).supersedeBySig(id, successor, signature))
        .to.be.revertedWithCustomError(registry, "AlreadySuperseded")
        .withArgs(id);
    });

    it("rejects a forged signature, another successor or another chain with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer, id, successor } = await loadFixture(withRecord);
      const third = makeRecord("third");
      await registry.connect(publisher).register(third);
      const thirdId = recordIdOf(publisher.address, third);
      const value = { recordId: id, successor };
      const cases = [
        [await other.signTypedData(domain, SUPERSEDE_TYPES, value), successor],
        [await publisher.signTypedData(domain, SUPERSEDE_TYPES, value), thirdId],
        [await publisher.signTypedData({ ...domain, chainId: 10n }, SUPERSEDE_TYPES, value), successor],
      ];
      for (const [signature, target] of cases) {
        await expect(registry.connect(relayer).supersedeBySig(id, target, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("checks existence and self-supersession before the signature", async function () {
      const { registry, relayer, id } = await loadFixture(withRecord);
      await expect(registry.connect(relayer).supersedeBySig(word("u"), id, "0x"))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(relayer).supersedeBySig(id, id, "0x"))
        .to.be.revertedWithCustomError(registry, "SelfSupersede")
        .withArgs(id);
    });
  });

  describe("batched records after proof", function () {
    it("can be revoked and superseded by their publisher, and not by others", async function () {
      const { registry, publisher, other, records, ids, tree, proofOf } = await loadFixture(withBatch);
      for (const i of [0, 1]) {
        await registry.connect(other).proveBatched(publisher.address, structHashOf(records[i]), tree.root, proofOf(ids[i]));
      }
      await expect(registry.connect(other).supersede(ids[0], ids[1]))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(ids[0], other.address);
      await expect(registry.connect(other).revoke(ids[0], "x"))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(ids[0], other.address);

      await expect(registry.connect(publisher).supersede(ids[0], ids[1]))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(ids[0], ids[1], publisher.address);
      await expect(registry.connect(publisher).revoke(ids[0], "superseded"))
        .to.emit(registry, "RecordRevoked")
        .withArgs(ids[0], publisher.address, "superseded");
      const state = await registry.recordState(ids[0]);
      expect(state.successor).to.equal(ids[1]);
      expect(state.revokedAt).to.be.greaterThan(0n);
    });

    it("cannot be revoked before they are proven (UnknownRecord)", async function () {
      const { registry, publisher, ids } = await loadFixture(withBatch);
      await expect(registry.connect(publisher).revoke(ids[3], "x"))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(ids[3]);
    });
  });

  describe("endorse and dispute", function () {
    it("endorse emits RecordEndorsed for a stored record, storing nothing", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      const before = await registry.recordState(id);
      await expect(registry.connect(other).endorse(id, word("statement"), URI))
        .to.emit(registry, "RecordEndorsed")
        .withArgs(id, other.address, word("statement"), URI);
      expect(await registry.recordState(id)).to.deep.equal(before);
    });

    it("dispute emits RecordDisputed for a stored record, storing nothing", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      const before = await registry.recordState(id);
      await expect(registry.connect(other).dispute(id, word("statement"), ""))
        .to.emit(registry, "RecordDisputed")
        .withArgs(id, other.address, word("statement"), "");
      expect(await registry.recordState(id)).to.deep.equal(before);
    });

    it("accept a batched record that was never proven", async function () {
      const { registry, other, ids } = await loadFixture(withBatch);
      await expect(registry.connect(other).endorse(ids[4], word("e"), URI))
        .to.emit(registry, "RecordEndorsed")
        .withArgs(ids[4], other.address, word("e"), URI);
      await expect(registry.connect(other).dispute(ids[4], word("d"), URI))
        .to.emit(registry, "RecordDisputed")
        .withArgs(ids[4], other.address, word("d"), URI);
    });

    it("revert with ZeroValue for a zero statement digest", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      await expect(registry.connect(other).endorse(id, ZERO, URI))
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
      await expect(registry.connect(other).dispute(id, ZERO, URI))
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
    });
  });

  describe("recordState", function () {
    it("reports zeros for an unknown record", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expectState(await registry.recordState(word("nothing")), { publisher: ethers.ZeroAddress, registeredAt: 0 });
    });
  });
});

// Tests of ProvenanceRegistry (version 2): every external function, every custom error with
// its arguments and every event with its arguments. Each test starts from a freshly
// deployed registry (loadFixture).
"use strict";

const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const {
  loadFixture,
  RECORD_TYPES,
  REGISTER_FOR_TYPES,
  REVOKE_TYPES,
  SUPERSEDE_TYPES,
  REASON,
  NO_DEADLINE,
  URI,
  coder,
  word,
  makeRecord,
  structHashOf,
  recordIdOf,
  batchTree,
  signRegisterFor,
  signRevoke,
  signSupersede,
  timestampOf,
} = require("./helpers");

const ZERO = ethers.ZeroHash;
const MAX_PARENTS = 64n;
const MAX_URI_LENGTH = 512n;

/** A uri of exactly `bytes` UTF-8 bytes. */
const uriOfLength = (bytes) => `ipfs://${"a".repeat(bytes - 7)}`;

/** Parents `count` long. */
const parentsOf = (count, label = "p") => Array.from({ length: count }, (_, i) => word(`${label}/${i}`));

/** Sends the next transaction in a block with timestamp `t`. */
const nextBlockAt = (t) => network.provider.send("evm_setNextBlockTimestamp", [Number(t)]);

/** Timestamp of the latest block. */
const latest = async () => (await ethers.provider.getBlock("latest")).timestamp;

async function deployRegistry() {
  const [deployer, publisher, other, relayer, owner] = await ethers.getSigners();
  const registry = await ethers.deployContract("ProvenanceRegistry");
  const wallet = await ethers.deployContract("TestWallet", [owner.address]);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "ProvenanceRegistry",
    version: "2",
    chainId,
    verifyingContract: await registry.getAddress(),
  };
  return { registry, wallet, domain, chainId, deployer, publisher, other, relayer, owner };
}

/** A registry with two records registered directly by `publisher`: `id` and `successor`. */
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
    it("reports version 2, matching the EIP-712 domain version", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expect(await registry.version()).to.equal("2");
      expect((await registry.eip712Domain()).version).to.equal("2");
    });

    it("has an argument-free constructor (one CREATE2 address on every chain)", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expect(registry.interface.deploy.inputs).to.have.length(0);
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

    it("publishes the EIP-712 type hashes, the nested Record appended to RegisterFor", async function () {
      const { registry } = await loadFixture(deployRegistry);
      const record = "Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)";
      const registerFor = `RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)${record}`;
      const revoke = "Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)";
      const supersede =
        "Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)";
      // The strings are those ethers derives from the types the tests sign with.
      expect(ethers.TypedDataEncoder.from(RECORD_TYPES).encodeType("Record")).to.equal(record);
      expect(ethers.TypedDataEncoder.from(REGISTER_FOR_TYPES).encodeType("RegisterFor")).to.equal(registerFor);
      expect(ethers.TypedDataEncoder.from(REVOKE_TYPES).encodeType("Revoke")).to.equal(revoke);
      expect(ethers.TypedDataEncoder.from(SUPERSEDE_TYPES).encodeType("Supersede")).to.equal(supersede);
      expect(await registry.RECORD_TYPEHASH()).to.equal(ethers.id(record));
      expect(await registry.REGISTER_FOR_TYPEHASH()).to.equal(ethers.id(registerFor));
      expect(await registry.REVOKE_TYPEHASH()).to.equal(ethers.id(revoke));
      expect(await registry.SUPERSEDE_TYPEHASH()).to.equal(ethers.id(supersede));
    });

    it("publishes its bounds: 64 parents, 512-byte uris", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expect(await registry.MAX_PARENTS()).to.equal(MAX_PARENTS);
      expect(await registry.MAX_URI_LENGTH()).to.equal(MAX_URI_LENGTH);
    });
  });

  describe("hashRecord and recordIdOf", function () {
    const cases = {
      "two parents and an ipfs uri": makeRecord("a"),
      "no parents and an empty uri": makeRecord("b", { parents: [], uri: "" }),
      "one parent, a dataset": makeRecord("c", { kind: 1, parents: [word("p")] }),
      "an evaluation": makeRecord("e", { kind: 3 }),
      "64 parents and a 512-byte uri": makeRecord("f", { parents: parentsOf(64), uri: uriOfLength(512) }),
      "many parents and a non-ASCII uri": makeRecord("d", {
        kind: 2,
        parents: parentsOf(9, "d"),
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

    it("accepts the four kinds (model, dataset, other, evaluation) and records without parents or uri", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const kind of [0, 1, 2, 3]) {
        const record = makeRecord(`kind${kind}`, { kind, parents: [], uri: "" });
        await expect(registry.connect(publisher).register(record))
          .to.emit(registry, "RecordRegistered")
          .withArgs(recordIdOf(publisher.address, record), publisher.address, record.subject, kind, record.claimsRoot, [], "");
      }
    });

    it("accepts 64 parents and a uri of 512 bytes (counted in UTF-8 bytes)", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      // 6 + 2 * 253 = 512 bytes in 259 characters.
      const multibyte = `ipfs:/${"ß".repeat(253)}`;
      expect(ethers.toUtf8Bytes(multibyte).length).to.equal(512);
      for (const uri of [uriOfLength(512), multibyte]) {
        const record = makeRecord(`bounds ${uri.length}`, { parents: parentsOf(64), uri });
        await expect(registry.connect(publisher).register(record))
          .to.emit(registry, "RecordRegistered")
          .withArgs(recordIdOf(publisher.address, record), publisher.address, record.subject, 0, record.claimsRoot, record.parents, uri);
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

    it("reverts with InvalidKind for a kind above 3", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const kind of [4, 255]) {
        await expect(registry.connect(publisher).register(makeRecord("k", { kind })))
          .to.be.revertedWithCustomError(registry, "InvalidKind")
          .withArgs(kind);
      }
    });

    it("reverts with TooManyParents(count, 64) above 64 parents", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const count of [65, 200]) {
        await expect(registry.connect(publisher).register(makeRecord("many", { parents: parentsOf(count) })))
          .to.be.revertedWithCustomError(registry, "TooManyParents")
          .withArgs(count, MAX_PARENTS);
      }
    });

    it("reverts with UriTooLong(length, 512) above 512 bytes, multi-byte characters counted as bytes", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const multibyte = `ipfs://${"ß".repeat(253)}`; // 260 characters, 513 bytes
      for (const [uri, length] of [
        [uriOfLength(513), 513],
        [uriOfLength(4096), 4096],
        [multibyte, 513],
      ]) {
        await expect(registry.connect(publisher).register(makeRecord("long", { uri })))
          .to.be.revertedWithCustomError(registry, "UriTooLong")
          .withArgs(length, MAX_URI_LENGTH);
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
    it("registers a relayed record under the signer, emits RecordRegistered and leaves the nonce alone", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("relayed");
      const deadline = BigInt(await latest()) + 3600n;
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address, deadline });
      const id = recordIdOf(publisher.address, record);
      expect(
        await registry.connect(relayer).registerFor.staticCall(record, publisher.address, deadline, signature)
      ).to.equal(id);
      const tx = registry.connect(relayer).registerFor(record, publisher.address, deadline, signature);
      await expect(tx)
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, publisher.address, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      expectState(await registry.recordState(id), { publisher: publisher.address, registeredAt: await timestampOf(tx) });
      expect(await registry.nonces(publisher.address)).to.equal(0n);
    });

    it("gives the relayed record the id of the record alone, as register would", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("same id");
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address });
      await registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature);
      await expect(registry.connect(publisher).register(record))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(await registry.recordIdOf(publisher.address, record));
    });

    it("accepts several signatures under the same nonce, in any order", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const records = [0, 1, 2].map((i) => makeRecord(`unordered${i}`));
      const signatures = await Promise.all(
        records.map((record) => signRegisterFor(publisher, domain, { record, publisher: publisher.address }))
      );
      for (const i of [2, 0, 1]) {
        await expect(registry.connect(relayer).registerFor(records[i], publisher.address, NO_DEADLINE, signatures[i]))
          .to.emit(registry, "RecordRegistered");
      }
    });

    it("accepts a signature up to and including its deadline", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("last second");
      const deadline = BigInt(await latest()) + 100n;
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address, deadline });
      await nextBlockAt(deadline);
      await expect(registry.connect(relayer).registerFor(record, publisher.address, deadline, signature)).to.emit(
        registry,
        "RecordRegistered"
      );
    });

    it("reverts with SignatureExpired(deadline, timestamp) after the deadline", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("too late");
      const deadline = BigInt(await latest()) + 100n;
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address, deadline });
      await nextBlockAt(deadline + 1n);
      await expect(registry.connect(relayer).registerFor(record, publisher.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "SignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });

    it("rejects a replayed signature with AlreadyRegistered", async function () {
      const { registry, domain, publisher, relayer, other } = await loadFixture(deployRegistry);
      const record = makeRecord("replayed");
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address });
      await registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature);
      await expect(registry.connect(other).registerFor(record, publisher.address, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(recordIdOf(publisher.address, record));
    });

    it("rejects a relayed record the publisher registered directly with AlreadyRegistered", async function () {
      const { registry, domain, publisher, relayer, record, id } = await loadFixture(withRecord);
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address });
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(id);
    });

    it("rejects a forged signature (signed by someone else) with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("forged");
      const signature = await signRegisterFor(other, domain, { record, publisher: publisher.address });
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
    });

    it("rejects a signature over a different record, publisher or deadline with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("tampered");
      const deadline = BigInt(await latest()) + 3600n;
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address, deadline });
      for (const change of [{ uri: "ipfs://elsewhere" }, { parents: [] }, { kind: 1 }, { claimsRoot: word("c") }]) {
        await expect(registry.connect(relayer).registerFor({ ...record, ...change }, publisher.address, deadline, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
      await expect(registry.connect(relayer).registerFor(record, publisher.address, deadline + 1n, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
      // Signed for another publisher field: the signer's own key does not make it valid.
      const elsewhere = await signRegisterFor(publisher, domain, { record, publisher: other.address, deadline });
      await expect(registry.connect(relayer).registerFor(record, publisher.address, deadline, elsewhere))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
    });

    it("rejects a signature of the bare Record (the version 1 format) with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("v1 style");
      for (const d of [domain, { ...domain, version: "1" }]) {
        const signature = await publisher.signTypedData(d, RECORD_TYPES, record);
        await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("rejects a signature under another nonce with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("future nonce");
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address, nonce: 1n });
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
      // Once the publisher moves to nonce 1, the same signature is good.
      await registry.connect(publisher).useNonce();
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature)).to.emit(
        registry,
        "RecordRegistered"
      );
    });

    it("rejects malformed signature bytes with InvalidSignature", async function () {
      const { registry, publisher, relayer } = await loadFixture(deployRegistry);
      for (const signature of ["0x", "0x1234", ethers.hexlify(new Uint8Array(65))]) {
        await expect(registry.connect(relayer).registerFor(makeRecord("bad"), publisher.address, NO_DEADLINE, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("rejects a record signed for another chain id or domain version with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("other chain");
      for (const d of [{ ...domain, chainId: 1n }, { ...domain, version: "1" }]) {
        const signature = await signRegisterFor(publisher, d, { record, publisher: publisher.address });
        await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("rejects a record signed for another registry address with InvalidSignature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const elsewhere = await ethers.deployContract("ProvenanceRegistry");
      const record = makeRecord("other contract");
      const signature = await signRegisterFor(
        publisher,
        { ...domain, verifyingContract: await elsewhere.getAddress() },
        { record, publisher: publisher.address }
      );
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(publisher.address);
      // The same signature is good where it was meant to go.
      await expect(elsewhere.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature)).to.emit(
        elsewhere,
        "RecordRegistered"
      );
    });

    it("checks the record's fields, then the deadline, before the signature", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(deployRegistry);
      const zero = makeRecord("z", { subject: ZERO });
      await expect(
        registry
          .connect(relayer)
          .registerFor(zero, publisher.address, NO_DEADLINE, await signRegisterFor(publisher, domain, { record: zero, publisher: publisher.address }))
      )
        .to.be.revertedWithCustomError(registry, "ZeroValue")
        .withArgs();
      await expect(registry.connect(relayer).registerFor(makeRecord("k", { kind: 7 }), publisher.address, NO_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(registry, "InvalidKind")
        .withArgs(7);
      await expect(
        registry.connect(relayer).registerFor(makeRecord("p", { parents: parentsOf(65) }), publisher.address, NO_DEADLINE, "0x")
      )
        .to.be.revertedWithCustomError(registry, "TooManyParents")
        .withArgs(65, MAX_PARENTS);
      await expect(
        registry.connect(relayer).registerFor(makeRecord("u", { uri: uriOfLength(600) }), publisher.address, NO_DEADLINE, "0x")
      )
        .to.be.revertedWithCustomError(registry, "UriTooLong")
        .withArgs(600, MAX_URI_LENGTH);
      const deadline = BigInt(await latest());
      await nextBlockAt(deadline + 10n);
      await expect(registry.connect(relayer).registerFor(makeRecord("d"), publisher.address, deadline, "0x"))
        .to.be.revertedWithCustomError(registry, "SignatureExpired")
        .withArgs(deadline, deadline + 10n);
    });
  });

  describe("useNonce and nonces", function () {
    it("starts every publisher at nonce 0", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      expect(await registry.nonces(publisher.address)).to.equal(0n);
      expect(await registry.nonces(other.address)).to.equal(0n);
    });

    it("consumes the caller's nonce, returns it and emits NonceUsed", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      expect(await registry.connect(publisher).useNonce.staticCall()).to.equal(0n);
      await expect(registry.connect(publisher).useNonce()).to.emit(registry, "NonceUsed").withArgs(publisher.address, 0n);
      await expect(registry.connect(publisher).useNonce()).to.emit(registry, "NonceUsed").withArgs(publisher.address, 1n);
      expect(await registry.nonces(publisher.address)).to.equal(2n);
      expect(await registry.nonces(other.address)).to.equal(0n);
    });

    it("voids every outstanding signature of the publisher at once", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const record = makeRecord("cancelled");
      const signatures = {
        register: await signRegisterFor(publisher, domain, { record, publisher: publisher.address }),
        revoke: await signRevoke(publisher, domain, { recordId: id, reasonCode: REASON.other, reason: "" }),
        supersede: await signSupersede(publisher, domain, { recordId: id, successor, reasonCode: REASON.other, reason: "" }),
      };
      await registry.connect(publisher).useNonce();
      const calls = [
        () => registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signatures.register),
        () => registry.connect(relayer).revokeBySig(id, REASON.other, "", NO_DEADLINE, signatures.revoke),
        () => registry.connect(relayer).supersedeBySig(id, successor, REASON.other, "", NO_DEADLINE, signatures.supersede),
      ];
      for (const call of calls) {
        await expect(call()).to.be.revertedWithCustomError(registry, "InvalidSignature").withArgs(publisher.address);
      }
    });

    it("does not touch other publishers' signatures", async function () {
      const { registry, domain, publisher, other, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("unaffected");
      const signature = await signRegisterFor(publisher, domain, { record, publisher: publisher.address });
      await registry.connect(other).useNonce();
      await expect(registry.connect(relayer).registerFor(record, publisher.address, NO_DEADLINE, signature)).to.emit(
        registry,
        "RecordRegistered"
      );
    });
  });

  describe("ERC-1271 wallet as publisher", function () {
    it("registerFor accepts the wallet owner's signature and stores the wallet as publisher", async function () {
      const { registry, wallet, domain, owner, relayer } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const record = makeRecord("wallet relayed");
      const signature = await signRegisterFor(owner, domain, { record, publisher: walletAddr });
      const id = recordIdOf(walletAddr, record);
      const tx = registry.connect(relayer).registerFor(record, walletAddr, NO_DEADLINE, signature);
      await expect(tx)
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, walletAddr, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      expectState(await registry.recordState(id), { publisher: walletAddr, registeredAt: await timestampOf(tx) });
    });

    it("registerFor rejects a signature the wallet does not accept with InvalidSignature", async function () {
      const { registry, wallet, domain, other, relayer } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const record = makeRecord("wallet forged");
      const signature = await signRegisterFor(other, domain, { record, publisher: walletAddr });
      await expect(registry.connect(relayer).registerFor(record, walletAddr, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(walletAddr);
    });

    it("binds a signature to one wallet: another wallet of the same owner cannot reuse it", async function () {
      const { registry, wallet, domain, owner, relayer } = await loadFixture(deployRegistry);
      const second = await ethers.deployContract("TestWallet", [owner.address]);
      const [walletAddr, secondAddr] = [await wallet.getAddress(), await second.getAddress()];
      const record = makeRecord("one wallet");
      const signature = await signRegisterFor(owner, domain, { record, publisher: walletAddr });
      await expect(registry.connect(relayer).registerFor(record, secondAddr, NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "InvalidSignature")
        .withArgs(secondAddr);
      await expect(registry.connect(relayer).registerFor(record, walletAddr, NO_DEADLINE, signature)).to.emit(
        registry,
        "RecordRegistered"
      );
    });

    it("registers directly through execute, then supersedes, revokes and uses its nonce through it", async function () {
      const { registry, wallet, owner } = await loadFixture(deployRegistry);
      const walletAddr = await wallet.getAddress();
      const registryAddr = await registry.getAddress();
      const call = (name, args) =>
        wallet.connect(owner).execute(registryAddr, registry.interface.encodeFunctionData(name, args));
      const record = makeRecord("wallet direct");
      const id = recordIdOf(walletAddr, record);
      const next = makeRecord("wallet next");
      const nextId = recordIdOf(walletAddr, next);

      await expect(call("register", [record]))
        .to.emit(registry, "RecordRegistered")
        .withArgs(id, walletAddr, record.subject, record.kind, record.claimsRoot, record.parents, record.uri);
      await call("register", [next]);
      await expect(call("supersede", [id, nextId, REASON.wrongClaims, "fixed"]))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, nextId, walletAddr, REASON.wrongClaims, "fixed");
      await expect(call("revoke", [id, REASON.withdrawn, "retracted"]))
        .to.emit(registry, "RecordRevoked")
        .withArgs(id, walletAddr, REASON.withdrawn, "retracted");
      await expect(call("useNonce", [])).to.emit(registry, "NonceUsed").withArgs(walletAddr, 0n);
      expect(await registry.nonces(walletAddr)).to.equal(1n);
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
      for (const record of [a, b]) {
        const signature = await signRegisterFor(owner, domain, { record, publisher: walletAddr });
        await registry.connect(relayer).registerFor(record, walletAddr, NO_DEADLINE, signature);
      }
      const [idA, idB] = [recordIdOf(walletAddr, a), recordIdOf(walletAddr, b)];
      const sup = await signSupersede(owner, domain, { recordId: idA, successor: idB, reasonCode: REASON.erasure, reason: "gdpr" });
      await expect(registry.connect(relayer).supersedeBySig(idA, idB, REASON.erasure, "gdpr", NO_DEADLINE, sup))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(idA, idB, walletAddr, REASON.erasure, "gdpr");
      const rev = await signRevoke(owner, domain, { recordId: idA, reasonCode: REASON.erasure, reason: "old" });
      await expect(registry.connect(relayer).revokeBySig(idA, REASON.erasure, "old", NO_DEADLINE, rev))
        .to.emit(registry, "RecordRevoked")
        .withArgs(idA, walletAddr, REASON.erasure, "old");
    });
  });

  describe("anchorBatch", function () {
    it("stores submitter, time and count under (submitter, root), and emits BatchAnchored", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      const tree = batchTree([word("a"), word("b"), word("c")]);
      const tx = registry.connect(publisher).anchorBatch(tree.root, 3, URI);
      await expect(tx).to.emit(registry, "BatchAnchored").withArgs(tree.root, publisher.address, 3, URI);
      const state = await registry.batchState(publisher.address, tree.root);
      expect(state.submitter).to.equal(publisher.address);
      expect(state.anchoredAt).to.equal(await timestampOf(tx));
      expect(state.count).to.equal(3);
      const elsewhere = await registry.batchState(other.address, tree.root);
      expect([elsewhere.submitter, elsewhere.anchoredAt, elsewhere.count]).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });

    it("keeps the same root anchored by two submitters as two batches (a front-run blocks nobody)", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      const tree = batchTree([word("a"), word("b")]);
      const first = await timestampOf(registry.connect(other).anchorBatch(tree.root, 7, "ipfs://copy"));
      const tx = registry.connect(publisher).anchorBatch(tree.root, 2, URI);
      await expect(tx).to.emit(registry, "BatchAnchored").withArgs(tree.root, publisher.address, 2, URI);
      const mine = await registry.batchState(publisher.address, tree.root);
      const theirs = await registry.batchState(other.address, tree.root);
      expect([mine.submitter, mine.anchoredAt, mine.count]).to.deep.equal([publisher.address, BigInt(await timestampOf(tx)), 2n]);
      expect([theirs.submitter, theirs.anchoredAt, theirs.count]).to.deep.equal([other.address, BigInt(first), 7n]);
    });

    it("accepts the largest count, an empty uri and a 512-byte uri", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).anchorBatch(word("big"), 2n ** 32n - 1n, ""))
        .to.emit(registry, "BatchAnchored")
        .withArgs(word("big"), publisher.address, 2n ** 32n - 1n, "");
      expect((await registry.batchState(publisher.address, word("big"))).count).to.equal(2n ** 32n - 1n);
      await expect(registry.connect(publisher).anchorBatch(word("long"), 1, uriOfLength(512)))
        .to.emit(registry, "BatchAnchored")
        .withArgs(word("long"), publisher.address, 1, uriOfLength(512));
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

    it("reverts with UriTooLong(length, 512) for a uri above 512 bytes", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      await expect(registry.connect(publisher).anchorBatch(word("r"), 1, uriOfLength(513)))
        .to.be.revertedWithCustomError(registry, "UriTooLong")
        .withArgs(513, MAX_URI_LENGTH);
    });

    it("reverts with BatchAlreadyAnchored(submitter, root) when the same submitter anchors a root again", async function () {
      const { registry, publisher, tree } = await loadFixture(withBatch);
      await expect(registry.connect(publisher).anchorBatch(tree.root, 1, URI))
        .to.be.revertedWithCustomError(registry, "BatchAlreadyAnchored")
        .withArgs(publisher.address, tree.root);
    });

    it("batchState reports zeros for a root never anchored", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const state = await registry.batchState(publisher.address, word("never"));
      expect([state.submitter, state.anchoredAt, state.count]).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });
  });

  describe("proveBatched", function () {
    it("stores a batched record with the batch's time and emits BatchedRecordProven; anyone may call it", async function () {
      const { registry, publisher, other, records, ids, tree, anchoredAt, proofOf } = await loadFixture(withBatch);
      await network.provider.send("evm_increaseTime", [3600]);
      const structHash = structHashOf(records[2]);
      const args = [publisher.address, structHash, publisher.address, tree.root, proofOf(ids[2])];
      expect(await registry.connect(other).proveBatched.staticCall(...args)).to.equal(ids[2]);
      await expect(registry.connect(other).proveBatched(...args))
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(ids[2], publisher.address, tree.root, publisher.address, structHash);
      expectState(await registry.recordState(ids[2]), { publisher: publisher.address, registeredAt: anchoredAt });
    });

    it("proves a one-record batch with an empty proof", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      const record = makeRecord("alone");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id]);
      expect(tree.getProof(0)).to.deep.equal([]);
      await registry.connect(publisher).anchorBatch(tree.root, 1, URI);
      await expect(registry.proveBatched(publisher.address, structHashOf(record), publisher.address, tree.root, []))
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(id, publisher.address, tree.root, publisher.address, structHashOf(record));
    });

    it("lets the publisher prove its record from a batch someone else anchored", async function () {
      const { registry, publisher, relayer } = await loadFixture(deployRegistry);
      const record = makeRecord("relayed batch");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id, word("x")]);
      const anchoredAt = await timestampOf(registry.connect(relayer).anchorBatch(tree.root, 2, URI));
      await expect(
        registry
          .connect(publisher)
          .proveBatched(publisher.address, structHashOf(record), relayer.address, tree.root, tree.getProof([id]))
      )
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(id, publisher.address, tree.root, relayer.address, structHashOf(record));
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
          registry
            .connect(caller)
            .proveBatched(publisher.address, structHashOf(record), relayer.address, tree.root, tree.getProof([id]))
        )
          .to.be.revertedWithCustomError(registry, "NotPublisher")
          .withArgs(id, caller.address);
      }
    });

    it("survives a front-run: the publisher's own anchor of the same root still lets anyone prove", async function () {
      const { registry, publisher, other } = await loadFixture(deployRegistry);
      const record = makeRecord("front-run");
      const id = recordIdOf(publisher.address, record);
      const tree = batchTree([id, word("y")]);
      // `other` copies the root from the mempool and anchors it first.
      await registry.connect(other).anchorBatch(tree.root, 2, "ipfs://squatted");
      const anchoredAt = await timestampOf(registry.connect(publisher).anchorBatch(tree.root, 2, URI));
      await expect(
        registry.connect(other).proveBatched(publisher.address, structHashOf(record), other.address, tree.root, tree.getProof([id]))
      )
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(id, other.address);
      await expect(
        registry
          .connect(other)
          .proveBatched(publisher.address, structHashOf(record), publisher.address, tree.root, tree.getProof([id]))
      )
        .to.emit(registry, "BatchedRecordProven")
        .withArgs(id, publisher.address, tree.root, publisher.address, structHashOf(record));
      expectState(await registry.recordState(id), { publisher: publisher.address, registeredAt: anchoredAt });
    });

    it("reverts with BatchNotAnchored(submitter, root) for a root that submitter never anchored", async function () {
      const { registry, publisher, other, records, ids, tree, proofOf } = await loadFixture(withBatch);
      const structHash = structHashOf(records[0]);
      await expect(registry.proveBatched(publisher.address, structHash, publisher.address, word("unknown"), proofOf(ids[0])))
        .to.be.revertedWithCustomError(registry, "BatchNotAnchored")
        .withArgs(publisher.address, word("unknown"));
      // The root exists, but under `publisher`, not under `other`.
      await expect(
        registry.connect(publisher).proveBatched(publisher.address, structHash, other.address, tree.root, proofOf(ids[0]))
      )
        .to.be.revertedWithCustomError(registry, "BatchNotAnchored")
        .withArgs(other.address, tree.root);
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
        await expect(registry.proveBatched(publisher.address, structHash, publisher.address, tree.root, proof))
          .to.be.revertedWithCustomError(registry, "InvalidProof")
          .withArgs(id, tree.root);
      }
    });

    it("reverts with AlreadyRegistered when proven twice, from two batches, or after or before a direct registration", async function () {
      const { registry, publisher, records, ids, tree, proofOf } = await loadFixture(withBatch);
      const prove = (i) =>
        registry.proveBatched(publisher.address, structHashOf(records[i]), publisher.address, tree.root, proofOf(ids[i]));
      await prove(0);
      await expect(prove(0)).to.be.revertedWithCustomError(registry, "AlreadyRegistered").withArgs(ids[0]);
      // In a second batch of the same publisher.
      const again = batchTree([ids[0], word("z")]);
      await registry.connect(publisher).anchorBatch(again.root, 2, URI);
      await expect(
        registry.proveBatched(publisher.address, structHashOf(records[0]), publisher.address, again.root, again.getProof([ids[0]]))
      )
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(ids[0]);
      // Proven, then registered directly.
      await expect(registry.connect(publisher).register(records[0]))
        .to.be.revertedWithCustomError(registry, "AlreadyRegistered")
        .withArgs(ids[0]);
      // Registered directly, then proven.
      await registry.connect(publisher).register(records[1]);
      await expect(prove(1)).to.be.revertedWithCustomError(registry, "AlreadyRegistered").withArgs(ids[1]);
    });
  });

  describe("revoke", function () {
    it("marks the record revoked and emits RecordRevoked with the reason code and text", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      const registeredAt = (await registry.recordState(id)).registeredAt;
      const tx = registry.connect(publisher).revoke(id, REASON.withdrawn, "license withdrawn");
      await expect(tx)
        .to.emit(registry, "RecordRevoked")
        .withArgs(id, publisher.address, REASON.withdrawn, "license withdrawn");
      expectState(await registry.recordState(id), {
        publisher: publisher.address,
        registeredAt,
        revokedAt: await timestampOf(tx),
      });
    });

    it("accepts every reason code from 0 (other) to 4 (withdrawn) and an empty text", async function () {
      const { registry, publisher } = await loadFixture(deployRegistry);
      for (const code of Object.values(REASON)) {
        const record = makeRecord(`reason${code}`);
        await registry.connect(publisher).register(record);
        const id = recordIdOf(publisher.address, record);
        await expect(registry.connect(publisher).revoke(id, code, ""))
          .to.emit(registry, "RecordRevoked")
          .withArgs(id, publisher.address, code, "");
      }
    });

    it("reverts with InvalidReason for a code above 4", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      for (const code of [5, 255]) {
        await expect(registry.connect(publisher).revoke(id, code, "x"))
          .to.be.revertedWithCustomError(registry, "InvalidReason")
          .withArgs(code);
      }
    });

    it("reverts with UnknownRecord for an id never stored", async function () {
      const { registry, publisher } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).revoke(word("unknown"), REASON.other, "x"))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("unknown"));
    });

    it("reverts with NotPublisher for anyone but the publisher", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      await expect(registry.connect(other).revoke(id, REASON.other, "x"))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(id, other.address);
    });

    it("reverts with AlreadyRevoked the second time", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await registry.connect(publisher).revoke(id, REASON.other, "first");
      await expect(registry.connect(publisher).revoke(id, REASON.erasure, "second"))
        .to.be.revertedWithCustomError(registry, "AlreadyRevoked")
        .withArgs(id);
    });
  });

  describe("revokeBySig", function () {
    it("revokes with the publisher's signature sent by a relayer, leaving the nonce alone", async function () {
      const { registry, domain, publisher, relayer, id } = await loadFixture(withRecord);
      const deadline = BigInt(await latest()) + 3600n;
      const value = { recordId: id, reasonCode: REASON.wrongClaims, reason: "bad eval", deadline };
      const signature = await signRevoke(publisher, domain, value);
      const tx = registry.connect(relayer).revokeBySig(id, REASON.wrongClaims, "bad eval", deadline, signature);
      await expect(tx)
        .to.emit(registry, "RecordRevoked")
        .withArgs(id, publisher.address, REASON.wrongClaims, "bad eval");
      expect((await registry.recordState(id)).revokedAt).to.equal(await timestampOf(tx));
      expect(await registry.nonces(publisher.address)).to.equal(0n);
    });

    it("rejects a replayed signature with AlreadyRevoked", async function () {
      const { registry, domain, publisher, relayer, other, id } = await loadFixture(withRecord);
      const signature = await signRevoke(publisher, domain, { recordId: id, reasonCode: REASON.other, reason: "r" });
      await registry.connect(relayer).revokeBySig(id, REASON.other, "r", NO_DEADLINE, signature);
      await expect(registry.connect(other).revokeBySig(id, REASON.other, "r", NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "AlreadyRevoked")
        .withArgs(id);
    });

    it("rejects a forged signature or one over other values, domain or type with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer, id, successor } = await loadFixture(withRecord);
      const value = { recordId: id, reasonCode: REASON.erasure, reason: "r" };
      const good = await signRevoke(publisher, domain, value);
      // [signature, reasonCode, reason, deadline] as sent.
      const cases = {
        forged: [await signRevoke(other, domain, value), REASON.erasure, "r", NO_DEADLINE],
        "other reason text": [good, REASON.erasure, "something else", NO_DEADLINE],
        "other reason code": [good, REASON.withdrawn, "r", NO_DEADLINE],
        "other deadline": [good, REASON.erasure, "r", NO_DEADLINE - 1n],
        "other nonce": [await signRevoke(publisher, domain, { ...value, nonce: 1n }), REASON.erasure, "r", NO_DEADLINE],
        "other chain": [await signRevoke(publisher, { ...domain, chainId: 5n }, value), REASON.erasure, "r", NO_DEADLINE],
        "version 1 domain": [await signRevoke(publisher, { ...domain, version: "1" }, value), REASON.erasure, "r", NO_DEADLINE],
        "other contract": [
          await signRevoke(publisher, { ...domain, verifyingContract: other.address }, value),
          REASON.erasure,
          "r",
          NO_DEADLINE,
        ],
        "supersede type": [
          await signSupersede(publisher, domain, { ...value, successor }),
          REASON.erasure,
          "r",
          NO_DEADLINE,
        ],
      };
      for (const [name, [signature, code, reason, deadline]] of Object.entries(cases)) {
        await expect(registry.connect(relayer).revokeBySig(id, code, reason, deadline, signature), name)
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("reverts with SignatureExpired(deadline, timestamp) after the deadline", async function () {
      const { registry, domain, publisher, relayer, id } = await loadFixture(withRecord);
      const deadline = BigInt(await latest()) + 60n;
      const signature = await signRevoke(publisher, domain, { recordId: id, reasonCode: REASON.other, reason: "", deadline });
      await nextBlockAt(deadline + 1n);
      await expect(registry.connect(relayer).revokeBySig(id, REASON.other, "", deadline, signature))
        .to.be.revertedWithCustomError(registry, "SignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });

    it("reverts with InvalidReason before looking at the record or the signature", async function () {
      const { registry, relayer } = await loadFixture(withRecord);
      await expect(registry.connect(relayer).revokeBySig(word("u"), 5, "", NO_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(registry, "InvalidReason")
        .withArgs(5);
    });

    it("reverts with UnknownRecord for an id never stored", async function () {
      const { registry, domain, publisher, relayer } = await loadFixture(withRecord);
      const signature = await signRevoke(publisher, domain, { recordId: word("u"), reasonCode: REASON.other, reason: "r" });
      await expect(registry.connect(relayer).revokeBySig(word("u"), REASON.other, "r", NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
    });
  });

  describe("supersede", function () {
    it("sets the successor and emits RecordSuperseded with the reason code and text", async function () {
      const { registry, publisher, id, successor } = await loadFixture(withRecord);
      const before = await registry.recordState(id);
      await expect(registry.connect(publisher).supersede(id, successor, REASON.erasure, "personal data removed"))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, successor, publisher.address, REASON.erasure, "personal data removed");
      expectState(await registry.recordState(id), {
        publisher: publisher.address,
        registeredAt: before.registeredAt,
        successor,
      });
    });

    it("accepts a successor by another publisher", async function () {
      const { registry, publisher, other, id } = await loadFixture(withRecord);
      const theirs = makeRecord("theirs");
      await registry.connect(other).register(theirs);
      const theirId = recordIdOf(other.address, theirs);
      await expect(registry.connect(publisher).supersede(id, theirId, REASON.other, ""))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, theirId, publisher.address, REASON.other, "");
    });

    it("reverts with InvalidReason for a code above 4", async function () {
      const { registry, publisher, id, successor } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).supersede(id, successor, 5, ""))
        .to.be.revertedWithCustomError(registry, "InvalidReason")
        .withArgs(5);
    });

    it("reverts with UnknownRecord when the record or the successor is not stored", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).supersede(word("u"), id, REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(publisher).supersede(id, word("u"), REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(publisher).supersede(id, ZERO, REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(ZERO);
    });

    it("reverts with SelfSupersede for a record replacing itself", async function () {
      const { registry, publisher, id } = await loadFixture(withRecord);
      await expect(registry.connect(publisher).supersede(id, id, REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "SelfSupersede")
        .withArgs(id);
    });

    it("reverts with NotPublisher for anyone but the publisher", async function () {
      const { registry, other, id, successor } = await loadFixture(withRecord);
      await expect(registry.connect(other).supersede(id, successor, REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(id, other.address);
    });

    it("reverts with AlreadySuperseded the second time", async function () {
      const { registry, publisher, id, successor } = await loadFixture(withRecord);
      await registry.connect(publisher).supersede(id, successor, REASON.other, "");
      const third = makeRecord("third");
      await registry.connect(publisher).register(third);
      await expect(registry.connect(publisher).supersede(id, recordIdOf(publisher.address, third), REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "AlreadySuperseded")
        .withArgs(id);
    });
  });

  describe("supersedeBySig", function () {
    it("supersedes with the publisher's signature sent by a relayer, leaving the nonce alone", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const deadline = BigInt(await latest()) + 3600n;
      const signature = await signSupersede(publisher, domain, {
        recordId: id,
        successor,
        reasonCode: REASON.keyCompromise,
        reason: "key leaked",
        deadline,
      });
      await expect(
        registry.connect(relayer).supersedeBySig(id, successor, REASON.keyCompromise, "key leaked", deadline, signature)
      )
        .to.emit(registry, "RecordSuperseded")
        .withArgs(id, successor, publisher.address, REASON.keyCompromise, "key leaked");
      expect((await registry.recordState(id)).successor).to.equal(successor);
      expect(await registry.nonces(publisher.address)).to.equal(0n);
    });

    it("rejects a replayed signature with AlreadySuperseded", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const value = { recordId: id, successor, reasonCode: REASON.other, reason: "" };
      const signature = await signSupersede(publisher, domain, value);
      await registry.connect(relayer).supersedeBySig(id, successor, REASON.other, "", NO_DEADLINE, signature);
      await expect(registry.connect(relayer).supersedeBySig(id, successor, REASON.other, "", NO_DEADLINE, signature))
        .to.be.revertedWithCustomError(registry, "AlreadySuperseded")
        .withArgs(id);
    });

    it("rejects a forged signature or one over other values, domain or type with InvalidSignature", async function () {
      const { registry, domain, publisher, other, relayer, id, successor } = await loadFixture(withRecord);
      const third = makeRecord("third");
      await registry.connect(publisher).register(third);
      const thirdId = recordIdOf(publisher.address, third);
      const value = { recordId: id, successor, reasonCode: REASON.wrongClaims, reason: "r" };
      const good = await signSupersede(publisher, domain, value);
      // [signature, successor, reasonCode, reason, deadline] as sent.
      const cases = {
        forged: [await signSupersede(other, domain, value), successor, 2, "r", NO_DEADLINE],
        "other successor": [good, thirdId, 2, "r", NO_DEADLINE],
        "other reason code": [good, successor, 1, "r", NO_DEADLINE],
        "other reason text": [good, successor, 2, "s", NO_DEADLINE],
        "other deadline": [good, successor, 2, "r", 10n ** 12n],
        "other nonce": [await signSupersede(publisher, domain, { ...value, nonce: 7n }), successor, 2, "r", NO_DEADLINE],
        "other chain": [await signSupersede(publisher, { ...domain, chainId: 10n }, value), successor, 2, "r", NO_DEADLINE],
        "revoke type": [
          await signRevoke(publisher, domain, { recordId: id, reasonCode: 2, reason: "r" }),
          successor,
          2,
          "r",
          NO_DEADLINE,
        ],
      };
      for (const [name, [signature, target, code, reason, deadline]] of Object.entries(cases)) {
        await expect(registry.connect(relayer).supersedeBySig(id, target, code, reason, deadline, signature), name)
          .to.be.revertedWithCustomError(registry, "InvalidSignature")
          .withArgs(publisher.address);
      }
    });

    it("reverts with SignatureExpired(deadline, timestamp) after the deadline", async function () {
      const { registry, domain, publisher, relayer, id, successor } = await loadFixture(withRecord);
      const deadline = BigInt(await latest()) + 60n;
      const signature = await signSupersede(publisher, domain, {
        recordId: id,
        successor,
        reasonCode: REASON.other,
        reason: "",
        deadline,
      });
      await nextBlockAt(deadline + 3n);
      await expect(registry.connect(relayer).supersedeBySig(id, successor, REASON.other, "", deadline, signature))
        .to.be.revertedWithCustomError(registry, "SignatureExpired")
        .withArgs(deadline, deadline + 3n);
    });

    it("checks the reason code, existence and self-supersession before the signature", async function () {
      const { registry, relayer, id, successor } = await loadFixture(withRecord);
      await expect(registry.connect(relayer).supersedeBySig(id, successor, 9, "", NO_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(registry, "InvalidReason")
        .withArgs(9);
      await expect(registry.connect(relayer).supersedeBySig(word("u"), id, REASON.other, "", NO_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(registry, "UnknownRecord")
        .withArgs(word("u"));
      await expect(registry.connect(relayer).supersedeBySig(id, id, REASON.other, "", NO_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(registry, "SelfSupersede")
        .withArgs(id);
    });
  });

  describe("batched records after proof", function () {
    it("can be revoked and superseded by their publisher, and not by others", async function () {
      const { registry, publisher, other, records, ids, tree, proofOf } = await loadFixture(withBatch);
      for (const i of [0, 1]) {
        await registry
          .connect(other)
          .proveBatched(publisher.address, structHashOf(records[i]), publisher.address, tree.root, proofOf(ids[i]));
      }
      await expect(registry.connect(other).supersede(ids[0], ids[1], REASON.other, ""))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(ids[0], other.address);
      await expect(registry.connect(other).revoke(ids[0], REASON.other, "x"))
        .to.be.revertedWithCustomError(registry, "NotPublisher")
        .withArgs(ids[0], other.address);

      await expect(registry.connect(publisher).supersede(ids[0], ids[1], REASON.wrongClaims, "fixed"))
        .to.emit(registry, "RecordSuperseded")
        .withArgs(ids[0], ids[1], publisher.address, REASON.wrongClaims, "fixed");
      await expect(registry.connect(publisher).revoke(ids[0], REASON.withdrawn, "superseded"))
        .to.emit(registry, "RecordRevoked")
        .withArgs(ids[0], publisher.address, REASON.withdrawn, "superseded");
      const state = await registry.recordState(ids[0]);
      expect(state.successor).to.equal(ids[1]);
      expect(state.revokedAt).to.be.greaterThan(0n);
    });

    it("cannot be revoked before they are proven (UnknownRecord)", async function () {
      const { registry, publisher, ids } = await loadFixture(withBatch);
      await expect(registry.connect(publisher).revoke(ids[3], REASON.other, "x"))
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

    it("take the keccak256 of a statement file's bytes as its digest and a 512-byte uri", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      const digest = ethers.keccak256(ethers.toUtf8Bytes('{"_type":"https://in-toto.io/Statement/v1"}\n'));
      const uri = uriOfLength(512);
      await expect(registry.connect(other).endorse(id, digest, uri))
        .to.emit(registry, "RecordEndorsed")
        .withArgs(id, other.address, digest, uri);
      await expect(registry.connect(other).dispute(id, digest, uri))
        .to.emit(registry, "RecordDisputed")
        .withArgs(id, other.address, digest, uri);
    });

    it("revert with UnknownRecord for an id never stored and for a batched record not yet proven", async function () {
      const { registry, publisher, other, records, ids, tree, proofOf } = await loadFixture(withBatch);
      for (const recordId of [word("unknown"), ids[4]]) {
        await expect(registry.connect(other).endorse(recordId, word("e"), URI))
          .to.be.revertedWithCustomError(registry, "UnknownRecord")
          .withArgs(recordId);
        await expect(registry.connect(other).dispute(recordId, word("d"), URI))
          .to.be.revertedWithCustomError(registry, "UnknownRecord")
          .withArgs(recordId);
      }
      // Once proven (anyone may: the publisher anchored the batch), it can be endorsed and disputed.
      await registry
        .connect(other)
        .proveBatched(publisher.address, structHashOf(records[4]), publisher.address, tree.root, proofOf(ids[4]));
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

    it("revert with UriTooLong(length, 512) for a uri above 512 bytes", async function () {
      const { registry, other, id } = await loadFixture(withRecord);
      await expect(registry.connect(other).endorse(id, word("e"), uriOfLength(513)))
        .to.be.revertedWithCustomError(registry, "UriTooLong")
        .withArgs(513, MAX_URI_LENGTH);
      await expect(registry.connect(other).dispute(id, word("d"), uriOfLength(1000)))
        .to.be.revertedWithCustomError(registry, "UriTooLong")
        .withArgs(1000, MAX_URI_LENGTH);
    });
  });

  describe("recordState", function () {
    it("reports zeros for an unknown record", async function () {
      const { registry } = await loadFixture(deployRegistry);
      expectState(await registry.recordState(word("nothing")), { publisher: ethers.ZeroAddress, registeredAt: 0 });
    });
  });

  describe("interface coverage", function () {
    // Errors the registry inherits from OpenZeppelin and cannot raise: InvalidAccountNonce
    // (Nonces: signed operations compare, and useNonce only increments), InvalidShortString
    // and StringTooLong (ShortStrings: the EIP-712 name and version are short constants).
    const UNREACHABLE = new Set(["InvalidAccountNonce", "InvalidShortString", "StringTooLong"]);

    it("every custom error and event of the registry is asserted somewhere in this file", async function () {
      const { registry } = await loadFixture(deployRegistry);
      const text = require("fs").readFileSync(__filename, "utf8");
      const missing = [];
      registry.interface.forEachError((e) => {
        if (!UNREACHABLE.has(e.name) && !text.includes(`revertedWithCustomError(registry, "${e.name}")`)) missing.push(e.name);
      });
      registry.interface.forEachEvent((e) => {
        if (e.name !== "EIP712DomainChanged" && !text.includes(`emit(registry, "${e.name}")`)) missing.push(e.name);
      });
      expect(missing).to.deep.equal([]);
    });

    it("every function of the registry is called somewhere in this file", async function () {
      const { registry } = await loadFixture(deployRegistry);
      const text = require("fs").readFileSync(__filename, "utf8");
      const missing = [];
      registry.interface.forEachFunction((f) => {
        const called = [`.${f.name}(`, `.${f.name}.staticCall(`, `("${f.name}"`].some((form) => text.includes(form));
        if (!called) missing.push(f.name);
      });
      expect(missing).to.deep.equal([]);
    });
  });
});

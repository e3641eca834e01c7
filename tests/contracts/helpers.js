// Shared helpers for the contract tests: fixtures, EIP-712 types and off-chain hashing.
//
// `loadFixture` mirrors @nomicfoundation/hardhat-network-helpers (not installed
// here): the first call runs the fixture and snapshots the chain, later calls
// revert to that snapshot, so every test starts from a freshly deployed state.
"use strict";

const { ethers, network } = require("hardhat");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

// Ordered like the chain's snapshots: reverting to one drops every later one.
let snapshots = [];

async function loadFixture(fixture) {
  if (!fixture.name) throw new Error("loadFixture needs a named function, so that each fixture has its own snapshot");
  const index = snapshots.findIndex((s) => s.fixture === fixture);
  if (index !== -1) {
    const saved = snapshots[index];
    const reverted = await network.provider.send("evm_revert", [saved.snapshot]);
    if (!reverted) throw new Error(`could not revert to the snapshot of ${fixture.name}`);
    snapshots = snapshots.slice(0, index + 1);
    saved.snapshot = await network.provider.send("evm_snapshot", []);
    return saved.data;
  }
  const data = await fixture();
  snapshots.push({ fixture, data, snapshot: await network.provider.send("evm_snapshot", []) });
  return data;
}

const { RECORD_TYPES, REGISTER_FOR_TYPES, REVOKE_TYPES, SUPERSEDE_TYPES, REASON } = require("./eip712");

/** A deadline no test reaches. */
const NO_DEADLINE = ethers.MaxUint256;

const URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const coder = ethers.AbiCoder.defaultAbiCoder();

/** A deterministic bytes32 named by `label`. */
const word = (label) => ethers.id(`test/${label}`);

/** A record with two parents; fields may be overridden. */
function makeRecord(label, overrides = {}) {
  return {
    subject: word(`${label}/subject`),
    kind: 0,
    claimsRoot: word(`${label}/claims`),
    parents: [word(`${label}/parent0`), word(`${label}/parent1`)],
    uri: URI,
    ...overrides,
  };
}

/** EIP-712 struct hash computed off chain by ethers. */
const structHashOf = (record) => ethers.TypedDataEncoder.hashStruct("Record", RECORD_TYPES, record);

/** recordId = keccak256(abi.encode(publisher, structHash)), off chain. */
const recordIdOf = (publisher, record) =>
  ethers.keccak256(coder.encode(["address", "bytes32"], [publisher, structHashOf(record)]));

/** Batch tree of recordIds, as the publisher's tooling builds it. */
const batchTree = (ids) =>
  StandardMerkleTree.of(
    ids.map((id) => [id]),
    ["bytes32"]
  );

/** `signer`'s EIP-712 signature of RegisterFor(record, publisher, nonce, deadline). */
const signRegisterFor = (signer, domain, { record, publisher, nonce = 0n, deadline = NO_DEADLINE }) =>
  signer.signTypedData(domain, REGISTER_FOR_TYPES, { record, publisher, nonce, deadline });

/** `signer`'s EIP-712 signature of Revoke(recordId, reasonCode, reason, nonce, deadline). */
const signRevoke = (signer, domain, { recordId, reasonCode, reason, nonce = 0n, deadline = NO_DEADLINE }) =>
  signer.signTypedData(domain, REVOKE_TYPES, { recordId, reasonCode, reason, nonce, deadline });

/** `signer`'s EIP-712 signature of Supersede(recordId, successor, reasonCode, reason, nonce, deadline). */
const signSupersede = (signer, domain, { recordId, successor, reasonCode, reason, nonce = 0n, deadline = NO_DEADLINE }) =>
  signer.signTypedData(domain, SUPERSEDE_TYPES, { recordId, successor, reasonCode, reason, nonce, deadline });

/** Timestamp of the block that mined `tx`. */
async function timestampOf(tx) {
  const receipt = await (await tx).wait();
  return (await ethers.provider.getBlock(receipt.blockNumber)).timestamp;
}

module.exports = {
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
};

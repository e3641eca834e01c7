// The EIP-712 types and reason codes of the registry's version 2 (see
// contracts/IProvenanceRegistry.sol), shared by the contract tests and bench/gas_bench.js.
// Plain data: no Hardhat import, so scripts outside the Hardhat runtime can require it.
"use strict";

const RECORD_FIELDS = [
  { name: "subject", type: "bytes32" },
  { name: "kind", type: "uint8" },
  { name: "claimsRoot", type: "bytes32" },
  { name: "parents", type: "bytes32[]" },
  { name: "uri", type: "string" },
];
const RECORD_TYPES = { Record: RECORD_FIELDS };
const REGISTER_FOR_TYPES = {
  RegisterFor: [
    { name: "record", type: "Record" },
    { name: "publisher", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  Record: RECORD_FIELDS,
};
const REVOKE_TYPES = {
  Revoke: [
    { name: "recordId", type: "bytes32" },
    { name: "reasonCode", type: "uint8" },
    { name: "reason", type: "string" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
const SUPERSEDE_TYPES = {
  Supersede: [
    { name: "recordId", type: "bytes32" },
    { name: "successor", type: "bytes32" },
    { name: "reasonCode", type: "uint8" },
    { name: "reason", type: "string" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** Reason codes of revoke and supersede. */
const REASON = { other: 0, erasure: 1, wrongClaims: 2, keyCompromise: 3, withdrawn: 4 };

module.exports = { RECORD_FIELDS, RECORD_TYPES, REGISTER_FOR_TYPES, REVOKE_TYPES, SUPERSEDE_TYPES, REASON };

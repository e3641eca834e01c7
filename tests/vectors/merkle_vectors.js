// Reference Merkle vectors from @openzeppelin/merkle-tree (StandardMerkleTree).
//
// Reads {"cases": [{"name", "encoding": [...], "values": [[...], ...]}]} as JSON
// on stdin and prints, per case, the root, each value's leaf hash and proof:
//   {"<name>": {"root": "0x..", "leaves": ["0x..", ...], "proofs": [["0x..", ...], ...]}}
// Values use the library's JSON conventions: uint256 as a decimal string,
// bytes32 and bytes as 0x-hex, string as is. tests/test_merkle.py runs it.
"use strict";

const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

function main(input) {
  const { cases } = JSON.parse(input);
  const out = {};
  for (const c of cases) {
    const tree = StandardMerkleTree.of(c.values, c.encoding);
    out[c.name] = {
      root: tree.root,
      leaves: c.values.map((v) => tree.leafHash(v)),
      proofs: c.values.map((_v, i) => tree.getProof(i)),
    };
    for (let i = 0; i < c.values.length; i++) {
      if (!StandardMerkleTree.verify(tree.root, c.encoding, c.values[i], out[c.name].proofs[i])) {
        throw new Error(`${c.name}: proof ${i} does not verify`);
      }
    }
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => main(input));

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title EventEmitter
/// @notice Emits the registry's RecordRegistered and RecordEndorsed events in bulk, with the
/// registry's exact signatures, so the index benchmark can produce 100,000 events in a few
/// hundred transactions. For benchmarks and tests only; it stores nothing.
contract EventEmitter {
    /// @notice Same signature as IProvenanceRegistry.RecordRegistered.
    event RecordRegistered(
        bytes32 indexed recordId,
        address indexed publisher,
        bytes32 indexed subject,
        uint8 kind,
        bytes32 claimsRoot,
        bytes32[] parents,
        string uri
    );

    /// @notice Same signature as IProvenanceRegistry.RecordEndorsed.
    event RecordEndorsed(bytes32 indexed recordId, address indexed endorser, bytes32 statementDigest, string uri);

    /// @notice Emits `pairs` RecordRegistered events, each followed by one RecordEndorsed of the same id.
    /// @param start The first sequence number; ids are keccak256(abi.encode(n)) for n in [start, start + pairs).
    /// @param pairs How many (register, endorse) pairs to emit.
    function emitPairs(uint256 start, uint256 pairs) external {
        bytes32[] memory parents = new bytes32[](2);
        uint256 end = start + pairs;
        for (uint256 n = start; n < end; ++n) {
            bytes32 id = keccak256(abi.encode(n));
            parents[0] = bytes32(n);
            parents[1] = bytes32(n + 1);
            emit RecordRegistered(id, msg.sender, bytes32(n + 1), uint8(n % 3), id, parents, "ipfs://bench");
            emit RecordEndorsed(id, msg.sender, id, "");
        }
    }
}

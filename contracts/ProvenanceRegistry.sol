// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IProvenanceRegistry} from "./IProvenanceRegistry.sol";

/// @title ProvenanceRegistry
/// @notice Anchors signed provenance records of AI models and datasets.
/// @dev See {IProvenanceRegistry} for the record format, the ids and the batch tree.
/// Storage holds only what a light client reads with one call; everything else is in events.
/// Signatures are checked with OpenZeppelin's SignatureChecker, so a publisher may be an EOA
/// or an ERC-1271 contract wallet. Replays are harmless: ids derive from content, and a
/// second registration, revocation or supersession of the same record reverts.
contract ProvenanceRegistry is IProvenanceRegistry, EIP712 {
    /// @notice EIP-712 type hash of `Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)`.
    bytes32 public constant RECORD_TYPEHASH =
        keccak256("Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)");

    /// @notice EIP-712 type hash of `Revoke(bytes32 recordId,string reason)`.
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(bytes32 recordId,string reason)");

    /// @notice EIP-712 type hash of `Supersede(bytes32 recordId,bytes32 successor)`.
    bytes32 public constant SUPERSEDE_TYPEHASH = keccak256("Supersede(bytes32 recordId,bytes32 successor)");

    /// @dev Highest valid `kind` (0 = model, 1 = dataset, 2 = other).
    uint8 private constant _MAX_KIND = 2;

    /// @dev Contract version; also the EIP-712 domain version.
    string private constant _VERSION = "1";

    /// @dev Stored records. Two slots each: publisher + registeredAt + revokedAt, then successor
    /// (see {IProvenanceRegistry-RecordState}). Registration writes the first slot only.
    mapping(bytes32 recordId => RecordState) private _records;

    /// @dev Anchored batch roots, one slot each: submitter + anchoredAt + count
    /// (see {IProvenanceRegistry-BatchState}). Written only by the assembly block of
    /// {anchorBatch}, which Slither's uninitialized-state detector does not see.
    // slither-disable-next-line uninitialized-state
    mapping(bytes32 root => BatchState) private _batches;

    constructor() EIP712("ProvenanceRegistry", _VERSION) {}

    // ------------------------------------------------------------------ writes

    /// @inheritdoc IProvenanceRegistry
    function register(Record calldata record) external returns (bytes32 recordId) {
        _checkRecord(record);
        recordId = _recordId(msg.sender, _hashRecord(record));
        _registerRecord(recordId, msg.sender, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function registerFor(Record calldata record, address publisher, bytes calldata signature)
        external
        returns (bytes32 recordId)
    {
        _checkRecord(record);
        bytes32 structHash = _hashRecord(record);
        _checkSignature(publisher, structHash, signature);
        recordId = _recordId(publisher, structHash);
        _registerRecord(recordId, publisher, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external {
        if (root == bytes32(0)) revert ZeroValue();
        if (count == 0) revert EmptyBatch();
        BatchState storage batch = _batches[root];
        if (batch.submitter != address(0)) revert BatchAlreadyAnchored(root);
        // The three fields share one slot (submitter: bits 0-159, anchoredAt: 160-207, count: 208-239).
        // Written whole in one SSTORE: a struct assignment would re-hash the key and re-read the
        // slot first (~350 gas of a tight budget). block.timestamp fits 48 bits until
        // the year 8.9 million, and count is a uint32, so no field spills into another.
        assembly ("memory-safe") {
            sstore(batch.slot, or(caller(), or(shl(160, timestamp()), shl(208, count))))
        }
        emit BatchAnchored(root, msg.sender, count, uri);
    }

    /// @inheritdoc IProvenanceRegistry
    /// @dev The chain cannot tell who put a recordId in a batch, so a proof alone does not show
    /// that `publisher` agreed to the record. A batched record is therefore accepted only when
    /// `publisher` anchored the batch itself (then anyone may prove it) or calls this function
    /// itself; otherwise it reverts with {NotPublisher}. This keeps `recordState(id).publisher`
    /// and the {BatchedRecordProven} event trustworthy without a signature check.
    function proveBatched(address publisher, bytes32 structHash, bytes32 root, bytes32[] calldata proof)
        external
        returns (bytes32 recordId)
    {
        BatchState memory batch = _batches[root];
        if (batch.submitter == address(0)) revert BatchNotAnchored(root);
        recordId = _recordId(publisher, structHash);
        if (publisher != batch.submitter && publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        if (!MerkleProof.verifyCalldata(proof, root, _batchLeaf(recordId))) revert InvalidProof(recordId, root);
        _store(recordId, publisher, batch.anchoredAt);
        emit BatchedRecordProven(recordId, publisher, root);
    }

    /// @inheritdoc IProvenanceRegistry
    function revoke(bytes32 recordId, string calldata reason) external {
        RecordState storage state = _records[recordId];
        address publisher = _publisherOf(state, recordId);
        if (publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        _revoke(state, recordId, publisher, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function revokeBySig(bytes32 recordId, string calldata reason, bytes calldata signature) external {
        RecordState storage state = _records[recordId];
        address publisher = _publisherOf(state, recordId);
        _checkSignature(
            publisher, keccak256(abi.encode(REVOKE_TYPEHASH, recordId, keccak256(bytes(reason)))), signature
        );
        _revoke(state, recordId, publisher, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function supersede(bytes32 recordId, bytes32 successor) external {
        RecordState storage state = _records[recordId];
        address publisher = _checkSupersede(state, recordId, successor);
        if (publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        _supersede(state, recordId, successor, publisher);
    }

    /// @inheritdoc IProvenanceRegistry
    function supersedeBySig(bytes32 recordId, bytes32 successor, bytes calldata signature) external {
        RecordState storage state = _records[recordId];
        address publisher = _checkSupersede(state, recordId, successor);
        _checkSignature(publisher, keccak256(abi.encode(SUPERSEDE_TYPEHASH, recordId, successor)), signature);
        _supersede(state, recordId, successor, publisher);
    }

    /// @inheritdoc IProvenanceRegistry
    /// @dev Not checked against storage: batched records that were never proven can be endorsed too.
    function endorse(bytes32 recordId, bytes32 statementDigest, string calldata uri) external {
        if (statementDigest == bytes32(0)) revert ZeroValue();
        emit RecordEndorsed(recordId, msg.sender, statementDigest, uri);
    }

    /// @inheritdoc IProvenanceRegistry
    /// @dev Not checked against storage: batched records that were never proven can be disputed too.
    function dispute(bytes32 recordId, bytes32 statementDigest, string calldata uri) external {
        if (statementDigest == bytes32(0)) revert ZeroValue();
        emit RecordDisputed(recordId, msg.sender, statementDigest, uri);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProvenanceRegistry
    function recordState(bytes32 recordId) external view returns (RecordState memory) {
        return _records[recordId];
    }

    /// @inheritdoc IProvenanceRegistry
    function batchState(bytes32 root) external view returns (BatchState memory) {
        return _batches[root];
    }

    /// @inheritdoc IProvenanceRegistry
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IProvenanceRegistry
    function batchLeaf(bytes32 recordId) external pure returns (bytes32) {
        return _batchLeaf(recordId);
    }

    /// @inheritdoc IProvenanceRegistry
    function hashRecord(Record calldata record) external pure returns (bytes32) {
        return _hashRecord(record);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordIdOf(address publisher, Record calldata record) external pure returns (bytes32) {
        return _recordId(publisher, _hashRecord(record));
    }

    /// @inheritdoc IProvenanceRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IProvenanceRegistry
    function version() external pure returns (string memory) {
        return _VERSION;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Reverts unless the record's subject is set and its kind is known.
    function _checkRecord(Record calldata record) private pure {
        if (record.subject == bytes32(0)) revert ZeroValue();
        if (record.kind > _MAX_KIND) revert InvalidKind(record.kind);
    }

    /// @dev Reverts with {InvalidSignature} unless `publisher` (EOA or ERC-1271) signed the typed data.
    function _checkSignature(address publisher, bytes32 structHash, bytes calldata signature) private view {
        if (!SignatureChecker.isValidSignatureNow(publisher, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(publisher);
        }
    }

    /// @dev Stores a record registered alone and emits {RecordRegistered}.
    function _registerRecord(bytes32 recordId, address publisher, Record calldata record) private {
        _store(recordId, publisher, uint48(block.timestamp));
        emit RecordRegistered(
            recordId, publisher, record.subject, record.kind, record.claimsRoot, record.parents, record.uri
        );
    }

    /// @dev Writes the first slot of a new record; reverts with {AlreadyRegistered} if it exists.
    function _store(bytes32 recordId, address publisher, uint48 registeredAt) private {
        RecordState storage state = _records[recordId];
        if (state.publisher != address(0)) revert AlreadyRegistered(recordId);
        state.publisher = publisher;
        state.registeredAt = registeredAt;
    }

    /// @dev The publisher of a stored record; reverts with {UnknownRecord} if there is none.
    function _publisherOf(RecordState storage state, bytes32 recordId) private view returns (address publisher) {
        publisher = state.publisher;
        if (publisher == address(0)) revert UnknownRecord(recordId);
    }

    /// @dev Marks a record revoked and emits {RecordRevoked}; reverts with {AlreadyRevoked} if it was.
    function _revoke(RecordState storage state, bytes32 recordId, address publisher, string calldata reason)
        private
    {
        if (state.revokedAt != 0) revert AlreadyRevoked(recordId);
        state.revokedAt = uint48(block.timestamp);
        emit RecordRevoked(recordId, publisher, reason);
    }

    /// @dev Checks that both records exist and differ; returns the publisher of `recordId`.
    function _checkSupersede(RecordState storage state, bytes32 recordId, bytes32 successor)
        private
        view
        returns (address publisher)
    {
        publisher = _publisherOf(state, recordId);
        if (_records[successor].publisher == address(0)) revert UnknownRecord(successor);
        if (recordId == successor) revert SelfSupersede(recordId);
    }

    /// @dev Sets the successor and emits {RecordSuperseded}; reverts with {AlreadySuperseded} if set.
    function _supersede(RecordState storage state, bytes32 recordId, bytes32 successor, address publisher) private {
        if (state.successor != bytes32(0)) revert AlreadySuperseded(recordId);
        state.successor = successor;
        emit RecordSuperseded(recordId, successor, publisher);
    }

    /// @dev EIP-712 struct hash of a record (arrays and strings hashed as EIP-712 prescribes).
    function _hashRecord(Record calldata record) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECORD_TYPEHASH,
                record.subject,
                record.kind,
                record.claimsRoot,
                keccak256(abi.encodePacked(record.parents)),
                keccak256(bytes(record.uri))
            )
        );
    }

    /// @dev recordId = keccak256(abi.encode(publisher, structHash)).
    function _recordId(address publisher, bytes32 structHash) private pure returns (bytes32) {
        return keccak256(abi.encode(publisher, structHash));
    }

    /// @dev StandardMerkleTree leaf of a single bytes32 value.
    function _batchLeaf(bytes32 recordId) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId))));
    }
}

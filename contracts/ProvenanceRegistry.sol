// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IProvenanceRegistry} from "./IProvenanceRegistry.sol";

/// @title ProvenanceRegistry
/// @notice Anchors signed provenance records of AI models and datasets (version 2).
/// @dev See {IProvenanceRegistry} for the record format, the ids, the batch tree and the signed
/// types. Storage holds only what a light client reads with one call; everything else is in
/// events. Signatures are checked with OpenZeppelin's SignatureChecker, so a publisher may be an
/// EOA or an ERC-1271 contract wallet. Every signature names the publisher's current nonce
/// (OpenZeppelin's {Nonces}) and a deadline. Signed operations read the nonce without consuming
/// it: each can take effect only once (a second registration, revocation or supersession of
/// the same record reverts), so consuming it would add a storage write (20,000 gas for a
/// publisher's first signature) and force relayers to submit a publisher's signatures in
/// order, for no extra safety. {useNonce} consumes it to void all outstanding signatures.
/// The constructor takes no argument, so that the same CREATE2 salt gives the same address
/// on every chain.
contract ProvenanceRegistry is IProvenanceRegistry, EIP712, Nonces {
    /// @notice EIP-712 type hash of `Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)`.
    bytes32 public constant RECORD_TYPEHASH =
        keccak256("Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)");

    /// @notice EIP-712 type hash of `RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)`
    /// followed, as EIP-712 requires for a nested struct, by the `Record` type.
    bytes32 public constant REGISTER_FOR_TYPEHASH = keccak256(
        "RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)"
        "Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)"
    );

    /// @notice EIP-712 type hash of `Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)`.
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)");

    /// @notice EIP-712 type hash of
    /// `Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)`.
    bytes32 public constant SUPERSEDE_TYPEHASH = keccak256(
        "Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)"
    );

    /// @notice Most parents a record may list.
    uint256 public constant MAX_PARENTS = 64;

    /// @notice Longest uri, in bytes, that a record, a batch, an endorsement or a dispute may carry.
    uint256 public constant MAX_URI_LENGTH = 512;

    /// @dev Highest valid `kind` (0 = model, 1 = dataset, 2 = other, 3 = evaluation).
    uint8 private constant _MAX_KIND = 3;

    /// @dev Highest valid reason code (0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn).
    uint8 private constant _MAX_REASON = 4;

    /// @dev Contract version; also the EIP-712 domain version.
    string private constant _VERSION = "2";

    /// @dev Stored records. Two slots each: publisher + registeredAt + revokedAt, then successor
    /// (see {IProvenanceRegistry-RecordState}). Registration writes the first slot only.
    mapping(bytes32 recordId => RecordState) private _records;

    /// @dev Anchored batches by submitter and root, one slot each: submitter + anchoredAt + count
    /// (see {IProvenanceRegistry-BatchState}). Written only by the assembly block of
    /// {anchorBatch}, which Slither's uninitialized-state detector does not see.
    // slither-disable-next-line uninitialized-state
    mapping(address submitter => mapping(bytes32 root => BatchState)) private _batches;

    constructor() EIP712("ProvenanceRegistry", _VERSION) {}

    // ------------------------------------------------------------------ writes

    /// @inheritdoc IProvenanceRegistry
    function register(Record calldata record) external returns (bytes32 recordId) {
        _checkRecord(record);
        recordId = _recordId(msg.sender, _hashRecord(record));
        _registerRecord(recordId, msg.sender, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function registerFor(Record calldata record, address publisher, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 recordId)
    {
        _checkRecord(record);
        _checkDeadline(deadline);
        bytes32 structHash = _hashRecord(record);
        _checkSignature(
            publisher,
            keccak256(abi.encode(REGISTER_FOR_TYPEHASH, structHash, publisher, nonces(publisher), deadline)),
            signature
        );
        recordId = _recordId(publisher, structHash);
        _registerRecord(recordId, publisher, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external {
        if (root == bytes32(0)) revert ZeroValue();
        if (count == 0) revert EmptyBatch();
        _checkUri(uri);
        BatchState storage batch = _batches[msg.sender][root];
        if (batch.submitter != address(0)) revert BatchAlreadyAnchored(msg.sender, root);
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
    function proveBatched(
        address publisher,
        bytes32 structHash,
        address submitter,
        bytes32 root,
        bytes32[] calldata proof
    ) external returns (bytes32 recordId) {
        BatchState memory batch = _batches[submitter][root];
        if (batch.submitter == address(0)) revert BatchNotAnchored(submitter, root);
        recordId = _recordId(publisher, structHash);
        if (publisher != submitter && publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        if (!MerkleProof.verifyCalldata(proof, root, _batchLeaf(recordId))) revert InvalidProof(recordId, root);
        _store(recordId, publisher, batch.anchoredAt);
        emit BatchedRecordProven(recordId, publisher, root, submitter, structHash);
    }

    /// @inheritdoc IProvenanceRegistry
    function revoke(bytes32 recordId, uint8 reasonCode, string calldata reason) external {
        _checkReason(reasonCode);
        RecordState storage state = _records[recordId];
        address publisher = _publisherOf(state, recordId);
        if (publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        _revoke(state, recordId, publisher, reasonCode, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function revokeBySig(
        bytes32 recordId,
        uint8 reasonCode,
        string calldata reason,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkReason(reasonCode);
        RecordState storage state = _records[recordId];
        address publisher = _publisherOf(state, recordId);
        _checkDeadline(deadline);
        _checkSignature(
            publisher,
            keccak256(
                abi.encode(
                    REVOKE_TYPEHASH, recordId, reasonCode, keccak256(bytes(reason)), nonces(publisher), deadline
                )
            ),
            signature
        );
        _revoke(state, recordId, publisher, reasonCode, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function supersede(bytes32 recordId, bytes32 successor, uint8 reasonCode, string calldata reason) external {
        _checkReason(reasonCode);
        RecordState storage state = _records[recordId];
        address publisher = _checkSupersede(state, recordId, successor);
        if (publisher != msg.sender) revert NotPublisher(recordId, msg.sender);
        _supersede(state, recordId, successor, publisher, reasonCode, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function supersedeBySig(
        bytes32 recordId,
        bytes32 successor,
        uint8 reasonCode,
        string calldata reason,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkReason(reasonCode);
        RecordState storage state = _records[recordId];
        address publisher = _checkSupersede(state, recordId, successor);
        _checkDeadline(deadline);
        _checkSignature(
            publisher, _supersedeStructHash(recordId, successor, reasonCode, reason, publisher, deadline), signature
        );
        _supersede(state, recordId, successor, publisher, reasonCode, reason);
    }

    /// @inheritdoc IProvenanceRegistry
    function endorse(bytes32 recordId, bytes32 statementDigest, string calldata uri) external {
        _checkStatement(recordId, statementDigest, uri);
        emit RecordEndorsed(recordId, msg.sender, statementDigest, uri);
    }

    /// @inheritdoc IProvenanceRegistry
    function dispute(bytes32 recordId, bytes32 statementDigest, string calldata uri) external {
        _checkStatement(recordId, statementDigest, uri);
        emit RecordDisputed(recordId, msg.sender, statementDigest, uri);
    }

    /// @inheritdoc IProvenanceRegistry
    function useNonce() external returns (uint256 nonce) {
        nonce = _useNonce(msg.sender);
        emit NonceUsed(msg.sender, nonce);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProvenanceRegistry
    function recordState(bytes32 recordId) external view returns (RecordState memory) {
        return _records[recordId];
    }

    /// @inheritdoc IProvenanceRegistry
    function batchState(address submitter, bytes32 root) external view returns (BatchState memory) {
        return _batches[submitter][root];
    }

    /// @inheritdoc IProvenanceRegistry
    function nonces(address publisher) public view override(IProvenanceRegistry, Nonces) returns (uint256) {
        return super.nonces(publisher);
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

    /// @dev Reverts unless the subject is set, the kind is known and parents and uri are within bounds.
    function _checkRecord(Record calldata record) private pure {
        if (record.subject == bytes32(0)) revert ZeroValue();
        if (record.kind > _MAX_KIND) revert InvalidKind(record.kind);
        if (record.parents.length > MAX_PARENTS) revert TooManyParents(record.parents.length, MAX_PARENTS);
        _checkUri(record.uri);
    }

    /// @dev Reverts with {UriTooLong} for a uri longer than MAX_URI_LENGTH bytes.
    function _checkUri(string calldata uri) private pure {
        if (bytes(uri).length > MAX_URI_LENGTH) revert UriTooLong(bytes(uri).length, MAX_URI_LENGTH);
    }

    /// @dev Reverts with {InvalidReason} for a code above 4.
    function _checkReason(uint8 reasonCode) private pure {
        if (reasonCode > _MAX_REASON) revert InvalidReason(reasonCode);
    }

    /// @dev Reverts with {SignatureExpired} once the block's timestamp is past `deadline`.
    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
    }

    /// @dev Checks an endorsement or dispute: non-zero digest, bounded uri, stored record.
    function _checkStatement(bytes32 recordId, bytes32 statementDigest, string calldata uri) private view {
        if (statementDigest == bytes32(0)) revert ZeroValue();
        _checkUri(uri);
        if (_records[recordId].publisher == address(0)) revert UnknownRecord(recordId);
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
    function _revoke(
        RecordState storage state,
        bytes32 recordId,
        address publisher,
        uint8 reasonCode,
        string calldata reason
    ) private {
        if (state.revokedAt != 0) revert AlreadyRevoked(recordId);
        state.revokedAt = uint48(block.timestamp);
        emit RecordRevoked(recordId, publisher, reasonCode, reason);
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
    function _supersede(
        RecordState storage state,
        bytes32 recordId,
        bytes32 successor,
        address publisher,
        uint8 reasonCode,
        string calldata reason
    ) private {
        if (state.successor != bytes32(0)) revert AlreadySuperseded(recordId);
        state.successor = successor;
        emit RecordSuperseded(recordId, successor, publisher, reasonCode, reason);
    }

    /// @dev EIP-712 struct hash of a `Supersede` under `publisher`'s current nonce.
    function _supersedeStructHash(
        bytes32 recordId,
        bytes32 successor,
        uint8 reasonCode,
        string calldata reason,
        address publisher,
        uint256 deadline
    ) private view returns (bytes32) {
        return keccak256(
            abi.encode(
                SUPERSEDE_TYPEHASH,
                recordId,
                successor,
                reasonCode,
                keccak256(bytes(reason)),
                nonces(publisher),
                deadline
            )
        );
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

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IProvenanceRegistry
/// @notice Anchors signed provenance records of AI models and datasets.
/// @dev A record commits to an artifact (its manifest root, the `subject`), its
/// kind, the root of its salted claim commitments and the subjects it derives
/// from. Records are EIP-712 typed data under the domain
/// ("ProvenanceRegistry", "1", chainId, this contract):
///
///     Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)
///
/// and are identified by `recordId = keccak256(abi.encode(publisher, structHash))`,
/// so the same record signed by two publishers gives two ids. A record is either
/// registered alone (stored, one event) or anchored in a batch: one Merkle root of
/// recordIds per transaction, built as OpenZeppelin's StandardMerkleTree with the
/// leaf `keccak256(bytes.concat(keccak256(abi.encode(recordId))))`. Batched records
/// are not stored until someone proves them with {proveBatched}; from then on
/// they can be revoked and superseded like any registered record.
interface IProvenanceRegistry {
    /// @notice The record as signed by its publisher (the EIP-712 `Record` type).
    /// @param subject Merkle root of the artifact's manifest.
    /// @param kind 0 = model, 1 = dataset, 2 = other.
    /// @param claimsRoot Merkle root of the salted claim leaves; no claim value is on chain.
    /// @param parents Subjects of the artifacts this one derives from.
    /// @param uri Where the record's Statement can be fetched; may be empty.
    struct Record {
        bytes32 subject;
        uint8 kind;
        bytes32 claimsRoot;
        bytes32[] parents;
        string uri;
    }

    /// @notice What a light client reads about a record in one call.
    /// @dev Packing: slot 0 = publisher (20 bytes) + registeredAt (6) + revokedAt (6);
    /// slot 1 = successor. A zero publisher means the record is unknown here.
    struct RecordState {
        address publisher;
        uint48 registeredAt;
        uint48 revokedAt;
        bytes32 successor;
    }

    /// @notice When and by whom a batch root was anchored.
    /// @dev Packing: one slot = submitter (20 bytes) + anchoredAt (6) + count (4).
    struct BatchState {
        address submitter;
        uint48 anchoredAt;
        uint32 count;
    }

    // ------------------------------------------------------------------ events

    /// @notice A record was registered alone, directly or relayed with the publisher's signature.
    event RecordRegistered(
        bytes32 indexed recordId,
        address indexed publisher,
        bytes32 indexed subject,
        uint8 kind,
        bytes32 claimsRoot,
        bytes32[] parents,
        string uri
    );

    /// @notice A Merkle root over `count` recordIds was anchored; `uri` names the list of its records.
    event BatchAnchored(bytes32 indexed root, address indexed submitter, uint32 count, string uri);

    /// @notice A batched record was shown to be in an anchored batch and is now stored.
    event BatchedRecordProven(bytes32 indexed recordId, address indexed publisher, bytes32 indexed root);

    /// @notice The publisher withdrew a record.
    event RecordRevoked(bytes32 indexed recordId, address indexed publisher, string reason);

    /// @notice The publisher replaced a record with a newer one.
    event RecordSuperseded(bytes32 indexed recordId, bytes32 indexed successor, address indexed publisher);

    /// @notice `endorser` vouches for a record's claims; `statementDigest` is the SHA-256 of its signed statement.
    event RecordEndorsed(bytes32 indexed recordId, address indexed endorser, bytes32 statementDigest, string uri);

    /// @notice `disputer` contests a record's claims; `statementDigest` is the SHA-256 of its signed statement.
    event RecordDisputed(bytes32 indexed recordId, address indexed disputer, bytes32 statementDigest, string uri);

    // ------------------------------------------------------------------ errors

    /// @notice The subject or a batch root was zero.
    error ZeroValue();
    /// @notice `kind` is not 0 (model), 1 (dataset) or 2 (other).
    error InvalidKind(uint8 kind);
    /// @notice This record is already stored.
    error AlreadyRegistered(bytes32 recordId);
    /// @notice No stored record has this id (batched records must be proven first).
    error UnknownRecord(bytes32 recordId);
    /// @notice Only the record's publisher may do this.
    error NotPublisher(bytes32 recordId, address caller);
    /// @notice The signature is not the publisher's (EOA or ERC-1271 wallet) for this digest.
    error InvalidSignature(address publisher);
    /// @notice The record was already revoked.
    error AlreadyRevoked(bytes32 recordId);
    /// @notice The record was already superseded.
    error AlreadySuperseded(bytes32 recordId);
    /// @notice A record cannot supersede itself.
    error SelfSupersede(bytes32 recordId);
    /// @notice A batch must hold at least one record.
    error EmptyBatch();
    /// @notice This root was anchored before.
    error BatchAlreadyAnchored(bytes32 root);
    /// @notice This root was never anchored.
    error BatchNotAnchored(bytes32 root);
    /// @notice The proof does not place the record in the batch.
    error InvalidProof(bytes32 recordId, bytes32 root);

    // ------------------------------------------------------------------ writes

    /// @notice Registers a record with the caller as its publisher.
    /// @return recordId keccak256(abi.encode(msg.sender, structHash))
    function register(Record calldata record) external returns (bytes32 recordId);

    /// @notice Registers a record on behalf of `publisher`, who signed it (EIP-712; ERC-1271 wallets accepted).
    /// @dev Replays fail with {AlreadyRegistered}: the id is derived from the content.
    function registerFor(Record calldata record, address publisher, bytes calldata signature)
        external
        returns (bytes32 recordId);

    /// @notice Anchors the Merkle root of `count` recordIds; costs the same whatever the count.
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external;

    /// @notice Stores a batched record after checking its inclusion proof. Anyone may call it
    /// for a batch that `publisher` anchored; for a batch anchored by someone else, only
    /// `publisher` may (else {NotPublisher}), since a root proves inclusion, not consent.
    /// @param publisher The record's publisher.
    /// @param structHash The EIP-712 struct hash of the record.
    /// @param root An anchored batch root.
    /// @param proof The StandardMerkleTree proof of the record's leaf.
    /// @return recordId keccak256(abi.encode(publisher, structHash))
    function proveBatched(address publisher, bytes32 structHash, bytes32 root, bytes32[] calldata proof)
        external
        returns (bytes32 recordId);

    /// @notice Revokes a stored record; only its publisher may.
    function revoke(bytes32 recordId, string calldata reason) external;

    /// @notice Revokes a stored record with the publisher's EIP-712 signature of
    /// `Revoke(bytes32 recordId,string reason)`. Replays fail with {AlreadyRevoked}.
    function revokeBySig(bytes32 recordId, string calldata reason, bytes calldata signature) external;

    /// @notice Marks a stored record as replaced by the stored record `successor`; only its publisher may.
    function supersede(bytes32 recordId, bytes32 successor) external;

    /// @notice Supersedes with the publisher's EIP-712 signature of
    /// `Supersede(bytes32 recordId,bytes32 successor)`. Replays fail with {AlreadySuperseded}.
    function supersedeBySig(bytes32 recordId, bytes32 successor, bytes calldata signature) external;

    /// @notice States that the caller endorses the record's claims.
    function endorse(bytes32 recordId, bytes32 statementDigest, string calldata uri) external;

    /// @notice States that the caller disputes the record's claims.
    function dispute(bytes32 recordId, bytes32 statementDigest, string calldata uri) external;

    // ------------------------------------------------------------------ views

    /// @notice Publisher, registration time, revocation time and successor of a record (zeros if unknown).
    function recordState(bytes32 recordId) external view returns (RecordState memory);

    /// @notice Submitter, time and count of an anchored batch root (zeros if never anchored).
    function batchState(bytes32 root) external view returns (BatchState memory);

    /// @notice True when `proof` places `leaf` under `root` (OpenZeppelin MerkleProof, sorted pairs).
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external pure returns (bool);

    /// @notice The batch-tree leaf of a recordId: keccak256(bytes.concat(keccak256(abi.encode(recordId)))).
    function batchLeaf(bytes32 recordId) external pure returns (bytes32);

    /// @notice The EIP-712 struct hash of a record.
    function hashRecord(Record calldata record) external pure returns (bytes32);

    /// @notice The id `publisher` would give `record`.
    function recordIdOf(address publisher, Record calldata record) external pure returns (bytes32);

    /// @notice The EIP-712 domain separator for this chain and contract.
    function domainSeparator() external view returns (bytes32);

    /// @notice The contract version; equals the EIP-712 domain version.
    function version() external pure returns (string memory);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IProvenanceRegistry
/// @notice Anchors signed provenance records of AI models and datasets (version 2).
/// @dev A record commits to an artifact (its manifest root, the `subject`), its
/// kind, the root of its salted claim commitments and the subjects it derives
/// from. Records are EIP-712 typed data under the domain
/// ("ProvenanceRegistry", "2", chainId, this contract):
///
///     Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)
///
/// and are identified by `recordId = keccak256(abi.encode(publisher, structHash))`, where
/// `structHash` is the `Record` struct hash, so the same record signed by two publishers
/// gives two ids. A record is either registered alone (stored, one event) or anchored in a
/// batch: one Merkle root of recordIds per transaction, built as OpenZeppelin's
/// StandardMerkleTree with the leaf `keccak256(bytes.concat(keccak256(abi.encode(recordId))))`.
/// Batches are namespaced by their submitter: the same root anchored by two addresses is two
/// batches, so anchoring someone else's root first blocks nobody. Batched records are not
/// stored until someone proves them with {proveBatched}; from then on they can be revoked,
/// superseded, endorsed and disputed like any registered record.
///
/// Relayed operations ({registerFor}, {revokeBySig}, {supersedeBySig}) carry the publisher's
/// EIP-712 signature (EOA or ERC-1271 wallet) of one of these types:
///
///     RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)
///     Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)
///     Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)
///
/// `nonce` is the publisher's current {nonces} value and `deadline` the last block timestamp
/// at which the signature is accepted (sign `type(uint256).max` for none). The nonce works as
/// a cancellation counter (like Seaport's order counter): a signed operation does not consume
/// it, since each one can take effect only once anyway (a record is registered, revoked and
/// superseded at most once). {useNonce} consumes it, which voids every outstanding signature
/// of the publisher at once.
///
/// Bounds: at most 64 parents per record and 512 bytes per uri, in every function that takes
/// one (the implementation's MAX_PARENTS and MAX_URI_LENGTH).
interface IProvenanceRegistry {
    /// @notice The record as signed by its publisher (the EIP-712 `Record` type).
    /// @param subject Merkle root of the artifact's manifest.
    /// @param kind 0 = model, 1 = dataset, 2 = other, 3 = evaluation.
    /// @param claimsRoot Merkle root of the salted claim leaves; no claim value is on chain.
    /// @param parents Subjects of the artifacts this one derives from (at most 64).
    /// @param uri Where the record's Statement can be fetched; may be empty (at most 512 bytes).
    struct Record {
        bytes32 subject;
        uint8 kind;
        bytes32 claimsRoot;
        bytes32[] parents;
        string uri;
    }

    /// @notice What a light client reads about a record in one call.
    /// @dev Packing: slot 0 = publisher (20 bytes) + registeredAt (6) + revokedAt (6);
    /// slot 1 = successor. A zero publisher means the record is unknown here. The reason codes
    /// of a revocation or supersession are in the events only.
    struct RecordState {
        address publisher;
        uint48 registeredAt;
        uint48 revokedAt;
        bytes32 successor;
    }

    /// @notice When and by whom a batch root was anchored.
    /// @dev Packing: one slot = submitter (20 bytes) + anchoredAt (6) + count (4). Stored under
    /// (submitter, root); `submitter` repeats the key so that a zero value means "never anchored".
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

    /// @notice `submitter` anchored a Merkle root over `count` recordIds; `uri` names the list of its records.
    event BatchAnchored(bytes32 indexed root, address indexed submitter, uint32 count, string uri);

    /// @notice A batched record was shown to be in the batch (`submitter`, `root`) and is now stored.
    /// @param structHash The EIP-712 `Record` struct hash; `recordId = keccak256(abi.encode(publisher, structHash))`.
    event BatchedRecordProven(
        bytes32 indexed recordId, address indexed publisher, bytes32 indexed root, address submitter, bytes32 structHash
    );

    /// @notice The publisher withdrew a record.
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    event RecordRevoked(bytes32 indexed recordId, address indexed publisher, uint8 reasonCode, string reason);

    /// @notice The publisher replaced a record with a newer one.
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    event RecordSuperseded(
        bytes32 indexed recordId, bytes32 indexed successor, address indexed publisher, uint8 reasonCode, string reason
    );

    /// @notice `endorser` vouches for a record's claims; `statementDigest` is the keccak256 of the
    /// bytes of its signed statement file, which `uri` (may be empty) says where to fetch.
    event RecordEndorsed(bytes32 indexed recordId, address indexed endorser, bytes32 statementDigest, string uri);

    /// @notice `disputer` contests a record's claims; `statementDigest` is the keccak256 of the
    /// bytes of its signed statement file, which `uri` (may be empty) says where to fetch.
    event RecordDisputed(bytes32 indexed recordId, address indexed disputer, bytes32 statementDigest, string uri);

    /// @notice `publisher` consumed its nonce `nonce`: every signature it made with that nonce is void.
    event NonceUsed(address indexed publisher, uint256 nonce);

    // ------------------------------------------------------------------ errors

    /// @notice The subject, a batch root or a statement digest was zero.
    error ZeroValue();
    /// @notice `kind` is not 0 (model), 1 (dataset), 2 (other) or 3 (evaluation).
    error InvalidKind(uint8 kind);
    /// @notice `code` is not a reason code: 0 (other), 1 (erasure), 2 (wrong_claims),
    /// 3 (key_compromise) or 4 (withdrawn).
    error InvalidReason(uint8 code);
    /// @notice A record lists `count` parents; at most `max` are allowed.
    error TooManyParents(uint256 count, uint256 max);
    /// @notice A uri is `length` bytes long; at most `max` are allowed.
    error UriTooLong(uint256 length, uint256 max);
    /// @notice This record is already stored.
    error AlreadyRegistered(bytes32 recordId);
    /// @notice No stored record has this id (batched records must be proven first).
    error UnknownRecord(bytes32 recordId);
    /// @notice Only the record's publisher may do this.
    error NotPublisher(bytes32 recordId, address caller);
    /// @notice The signature is not the publisher's (EOA or ERC-1271 wallet) for this operation
    /// under its current nonce.
    error InvalidSignature(address publisher);
    /// @notice The signature's `deadline` is before the block's `timestamp`.
    error SignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The record was already revoked.
    error AlreadyRevoked(bytes32 recordId);
    /// @notice The record was already superseded.
    error AlreadySuperseded(bytes32 recordId);
    /// @notice A record cannot supersede itself.
    error SelfSupersede(bytes32 recordId);
    /// @notice A batch must hold at least one record.
    error EmptyBatch();
    /// @notice `submitter` anchored this root before.
    error BatchAlreadyAnchored(address submitter, bytes32 root);
    /// @notice `submitter` never anchored this root.
    error BatchNotAnchored(address submitter, bytes32 root);
    /// @notice The proof does not place the record in the batch.
    error InvalidProof(bytes32 recordId, bytes32 root);

    // ------------------------------------------------------------------ writes

    /// @notice Registers a record with the caller as its publisher.
    /// @return recordId keccak256(abi.encode(msg.sender, structHash))
    function register(Record calldata record) external returns (bytes32 recordId);

    /// @notice Registers a record on behalf of `publisher`, who signed
    /// `RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)` (EIP-712,
    /// the nested `Record` encoded by its struct hash; ERC-1271 wallets accepted).
    /// @dev The id is that of the record alone, as for {register}: neither the nonce nor the
    /// deadline enters it. Replays fail with {AlreadyRegistered}. Reverts with
    /// {SignatureExpired} after `deadline` and {InvalidSignature} for a signature that is not the
    /// publisher's under its current nonce.
    /// @param record The record.
    /// @param publisher Its publisher, the signer (an EOA or an ERC-1271 wallet).
    /// @param deadline Last block timestamp at which the signature is accepted.
    /// @param signature The publisher's signature of the EIP-712 digest.
    /// @return recordId keccak256(abi.encode(publisher, structHash))
    function registerFor(Record calldata record, address publisher, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 recordId);

    /// @notice Anchors the Merkle root of `count` recordIds under the caller; costs the same
    /// whatever the count.
    /// @param root The batch tree's root (StandardMerkleTree of recordIds).
    /// @param count How many records the tree holds (at least 1).
    /// @param uri Where the batch document listing its records is published (at most 512 bytes).
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external;

    /// @notice Stores a batched record after checking its inclusion proof. Anyone may call it
    /// for a batch that `publisher` anchored itself (`submitter == publisher`); for a batch
    /// anchored by someone else, only `publisher` may (else {NotPublisher}), since a root proves
    /// inclusion, not consent. The record's registration time is the batch's anchoring time.
    /// @param publisher The record's publisher.
    /// @param structHash The EIP-712 `Record` struct hash of the record.
    /// @param submitter The address that anchored the batch.
    /// @param root The batch root it anchored.
    /// @param proof The StandardMerkleTree proof of the record's leaf.
    /// @return recordId keccak256(abi.encode(publisher, structHash))
    function proveBatched(
        address publisher,
        bytes32 structHash,
        address submitter,
        bytes32 root,
        bytes32[] calldata proof
    ) external returns (bytes32 recordId);

    /// @notice Revokes a stored record; only its publisher may.
    /// @param recordId The record.
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    function revoke(bytes32 recordId, uint8 reasonCode, string calldata reason) external;

    /// @notice Revokes a stored record with its publisher's EIP-712 signature of
    /// `Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)`.
    /// @dev The publisher is the record's, read from storage. Replays fail with {AlreadyRevoked}.
    /// @param recordId The record.
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    /// @param deadline Last block timestamp at which the signature is accepted.
    /// @param signature The publisher's signature of the EIP-712 digest.
    function revokeBySig(
        bytes32 recordId,
        uint8 reasonCode,
        string calldata reason,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Marks a stored record as replaced by the stored record `successor`; only its publisher may.
    /// @param recordId The record replaced.
    /// @param successor The record that replaces it (any publisher's).
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    function supersede(bytes32 recordId, bytes32 successor, uint8 reasonCode, string calldata reason) external;

    /// @notice Supersedes with the publisher's EIP-712 signature of
    /// `Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)`.
    /// @dev The publisher is the record's, read from storage. Replays fail with {AlreadySuperseded}.
    /// @param recordId The record replaced.
    /// @param successor The record that replaces it.
    /// @param reasonCode 0 = other, 1 = erasure, 2 = wrong_claims, 3 = key_compromise, 4 = withdrawn.
    /// @param reason Free text for people; may be empty.
    /// @param deadline Last block timestamp at which the signature is accepted.
    /// @param signature The publisher's signature of the EIP-712 digest.
    function supersedeBySig(
        bytes32 recordId,
        bytes32 successor,
        uint8 reasonCode,
        string calldata reason,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice States that the caller endorses the claims of a stored record.
    /// @param recordId A stored record (a batched record must be proven first).
    /// @param statementDigest keccak256 of the bytes of the endorser's signed statement file.
    /// @param uri Where that statement is published; may be empty (at most 512 bytes).
    function endorse(bytes32 recordId, bytes32 statementDigest, string calldata uri) external;

    /// @notice States that the caller disputes the claims of a stored record.
    /// @param recordId A stored record (a batched record must be proven first).
    /// @param statementDigest keccak256 of the bytes of the disputer's signed statement file.
    /// @param uri Where that statement is published; may be empty (at most 512 bytes).
    function dispute(bytes32 recordId, bytes32 statementDigest, string calldata uri) external;

    /// @notice Consumes the caller's current nonce, voiding every signature it made with it.
    /// @return nonce The nonce consumed; the next signatures must use `nonce + 1`.
    function useNonce() external returns (uint256 nonce);

    // ------------------------------------------------------------------ views

    /// @notice Publisher, registration time, revocation time and successor of a record (zeros if unknown).
    function recordState(bytes32 recordId) external view returns (RecordState memory);

    /// @notice Submitter, time and count of the batch `root` anchored by `submitter` (zeros if never anchored).
    function batchState(address submitter, bytes32 root) external view returns (BatchState memory);

    /// @notice The nonce `publisher` must sign now (0 until it first calls {useNonce}).
    function nonces(address publisher) external view returns (uint256);

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

    /// @notice The contract version ("2"); equals the EIP-712 domain version.
    function version() external pure returns (string memory);
}

"""A provenance ledger for AI models and datasets: hash, claim, sign, anchor on Ethereum, verify.

Where things are (import the module you need; this package imports nothing,
so that short commands start fast)::

    errors        the one exception hierarchy (ProvenanceError and its families)
    manifest      an artifact's files with sizes and SHA-256, and its subject (Merkle root)
                  (_hashing: the private walk-and-hash machinery behind Manifest.from_path)
    merkle        the one Merkle construction (OpenZeppelin StandardMerkleTree): files, claims, batches
    claims        the claims file: what a publisher asserts about an artifact
    commitments   salted commitments to claims, and selective disclosure
    licenses      what a license expression lets a user do (a table kept as data)
    record        the EIP-712 Record a publisher signs, its struct hash and record id
    signing       the one signer (records, revocations, supersessions) and signer recovery
    statement     the Statement that ships beside an artifact as provenance.json
    keys          publisher keys in encrypted keystores
    store         the publisher's local SQLite store (records, commitments, batches)
    journal       every signed transaction written down before it is sent, for crash recovery
    publish       the publisher's path: prepare, register or queue (queue_subjects in bulk), anchor, resume
    pins          which parent record a child relies on: its claims' parents pinned before they are committed
    ledger        the only module that talks to Ethereum (private: _rpc its transport, _logs its decoder)
    index         the registry's events in SQLite, and the queries over them
    indexer       follows a registry's events into an index
    lineage       the one breadth-first walk over an artifact's parents
    rules         the CLAIMS.md rules as pure functions: copyright, privacy, lineage, endorsements
    policy        whom the verifier trusts and what the user means to do
    verdict       Check lines gathered in a Verdict, its codes, JSON schema and exit code
    verifier      files, Statement and chain in, a Verdict out
    targets       what a PATH|SUBJECT|STATEMENT argument names, and the Statement for it
    spdx          SPDX 3.0.1 and in-toto exports
    oms           OpenSSF Model Signing bundles, both ways
    localchain    a local anvil chain under PROVENANCE_HOME

The command line (``cli``) and the HTTP service (``api``) sit on top of these.
"""

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title TestWallet
/// @notice A minimal ERC-1271 contract wallet owned by one EOA. For tests only.
/// @dev A signature is valid when the owner's key signed `hash` itself. A production wallet
/// would bind the hash to the wallet (e.g. ERC-7739) so that one owner key could not be
/// replayed across several wallets; tests do not need that.
contract TestWallet is IERC1271 {
    /// @notice Only the owner may make the wallet call out.
    error NotOwner(address caller);

    /// @notice The EOA whose signatures this wallet accepts.
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Calls `target` with `data` as this wallet; bubbles up reverts.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return Address.functionCall(target, data);
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}

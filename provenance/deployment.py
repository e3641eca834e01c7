"""One registry address on every chain: the registry is created through the deterministic deployment proxy.

The proxy (Arachnid's deterministic-deployment-proxy, at :data:`PROXY` on most
EVM chains, and in every anvil unless it runs with ``--no-create2``) creates the
contract whose initcode follows a 32-byte salt in its calldata with CREATE2, so
the registry lands at::

    keccak256(0xff ++ PROXY ++ REGISTRY_SALT ++ keccak256(initcode))[12:]

which depends on the committed bytecode alone: the same address on every chain
that has the proxy, whoever sends the transaction. That is why the registry's
constructor takes no argument and the contract has no owner: a per-deployer
argument would give each deployer another address, and a deployment by a
stranger is the very same registry (nothing to front-run). A new contract
version (another bytecode) gets another address, as it should.

:func:`deploy_registry` is idempotent: when the address already holds code it is
compared with the committed runtime bytecode (the EIP-712 immutables, which hold
the chain id and the address, masked and checked against their expected values)
and, when it matches, used without sending anything; other code there is
refused, naming the address and how it differs. Where the proxy is missing, the
error says how to get it (:data:`PROXY_HOWTO`); :func:`install_proxy` sends its
presigned transaction.

:func:`find_deploy_block` finds the block a registry was created in (where
nothing recorded it: a stranger's fresh home), so that the first sync of an
index starts there rather than at block 0.

Transactions are signed here with the caller's key (EIP-1559 fees: twice the
latest base fee plus the node's suggested tip) and sent through
:meth:`provenance.ledger.Ledger.broadcast`; ``Ledger.deploy`` (plain CREATE, a
new address each time) stays for tests that need many registries on one node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provenance._keccak import keccak256
from provenance.errors import BadNodeAnswer, Conflict, NodeError, RpcError, TransactionFailed
from provenance.ledger import SignedTx, registry_artifact
from provenance.record import DOMAIN_NAME, DOMAIN_VERSION, Domain, checksum_address, parse_address

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

    from provenance.ledger import Ledger, Receipt

__all__ = [
    "PROXY",
    "PROXY_DEPLOYER",
    "PROXY_DEPLOYMENT_TX",
    "PROXY_DEPLOYMENT_COST",
    "PROXY_HOWTO",
    "REGISTRY_SALT",
    "Deployment",
    "create2_address",
    "registry_address",
    "registry_initcode",
    "runtime_mismatch",
    "require_proxy",
    "install_proxy",
    "deploy_registry",
    "find_deploy_block",
]

#: The deterministic deployment proxy (github.com/Arachnid/deterministic-deployment-proxy).
PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
#: Its runtime code: CREATE2 of calldata[32:] with salt calldata[:32], returning the new address.
_PROXY_RUNTIME = bytes.fromhex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f580151560395781"
    "82fd5b8082525050506014600cf3"
)
#: The one-time account that signed :data:`PROXY_DEPLOYMENT_TX` (nobody holds its key: the signature was made up).
PROXY_DEPLOYER = "0x3fAB184622Dc19b6109349B94811493BF2a45362"
#: The proxy's presigned deployment (nonce 0, 100 gwei, 100,000 gas, no chain id: valid on every chain).
PROXY_DEPLOYMENT_TX = bytes.fromhex(
    "f8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf31ba0222222222222"
    "2222222222222222222222222222222222222222222222222222a0222222222222222222222222222222222222222222222222222222"
    "2222222222"
)
#: What the proxy's deployer must hold for its transaction: 100,000 gas at 100 gwei (0.01 ETH).
PROXY_DEPLOYMENT_COST = 100_000 * 100 * 10**9
#: How to get the proxy onto a chain that lacks it (the message of a deployment that cannot proceed).
PROXY_HOWTO = (
    "the proxy is deployed by one presigned transaction, the same on every chain: fund its one-time deployer "
    f"{PROXY_DEPLOYER} with 0.01 ETH (100,000 gas at 100 gwei), then send the raw transaction given in "
    "github.com/Arachnid/deterministic-deployment-proxy (README; also in docs/testnet.md) with "
    "eth_sendRawTransaction; `provenance chain deploy --install-proxy` does both from your key. The node must "
    "accept a transaction without a chain id (pre-EIP-155; geth: --rpc.allow-unprotected-txs), and the chain's "
    "base fee must be under 100 gwei; where either fails, ask the chain's operators for the proxy"
)
#: The registry's salt. Fixed: the address depends only on the bytecode, so any value would do, once chosen.
REGISTRY_SALT = bytes(32)

_PUSH1, _PUSH32 = 0x60, 0x7F


@dataclass(frozen=True)
class Deployment:
    """Where the registry is on ``chain_id``; ``sent``: whether this call sent the transaction that created it."""

    address: str
    chain_id: int
    sent: bool
    tx_hash: bytes | None = None
    block_number: int | None = None
    gas_used: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "registry": self.address,
            "chainId": self.chain_id,
            "sent": self.sent,
            "txHash": None if self.tx_hash is None else "0x" + self.tx_hash.hex(),
            "blockNumber": self.block_number,
            "gasUsed": self.gas_used,
        }


def create2_address(deployer: str, salt: bytes, initcode: bytes) -> str:
    """The address CREATE2 gives ``initcode`` from ``deployer`` with ``salt`` (EIP-1014), checksummed."""
    if len(salt) != 32:
        raise ValueError(f"a CREATE2 salt is 32 bytes, got {len(salt)}")
    raw = bytes.fromhex(parse_address(deployer)[2:])
    return checksum_address(keccak256(b"\xff" + raw + salt + keccak256(initcode))[12:])


def registry_initcode() -> bytes:
    """The committed creation bytecode (the constructor takes no argument, so nothing is appended)."""
    return bytes.fromhex(str(registry_artifact()["bytecode"]).removeprefix("0x"))


def registry_address(salt: bytes = REGISTRY_SALT) -> str:
    """The registry's address on every chain that has the proxy."""
    return create2_address(PROXY, salt, registry_initcode())


def _immutable_slots(runtime: bytes) -> list[int]:
    """Offsets of the compiler's placeholders for immutables: the 32 zero bytes of a ``PUSH32 0``.

    solc writes each reference to an immutable as ``PUSH32`` of zeros, which the
    constructor fills; it never pushes a zero constant that way (PUSH0 is shorter).
    """
    slots, i = [], 0
    while i < len(runtime):
        op = runtime[i]
        if _PUSH1 <= op <= _PUSH32:
            if op == _PUSH32 and runtime[i + 1 : i + 33] == bytes(32):
                slots.append(i + 1)
            i += op - _PUSH1 + 2
        else:
            i += 1
    return slots


def _short_string(text: str) -> bytes:
    """OpenZeppelin's ShortString: the UTF-8 bytes left-aligned, their length in the last byte."""
    raw = text.encode()
    return raw + bytes(31 - len(raw)) + bytes([len(raw)])


def _immutable_values(chain_id: int, address: str) -> set[bytes]:
    """What the registry's constructor (OpenZeppelin's EIP712) writes into its immutables at ``address``."""
    return {
        Domain(chain_id, address).separator(),  # _cachedDomainSeparator
        chain_id.to_bytes(32, "big"),  # _cachedChainId
        bytes(12) + bytes.fromhex(address[2:]),  # _cachedThis
        keccak256(DOMAIN_NAME.encode()),  # _hashedName
        keccak256(DOMAIN_VERSION.encode()),  # _hashedVersion
        _short_string(DOMAIN_NAME),  # _name
        _short_string(DOMAIN_VERSION),  # _version
    }


def runtime_mismatch(code: bytes, chain_id: int, address: str) -> str | None:
    """How ``code`` (found at ``address`` on ``chain_id``) differs from the registry's runtime; None if it does not."""
    expected = bytes.fromhex(str(registry_artifact()["deployedBytecode"]).removeprefix("0x"))
    if len(code) != len(expected):
        return f"{len(code):,} bytes of code where the registry has {len(expected):,}"
    masked = bytearray(code)
    found = set()
    for slot in _immutable_slots(expected):
        found.add(code[slot : slot + 32])
        masked[slot : slot + 32] = bytes(32)
    if bytes(masked) != expected:
        first = next(i for i, (a, b) in enumerate(zip(masked, expected, strict=True)) if a != b)
        return f"its code differs from the registry's from byte {first:,}"
    strange = found - _immutable_values(chain_id, address)
    if strange:
        return f"its immutables hold {len(strange)} value(s) the registry's constructor would not write there"
    return None


# ------------------------------------------------------------------ node answers


def _bad(ledger: Ledger, value: Any, what: str) -> BadNodeAnswer:
    return BadNodeAnswer(f"the node at {ledger.rpc_url} answered {value!r:.80} for {what}", url=ledger.rpc_url)


def _quantity(ledger: Ledger, value: Any, what: str) -> int:
    try:
        return int(value, 16)
    except (TypeError, ValueError):
        raise _bad(ledger, value, what) from None


def _bytes(ledger: Ledger, value: Any, what: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise _bad(ledger, value, what)


def _code(ledger: Ledger, address: str) -> bytes:
    return _bytes(ledger, ledger.rpc("eth_getCode", [address, "latest"]), f"eth_getCode of {address}")


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ the proxy


def require_proxy(ledger: Ledger) -> None:
    """Refuse a chain whose :data:`PROXY` address holds nothing (saying how to get it) or something else."""
    code = _code(ledger, PROXY)
    if code == _PROXY_RUNTIME:
        return
    if not code:
        raise NodeError(
            f"chain {ledger.chain_id} ({ledger.rpc_url}) has no deterministic deployment proxy at {PROXY}, so the "
            "registry cannot be given its address there",
            url=ledger.rpc_url,
            hint=PROXY_HOWTO,
        )
    raise Conflict(
        f"the contract at {PROXY} on chain {ledger.chain_id} is not the deterministic deployment proxy "
        f"({len(code):,} bytes of other code); the registry cannot be given its address on this chain",
        hint="deploy it at an address of your own (scripts/deploy.js) and pass --registry",
    )


def install_proxy(ledger: Ledger, funder: LocalAccount | str, *, timeout: float = 300.0) -> bool:
    """Put the proxy on a chain that lacks it: fund its one-time deployer from ``funder``, send its presigned
    transaction. False when the proxy is there already (nothing sent)."""
    code = _code(ledger, PROXY)
    if code:
        require_proxy(ledger)  # the proxy (nothing to do), or a refusal naming what is there instead
        return False
    used = _quantity(ledger, ledger.rpc("eth_getTransactionCount", [PROXY_DEPLOYER, "latest"]), "a nonce")
    if used:
        raise Conflict(
            f"the proxy's one-time deployer {PROXY_DEPLOYER} has sent {used} transaction(s) on chain "
            f"{ledger.chain_id} without creating the proxy: its presigned transaction can never be mined there",
            hint="ask the chain's operators for the proxy, or deploy at your own address and pass --registry",
        )
    held = ledger.balance(PROXY_DEPLOYER)
    if held < PROXY_DEPLOYMENT_COST:
        _transact(ledger, funder, PROXY_DEPLOYER, b"", value=PROXY_DEPLOYMENT_COST - held,
                  what="fund the proxy's deployer", timeout=timeout)
    tx = SignedTx(keccak256(PROXY_DEPLOYMENT_TX), PROXY_DEPLOYMENT_TX, PROXY_DEPLOYER, 0, "deploy the proxy")
    try:
        ledger.broadcast(tx)
    except RpcError as err:
        raise NodeError(
            f"the node at {ledger.rpc_url} refused the proxy's presigned transaction: {err}",
            url=ledger.rpc_url,
            hint="it must accept a transaction without a chain id (pre-EIP-155; geth: --rpc.allow-unprotected-txs) "
            "at 100 gwei; many providers refuse such transactions: use a node that accepts them, or ask the "
            "chain's operators for the proxy",
        ) from None
    ledger.wait(tx.tx_hash, timeout=timeout)
    require_proxy(ledger)
    return True


# ------------------------------------------------------------------ the registry


def _require_registry_code(ledger: Ledger, address: str) -> bool:
    """True when ``address`` holds the registry; False when it holds nothing; other code is refused."""
    code = _code(ledger, address)
    if not code:
        return False
    why = runtime_mismatch(code, ledger.chain_id, address)
    if why is not None:
        raise Conflict(
            f"the registry's address {address} on chain {ledger.chain_id} holds other code than the registry "
            f"({why}); refusing to use it",
            hint="this chain's CREATE2 differs or its proxy is not Arachnid's: deploy at your own address "
            "(scripts/deploy.js) and pass --registry",
        )
    return True


def deploy_registry(
    ledger: Ledger, sender: LocalAccount | str, *, salt: bytes = REGISTRY_SALT, timeout: float = 300.0
) -> Deployment:
    """The registry at its deterministic address on ``ledger``'s chain: found there, or created from ``sender``
    (a local account, or an address the node unlocks). The ledger then points at it."""
    address = create2_address(PROXY, salt, initcode := registry_initcode())
    if _require_registry_code(ledger, address):
        ledger.use_registry(address)
        return Deployment(address, ledger.chain_id, sent=False)
    require_proxy(ledger)
    receipt = _transact(ledger, sender, PROXY, salt + initcode, what="the registry's deployment", timeout=timeout)
    if not _require_registry_code(ledger, address):
        raise TransactionFailed(
            f"transaction 0x{receipt.tx_hash.hex()} to the deployment proxy created nothing at {address}",
            url=ledger.rpc_url,
        )
    ledger.use_registry(address)
    return Deployment(address, ledger.chain_id, True, receipt.tx_hash, receipt.block_number, receipt.gas_used)


def find_deploy_block(ledger: Ledger, address: str) -> int:
    """The first block at whose end ``address`` holds code: a binary search of ``eth_getCode`` over block
    numbers (about log2(head) calls). 0 where it cannot be told: a node that keeps no state of old blocks
    (it refuses, or answers something else), or no code at the head; reading logs from 0 then finds the
    same events, only slower."""
    head = ledger.block_number()

    def holds_code(block: int) -> bool:
        return _bytes(ledger, ledger.rpc("eth_getCode", [address, hex(block)]), f"eth_getCode of {address}") != b""

    try:
        if not holds_code(head):
            return 0
        low, high = 0, head  # the answer is in [low, high]: code at high
        while low < high:
            middle = (low + high) // 2
            if holds_code(middle):
                high = middle
            else:
                low = middle + 1
    except (RpcError, BadNodeAnswer):  # the node refuses historical state ("missing trie node", pruned)
        return 0
    return low


def _fees(ledger: Ledger) -> dict[str, int]:
    """EIP-1559 fees (twice the latest base fee plus the node's tip), or a legacy gas price before London."""
    block = ledger.rpc("eth_getBlockByNumber", ["latest", False])
    if not isinstance(block, dict):
        raise _bad(ledger, block, "the latest block")
    if block.get("baseFeePerGas") is None:
        return {"gasPrice": _quantity(ledger, ledger.rpc("eth_gasPrice"), "eth_gasPrice")}
    base = _quantity(ledger, block["baseFeePerGas"], "the base fee")
    try:
        tip = _quantity(ledger, ledger.rpc("eth_maxPriorityFeePerGas"), "eth_maxPriorityFeePerGas")
    except RpcError:  # a node without the method: web3's fallback tip
        tip = 10**9
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def _transact(
    ledger: Ledger, sender: LocalAccount | str, to: str, data: bytes, *, value: int = 0, what: str, timeout: float
) -> Receipt:
    """Send ``data`` and ``value`` to ``to`` from ``sender`` and wait for the receipt (a revert raises)."""
    call: dict[str, Any] = {"to": to, "data": "0x" + data.hex(), "value": hex(value)}
    if isinstance(sender, str):  # an account the node unlocks (anvil's): it fills gas, fees and nonce
        tx_hash = ledger.rpc("eth_sendTransaction", [{**call, "from": sender}])
        return ledger.wait(_bytes(ledger, tx_hash, "eth_sendTransaction"), timeout=timeout)
    address = sender.address
    mined = _quantity(ledger, ledger.rpc("eth_getTransactionCount", [address, "latest"]), "a nonce")
    waiting = ledger.pending_nonce(address) - mined
    if waiting > 0:
        raise Conflict(
            f"account {address} has {waiting} transaction(s) waiting to be mined on chain {ledger.chain_id}; "
            f"one sent for {what} before may be among them",
            hint="wait until they are mined (or dropped) and run the command again",
        )
    gas = _quantity(ledger, ledger.rpc("eth_estimateGas", [{**call, "from": address}]), "eth_estimateGas")
    gas = gas * 6 // 5 if data else gas  # CREATE2 under the 63/64 rule: a margin over the estimate
    fees = _fees(ledger)
    price = fees.get("maxFeePerGas", fees.get("gasPrice", 0))
    needed, held = gas * price + value, ledger.balance(address)
    if held < needed:
        raise Conflict(
            f"account {address} holds {_eth(held)} ETH on chain {ledger.chain_id}; {what} may cost up to "
            f"{_eth(needed)} ETH ({gas:,} gas at {price / 10**9:.3f} gwei{' plus the value sent' if value else ''})",
            hint="fund it (on a testnet from a faucet, docs/testnet.md) and run the command again",
        )
    tx: dict[str, Any] = {**fees, "to": to, "data": data, "value": value, "gas": gas, "nonce": mined,
                          "chainId": ledger.chain_id}
    signed = sender.sign_transaction(tx)
    prepared = SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), address, mined, what)
    ledger.broadcast(prepared)
    return ledger.wait(prepared.tx_hash, timeout=timeout)

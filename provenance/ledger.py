"""The ledger adapter: the only module that talks to Ethereum.

It loads the committed ABI and bytecode of ProvenanceRegistry, deploys it,
prepares, signs and sends transactions, reads the registry's views and decodes
its events. Everything that crosses this boundary is a project type: bytes,
ints, str addresses, small frozen dataclasses, and :class:`ProvenanceError`
subclasses; no web3, eth_abi or transport exception leaves it:

- a revert carrying one of the contract's custom errors becomes
  :class:`ContractRejected` with the error's name and arguments; a revert
  without one, or a deployment that creates nothing, :class:`TransactionFailed`;
- a node that does not answer becomes :class:`LedgerUnavailable` naming its URL,
  :class:`RateLimited` when it keeps answering HTTP 429 (transient faults are
  first retried, where that is safe: :mod:`provenance._rpc`);
- a JSON-RPC error answer becomes :class:`RpcError` with the node's code, and
  an ``eth_getLogs`` range the node will not serve :class:`LogRangeRefused` or
  :class:`ResultCapExceeded` (the indexer resizes its range);
- an answer that cannot be decoded (not JSON, bad hex, data that does not fit
  the ABI) becomes :class:`BadNodeAnswer`.

Reads go through :meth:`Ledger.rpc` (plain JSON-RPC over http.client, in
:mod:`provenance._rpc`) and the hand-written decoder of :mod:`provenance._logs`;
web3 is imported only for writes and a few views, when first needed (it costs
about a second of start-up, and raises the recursion limit, which
:func:`provenance._imports.recursion_limit_kept` puts back).

:meth:`Ledger.record_state` and :meth:`Ledger.batch_state` read the registry's
storage at any block; :meth:`Ledger.settled` names the newest block the node
calls ``finalized`` (else ``safe``, else ``latest``), which the verifier reads
them at to cross-check the events it was given (docs/verdicts.md, "Trust in
the node"). :func:`check_rpc_url` refuses plain ``http://`` to a host that is
not this machine unless the caller accepts it.

Transactions are split in three steps (:meth:`Ledger.prepare`,
:meth:`Ledger.broadcast`, :meth:`Ledger.wait`) so that a journal can store the
signed raw transaction before it leaves the process and re-broadcast it after a
crash; :meth:`Ledger.send` runs the three in a row.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

from provenance._imports import recursion_limit_kept
from provenance._keccak import keccak256
from provenance._logs import ChainEvent, Decoder, EventSpec, LogAnomaly, abi_decode, abi_string
from provenance._rpc import Retry, RpcClient, error_answer, redact_url, web3_provider
from provenance.errors import (
    BadNodeAnswer,
    ContractRejected,
    InvalidValue,
    LedgerUnavailable,
    NodeError,
    RegistryNotFound,
    RpcError,
    TransactionFailed,
    UsageError,
    WaitTimedOut,
)
from provenance.fees import Fees
from provenance.fees import suggest as suggest_fees
from provenance.record import DOMAIN_VERSION, Domain, ReasonCode, Record, checksum_address, parse_address
from provenance.signing import NO_DEADLINE

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

__all__ = [
    "Ledger",
    "RecordState",
    "BatchState",
    "Settled",
    "SETTLED_TAGS",
    "SignedTx",
    "Receipt",
    "Waiting",
    "ChainEvent",
    "ProveBatchedCall",
    "registry_artifact",
    "ERC1271_MAGIC",
    "check_rpc_url",
    "require_http_url",
    "is_loopback",
]

DEFAULT_TIMEOUT = 5.0

#: What an ERC-1271 wallet's ``isValidSignature(bytes32,bytes)`` returns for a signature it accepts
#: (the function's own selector).
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


#: The block tags :meth:`Ledger.settled` asks for, most settled first.
SETTLED_TAGS = ("finalized", "safe", "latest")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1`` (brackets allowed)."""
    host = host.strip("[]").lower().removesuffix(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def require_http_url(url: str) -> None:
    """Refuse an RPC URL that is not ``http://`` or ``https://`` (named redacted: it may carry an API key)."""
    if not url.startswith(("http://", "https://")):
        raise InvalidValue(f"the RPC URL must start with http:// or https://, got {redact_url(url)!r}")


def check_rpc_url(url: str, *, insecure: bool = False, flag: str = "--insecure-rpc") -> None:
    """Refuse a plain ``http://`` URL to a host other than this machine, unless ``insecure``.

    Over plain HTTP anyone on the path reads and rewrites the node's answers
    (hides a revocation, invents a registration); over loopback there is no
    path. ``flag`` is how the caller accepts the risk, named in the error
    (UsageError, exit 2), which names the host and never the rest of the URL
    (paths and queries carry API keys).
    """
    from urllib.parse import urlsplit  # lazy: most commands never get here

    if not url.lower().startswith("http://") or insecure:
        return
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # a malformed IPv6 host or port: not loopback either
        host = ""
    if host and is_loopback(host):
        return
    raise UsageError(
        f"refusing plain http:// to the RPC host {host or '(none)'}, which is not this machine: anyone on the "
        "way can read and change the node's answers (hide a revocation, fake a registration)",
        hint=f"use https://, a node on this machine (127.0.0.1, ::1, localhost), or pass {flag} to accept the risk",
    )


def registry_artifact() -> dict[str, Any]:
    """The committed ABI and bytecode (``provenance/abi/ProvenanceRegistry.json``)."""
    text = resources.files("provenance.abi").joinpath("ProvenanceRegistry.json").read_text()
    artifact: dict[str, Any] = json.loads(text)
    return artifact


@dataclass(frozen=True)
class RecordState:
    """What the registry stores about a record; ``publisher is None`` when it is unknown."""

    publisher: str | None
    registered_at: int
    revoked_at: int
    successor: bytes | None

    @property
    def known(self) -> bool:
        return self.publisher is not None

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0


@dataclass(frozen=True)
class BatchState:
    """A batch (submitter, root): when it was anchored and how many records it holds; ``None`` submitter if never.

    Batches are keyed by their submitter too: the same root anchored by two
    addresses is two batches, and neither says anything about the other's.
    """

    submitter: str | None
    anchored_at: int
    count: int


@dataclass(frozen=True)
class Settled:
    """The block :meth:`Ledger.settled` found: the tag the node answered for and its number."""

    tag: str  # "finalized", "safe" or "latest"
    number: int


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction ready to broadcast: what a journal stores before sending."""

    tx_hash: bytes
    raw: bytes
    sender: str
    nonce: int
    function: str


@dataclass(frozen=True)
class Receipt:
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    succeeded: bool
    contract_address: str | None = None


@dataclass(frozen=True)
class Waiting:
    """Where a wait for a transaction is: what :attr:`Ledger.watch` is told while it lasts.

    ``block_number`` None: not mined yet; else mined there, with ``confirmations``
    of the ``needed`` blocks on top of it. ``elapsed``: seconds since the wait began.
    """

    tx_hash: bytes
    elapsed: float
    block_number: int | None = None
    confirmations: int = 0
    needed: int = 0


#: The longest pause between two looks at the node while a transaction is waited for, in seconds.
MAX_POLL = 2.0


@dataclass(frozen=True)
class ProveBatchedCall:
    """The arguments of a ``proveBatched`` call: which record, into which batch (submitter, root), with what proof."""

    publisher: str
    struct_hash: bytes
    submitter: str
    root: bytes
    proof: tuple[bytes, ...]

    @property
    def record_id(self) -> bytes:
        """``keccak256(abi.encode(publisher, structHash))``, as the registry derives it."""
        return keccak256(bytes(12) + bytes.fromhex(self.publisher[2:]) + self.struct_hash)


#: How nodes say they keep no state of a block (anvil, geth, erigon/nethermind): ``_view`` then reads ``latest``.
_STATE_MISSING = re.compile(
    r"BlockOutOfRange|block height is \d+ but requested|missing trie node|header not found"
    r"|state (?:is )?not available|historical state", re.IGNORECASE)


def _is_revert(err: RpcError) -> bool:
    """Whether an ``eth_call`` error is the call reverting (EIP-1474 code 3, or a node's "revert" message)."""
    return err.code == 3 or "revert" in str(err).lower()


class Ledger:
    """A connection to one chain and, once known, one deployed registry.

    Build it with :meth:`connect`, which checks that the node answers and, when
    a registry address is given, that the address holds the registry.
    """

    def __init__(
        self,
        w3: Any,
        rpc_url: str,
        chain_id: int,
        registry: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        confirmations: int = 0,
    ) -> None:
        if w3 is not None:
            self.__dict__["_w3"] = w3
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.registry: str | None = registry
        self._timeout = timeout
        self._client = RpcClient(rpc_url, timeout, retry)
        #: blocks on top of a transaction's own before it counts as final (:attr:`Network.confirmations
        #: <provenance.networks.Network.confirmations>`); the journal waits for them and re-sends a transaction a
        #: reorganisation dropped (:meth:`provenance.journal.Journal.drive`). 0: its first receipt is final.
        self.confirmations = confirmations
        #: the most a transaction this ledger signs may offer a gas, in wei (``--max-fee-gwei``); None: no cap
        self.max_fee: int | None = None
        #: seconds a journaled transaction may wait unmined before the journal replaces it (same nonce, fees
        #: bumped: :func:`provenance.fees.bumped`); None: never replaced, only broadcast again
        self.replace_after: float | None = None
        #: seconds a command waits for a transaction to be mined and confirmed (``--timeout``), after which
        #: :class:`~provenance.errors.WaitTimedOut` (the journal keeps it); 0: return once it is sent
        #: (``--no-wait``); None: the library's defaults (60 s to be mined, 600 s for the confirmations)
        self.wait_timeout: float | None = None
        #: told what a wait is at while it waits (a progress line), and None when it ends
        self.watch: Callable[[Waiting | None], None] | None = None
        #: the block the registry was created in, when the caller knows it (the indexer starts there)
        self.deploy_block: int | None = None
        self._block_interval: float | None = None
        self._no_state_through = -1  # the newest block the node said it keeps no state of (see _view)

    @cached_property
    def _w3(self) -> Any:
        """web3, created on first use: reads go through :meth:`rpc`, and importing web3 costs ~1 s. It sends
        through the same client as :meth:`rpc` (its retries and errors, :mod:`provenance._rpc`)."""
        with recursion_limit_kept():
            from web3 import Web3  # lazy: see above

            return Web3(web3_provider(self._client))

    # ------------------------------------------------------------ connection

    @classmethod
    def connect(
        cls, rpc_url: str, registry: str | None = None, *, timeout: float = DEFAULT_TIMEOUT, retry: Retry | None = None,
        confirmations: int = 0,
    ) -> Ledger:
        """``timeout``: seconds per attempt of each call; ``retry``: how calls are tried again
        (:class:`provenance._rpc.Retry`; its defaults when None); ``confirmations``: see the attribute."""
        require_http_url(rpc_url)
        if confirmations < 0:
            raise UsageError(f"confirmations must be >= 0, got {confirmations}")
        ledger = cls(None, rpc_url, 0, None, timeout=timeout, retry=retry, confirmations=confirmations)
        ledger.chain_id = ledger._quantity(ledger.rpc("eth_chainId"), "eth_chainId")
        if registry is not None:
            ledger.use_registry(registry)
        return ledger

    def reading_settings(self) -> tuple[str, int, str | None, float, Retry]:
        """What another process needs to read this chain as this ledger does: (rpc_url, chain_id, registry,
        timeout, retry); ``Ledger(None, url, chain_id, registry, timeout=timeout, retry=retry)`` there
        (:mod:`provenance._rangereader`)."""
        return self.rpc_url, self.chain_id, self.registry, self._timeout, self._client.retry

    def use_registry(self, address: str) -> None:
        """Point at ``address`` after checking it holds a ProvenanceRegistry."""
        address = parse_address(address, "registry address")
        code = self.rpc("eth_getCode", [address, "latest"])
        if not code or code == "0x":
            raise RegistryNotFound(
                f"no contract at {address} on chain {self.chain_id} ({self.rpc_url})",
                url=self.rpc_url,
                hint="check --registry / PROVENANCE_REGISTRY, or run `provenance chain up` for the local chain",
            )
        try:
            version: str | None = abi_string(self._raw_call(address, "version()"))
            separator = self._raw_call(address, "domainSeparator()")[:32]
        except RpcError as err:  # a revert: no such view, not the registry; any other error is the node's
            if not _is_revert(err):
                raise
            version, separator = None, b""
        except (BadNodeAnswer, ValueError):  # answers garbage: not the registry
            version, separator = None, b""
        if version != DOMAIN_VERSION or separator != Domain(self.chain_id, address).separator():
            found = "" if version is None else f"; it says version {version!r}"
            raise RegistryNotFound(
                f"the contract at {address} on chain {self.chain_id} is not a ProvenanceRegistry "
                f"(version {DOMAIN_VERSION}){found}",
                url=self.rpc_url,
            )
        if (self.registry or "").lower() != address.lower():
            self.deploy_block = None  # another registry's block, if any
        self.registry = address

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self._require_registry())

    def block_number(self) -> int:
        return self._quantity(self.rpc("eth_blockNumber"), "eth_blockNumber")

    def block_timestamp(self, block: int | str = "latest") -> int:
        found = self.rpc("eth_getBlockByNumber", [block if isinstance(block, str) else hex(block), False])
        if found is None:
            raise InvalidValue(f"block {block} does not exist on {redact_url(self.rpc_url)}")
        return self._quantity(self._field(found, "timestamp"), "a block's timestamp")

    def settled(self) -> Settled:
        """The newest ``finalized`` block; ``safe`` where the node names none, else ``latest``.

        A tag the node does not support (an error answer, or null: no such
        block yet) falls through to the next; ``latest`` must be answered.
        """
        for tag in SETTLED_TAGS:
            try:
                found = self.rpc("eth_getBlockByNumber", [tag, False])
            except RpcError:
                if tag == SETTLED_TAGS[-1]:
                    raise
                continue
            if found is None and tag != SETTLED_TAGS[-1]:
                continue
            return Settled(tag, self._quantity(self._field(found, "number"), f"the {tag} block's number"))
        raise AssertionError("unreachable: latest either answers or raises")  # pragma: no cover

    def registry_fingerprint(self, block: int) -> bytes | None:
        """The registry account's storage root and code hash at ``block`` (``eth_getProof``, no keys).

        Two blocks with the same fingerprint answer every view of the registry
        alike (its views read its own storage only), so what was read at one
        holds at the other. None where the node answers no proof (a node
        without ``eth_getProof``, or one that no longer keeps that block's
        state) or not one of 32-byte hashes: the caller then reads afresh.
        """
        try:
            found = self.rpc("eth_getProof", [self._require_registry(), [], hex(block)])
            storage = self._data(self._field(found, "storageHash"), "an account proof's storageHash")
            code = self._data(self._field(found, "codeHash"), "an account proof's codeHash")
        except (RpcError, BadNodeAnswer):
            return None
        return storage + code if len(storage) == len(code) == 32 else None

    def block_hash(self, block: int) -> bytes | None:
        found = self.rpc("eth_getBlockByNumber", [hex(block), False])
        return None if found is None else self._data(self._field(found, "hash"), "a block's hash")

    def pending_nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting its transactions in the node's pending pool."""
        with self._web3_errors("eth_getTransactionCount"):
            return int(self._w3.eth.get_transaction_count(address, "pending"))

    def balance(self, address: str) -> int:
        with self._web3_errors("eth_getBalance"):
            return int(self._w3.eth.get_balance(address))

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """A raw JSON-RPC call over plain HTTP (no web3), e.g. ``eth_getLogs`` or ``anvil_setBalance``.

        Raises LedgerUnavailable, RpcError (LogRangeRefused) or BadNodeAnswer
        (see :mod:`provenance._rpc`).
        """
        return self._client.call(method, params)

    def rpc_each(self, method: str, params_list: Sequence[Sequence[Any]]) -> list[Any]:
        """Several calls of one read in one JSON-RPC batch (:meth:`provenance._rpc.RpcClient.call_each`):
        their results in order, an item the node answered with an error as that error (not raised)."""
        return self._client.call_each(method, params_list)

    def _raw_call(self, to: str, signature: str, block: str = "latest") -> bytes:
        """``eth_call`` of an argument-less view by its signature, without web3."""
        data = "0x" + keccak256(signature.encode())[:4].hex()
        return self._data(self.rpc("eth_call", [{"to": to, "data": data}, block]), f"eth_call {signature}")

    # ------------------------------------------------------------ answers

    def _bad(self, value: Any, what: str, expected: str) -> BadNodeAnswer:
        return BadNodeAnswer(
            f"the node at {self.rpc_url} answered {value!r:.80} for {what}, not {expected}", url=self.rpc_url
        )

    def _quantity(self, value: Any, what: str) -> int:
        """A JSON-RPC quantity (``0x``-hex integer)."""
        try:
            return int(value, 16)
        except (TypeError, ValueError):
            raise self._bad(value, what, "a hex quantity") from None

    def _data(self, value: Any, what: str) -> bytes:
        """JSON-RPC data (``0x``-hex bytes)."""
        if isinstance(value, str) and value.startswith("0x"):
            with contextlib.suppress(ValueError):
                return bytes.fromhex(value[2:])
        raise self._bad(value, what, "0x-hex data")

    def _field(self, found: Any, name: str) -> Any:
        if not isinstance(found, dict) or name not in found:
            raise self._bad(found, f"an object with {name!r}", "such an object")
        return found[name]

    # ------------------------------------------------------------ ABI plumbing

    @cached_property
    def _artifact(self) -> dict[str, Any]:
        return registry_artifact()

    @property
    def _abi(self) -> list[dict[str, Any]]:
        abi: list[dict[str, Any]] = self._artifact["abi"]
        return abi

    @cached_property
    def _decoder(self) -> Decoder:
        return Decoder(self._abi)

    @property
    def _events(self) -> dict[bytes, EventSpec]:
        """The registry's event specs by topic 0."""
        return self._decoder.events

    @cached_property
    def _contract(self) -> Any:
        return self._w3.eth.contract(address=self._require_registry(), abi=self._abi)

    def _require_registry(self) -> str:
        if self.registry is None:
            raise RegistryNotFound(
                f"no registry address is set for chain {self.chain_id}",
                url=self.rpc_url,
                hint="pass --registry or set PROVENANCE_REGISTRY",
            )
        return self.registry

    def decode_revert(self, data: bytes) -> ContractRejected | None:
        """The registry's custom error in ``data``, or None if it is not one of them."""
        return self._decoder.decode_revert(data, url=self.rpc_url)

    def decode_prove_batched(self, calldata: bytes) -> ProveBatchedCall | None:
        """The arguments of a ``proveBatched`` call, or None when ``calldata`` is not one (or is malformed)."""
        selector, types = self._decoder.function("proveBatched")
        if bytes(calldata[:4]) != selector:
            return None
        try:
            publisher, struct_hash, submitter, root, proof = abi_decode(
                types, calldata[4:], what="proveBatched calldata"
            )
        except BadNodeAnswer:  # a malformed call is just not one we can read
            return None
        return ProveBatchedCall(publisher, struct_hash, submitter, root, tuple(proof))

    def prove_batched_call(self, tx_hash: bytes) -> ProveBatchedCall | None:
        """The ``proveBatched`` call transaction ``tx_hash`` made; None if it is unknown or made another call."""
        found = self.rpc("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
        if found is None:
            return None
        return self.decode_prove_batched(self._data(self._field(found, "input"), "a transaction's input"))

    @contextlib.contextmanager
    def _web3_errors(self, what: str = "the request") -> Iterator[None]:
        """Translate transport, web3 and eth_abi errors raised by web3 calls into the project's own."""
        # lazy, like web3 itself: these imports cost most of a second
        import requests
        from eth_abi.exceptions import DecodingError, EncodingError

        with recursion_limit_kept():
            from web3.exceptions import (
                ContractLogicError,
                InvalidAddress,
                MismatchedABI,
                ProviderConnectionError,
                RequestTimedOut,
                TooManyRequests,
                Web3Exception,
                Web3RPCError,
                Web3ValidationError,
            )

        reverted = None
        try:
            yield
        except ContractLogicError as err:
            reverted = err  # decoded below, outside the handler: no web3 error rides along as context
        except (
            requests.exceptions.RequestException,
            ConnectionError,
            TimeoutError,
            ProviderConnectionError,
            RequestTimedOut,
            TooManyRequests,
        ) as err:
            raise LedgerUnavailable(self.rpc_url, type(err).__name__) from None
        except Web3RPCError as err:
            response = err.rpc_response if isinstance(err.rpc_response, dict) else {}
            raise error_answer(self.rpc_url, what, response.get("error", err.message)) from None
        except (Web3ValidationError, InvalidAddress, MismatchedABI, EncodingError) as err:
            raise InvalidValue(f"the registry cannot take these arguments ({what}): {err}") from None
        except (Web3Exception, DecodingError) as err:
            raise BadNodeAnswer(f"unexpected answer from the node at {self.rpc_url}: {err}", url=self.rpc_url) from None
        if reverted is not None:
            raise self._rejected(reverted)

    def _rejected(self, err: Any) -> ContractRejected | TransactionFailed:
        data = getattr(err, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            decoded = self.decode_revert(self._data(data, "revert data"))
            if decoded is not None:
                return decoded
        return TransactionFailed(f"the registry reverted: {err}", url=self.rpc_url)

    # ------------------------------------------------------------ transactions

    def deploy(self, sender: LocalAccount | str) -> Receipt:
        """Deploy a fresh registry from ``sender`` (a local account, or an address the node unlocks)."""
        with self._web3_errors("deploy"):
            factory = self._w3.eth.contract(abi=self._abi, bytecode=self._artifact["bytecode"])
            tx = factory.constructor()
        receipt = self._execute(sender, tx, "deploy")
        if receipt.contract_address is None:
            raise TransactionFailed(
                f"the deployment transaction 0x{receipt.tx_hash.hex()} created no contract", url=self.rpc_url
            )
        self.registry = receipt.contract_address
        self.deploy_block = receipt.block_number
        self.__dict__.pop("_contract", None)
        return receipt

    def prepare(
        self, account: LocalAccount, function: str, *args: Any, nonce: int | None = None, fees: Fees | None = None
    ) -> SignedTx:
        """Estimate, fill and sign a call of ``function``; a revert surfaces here as ContractRejected.

        ``fees``: else :func:`provenance.fees.suggest` under :attr:`max_fee` (FeeCapExceeded above it)."""
        if fees is None:
            fees = suggest_fees(self, self.max_fee)
        with self._web3_errors(function):
            call = getattr(self._contract.functions, function)(*args)
            if nonce is None:
                nonce = int(self._w3.eth.get_transaction_count(account.address, "pending"))
            tx = call.build_transaction(
                {"from": account.address, "nonce": nonce, "chainId": self.chain_id, **fees.fields()}
            )
            tx["gas"] = int(tx["gas"] * 1.25) + 10_000
        signed = account.sign_transaction(tx)
        return SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), account.address, nonce, function)

    def replacement(self, account: LocalAccount, raw: bytes, fees: Fees) -> SignedTx:
        """The type-2 transaction ``raw`` (same nonce, call and gas) offering ``fees``, signed again by
        ``account``: what replaces one that is not mined."""
        with recursion_limit_kept():
            from eth_account.typed_transactions.typed_transaction import TypedTransaction
            from hexbytes import HexBytes

        fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        unsigned = {k: v for k, v in fields.items() if k not in ("v", "r", "s")}
        unsigned.update(fees.fields())
        signed = account.sign_transaction(unsigned)
        return SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), account.address, int(fields["nonce"]), "")

    def broadcast(self, tx: SignedTx) -> None:
        """Send a signed transaction; sending one the node already has or mined is not an error."""
        try:
            with self._web3_errors("eth_sendRawTransaction"):
                self._w3.eth.send_raw_transaction(tx.raw)
        except RpcError as err:
            text = str(err).lower()
            # of a pending one geth says "already known", anvil "already imported", Hardhat "Known transaction: 0x…"
            known = any(words in text for words in (
                "already known", "nonce too low", "already imported", "known transaction"))
            # "nonce too low" for this very transaction: mined, or being mined (the node has counted its nonce
            # but has no receipt yet; seen on a loaded anvil when a send is repeated), so known by its hash
            if known and ("already" in text or self.receipt(tx.tx_hash) is not None
                          or self.rpc("eth_getTransactionByHash", ["0x" + tx.tx_hash.hex()]) is not None):
                return
            raise

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        with recursion_limit_kept():
            from web3.exceptions import TransactionNotFound  # lazy, like web3 itself

        with self._web3_errors("eth_getTransactionReceipt"):
            try:
                raw = self._w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None
        return self._receipt(raw)

    def wait(self, tx_hash: bytes, *, timeout: float | None = None, poll: float = 0.05) -> Receipt:
        """Wait for a transaction to be mined; a reverted one raises its decoded error.

        ``timeout``: else :attr:`wait_timeout`, else 60 s; WaitTimedOut after it. The node is asked
        again after ``poll`` seconds, then less and less often (:meth:`poll_delays`)."""
        if timeout is None:
            timeout = 60.0 if self.wait_timeout is None else self.wait_timeout
        started = time.monotonic()
        delays = self.poll_delays(poll)
        try:
            while True:
                receipt = self.receipt(tx_hash)
                if receipt is not None:
                    if not receipt.succeeded:
                        raise self._explain_failure(tx_hash, receipt)
                    return receipt
                elapsed = time.monotonic() - started
                if elapsed >= timeout:
                    raise WaitTimedOut(
                        f"transaction 0x{tx_hash.hex()} was sent but not mined within {timeout:.0f} s on "
                        f"{self.rpc_url}",
                        tx_hash=tx_hash, url=self.rpc_url,
                        hint="it may still be mined: run the command again later",
                    )
                self.tell(Waiting(tx_hash, elapsed))
                time.sleep(min(next(delays), max(timeout - elapsed, 0.0)))
        finally:
            self.tell(None)

    def tell(self, waiting: Waiting | None) -> None:
        """Tell :attr:`watch` (if any) where a wait is; None: it ended."""
        if self.watch is not None:
            self.watch(waiting)

    def poll_delays(self, first: float = 0.05) -> Iterator[float]:
        """Pauses between looks at the node while a transaction is waited for: ``first`` seconds, then half
        as long again each time, up to a quarter of the chain's block interval (at most :data:`MAX_POLL`).

        A local node mines at once and is asked often; a chain of 12-second blocks is not asked hundreds of
        times per block. The interval is read (two calls) only once the pauses have grown past 0.2 s."""
        delay = first
        limit: float | None = None
        while True:
            yield delay
            grown = delay * 1.5
            if limit is None and grown > 0.2:
                limit = min(MAX_POLL, max(first, self.block_interval() / 4))
            delay = grown if limit is None else min(grown, max(limit, first))

    def block_interval(self, span: int = 10) -> float:
        """Seconds between blocks, as the last ``span`` blocks' timestamps say (read once, then kept);
        1 s on a chain too young to tell."""
        if self._block_interval is None:
            head = self.block_number()
            back = min(span, head)
            if back <= 0:
                return 1.0
            newest, oldest = self.block_timestamp(head), self.block_timestamp(head - back)
            self._block_interval = max(newest - oldest, 0) / back
        return self._block_interval

    def send(self, account: LocalAccount, function: str, *args: Any) -> Receipt:
        """Prepare, broadcast and wait for one call."""
        tx = self.prepare(account, function, *args)
        self.broadcast(tx)
        return self.wait(tx.tx_hash)

    def _execute(self, sender: LocalAccount | str, call: Any, what: str) -> Receipt:
        with self._web3_errors(what):
            if isinstance(sender, str):
                tx_hash = call.transact({"from": sender})
                return self.wait(bytes(tx_hash))
            nonce = int(self._w3.eth.get_transaction_count(sender.address, "pending"))
            tx = call.build_transaction({"from": sender.address, "nonce": nonce, "chainId": self.chain_id})
        signed = sender.sign_transaction(tx)
        prepared = SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), sender.address, nonce, what)
        self.broadcast(prepared)
        return self.wait(prepared.tx_hash)

    def _receipt(self, raw: Any) -> Receipt:
        try:
            return Receipt(
                tx_hash=bytes(raw["transactionHash"]),
                block_number=int(raw["blockNumber"]),
                block_hash=bytes(raw["blockHash"]),
                gas_used=int(raw["gasUsed"]),
                succeeded=int(raw["status"]) == 1,
                contract_address=raw.get("contractAddress"),
            )
        except (KeyError, TypeError, ValueError):
            raise self._bad(raw, "a transaction receipt", "a receipt") from None

    def _explain_failure(self, tx_hash: bytes, receipt: Receipt) -> ContractRejected | TransactionFailed:
        """Replay a reverted transaction as a call at its block to recover the custom error."""
        with self._web3_errors("eth_getTransactionByHash"):
            tx = self._w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]}
        try:
            with self._web3_errors("eth_call"):
                self._w3.eth.call(call, receipt.block_number - 1)
        except ContractRejected as err:
            return err
        except NodeError:  # no custom error to be had: say what is known
            pass
        return TransactionFailed(
            f"transaction 0x{tx_hash.hex()} reverted in block {receipt.block_number}", url=self.rpc_url
        )

    # ------------------------------------------------------------ registry writes

    # The relayed forms take the deadline the publisher signed (provenance.signing's NO_DEADLINE by default,
    # as there); the nonce is not an argument: the registry reads the publisher's current one.

    def register(self, account: LocalAccount, record: Record) -> Receipt:
        return self.send(account, "register", record.as_tuple())

    def register_for(
        self, account: LocalAccount, record: Record, publisher: str, signature: bytes, *, deadline: int = NO_DEADLINE
    ) -> Receipt:
        """Relay a registration ``publisher`` signed (:func:`provenance.signing.sign_register_for`)."""
        return self.send(account, "registerFor", record.as_tuple(), publisher, deadline, signature)

    def anchor_batch(self, account: LocalAccount, root: bytes, count: int, uri: str) -> Receipt:
        return self.send(account, "anchorBatch", root, count, uri)

    def prove_batched(
        self,
        account: LocalAccount,
        publisher: str,
        struct_hash: bytes,
        submitter: str,
        root: bytes,
        proof: Sequence[bytes],
    ) -> Receipt:
        """Store a batched record of the batch (``submitter``, ``root``); only its publisher may when the
        submitter is someone else."""
        return self.send(account, "proveBatched", publisher, struct_hash, submitter, root, list(proof))

    def revoke(
        self, account: LocalAccount, record_id: bytes, reason: str, *, code: ReasonCode = ReasonCode.OTHER
    ) -> Receipt:
        return self.send(account, "revoke", record_id, int(code), reason)

    def revoke_by_sig(
        self,
        account: LocalAccount,
        record_id: bytes,
        reason: str,
        signature: bytes,
        *,
        code: ReasonCode = ReasonCode.OTHER,
        deadline: int = NO_DEADLINE,
    ) -> Receipt:
        return self.send(account, "revokeBySig", record_id, int(code), reason, deadline, signature)

    def supersede(
        self,
        account: LocalAccount,
        record_id: bytes,
        successor: bytes,
        *,
        code: ReasonCode = ReasonCode.OTHER,
        reason: str = "",
    ) -> Receipt:
        return self.send(account, "supersede", record_id, successor, int(code), reason)

    def supersede_by_sig(
        self,
        account: LocalAccount,
        record_id: bytes,
        successor: bytes,
        signature: bytes,
        *,
        code: ReasonCode = ReasonCode.OTHER,
        reason: str = "",
        deadline: int = NO_DEADLINE,
    ) -> Receipt:
        return self.send(account, "supersedeBySig", record_id, successor, int(code), reason, deadline, signature)

    def endorse(self, account: LocalAccount, record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        return self.send(account, "endorse", record_id, statement_digest, uri)

    def dispute(self, account: LocalAccount, record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        return self.send(account, "dispute", record_id, statement_digest, uri)

    def use_nonce(self, account: LocalAccount) -> Receipt:
        """Consume ``account``'s nonce: every signature it made with it (registerFor, revoke, supersede) is void."""
        return self.send(account, "useNonce")

    # ------------------------------------------------------------ registry views

    def _call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        with self._web3_errors(f"eth_call {function}"):
            return getattr(self._contract.functions, function)(*args).call(block_identifier=block)

    def _view(self, function: str, args: bytes, block: int | str, words: int) -> list[bytes]:
        """The ``words`` 32-byte words a static view returns, by a raw ``eth_call`` at ``block``.

        No code at that block (before the registry was deployed) answers
        nothing: all-zero words, as for a record or batch the registry does not know.
        """
        return self._views(function, [args], block, words)[0]

    def _views(self, function: str, args_list: list[bytes], block: int | str, words: int) -> list[list[bytes]]:
        """:meth:`_view` of each of ``args_list``; more than one is asked in one JSON-RPC batch."""
        selector, _ = self._decoder.function(function)
        if not isinstance(block, str) and block <= self._no_state_through:
            block = "latest"  # the node said it keeps no state of that block (below): not asked again
        registry = self._require_registry()
        calls = [{"to": registry, "data": "0x" + (selector + args).hex()} for args in args_list]

        def ask(tag: str) -> list[Any]:
            if len(calls) == 1:
                try:
                    return [self.rpc("eth_call", [calls[0], tag])]
                except RpcError as err:
                    return [err]
            return self.rpc_each("eth_call", [[call, tag] for call in calls])

        answers = ask(block if isinstance(block, str) else hex(block))
        errors = [a for a in answers if isinstance(a, RpcError)]
        if errors and not isinstance(block, str) and all(_STATE_MISSING.search(str(e)) for e in errors):
            # The node keeps no state of that block (a dev node restarted from a state file, a pruned
            # node), nor of older ones: its newest state is the one it can answer from.
            self._no_state_through = max(self._no_state_through, block)
            answers = ask("latest")
            errors = [a for a in answers if isinstance(a, RpcError)]
        if errors:
            raise errors[0]
        return [self._words(raw, function, words) for raw in answers]

    def _words(self, raw: Any, function: str, words: int) -> list[bytes]:
        answer = self._data(raw, f"eth_call {function}")
        if not answer:
            answer = bytes(32 * words)
        if len(answer) != 32 * words:
            raise self._bad("0x" + answer.hex(), f"eth_call {function}", f"{words} ABI words")
        return [answer[i : i + 32] for i in range(0, len(answer), 32)]

    def _address_word(self, word: bytes, what: str) -> str | None:
        """An ABI-encoded address, None for the zero address."""
        if any(word[:12]):
            raise self._bad("0x" + word.hex(), what, "an ABI-encoded address")
        return checksum_address(word[12:]) if any(word[12:]) else None

    def _uint_word(self, word: bytes, bits: int, what: str) -> int:
        value = int.from_bytes(word, "big")
        if value >> bits:
            raise self._bad("0x" + word.hex(), what, f"a uint{bits}")
        return value

    def record_state(self, record_id: bytes, *, block: int | str = "latest") -> RecordState:
        """What the registry stores about ``record_id`` at ``block`` (a number or a tag)."""
        return self.record_states([record_id], block=block)[0]

    def record_states(self, record_ids: Sequence[bytes], *, block: int | str = "latest") -> list[RecordState]:
        """:meth:`record_state` of each of ``record_ids``, asked in one JSON-RPC batch."""
        for record_id in record_ids:
            if len(record_id) != 32:
                raise InvalidValue(f"a record id is 32 bytes, got {len(record_id)}")
        answers = self._views("recordState", [bytes(r) for r in record_ids], block, 4)
        return [self._record_state(words) for words in answers]

    def _record_state(self, words: list[bytes]) -> RecordState:
        publisher_word, registered_at, revoked_at, successor = words
        publisher = self._address_word(publisher_word, "recordState's publisher")
        if publisher is None:
            return RecordState(None, 0, 0, None)
        return RecordState(publisher, self._uint_word(registered_at, 48, "recordState's registeredAt"),
                           self._uint_word(revoked_at, 48, "recordState's revokedAt"),
                           successor if any(successor) else None)

    def batch_state(self, submitter: str, root: bytes, *, block: int | str = "latest") -> BatchState:
        """The batch ``root`` as ``submitter`` anchored it, at ``block`` (another submitter's anchor of it is
        another batch)."""
        if len(root) != 32:
            raise InvalidValue(f"a batch root is 32 bytes, got {len(root)}")
        key = bytes(12) + bytes.fromhex(parse_address(submitter, "submitter")[2:]) + bytes(root)
        found_word, anchored_at, count = self._view("batchState", key, block, 3)
        found = self._address_word(found_word, "batchState's submitter")
        if found is None:
            return BatchState(None, 0, 0)
        return BatchState(found, self._uint_word(anchored_at, 48, "batchState's anchoredAt"),
                          self._uint_word(count, 32, "batchState's count"))

    def nonce(self, publisher: str) -> int:
        """The nonce ``publisher``'s signatures must name now (the registry's ``nonces``)."""
        return int(self._call("nonces", parse_address(publisher, "publisher")))

    def verify_inclusion(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyInclusion", root, leaf, list(proof)))

    def hash_record(self, record: Record) -> bytes:
        return bytes(self._call("hashRecord", record.as_tuple()))

    def record_id_of(self, publisher: str, record: Record) -> bytes:
        return bytes(self._call("recordIdOf", publisher, record.as_tuple()))

    def version(self) -> str:
        return str(self._call("version"))

    # ------------------------------------------------------------ other contracts (ERC-1271 wallets)

    def has_code(self, address: str, block: int | str = "latest") -> bool:
        """Whether ``address`` holds a contract (a publisher that may be an ERC-1271 wallet)."""
        tag = block if isinstance(block, str) else hex(block)
        code = self.rpc("eth_getCode", [parse_address(address), tag])
        return self._data(code, "eth_getCode") != b""

    def is_valid_signature(self, wallet: str, digest: bytes, signature: bytes, block: int | str = "latest") -> bool:
        """Whether the ERC-1271 wallet at ``wallet`` accepts ``signature`` of ``digest``.

        ``isValidSignature(bytes32,bytes)`` by ``eth_call``; true only on the magic
        value. A revert, or any other return value (not a wallet, or a wallet that
        refuses), is false; a node that does not answer, or answers something that
        is not hex data, raises as everywhere else.
        """
        if len(digest) != 32:
            raise InvalidValue(f"a digest is 32 bytes, got {len(digest)}")
        # abi.encode(bytes32 digest, bytes signature): head (digest, offset 0x40), then length and padded bytes
        padded = bytes(signature) + bytes(-len(signature) % 32)
        data = ERC1271_MAGIC + bytes(digest) + (64).to_bytes(32, "big") + len(signature).to_bytes(32, "big") + padded
        tag = block if isinstance(block, str) else hex(block)
        try:
            answer = self.rpc("eth_call", [{"to": parse_address(wallet), "data": "0x" + data.hex()}, tag])
        except RpcError as err:
            if err.code == 3 or "revert" in str(err).lower():  # the wallet refused: no valid signature shown
                return False
            raise
        word = self._data(answer, "isValidSignature")
        return len(word) == 32 and word[:4] == ERC1271_MAGIC and not any(word[4:])

    # ------------------------------------------------------------ events

    def events(
        self, from_block: int, to_block: int | str = "latest", *, anomalies: list[LogAnomaly] | None = None
    ) -> list[ChainEvent]:
        """Every registry event in the block range, in chain order.

        The logs are fetched raw (``eth_getLogs`` without web3's result
        formatters) and decoded by :class:`provenance._logs.Decoder`. A range
        the node will not serve raises LogRangeRefused; a log that does not fit
        the ABI, BadNodeAnswer, unless ``anomalies`` is given: then it is
        skipped and recorded there (the indexer's way).
        """
        to = to_block if isinstance(to_block, str) else hex(to_block)
        query = {"address": self._require_registry(), "fromBlock": hex(from_block), "toBlock": to}
        return self._decoder.decode_logs(self.rpc("eth_getLogs", [query]), url=self.rpc_url, anomalies=anomalies)

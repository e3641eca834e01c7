"""The ledger adapter: the only module that talks to Ethereum.

It loads the committed ABI and bytecode of ProvenanceRegistry, deploys it,
prepares, signs and sends transactions, reads the registry's views and decodes
its events. Everything that crosses this boundary is a project type: bytes,
ints, str addresses, small frozen dataclasses, and :class:`ProvenanceError`
subclasses. A revert carrying one of the contract's custom errors becomes
:class:`ContractRejected` with the error's name and arguments; a node that does
not answer becomes :class:`LedgerUnavailable` naming its URL.

Transactions are split in three steps (:meth:`Ledger.prepare`,
:meth:`Ledger.broadcast`, :meth:`Ledger.wait`) so that a journal can store the
signed raw transaction before it leaves the process and re-broadcast it after a
crash; :meth:`Ledger.send` runs the three in a row.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from provenance.errors import (
    ContractRejected,
    LedgerUnavailable,
    ProvenanceError,
    RegistryNotFound,
)
from provenance.record import Domain, Record

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

__all__ = [
    "Ledger",
    "RecordState",
    "BatchState",
    "SignedTx",
    "Receipt",
    "ChainEvent",
    "registry_artifact",
]

DEFAULT_TIMEOUT = 5.0


def registry_artifact() -> dict[str, Any]:
    """The committed ABI and bytecode (``provenance/abi/ProvenanceRegistry.json``)."""
    text = resources.files("provenance.abi").joinpath("ProvenanceRegistry.json").read_text()
    return json.loads(text)


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
    """Who anchored a batch root, when, and how many records it holds; ``None`` submitter if never."""

    submitter: str | None
    anchored_at: int
    count: int


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
class ChainEvent:
    """One decoded registry event; ``args`` maps the Solidity parameter names to values."""

    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


def _abi_string(data: bytes) -> str:
    """An ABI-encoded ``string`` return value."""
    offset = int.from_bytes(data[:32], "big")
    length = int.from_bytes(data[offset : offset + 32], "big")
    raw = data[offset + 32 : offset + 32 + length]
    if len(raw) != length:
        raise ValueError("short string")
    return raw.decode()


def _abi_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter, expanding tuples."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def _plain(value: Any) -> Any:
    """Turn eth_abi / web3 results into plain Python values (bytes, int, str, list)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_MESSAGES = {
    "ZeroValue": "the subject, batch root or statement digest must not be zero",
    "InvalidKind": "kind {kind} is not 0 (model), 1 (dataset) or 2 (other)",
    "AlreadyRegistered": "record {recordId} is already registered",
    "UnknownRecord": "record {recordId} is not registered on this registry (a batched record must be proven first)",
    "NotPublisher": "{caller} is not the publisher of record {recordId}",
    "InvalidSignature": "the signature is not {publisher}'s for this registry and chain",
    "AlreadyRevoked": "record {recordId} is already revoked",
    "AlreadySuperseded": "record {recordId} is already superseded",
    "SelfSupersede": "record {recordId} cannot supersede itself",
    "EmptyBatch": "a batch must hold at least one record",
    "BatchAlreadyAnchored": "batch root {root} is already anchored",
    "BatchNotAnchored": "batch root {root} was never anchored",
    "InvalidProof": "the proof does not place record {recordId} in batch {root}",
}


def _typed(value: Any, abi_type: str) -> Any:
    """Like :func:`_plain`, with addresses checksummed as everywhere else in the project."""
    if abi_type == "address":
        from eth_utils import to_checksum_address

        return to_checksum_address(value)
    return _plain(value)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class Ledger:
    """A connection to one chain and, once known, one deployed registry.

    Build it with :meth:`connect`, which checks that the node answers and, when
    a registry address is given, that the address holds the registry.
    """

    def __init__(
        self, w3: Any, rpc_url: str, chain_id: int, registry: str | None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if w3 is not None:
            self.__dict__["_w3"] = w3
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.registry: str | None = registry
        self._timeout = timeout

    @cached_property
    def _w3(self) -> Any:
        """web3, created on first use: reads go through :meth:`rpc`, and importing web3 costs ~1 s."""
        from web3 import HTTPProvider, Web3

        provider = HTTPProvider(
            self.rpc_url, request_kwargs={"timeout": self._timeout}, exception_retry_configuration=None
        )
        return Web3(provider)

    # ------------------------------------------------------------ connection

    @classmethod
    def connect(cls, rpc_url: str, registry: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Ledger:
        if not rpc_url.startswith(("http://", "https://")):
            raise ProvenanceError(f"RPC URL must start with http:// or https://, got {rpc_url!r}")
        ledger = cls(None, rpc_url, 0, None, timeout=timeout)
        ledger.chain_id = int(ledger.rpc("eth_chainId"), 16)
        if registry is not None:
            ledger.use_registry(registry)
        return ledger

    def use_registry(self, address: str) -> None:
        """Point at ``address`` after checking it holds a ProvenanceRegistry."""
        from provenance.record import parse_address

        address = parse_address(address, "registry address")
        code = self.rpc("eth_getCode", [address, "latest"])
        if not code or code == "0x":
            raise RegistryNotFound(
                f"no contract at {address} on chain {self.chain_id} ({self.rpc_url})",
                hint="check --registry / PROVENANCE_REGISTRY, or run `provenance chain up` for the local chain",
            )
        try:
            version = _abi_string(self._raw_call(address, "version()"))
            separator = self._raw_call(address, "domainSeparator()")[:32]
        except LedgerUnavailable:
            raise
        except (ProvenanceError, ValueError, UnicodeDecodeError):
            version, separator = None, b""
        if version != "1" or separator != Domain(self.chain_id, address).separator():
            raise RegistryNotFound(
                f"the contract at {address} on chain {self.chain_id} is not a ProvenanceRegistry (version 1)"
            )
        self.registry = address

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self._require_registry())

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block_timestamp(self, block: int | str = "latest") -> int:
        found = self.rpc("eth_getBlockByNumber", [block if isinstance(block, str) else hex(block), False])
        if found is None:
            raise ProvenanceError(f"block {block} does not exist on {self.rpc_url}")
        return int(found["timestamp"], 16)

    def block_hash(self, block: int) -> bytes | None:
        found = self.rpc("eth_getBlockByNumber", [hex(block), False])
        return None if found is None else bytes.fromhex(found["hash"][2:])

    def pending_nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting its transactions in the node's pending pool."""
        with self._rpc():
            return int(self._w3.eth.get_transaction_count(address, "pending"))

    def balance(self, address: str) -> int:
        with self._rpc():
            return int(self._w3.eth.get_balance(address))

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """A raw JSON-RPC call over plain HTTP (no web3), e.g. ``eth_getLogs`` or ``anvil_setBalance``.

        http.client rather than urllib.request: it is what urllib uses underneath,
        and importing it alone keeps a short command's start-up short.
        """
        import http.client
        from urllib.parse import urlsplit

        self._rpc_id = getattr(self, "_rpc_id", 0) + 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._rpc_id, "method": method, "params": list(params)})
        url = urlsplit(self.rpc_url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {"Content-Type": "application/json", "User-Agent": "provenance"}
        if url.username or url.password:  # https://user:key@node/... as some providers give them
            import base64

            token = base64.b64encode(f"{url.username or ''}:{url.password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        connection = kind(url.hostname or "", url.port, timeout=self._timeout)
        try:
            connection.request("POST", path, body.encode(), headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as err:
            raise LedgerUnavailable(self.rpc_url, type(err).__name__) from None
        finally:
            connection.close()
        if answer.status != 200:
            raise ProvenanceError(f"{method} failed on {self.rpc_url}: HTTP {answer.status}")
        try:
            response = json.loads(payload)
        except ValueError:
            raise ProvenanceError(f"the node at {self.rpc_url} did not answer JSON-RPC to {method}") from None
        if "error" in response:
            raise ProvenanceError(f"{method} failed on {self.rpc_url}: {response['error'].get('message')}")
        return response.get("result")

    def _raw_call(self, to: str, signature: str, block: str = "latest") -> bytes:
        """``eth_call`` of an argument-less view by its signature, without web3."""
        from provenance._keccak import keccak256

        data = "0x" + keccak256(signature.encode())[:4].hex()
        result = self.rpc("eth_call", [{"to": to, "data": data}, block])
        return bytes.fromhex(result[2:])

    # ------------------------------------------------------------ ABI plumbing

    @cached_property
    def _artifact(self) -> dict[str, Any]:
        return registry_artifact()

    @property
    def _abi(self) -> list[dict[str, Any]]:
        return self._artifact["abi"]

    @cached_property
    def _contract(self) -> Any:
        return self._w3.eth.contract(address=self._require_registry(), abi=self._abi)

    @cached_property
    def _errors(self) -> dict[bytes, _ErrorSpec]:
        from provenance._keccak import keccak256

        specs = {}
        for item in self._abi:
            if item["type"] == "error":
                types = tuple(_abi_type(i) for i in item["inputs"])
                selector = keccak256(f"{item['name']}({','.join(types)})".encode())[:4]
                specs[selector] = _ErrorSpec(item["name"], tuple(i["name"] for i in item["inputs"]), types)
        return specs

    @cached_property
    def _events(self) -> dict[bytes, _EventSpec]:
        from provenance._keccak import keccak256

        specs = {}
        for item in self._abi:
            if item["type"] != "event":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            topic = keccak256(f"{item['name']}({','.join(types)})".encode())
            indexed = tuple((i["name"], t) for i, t in zip(item["inputs"], types) if i["indexed"])
            data = [(i["name"], t) for i, t in zip(item["inputs"], types) if not i["indexed"]]
            specs[topic] = _EventSpec(
                item["name"], indexed, tuple(n for n, _ in data), tuple(t for _, t in data)
            )
        return specs

    def _require_registry(self) -> str:
        if self.registry is None:
            raise RegistryNotFound(
                f"no registry address is set for chain {self.chain_id}",
                hint="pass --registry or set PROVENANCE_REGISTRY",
            )
        return self.registry

    def decode_revert(self, data: bytes) -> ContractRejected | None:
        """The registry's custom error in ``data``, or None if it is not one of them."""
        from eth_abi import decode

        spec = self._errors.get(bytes(data[:4]))
        if spec is None:
            return None
        values = [_typed(v, t) for v, t in zip(decode(list(spec.types), bytes(data[4:])), spec.types)]
        args = dict(zip(spec.names, values))
        template = _MESSAGES.get(spec.name, spec.name)
        message = template.format(**{k: _show(v) for k, v in args.items()})
        return ContractRejected(spec.name, args, f"the registry refused: {message} ({spec.name})")

    @contextlib.contextmanager
    def _rpc(self) -> Iterator[None]:
        """Translate transport and web3 errors into the project's own."""
        import requests
        from web3.exceptions import ContractLogicError, Web3Exception, Web3RPCError

        try:
            yield
        except ContractLogicError as err:
            raise self._rejected(err) from None
        except (requests.exceptions.RequestException, ConnectionError, TimeoutError) as err:
            raise LedgerUnavailable(self.rpc_url, type(err).__name__) from None
        except Web3RPCError as err:
            raise ProvenanceError(f"the node at {self.rpc_url} refused the request: {err}") from None
        except Web3Exception as err:
            raise ProvenanceError(f"unexpected answer from the node at {self.rpc_url}: {err}") from None

    def _rejected(self, err: Any) -> ProvenanceError:
        data = getattr(err, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            decoded = self.decode_revert(bytes.fromhex(data[2:]))
            if decoded is not None:
                return decoded
        return ProvenanceError(f"the registry reverted: {err}")

    # ------------------------------------------------------------ transactions

    def deploy(self, sender: "LocalAccount | str") -> Receipt:
        """Deploy a fresh registry from ``sender`` (a local account, or an address the node unlocks)."""
        factory = self._w3.eth.contract(abi=self._abi, bytecode=self._artifact["bytecode"])
        tx = factory.constructor()
        receipt = self._execute(sender, tx, "deploy")
        if receipt.contract_address is None:
            raise ProvenanceError("the deployment transaction created no contract")
        self.registry = receipt.contract_address
        self.__dict__.pop("_contract", None)
        return receipt

    def prepare(
        self, account: "LocalAccount", function: str, *args: Any, nonce: int | None = None
    ) -> SignedTx:
        """Estimate, fill and sign a call of ``function``; a revert surfaces here as ContractRejected."""
        call = getattr(self._contract.functions, function)(*args)
        with self._rpc():
            if nonce is None:
                nonce = self._w3.eth.get_transaction_count(account.address, "pending")
            tx = call.build_transaction({"from": account.address, "nonce": nonce, "chainId": self.chain_id})
            tx["gas"] = int(tx["gas"] * 1.25) + 10_000
        signed = account.sign_transaction(tx)
        return SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), account.address, nonce, function)

    def broadcast(self, tx: SignedTx) -> None:
        """Send a signed transaction; sending one the node already has or mined is not an error."""
        from web3.exceptions import Web3RPCError

        try:
            with self._rpc_raw():
                self._w3.eth.send_raw_transaction(tx.raw)
        except Web3RPCError as err:
            text = str(err).lower()
            if "already known" in text or "nonce too low" in text or "already imported" in text:
                if self.receipt(tx.tx_hash) is not None or "already" in text:
                    return
            raise ProvenanceError(f"the node at {self.rpc_url} refused the transaction: {err}") from None

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        from web3.exceptions import TransactionNotFound

        try:
            with self._rpc_raw():
                raw = self._w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        return self._receipt(raw)

    def wait(self, tx_hash: bytes, *, timeout: float = 60.0, poll: float = 0.05) -> Receipt:
        """Wait for a transaction to be mined; a reverted one raises its decoded error."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                if not receipt.succeeded:
                    raise self._explain_failure(tx_hash, receipt)
                return receipt
            if time.monotonic() > deadline:
                raise ProvenanceError(
                    f"transaction 0x{tx_hash.hex()} was not mined within {timeout:.0f} s on {self.rpc_url}",
                    hint="it is kept; run the command again to resume",
                )
            time.sleep(poll)

    def send(self, account: "LocalAccount", function: str, *args: Any) -> Receipt:
        """Prepare, broadcast and wait for one call."""
        tx = self.prepare(account, function, *args)
        self.broadcast(tx)
        return self.wait(tx.tx_hash)

    @contextlib.contextmanager
    def _rpc_raw(self) -> Iterator[None]:
        """Like :meth:`_rpc` but lets Web3RPCError and TransactionNotFound through for the caller."""
        import requests

        try:
            yield
        except (requests.exceptions.RequestException, ConnectionError, TimeoutError) as err:
            raise LedgerUnavailable(self.rpc_url, type(err).__name__) from None

    def _execute(self, sender: "LocalAccount | str", call: Any, what: str) -> Receipt:
        with self._rpc():
            if isinstance(sender, str):
                tx_hash = call.transact({"from": sender})
                return self.wait(bytes(tx_hash))
            nonce = self._w3.eth.get_transaction_count(sender.address, "pending")
            tx = call.build_transaction({"from": sender.address, "nonce": nonce, "chainId": self.chain_id})
        signed = sender.sign_transaction(tx)
        prepared = SignedTx(bytes(signed.hash), bytes(signed.raw_transaction), sender.address, nonce, what)
        self.broadcast(prepared)
        return self.wait(prepared.tx_hash)

    def _receipt(self, raw: Any) -> Receipt:
        return Receipt(
            tx_hash=bytes(raw["transactionHash"]),
            block_number=int(raw["blockNumber"]),
            block_hash=bytes(raw["blockHash"]),
            gas_used=int(raw["gasUsed"]),
            succeeded=int(raw["status"]) == 1,
            contract_address=raw.get("contractAddress"),
        )

    def _explain_failure(self, tx_hash: bytes, receipt: Receipt) -> ProvenanceError:
        """Replay a reverted transaction as a call at its block to recover the custom error."""
        with self._rpc():
            tx = self._w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]}
        try:
            with self._rpc():
                self._w3.eth.call(call, receipt.block_number - 1)
        except ContractRejected as err:
            return err
        except ProvenanceError:
            pass
        return ProvenanceError(f"transaction 0x{tx_hash.hex()} reverted in block {receipt.block_number}")

    # ------------------------------------------------------------ registry writes

    def register(self, account: "LocalAccount", record: Record) -> Receipt:
        return self.send(account, "register", record.as_tuple())

    def register_for(self, account: "LocalAccount", record: Record, publisher: str, signature: bytes) -> Receipt:
        return self.send(account, "registerFor", record.as_tuple(), publisher, signature)

    def anchor_batch(self, account: "LocalAccount", root: bytes, count: int, uri: str) -> Receipt:
        return self.send(account, "anchorBatch", root, count, uri)

    def prove_batched(
        self, account: "LocalAccount", publisher: str, struct_hash: bytes, root: bytes, proof: Sequence[bytes]
    ) -> Receipt:
        return self.send(account, "proveBatched", publisher, struct_hash, root, list(proof))

    def revoke(self, account: "LocalAccount", record_id: bytes, reason: str) -> Receipt:
        return self.send(account, "revoke", record_id, reason)

    def revoke_by_sig(self, account: "LocalAccount", record_id: bytes, reason: str, signature: bytes) -> Receipt:
        return self.send(account, "revokeBySig", record_id, reason, signature)

    def supersede(self, account: "LocalAccount", record_id: bytes, successor: bytes) -> Receipt:
        return self.send(account, "supersede", record_id, successor)

    def supersede_by_sig(
        self, account: "LocalAccount", record_id: bytes, successor: bytes, signature: bytes
    ) -> Receipt:
        return self.send(account, "supersedeBySig", record_id, successor, signature)

    def endorse(self, account: "LocalAccount", record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        return self.send(account, "endorse", record_id, statement_digest, uri)

    def dispute(self, account: "LocalAccount", record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        return self.send(account, "dispute", record_id, statement_digest, uri)

    # ------------------------------------------------------------ registry views

    def _call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        with self._rpc():
            return getattr(self._contract.functions, function)(*args).call(block_identifier=block)

    def record_state(self, record_id: bytes) -> RecordState:
        publisher, registered_at, revoked_at, successor = self._call("recordState", record_id)
        if int(publisher, 16) == 0:
            return RecordState(None, 0, 0, None)
        successor = bytes(successor)
        return RecordState(publisher, int(registered_at), int(revoked_at), successor if any(successor) else None)

    def batch_state(self, root: bytes) -> BatchState:
        submitter, anchored_at, count = self._call("batchState", root)
        if int(submitter, 16) == 0:
            return BatchState(None, 0, 0)
        return BatchState(submitter, int(anchored_at), int(count))

    def verify_inclusion(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyInclusion", root, leaf, list(proof)))

    def hash_record(self, record: Record) -> bytes:
        return bytes(self._call("hashRecord", record.as_tuple()))

    def record_id_of(self, publisher: str, record: Record) -> bytes:
        return bytes(self._call("recordIdOf", publisher, record.as_tuple()))

    def version(self) -> str:
        return str(self._call("version"))

    # ------------------------------------------------------------ events

    def events(self, from_block: int, to_block: int | str = "latest") -> list[ChainEvent]:
        """Every registry event in the block range, in chain order.

        The logs are fetched raw (``eth_getLogs`` without web3's result
        formatters) and decoded by hand for the flat ABI types the registry's
        events use (bytes32, address, uintN, string, bytes, bytes32[]); any
        other type goes through eth_abi. The indexer reads tens of thousands of
        logs per call; web3's formatters and eth_abi made a sync ~5x slower.
        """
        from provenance.record import checksum_address as to_checksum_address

        to = to_block if isinstance(to_block, str) else hex(to_block)
        query = {"address": self._require_registry(), "fromBlock": hex(from_block), "toBlock": to}
        logs = self.rpc("eth_getLogs", [query]) or []
        checksums: dict[bytes, str] = {}

        def address(word: bytes) -> str:
            value = checksums.get(word)
            if value is None:
                value = checksums[word] = to_checksum_address(word[12:])
            return value

        def static(kind: str, word: bytes) -> Any:
            if kind == "bytes32":
                return word
            if kind == "address":
                return address(word)
            if kind.startswith("uint"):
                return int.from_bytes(word, "big")
            if kind == "bool":
                return word != bytes(32)
            raise KeyError(kind)

        def data_values(spec: _EventSpec, data: bytes) -> list[Any]:
            values = []
            for position, kind in enumerate(spec.data_types):
                word = data[32 * position : 32 * position + 32]
                if len(word) != 32:
                    raise ValueError("short data")
                if kind in ("string", "bytes", "bytes32[]"):
                    offset = int.from_bytes(word, "big")
                    if offset + 32 > len(data):
                        raise ValueError("offset out of range")
                    length = int.from_bytes(data[offset : offset + 32], "big")
                    body = offset + 32
                    if kind == "bytes32[]":
                        if body + 32 * length > len(data):
                            raise ValueError("short array")
                        values.append([data[body + 32 * i : body + 32 * i + 32] for i in range(length)])
                    else:
                        raw = data[body : body + length]
                        if len(raw) != length:
                            raise ValueError("short bytes")
                        values.append(raw.decode() if kind == "string" else raw)
                else:
                    values.append(static(kind, word))
            return values

        events = []
        for log in logs:
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            spec = self._events.get(topics[0]) if topics else None
            if spec is None:
                continue
            args: dict[str, Any] = {}
            for (name, kind), topic in zip(spec.indexed, topics[1:]):
                try:
                    args[name] = static(kind, topic)
                except KeyError:
                    from eth_abi import decode

                    args[name] = _typed(decode([kind], topic)[0], kind)
            data = bytes.fromhex(log["data"][2:])
            try:
                values = data_values(spec, data)
            except (KeyError, ValueError, UnicodeDecodeError):
                from eth_abi import decode

                values = [_typed(v, t) for v, t in zip(decode(list(spec.data_types), data), spec.data_types)]
            args.update(zip(spec.data_names, values))
            events.append(
                ChainEvent(
                    spec.name,
                    args,
                    int(log["blockNumber"], 16),
                    bytes.fromhex(log["blockHash"][2:]),
                    bytes.fromhex(log["transactionHash"][2:]),
                    int(log["logIndex"], 16),
                )
            )
        return events

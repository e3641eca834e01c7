"""Decoding what the registry leaves on chain (private: the ledger adapter's ABI decoder).

:class:`Decoder` reads the committed ABI once and turns raw ``eth_getLogs``
entries into :class:`ChainEvent` values and revert data into
:class:`ContractRejected`. Whatever cannot be decoded (bad hex, short data, a
value eth_abi refuses) becomes :class:`BadNodeAnswer`: no eth_abi error leaves
this module.

Logs are decoded by hand for the flat ABI types the registry's events use
(bytes32, address, uintN, bool, string, bytes, bytes32[]); any other type goes
through eth_abi. The indexer reads tens of thousands of logs per call; web3's
formatters and eth_abi made a sync ~5x slower.

A Solidity ``string`` is whatever bytes its sender chose (anyone may endorse a
record with uri ``hex"ff"``): one that is not UTF-8 decodes to an
:class:`AbiText`, its text with the odd bytes backslash-escaped and its exact
bytes in ``raw``, so that no string ever stops a log from decoding.

:meth:`Decoder.decode_logs` refuses an answer whose logs it cannot place
(no block, transaction hash or log index) as :class:`BadNodeAnswer`. A log it
can place but not decode (topics or data that do not fit the event's ABI)
raises too, unless the caller passes an ``anomalies`` list: then the log is
skipped, recorded there as a :class:`LogAnomaly` and logged with its
transaction hash and log index, and the other logs of the range are decoded
(the indexer does so: one odd log must not stop it for good).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from provenance._keccak import keccak256
from provenance.errors import BadNodeAnswer, ContractRejected
from provenance.record import checksum_address

__all__ = [
    "AbiText",
    "ChainEvent",
    "Decoder",
    "EventSpec",
    "ErrorSpec",
    "LogAnomaly",
    "abi_decode",
    "abi_string",
    "abi_text",
    "abi_type",
    "plain",
    "raw_bytes",
]

log = logging.getLogger("provenance.logs")


class AbiText(str):
    """A Solidity ``string`` that is not UTF-8: shown with its odd bytes escaped (``\\xff``), ``raw`` exact.

    A ``str`` so that everything reading event values keeps working; the escaped
    text alone would be ambiguous (a string may spell ``\\xff`` itself), so the
    bytes ride along for whoever stores or compares them (:func:`raw_bytes`).
    """

    raw: bytes

    def __new__(cls, raw: bytes) -> AbiText:
        text = super().__new__(cls, raw.decode("utf-8", "backslashreplace"))
        text.raw = bytes(raw)
        return text


def abi_text(raw: bytes) -> str:
    """The value of a Solidity ``string`` with these bytes: a plain ``str`` when they are UTF-8, else an
    :class:`AbiText`. Never fails: any bytes are a string to the EVM."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return AbiText(raw)


def raw_bytes(value: str) -> bytes:
    """The exact bytes of a string decoded by :func:`abi_text`."""
    return value.raw if isinstance(value, AbiText) else value.encode("utf-8")


@dataclass(frozen=True)
class LogAnomaly:
    """A registry log that could be placed (block, transaction, log index) but not decoded."""

    block_number: int
    tx_hash: bytes
    log_index: int
    event: str | None  # the event its topic 0 names, when it names one
    error: str

    def __str__(self) -> str:
        what = self.event or "log"
        return f"{what} in tx 0x{self.tx_hash.hex()} (log index {self.log_index}, block {self.block_number})"


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
class EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


def abi_string(data: bytes) -> str:
    """An ABI-encoded ``string`` return value; ValueError (or UnicodeDecodeError) when it is not one."""
    offset = int.from_bytes(data[:32], "big")
    length = int.from_bytes(data[offset : offset + 32], "big")
    raw = data[offset + 32 : offset + 32 + length]
    if len(raw) != length:
        raise ValueError("short string")
    return raw.decode()


def abi_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter, expanding tuples."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return str(kind)


def plain(value: Any) -> Any:
    """Turn eth_abi / web3 results into plain Python values (bytes, int, str, list)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _typed(value: Any, kind: str) -> Any:
    """Like :func:`plain`, with addresses checksummed as everywhere else in the project."""
    if kind == "address":
        return checksum_address(bytes.fromhex(value[2:]))
    return plain(value)


def abi_decode(types: Sequence[str], data: bytes, *, what: str, url: str = "") -> list[Any]:
    """``data`` decoded by eth_abi as ``types``, in plain values; BadNodeAnswer naming ``what`` if it cannot be."""
    from eth_abi.abi import decode  # lazy: importing eth_abi costs ~0.3 s, and most decoding is done by hand
    from eth_abi.exceptions import DecodingError

    # a string is encoded as bytes are; decoded as bytes, any content is a value (abi_text)
    wire = ["bytes" if t == "string" else t for t in types]
    try:
        return [
            abi_text(bytes(v)) if t == "string" else _typed(v, t)
            for v, t in zip(decode(wire, bytes(data)), types, strict=True)
        ]
    except (DecodingError, UnicodeDecodeError, ValueError) as err:
        where = f" from the node at {url}" if url else ""
        raise BadNodeAnswer(f"{what}{where} cannot be decoded as ({','.join(types)}): {err}", url=url) from None


_MESSAGES = {
    "ZeroValue": "the subject, batch root or statement digest must not be zero",
    "InvalidKind": "kind {kind} is not 0 (model), 1 (dataset), 2 (other) or 3 (evaluation)",
    "InvalidReason": "reason code {code} is not 0 (other), 1 (erasure), 2 (wrong_claims), 3 (key_compromise) "
    "or 4 (withdrawn)",
    "TooManyParents": "a record lists {count} parents; at most {max} are allowed",
    "UriTooLong": "a uri is {length} bytes long; at most {max} are allowed",
    "AlreadyRegistered": "record {recordId} is already registered",
    "UnknownRecord": "record {recordId} is not registered on this registry (a batched record must be proven first)",
    "NotPublisher": "{caller} is not the publisher of record {recordId}",
    "InvalidSignature": "the signature is not {publisher}'s for this registry and chain under its current nonce",
    "SignatureExpired": "the signature expired: its deadline {deadline} is before the block's time {timestamp}",
    "AlreadyRevoked": "record {recordId} is already revoked",
    "AlreadySuperseded": "record {recordId} is already superseded",
    "SelfSupersede": "record {recordId} cannot supersede itself",
    "EmptyBatch": "a batch must hold at least one record",
    "BatchAlreadyAnchored": "{submitter} already anchored batch root {root}",
    "BatchNotAnchored": "{submitter} never anchored batch root {root}",
    "InvalidProof": "the proof does not place record {recordId} in batch {root}",
}


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _signature(item: dict[str, Any]) -> tuple[list[str], bytes]:
    types = [abi_type(i) for i in item["inputs"]]
    return types, keccak256(f"{item['name']}({','.join(types)})".encode())


class Decoder:
    """The registry's events, custom errors and function selectors, from its ABI."""

    def __init__(self, abi: Iterable[dict[str, Any]]) -> None:
        self._abi = list(abi)

    @cached_property
    def events(self) -> dict[bytes, EventSpec]:
        """Event specs by topic 0."""
        specs = {}
        for item in self._abi:
            if item["type"] != "event":
                continue
            types, topic = _signature(item)
            indexed = tuple((i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if i["indexed"])
            data = [(i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if not i["indexed"]]
            specs[topic] = EventSpec(item["name"], indexed, tuple(n for n, _ in data), tuple(t for _, t in data))
        return specs

    @cached_property
    def errors(self) -> dict[bytes, ErrorSpec]:
        """Custom error specs by 4-byte selector."""
        specs = {}
        for item in self._abi:
            if item["type"] == "error":
                types, digest = _signature(item)
                specs[digest[:4]] = ErrorSpec(item["name"], tuple(i["name"] for i in item["inputs"]), tuple(types))
        return specs

    def function(self, name: str) -> tuple[bytes, tuple[str, ...]]:
        """The 4-byte selector and the argument types of function ``name``."""
        for item in self._abi:
            if item["type"] == "function" and item["name"] == name:
                types, digest = _signature(item)
                return digest[:4], tuple(types)
        raise KeyError(name)

    def decode_revert(self, data: bytes, *, url: str = "") -> ContractRejected | None:
        """The registry's custom error in ``data``, or None if it is not one of them."""
        spec = self.errors.get(bytes(data[:4]))
        if spec is None:
            return None
        values = abi_decode(spec.types, bytes(data[4:]), what=f"the arguments of {spec.name}", url=url)
        args = dict(zip(spec.names, values, strict=True))
        template = _MESSAGES.get(spec.name, spec.name)
        message = template.format(**{k: _show(v) for k, v in args.items()})
        return ContractRejected(spec.name, args, f"the registry refused: {message} ({spec.name})")

    def decode_logs(
        self, logs: Any, *, url: str = "", anomalies: list[LogAnomaly] | None = None
    ) -> list[ChainEvent]:
        """Every log of a known event as a :class:`ChainEvent`, in the order given; others are skipped.

        A log of a known event that does not fit its ABI raises BadNodeAnswer, or,
        given an ``anomalies`` list, is skipped and recorded there (see the module
        docstring). A log that cannot be placed always raises.
        """
        checksums: dict[bytes, str] = {}
        specs = self.events

        def address(word: bytes) -> str:
            value = checksums.get(word)
            if value is None:
                value = checksums[word] = checksum_address(word[12:])
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

        def data_values(spec: EventSpec, data: bytes) -> list[Any]:
            values: list[Any] = []
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
                        values.append(abi_text(raw) if kind == "string" else raw)
                else:
                    values.append(static(kind, word))
            return values

        def decode(entry: Any, topics: list[bytes], spec: EventSpec) -> dict[str, Any]:
            if len(topics) != 1 + len(spec.indexed):
                raise ValueError(f"{spec.name} has {len(spec.indexed)} indexed arguments, not {len(topics) - 1}")
            args: dict[str, Any] = {}
            for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
                try:
                    args[name] = static(kind, topic)
                except KeyError:
                    (args[name],) = abi_decode([kind], topic, what=f"{spec.name}.{name}", url=url)
            data = bytes.fromhex(entry["data"][2:])
            try:
                values = data_values(spec, data)
            except (KeyError, ValueError):
                values = abi_decode(spec.data_types, data, what=f"the data of a {spec.name} log", url=url)
            args.update(zip(spec.data_names, values, strict=True))
            return args

        # a range's logs share a few blocks and transactions: each of their hashes is read from hex once
        hashes: dict[str, bytes] = {}

        def hash_of(text: str) -> bytes:
            value = hashes.get(text)
            if value is None:
                value = hashes[text] = bytes.fromhex(text[2:])
            return value

        events = []
        entry: Any = None
        try:
            for entry in logs or ():
                # where the log is: without it nothing can be recorded, and the answer is refused
                place = (
                    int(entry["blockNumber"], 16),
                    hash_of(entry["blockHash"]),
                    hash_of(entry["transactionHash"]),
                    int(entry["logIndex"], 16),
                )
                spec: EventSpec | None = None
                try:
                    topics = [bytes.fromhex(t[2:]) for t in entry["topics"]]
                    spec = specs.get(topics[0]) if topics else None
                    if spec is None:
                        continue
                    args = decode(entry, topics, spec)
                except (KeyError, IndexError, TypeError, ValueError, BadNodeAnswer) as err:
                    if anomalies is None:
                        raise
                    anomaly = LogAnomaly(place[0], place[2], place[3], spec.name if spec else None, str(err))
                    anomalies.append(anomaly)
                    log.warning("skipped a registry log that does not fit the ABI: %s: %s", anomaly, err)
                    continue
                events.append(ChainEvent(spec.name, args, *place))
        except (KeyError, IndexError, TypeError, ValueError) as err:
            where = f" from the node at {url}" if url else ""
            raise BadNodeAnswer(
                f"a log{where} is not a registry log as its ABI says ({err}): {entry!r:.200}", url=url
            ) from None
        return events

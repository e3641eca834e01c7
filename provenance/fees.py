"""EIP-1559 fees: what a transaction offers, the user's cap on it, and the bump a replacement needs.

:func:`suggest` reads ``eth_feeHistory`` (the next block's base fee and the
tips recent blocks paid, at :data:`TIP_PERCENTILE`) and offers twice the base
fee plus the median tip: room for six full blocks of base-fee rises before the
transaction stops being includable. :func:`bumped` is what replaces a
transaction that is not mined in time: the same nonce, both fees raised by at
least :data:`BUMP_NUM`/:data:`BUMP_DEN` (12.5 %: geth asks 10 %, others
12.5 %), and enough for the current base fee. Whatever is offered stays under
the cap (``--max-fee-gwei``): a fee above it is refused before anything is
signed (:class:`FeeCapExceeded`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provenance.errors import BadNodeAnswer, Conflict, RpcError

if TYPE_CHECKING:  # pragma: no cover
    from provenance.ledger import Ledger

__all__ = [
    "Fees", "FeeCapExceeded", "suggest", "bumped", "of_raw", "next_base_fee", "gwei",
    "HISTORY_BLOCKS", "TIP_PERCENTILE",
]

#: Blocks of history the tip is taken from, and the percentile of each block's tips.
HISTORY_BLOCKS = 10
TIP_PERCENTILE = 50
#: The smallest tip offered (0.01 gwei): a chain whose recent blocks paid nothing still gets a positive one.
MIN_TIP = 10**7
#: A replacement raises both fees by at least 9/8 (12.5 %), the most any common node asks.
BUMP_NUM, BUMP_DEN = 9, 8


class FeeCapExceeded(Conflict):
    """The fee a transaction needs is above the cap the user set (``--max-fee-gwei``): nothing was signed."""


@dataclass(frozen=True)
class Fees:
    """``maxFeePerGas`` and ``maxPriorityFeePerGas``, in wei."""

    max_fee: int
    tip: int

    def fields(self) -> dict[str, Any]:
        """The transaction fields (type 2)."""
        return {"type": 2, "maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.tip}


def gwei(wei: int) -> str:
    return f"{wei / 10**9:.3f} gwei"


def _quantity(ledger: Ledger, value: Any, what: str) -> int:
    try:
        return int(value, 16)
    except (TypeError, ValueError):
        raise BadNodeAnswer(f"the node at {ledger.rpc_url} answered {value!r:.80} for {what}, not a hex quantity",
                            url=ledger.rpc_url) from None


def next_base_fee(ledger: Ledger) -> tuple[int, list[int]]:
    """The next block's base fee and recent blocks' tips at :data:`TIP_PERCENTILE` (none if the node has no
    ``eth_feeHistory``: then the latest block's base fee)."""
    try:
        history = ledger.rpc("eth_feeHistory", [hex(HISTORY_BLOCKS), "latest", [TIP_PERCENTILE]])
    except RpcError:  # a node without eth_feeHistory
        history = None
    if isinstance(history, dict) and history.get("baseFeePerGas"):
        base = _quantity(ledger, history["baseFeePerGas"][-1], "eth_feeHistory's base fee")
        tips = [_quantity(ledger, r[0], "eth_feeHistory's reward") for r in history.get("reward") or [] if r]
        return base, tips
    block = ledger.rpc("eth_getBlockByNumber", ["latest", False])
    if not isinstance(block, dict) or block.get("baseFeePerGas") is None:
        return 0, []
    return _quantity(ledger, block["baseFeePerGas"], "the base fee"), []


def suggest(ledger: Ledger, cap: int | None = None) -> Fees:
    """Twice the next base fee plus the recent median tip, held under ``cap`` (wei) when that still pays the
    base fee and the tip; else :class:`FeeCapExceeded`."""
    base, tips = next_base_fee(ledger)
    tip = max(int(statistics.median(tips)) if tips else MIN_TIP, MIN_TIP)
    fees = Fees(2 * base + tip, tip)
    if cap is not None and fees.max_fee > cap:
        if base + tip > cap:
            raise FeeCapExceeded(
                f"the transaction would need up to {gwei(fees.max_fee)} a gas (base fee {gwei(base)} plus a "
                f"{gwei(tip)} tip on chain {ledger.chain_id}), above the cap of {gwei(cap)}; nothing was signed",
                hint="wait for fees to fall, or raise --max-fee-gwei",
            )
        fees = Fees(cap, tip)
    return fees


def bumped(ledger: Ledger, old: Fees, cap: int | None = None) -> Fees:
    """The fees of a replacement of a transaction that offered ``old``: both raised by 12.5 % or more, and
    enough for the next base fee; :class:`FeeCapExceeded` when that is above ``cap``."""
    base, _ = next_base_fee(ledger)
    tip = max(-(-old.tip * BUMP_NUM // BUMP_DEN), old.tip + 1)
    max_fee = max(-(-old.max_fee * BUMP_NUM // BUMP_DEN), old.max_fee + 1, 2 * base + tip)
    if cap is not None and max_fee > cap:
        raise FeeCapExceeded(
            f"replacing the transaction that is not mined needs a fee of {gwei(max_fee)} a gas (it offered "
            f"{gwei(old.max_fee)}; the base fee is {gwei(base)} on chain {ledger.chain_id}), above the cap of "
            f"{gwei(cap)}; nothing new was signed and the first transaction is still waiting",
            hint="run the command again later (it resumes the waiting transaction), or raise --max-fee-gwei",
        )
    return Fees(max_fee, tip)


def of_raw(raw: bytes) -> Fees | None:
    """The fees a signed type-2 transaction offers; None for another type (nothing this module bumps)."""
    import rlp  # type: ignore[import-untyped]  # eth-account's own dependency, without type hints

    if not raw or raw[0] != 2:
        return None
    items = rlp.decode(raw[1:])
    return Fees(int.from_bytes(items[3], "big"), int.from_bytes(items[2], "big"))

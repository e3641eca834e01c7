"""The service's settings: one frozen value, read once at the edge.

:func:`api.app.create_app` takes a :class:`ServiceSettings`. ``provenance
serve`` builds it from its options and hands it to each uvicorn worker through
the ``PROVENANCE_SERVICE_SETTINGS`` environment variable (JSON), which
:func:`api.app.app_from_env` reads; nothing else in ``api`` reads the
environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from provenance._sql import POOL_SIZE
from provenance.errors import InvalidValue, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from provenance.policy import Policy

__all__ = ["ServiceSettings", "ENV_VAR"]

ENV_VAR = "PROVENANCE_SERVICE_SETTINGS"


@dataclass(frozen=True)
class ServiceSettings:
    """Where the chain and the index are, and how the service treats them.

    ``rpc_url`` and ``registry``: the chain to follow (read-only; no key is
    ever held). ``index_path``: the SQLite index (created if missing; shared
    by every worker, one of which runs the indexer), or a ``postgresql://`` URL
    (a str) of a PostgreSQL index shared by several replicas, one of which runs
    the indexer (docs/index.md). ``index_pool_size``: the most connections
    each worker keeps to a PostgreSQL index (reads beyond wait up to 5 s for
    one, then 503); unused for SQLite. ``confirmations``: blocks
    below the head before an event is indexed. ``poll_interval``: seconds
    between syncs, and between retries while the node is down.
    ``upload_limit``: the largest file upload accepted (``POST /v1/verify/file``),
    in bytes; ``json_limit``: the largest body of any other request (JSON: a
    Statement; never more than ``upload_limit``), in bytes. 413 above either,
    while the body streams in.
    ``manifest_limit``: the most manifest entries a posted Statement may list
    (413 above). ``statement_quota``: the most Statements kept per publisher
    (``POST /v1/statements``: 429 for a new record beyond; a copy of a kept
    one is always taken). ``max_verifications``: verifications one worker runs at once;
    a further one waits up to ``verification_wait`` seconds for a slot (a burst
    of look-ups of one new verdict then computes it once and serves the rest
    from memory), then is refused with 503 and ``Retry-After``.
    ``start_block``: the first block to index; None: the block the registry was
    created in (found on the chain before an empty index's first sync, unless
    ``provenance serve`` knew it from the home's record). ``rpc_timeout``: seconds per
    JSON-RPC call of the indexer and chain-dependent answers;
    ``ready_timeout``: of the readiness probe. ``ready_max_lag``: blocks the
    index may trail ``head - confirmations`` and still be ready.
    ``max_index_lag``: blocks the index may trail ``head - confirmations`` and
    still back answers that need the chain (verifications, proofs read from the
    chain); beyond, they are 503 with ``Retry-After`` (index-backed answers keep
    working, with their lag).
    ``retry_after``: seconds clients are told to wait when the node is down.
    ``insecure_rpc``: accept a plain ``http://`` ``rpc_url`` to a host other
    than this machine (refused otherwise: anyone on the way could rewrite the
    node's answers; ``provenance serve --insecure-rpc``).
    ``policy_path``: the trust policy (docs/policy.md) of the verification
    routes (``provenance serve --policy``); None: the default policy, which
    trusts no publisher. Read and validated here, once per process (a
    :class:`PolicyError` for a bad file): :attr:`policy` is what the routes use.
    ``fetch_private``: fetch Statements and batch documents named by records'
    uris from loopback, private and link-local addresses and over plain http
    (a local node, tests; ``provenance serve --fetch-private`` or
    ``PROVENANCE_FETCH_PRIVATE=1``, docs/fetching.md); the service's
    :class:`provenance.fetch.Fetcher` is built with it.
    ``remember_answers``: keep index-backed answers and verdicts in memory
    until the index changes, and answer a repeated GET from them
    (:class:`api.answers.Shortcut`); False builds every answer anew (the
    cost of a URL not remembered: ``bench/api_bench.py --mode cold``).
    """

    rpc_url: str
    registry: str
    index_path: Path | str
    confirmations: int = 0
    poll_interval: float = 2.0
    upload_limit: int = 1 << 30
    json_limit: int = 16 << 20
    manifest_limit: int = 1_000_000
    statement_quota: int = 10_000
    max_verifications: int = 8
    verification_wait: float = 2.0
    start_block: int | None = None
    rpc_timeout: float = 10.0
    ready_timeout: float = 1.0
    ready_max_lag: int = 5
    retry_after: int = 5
    max_index_lag: int = 64
    insecure_rpc: bool = False
    policy_path: Path | None = None
    fetch_private: bool = False
    index_pool_size: int = POOL_SIZE
    remember_answers: bool = True

    def __post_init__(self) -> None:
        from provenance._sql import is_database_url
        from provenance.ledger import check_rpc_url, require_http_url
        from provenance.record import parse_address

        require_http_url(self.rpc_url)
        if not isinstance(self.insecure_rpc, bool):
            raise InvalidValue(f"insecure_rpc must be true or false, got {self.insecure_rpc!r}")
        if not isinstance(self.fetch_private, bool):
            raise InvalidValue(f"fetch_private must be true or false, got {self.fetch_private!r}")
        if not isinstance(self.remember_answers, bool):
            raise InvalidValue(f"remember_answers must be true or false, got {self.remember_answers!r}")
        check_rpc_url(self.rpc_url, insecure=self.insecure_rpc, flag="--insecure-rpc (insecure_rpc)")
        object.__setattr__(self, "registry", parse_address(self.registry, "registry address"))
        if not is_database_url(self.index_path):
            object.__setattr__(self, "index_path", Path(self.index_path))
        if self.confirmations < 0 or (self.start_block is not None and self.start_block < 0) or self.ready_max_lag < 0:
            raise InvalidValue("confirmations, start_block and ready_max_lag must be >= 0")
        if type(self.max_index_lag) is not int or self.max_index_lag < 0:
            raise InvalidValue(f"max_index_lag must be an integer >= 0, got {self.max_index_lag!r}")
        if self.poll_interval <= 0 or self.rpc_timeout <= 0 or self.ready_timeout <= 0:
            raise InvalidValue("poll_interval, rpc_timeout and ready_timeout must be > 0 seconds")
        if not 0 <= self.verification_wait <= 60:
            raise InvalidValue(f"verification_wait must be from 0 to 60 seconds, got {self.verification_wait!r}")
        limits = ("upload_limit", "json_limit", "manifest_limit", "statement_quota", "max_verifications",
                  "retry_after", "index_pool_size")
        for name in limits:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise InvalidValue(f"{name} must be an integer >= 1, got {value!r}")
        from provenance.policy import Policy

        if self.policy_path is not None:
            object.__setattr__(self, "policy_path", Path(self.policy_path))
        # not a field: derived from policy_path, so equality, to_json and the workers' copy follow the file
        policy = Policy.default() if self.policy_path is None else Policy.from_file(self.policy_path)
        object.__setattr__(self, "_policy", policy)

    @property
    def policy(self) -> Policy:
        """The service's trust policy (read from ``policy_path`` at construction, or the default)."""
        policy: Policy = self.__dict__["_policy"]
        return policy

    def to_json(self) -> str:
        data = asdict(self)
        data["index_path"] = str(self.index_path)
        data["policy_path"] = None if self.policy_path is None else str(self.policy_path)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServiceSettings:
        try:
            data = json.loads(text)
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as err:
            raise InvalidValue(f"{ENV_VAR} does not hold valid service settings: {err}") from None

    @classmethod
    def from_env(cls) -> ServiceSettings:
        text = os.environ.get(ENV_VAR)
        if not text:
            raise UsageError(f"{ENV_VAR} is not set", hint="start the service with `provenance serve`")
        return cls.from_json(text)

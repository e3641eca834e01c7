"""`provenance serve`: run the verifier service (FastAPI under uvicorn).

The chain is resolved like every other command (``--network``, ``--rpc-url``,
``--registry``, ``--home``; the local chain is started when needed). With an
explicit ``--rpc-url`` and ``--registry`` the node need not be up: the service
starts anyway, answers from its index and follows the chain once it answers.
The settings reach each uvicorn worker as JSON in ``PROVENANCE_SERVICE_SETTINGS``.
FastAPI and uvicorn are imported only here, inside the handler.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from api.settings import ServiceSettings


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("serve", help="run the verifier service (HTTP API and auditors' page)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument(
        "--index",
        help="SQLite index file (default: $PROVENANCE_HOME/index.sqlite), or a postgresql://USER@HOST/DB URL: a "
        "PostgreSQL index shared by several `provenance serve` replicas, one of which indexes (docs/index.md)",
    )
    parser.add_argument(
        "--index-pool-size", type=int, default=None, metavar="N",
        help="most connections each worker keeps to a PostgreSQL --index (default 16; a read waits up to 5 s for "
        "one, then 503); the database's max_connections must cover replicas x workers x N + replicas",
    )
    parser.add_argument("--confirmations", type=int, default=None,
                        help="blocks below the head before indexing (default: the --network's, else 0)")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds between syncs (default 2)")
    parser.add_argument("--start-block", type=int, default=None, metavar="N",
                        help="the first block an empty index reads (default: the block the registry was created "
                        "in, as `provenance chain deploy` recorded it, else found on the chain)")
    parser.add_argument(
        "--upload-limit", type=int, default=1 << 30,
        help="largest file upload (POST /v1/verify/file) in bytes (default 1 GiB; 413 above)",
    )
    parser.add_argument(
        "--json-limit", type=int, default=16 << 20,
        help="largest body of any other request (a JSON Statement) in bytes (default 16 MiB; 413 above)",
    )
    parser.add_argument(
        "--manifest-limit", type=int, default=1_000_000,
        help="most manifest entries a posted Statement may list (default 1000000; 413 above)",
    )
    parser.add_argument(
        "--statement-quota", type=int, default=10_000,
        help="most Statements kept per publisher (default 10000; POST /v1/statements answers 429 for a new "
        "record beyond)",
    )
    parser.add_argument(
        "--max-verifications", type=int, default=8,
        help="verifications each worker runs at once (default 8); one more waits for a slot",
    )
    parser.add_argument(
        "--verification-wait", type=float, default=2.0,
        help="seconds a verification waits for a slot before 503 with Retry-After (default 2)",
    )
    parser.add_argument(
        "--max-index-lag", type=int, default=64,
        help="blocks the index may trail head - confirmations and still back verifications (default 64; "
        "503 with Retry-After beyond)",
    )
    parser.add_argument(
        "--policy", metavar="FILE",
        help="trust policy (YAML or JSON, docs/policy.md) of the verification routes (default: the default "
        "policy, which trusts no publisher); read once at start",
    )
    parser.add_argument(
        "--fetch-private", action="store_true",
        help="fetch Statements and batch documents from loopback, private and link-local addresses and over "
        "plain http (a local node, tests; default: refused; also PROVENANCE_FETCH_PRIVATE=1; docs/fetching.md)",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(handler=run)


def resolve(args: Namespace) -> ServiceSettings:
    """The service settings for these options (connects only when the registry must be looked up)."""
    from pathlib import Path

    from api.settings import ServiceSettings
    from cli.context import open_ledger, registry_of, settings_from
    from provenance._sql import is_database_url
    from provenance.errors import UsageError
    from provenance.fetch import env_allows_private

    settings = settings_from(args)
    policy = Path(args.policy).expanduser().resolve() if getattr(args, "policy", None) else None
    if policy is not None:  # a bad file is refused (exit 2) before any connection is made
        from provenance.policy import Policy

        Policy.from_file(policy)
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if getattr(args, "start_block", None) is not None and args.start_block < 0:
        raise UsageError(f"--start-block must be a block number >= 0, got {args.start_block}")
    start_block = getattr(args, "start_block", None)
    if settings.rpc_url and settings.registry:
        rpc_url, registry = settings.rpc_url, settings.registry
    else:
        ledger = open_ledger(settings)
        rpc_url, registry = ledger.rpc_url, registry_of(ledger)
        if start_block is None:  # recorded for this registry; else None: the service finds it on the chain
            start_block = ledger.deploy_block
    index: Path | str
    pool_size = getattr(args, "index_pool_size", None)
    if pool_size is not None and pool_size < 1:
        raise UsageError(f"--index-pool-size must be at least 1, got {pool_size}")
    if is_database_url(args.index):
        index = args.index
    elif pool_size is not None:
        raise UsageError("--index-pool-size is for a PostgreSQL --index (postgresql://…); SQLite has one connection")
    else:
        index = (Path(args.index).expanduser() if args.index else settings.home / "index.sqlite").resolve()
        index.parent.mkdir(parents=True, exist_ok=True)
    return ServiceSettings(
        rpc_url=rpc_url,
        registry=registry,
        index_path=index,
        confirmations=args.confirmations if args.confirmations is not None else (
            settings.chain.confirmations if settings.chain is not None else 0),
        poll_interval=args.poll_interval,
        start_block=start_block,
        upload_limit=args.upload_limit,
        json_limit=args.json_limit,
        manifest_limit=args.manifest_limit,
        statement_quota=args.statement_quota,
        max_verifications=args.max_verifications,
        verification_wait=args.verification_wait,
        max_index_lag=args.max_index_lag,
        insecure_rpc=bool(getattr(args, "insecure_rpc", False)),
        policy_path=policy,
        fetch_private=bool(getattr(args, "fetch_private", False)) or env_allows_private(),
        **({} if pool_size is None else {"index_pool_size": pool_size}),
    )


def run(args: Namespace) -> int:
    import os
    import sys

    from api.settings import ENV_VAR
    from cli.terminal import PASSWORD_ENV
    from provenance._rpc import redact_url  # the URL may carry an API key
    from provenance._sql import redact_database_url  # and the index's its password

    service = resolve(args)
    os.environ[ENV_VAR] = service.to_json()
    # the service signs nothing: its workers (separate processes with --workers) inherit no key password
    os.environ.pop(PASSWORD_ENV, None)
    index = redact_database_url(str(service.index_path))
    print(
        f"serving on http://{args.host}:{args.port} ({args.workers} worker{'s' if args.workers > 1 else ''}); "
        f"chain {redact_url(service.rpc_url)}, registry {service.registry}, index {index}",
        file=sys.stderr,
    )
    import uvicorn

    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0

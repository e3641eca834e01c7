"""A verifier service as a source of Statements (``provenance verify --service URL``).

The chain holds a batched record only as its batch's root, and a record's
Statement only where its uri says. A service that follows the registry keeps
the Statements of batched records (from their batches' documents) and those
publishers posted; this asks it (``GET /v1/statements/...``). What it answers
is evidence, never a verdict: each Statement is checked against the chain by
the verifier like any other. A service that cannot be reached or answers
nonsense gives nothing, and :attr:`ServiceSource.problems` says why.
"""

from __future__ import annotations

from provenance.errors import FetchError, InvalidValue, StatementError
from provenance.fetch import Fetcher
from provenance.record import hex32
from provenance.statement import Statement

__all__ = ["ServiceSource"]

#: The largest answer read from a service (100 Statements of a few KiB, with room).
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class ServiceSource:
    """Statements a verifier service keeps, fetched on demand and remembered for this run."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise InvalidValue(f"--service must be an http(s) URL of a verifier service, got {url!r}")
        self.url = url.rstrip("/")
        # the user named this service: a local or private address is what they asked for
        self._fetcher = Fetcher(allow_private=True, max_bytes=MAX_ANSWER_BYTES, timeout=timeout,
                                deadline=4 * timeout, retries=1)
        self._by_subject: dict[bytes, list[Statement]] = {}
        self._by_record: dict[bytes, Statement | None] = {}
        self.problems: list[str] = []

    def statements_for(self, subject: bytes) -> list[Statement]:
        known = self._by_subject.get(subject)
        if known is not None:
            return known
        answer = self._get(f"/v1/statements/by-subject/{hex32(subject)}")
        found: list[Statement] = []
        for item in (answer or {}).get("statements", []) if isinstance(answer, dict) else []:
            statement = self._statement(item)
            if statement is not None and statement.subject == subject:
                found.append(statement)
                self._by_record[statement.record_id] = statement
        self._by_subject[subject] = found
        return found

    def statement(self, record_id: bytes) -> Statement | None:
        if record_id in self._by_record:
            return self._by_record[record_id]
        answer = self._get(f"/v1/statements/{hex32(record_id)}")
        statement = self._statement(answer.get("statement")) if isinstance(answer, dict) else None
        if statement is not None and statement.record_id != record_id:
            self.problems.append(f"{self.url} answered another record's Statement for {hex32(record_id)}")
            statement = None
        self._by_record[record_id] = statement
        return statement

    def files(self, sha256_hex: str) -> list[tuple[str, str]]:
        return []  # file look-ups go to the service's own /v1/files

    def _get(self, path: str) -> object:
        try:
            data = self._fetcher.fetch(self.url + path)
        except FetchError as err:
            if err.status != 404:
                self.problems.append(str(err))
            return None
        from pydantic_core import from_json  # imported when a service is asked: most verifications ask none

        try:  # pydantic-core's parser: bounded nesting, unlike json's (see Statement.loads)
            return from_json(data, allow_inf_nan=False)
        except ValueError:
            self.problems.append(f"{self.url}{path} did not answer JSON")
            return None

    def _statement(self, item: object) -> Statement | None:
        try:
            return Statement.from_json(item, source=f"a Statement from {self.url}")
        except StatementError as err:
            self.problems.append(str(err))
            return None

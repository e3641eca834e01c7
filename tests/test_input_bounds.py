"""Hostile input refused with the library's errors, never a traceback: a Statement's bounds (parents, uri,
chainId, block numbers), manifest sizes beyond uint256, directory trees deeper than the walk goes."""

from __future__ import annotations

import json
import os
import time

import pytest

from provenance import _hashing
from provenance.errors import ManifestError, StatementError
from provenance.manifest import Manifest, ManifestEntry
from provenance.record import MAX_PARENTS, MAX_URI_LENGTH, Kind, Record
from provenance.statement import Statement
from tests.helpers import deep_tree, remove_deep_tree

PUBLISHER = "0x" + "11" * 20
REGISTRY = "0x" + "22" * 20


def statement_json() -> dict:
    record = Record.create(b"\x01" * 32, Kind.DATASET, b"\x02" * 32, [b"\x03" * 32], "ipfs://x")
    statement = Statement.create(
        name="sample", record=record, publisher=PUBLISHER, signature=b"\x05" * 65, chain_id=31337,
        registry=REGISTRY, manifest={"version": 1, "files": []},
    )
    data = statement.to_json()
    del data["predicate"]["recordId"]  # so that a changed record is refused for what is wrong with it
    return data


def test_a_statement_with_200000_parents_is_refused_at_once():
    data = statement_json()
    data["predicate"]["record"]["parents"] = ["0x" + os.urandom(32).hex() for _ in range(200_000)]
    parsed = json.loads(json.dumps(data))
    started = time.perf_counter()
    with pytest.raises(StatementError, match=rf"parents lists 200000 parents; a record has at most {MAX_PARENTS}"):
        Statement.from_json(parsed)
    assert time.perf_counter() - started < 0.2  # counted, not parsed one by one


@pytest.mark.parametrize(
    "uri, message",
    [
        (5, "predicate.record.uri must be a string, got int"),
        (["ipfs://x"], "predicate.record.uri must be a string, got list"),
        ("ipfs://\ud800", "predicate.record.uri is not valid UTF-8 \\(a lone surrogate at character 7\\)"),
        ("é" * 257, f"predicate.record.uri is 514 bytes \\(UTF-8\\); a record's uri is at most {MAX_URI_LENGTH}"),
    ],
)
def test_a_uri_that_is_no_string_or_too_long_is_refused_by_name(uri, message):
    data = statement_json()
    data["predicate"]["record"]["uri"] = uri
    with pytest.raises(StatementError, match=message):
        Statement.from_json(data)
    data["predicate"]["record"]["uri"] = "é" * 256  # exactly 512 bytes: the registry takes it
    assert Statement.from_json(data).record.uri == "é" * 256


@pytest.mark.parametrize("chain_id", [-1, 2**256, "31337", 1.5, True, None])
def test_a_chain_id_outside_uint256_is_refused(chain_id):
    data = statement_json()
    data["predicate"]["chain"]["chainId"] = chain_id
    with pytest.raises(StatementError, match="chainId must be an integer from 0 to 2\\^256-1"):
        Statement.from_json(data)
    data["predicate"]["chain"]["chainId"] = 2**256 - 1
    assert Statement.from_json(data).chain_id == 2**256 - 1


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.update(disclosures="copyright"), "disclosures must be a list of objects"),
        (lambda p: p.update(disclosures=[1, 2]), "disclosures must be a list of objects"),
        (lambda p: p.update(manifest=[]), "manifest must be an object or null"),
        (lambda p: p.update(anchor=["direct"]), "anchor must be an object or null"),
        (lambda p: p.update(anchor={"type": "direct", "txHash": "0x" + "00" * 32, "blockNumber": 2**64}),
         "blockNumber must be an integer from 0 to 2\\^63-1"),
        (lambda p: p["record"].update(parents="0x" + "03" * 32), "parents must be a list"),
        (lambda p: p.update(record=[]), "predicate.record must be an object"),
    ],
)
def test_malformed_members_are_refused_by_name(mutate, message):
    data = statement_json()
    mutate(data["predicate"])
    with pytest.raises(StatementError, match=message):
        Statement.from_json(data)


def test_a_subject_name_that_is_no_utf8_string_is_refused():
    data = statement_json()
    data["subject"][0]["name"] = "\udcff"
    with pytest.raises(StatementError, match="subject\\[0\\].name is not valid UTF-8"):
        Statement.from_json(data)


def test_a_statement_file_nested_a_million_levels_deep_is_refused_not_a_crash(tmp_path, request):
    import sys

    # the limit py_ecc (eth-account) sets on import, which the library puts back (provenance._imports):
    # the Statement parser must not depend on that
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(100_000, limit))
    request.addfinalizer(lambda: sys.setrecursionlimit(limit))
    path = tmp_path / "provenance.json"
    path.write_text('{"_type": "https://in-toto.io/Statement/v1", "x": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}")
    with pytest.raises(StatementError, match="provenance.json is not JSON \\(recursion limit exceeded"):
        Statement.from_file(path)
    with pytest.raises(StatementError, match="the body is not JSON \\(lone leading surrogate"):
        Statement.loads('{"a": "\\udc00"}', source="the body")


def test_provenance_hash_check_of_a_deeply_nested_manifest_exits_2(tmp_path):
    from tests.helpers import run_cli

    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "a.txt").write_text("a")
    hostile = tmp_path / "manifest.json"
    hostile.write_text('{"version": 1, "files": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ManifestError, match="the manifest is not valid JSON \\(recursion limit exceeded"):
        Manifest.from_json(hostile.read_bytes())
    done = run_cli("hash", str(tmp_path / "artifact"), "--check", str(hostile),
                   env={"PROVENANCE_HOME": str(tmp_path / "home")})
    assert done.returncode == 2, done.stderr
    assert "the manifest is not valid JSON (recursion limit exceeded" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("size", [2**256, 2**300])
def test_a_manifest_size_beyond_uint256_is_a_manifest_error(size):
    files = [{"path": "weights.bin", "size": size, "sha256": "00" * 32}]
    with pytest.raises(ManifestError, match="size must be an integer from 0 to 2\\^256-1"):
        Manifest.from_dict({"version": 1, "files": files})
    with pytest.raises(ManifestError, match="offset must be"):
        ManifestEntry("weights.bin", 2**256 - 1, b"\x00" * 32, 1)
    largest = Manifest.from_dict({"version": 1, "files": [dict(files[0], size=2**256 - 1)]})
    assert largest.total_size == 2**256 - 1 and len(largest.subject) == 32


@pytest.fixture
def nest(tmp_path):
    """``nest(name, levels)``: a tree ``levels`` directories deep under tmp_path, removed afterwards."""
    made = []

    def make(name: str, levels: int):
        made.append(tmp_path / name)
        deep_tree(made[-1], levels)
        return made[-1]

    yield make
    for root in made:
        remove_deep_tree(root)


def test_a_tree_deeper_than_the_walk_goes_is_a_manifest_error(nest):
    deep = nest("deep", 1_000)
    with pytest.raises(ManifestError, match=f"nested more than {_hashing.MAX_DEPTH} levels deep"):
        Manifest.from_path(deep)
    manifest = Manifest.from_path(nest("allowed", _hashing.MAX_DEPTH))
    assert manifest.paths == ("d/" * _hashing.MAX_DEPTH + "f.txt",)


def test_provenance_hash_of_a_deep_tree_exits_2_with_a_message(tmp_path, nest):
    from tests.helpers import run_cli

    done = run_cli("hash", str(nest("deep", 1_000)), env={"PROVENANCE_HOME": str(tmp_path / "home")})
    assert done.returncode == 2, done.stderr
    assert f"directories nested more than {_hashing.MAX_DEPTH} levels deep; refused" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_service_limits_are_settings_and_serve_options(tmp_path):
    from api.settings import ServiceSettings
    from provenance.errors import InvalidValue
    from tests.helpers import run_cli

    base = {"rpc_url": "http://127.0.0.1:1", "registry": REGISTRY, "index_path": tmp_path / "index.sqlite"}
    settings = ServiceSettings(**base)
    assert (settings.json_limit, settings.manifest_limit, settings.max_verifications) == (16 << 20, 1_000_000, 8)
    assert ServiceSettings.from_json(ServiceSettings(**base, json_limit=5).to_json()).json_limit == 5
    for name in ("json_limit", "manifest_limit", "max_verifications"):
        with pytest.raises(InvalidValue, match=f"{name} must be an integer >= 1"):
            ServiceSettings(**base, **{name: 0})
    helped = run_cli("serve", "--help").stdout
    for option in ("--json-limit", "--manifest-limit", "--max-verifications", "--upload-limit"):
        assert option in helped

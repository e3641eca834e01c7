"""Issue 16 end to end, through the CLI only, on anvil: a publisher registers a model and a benchmark
dataset; a trusted evaluator and a stranger each run `provenance evaluate`; someone who holds only the
download verifies the model from an empty PROVENANCE_HOME under policies that require a safety result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from provenance.statement import statement_path_for
from tests.publisher_home import EXAMPLES, Home, make_artifact, make_home

pytestmark = pytest.mark.chain

LM_EVAL = Path(__file__).resolve().parent / "data" / "evaluations" / "lm_eval_results.json"
THIRD = "0x" + "3e" * 20  # an evaluator who registered nothing


def results(folder: Path, model: Path, toxigen: float) -> Path:
    """The lm-evaluation-harness fixture, run on ``model``, with toxigen's acc edited to ``toxigen``."""
    data = json.loads(LM_EVAL.read_text())
    data["config"].update(model_args=f"pretrained={model},dtype=bfloat16")
    for key in ("model_revision", "model_sha"):
        data["config"].pop(key)
    data["results"]["toxigen"]["acc,none"] = toxigen
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def register(home: Home, artifact: Path, kind: str) -> dict[str, Any]:
    """Register ``artifact`` with its Statement's location as the record's uri (where a stranger finds it)."""
    uri = statement_path_for(artifact).as_uri()
    done = home.run("register", str(artifact), "--kind", kind, "--claims", str(EXAMPLES / f"{kind}.yaml"),
                    "--uri", uri, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def evaluate(home: Home, model: Path, results_file: Path, benchmark: str) -> dict[str, Any]:
    """`provenance evaluate MODEL --results FILE --yes`, the Statement published at the record's uri."""
    done = home.run("evaluate", str(model), "--results", str(results_file), "--benchmark", benchmark,
                    "--category", "safety", "--uri", statement_path_for(results_file).as_uri(), "--yes", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def verify(tmp_path: Path, url: str, registry: str, download: Path, policy: dict[str, Any], name: str,
           *extra: str) -> Any:
    """`provenance verify DOWNLOAD --policy P` from an empty PROVENANCE_HOME."""
    policy_file = tmp_path / f"{name}.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    fresh = Home(tmp_path / f"stranger-home-{name}", url, registry, {})
    fresh.path.mkdir()
    return fresh.run("verify", str(download), "--policy", str(policy_file), *extra)


def short(record_id: str) -> str:
    """A record id as the verdict table abbreviates it."""
    return f"{record_id[:10]}...{record_id[-4:]}"


def entry(table: str, *needles: str) -> str:
    """The verdict table's line holding every needle, with the lines continuing it (a long evaluations
    line's results are printed one per line beneath it)."""
    lines = table.splitlines()
    for i, line in enumerate(lines):
        if all(n in line for n in needles):
            j = i + 1
            while j < len(lines) and lines[j].startswith(" "):
                j += 1
            return "\n".join(lines[i:j])
    raise AssertionError(f"no line with {needles} in:\n{table}")


def test_a_safety_requirement_through_the_cli(tmp_path, ledger):
    url, registry = ledger.rpc_url, ledger.registry
    publisher = make_home(tmp_path / "publisher", url, registry)
    trusted = make_home(tmp_path / "trusted", url, registry, "lab")
    stranger = make_home(tmp_path / "stranger", url, registry, "rival")
    lab, rival, pub = trusted.addresses["lab"], stranger.addresses["rival"], publisher.addresses["pub"]

    model = make_artifact(tmp_path / "published", "llm-7b", {"model.safetensors": b"\x01\x02" * 2048,
                                                             "config.json": b"{}"})
    other = make_artifact(tmp_path / "published", "llm-7b-other", {"model.safetensors": b"\x03\x04" * 2048,
                                                                   "config.json": b"{}"})
    bench = make_artifact(tmp_path / "published", "toxigen", {"test.parquet": b"toxigen rows" * 64})
    md, ds = register(publisher, model, "model"), register(publisher, bench, "dataset")
    register(publisher, other, "model")

    # what the user downloaded: the model's folder with the provenance.json inside it, nothing else
    download = tmp_path / "download" / "llm-7b"
    shutil.copytree(model, download)
    assert (download / "provenance.json").exists()

    def requiring(minimum: float, by: list[str], trusted_evaluators: list[str]) -> dict[str, Any]:
        return {"trusted_publishers": [pub], "trusted_evaluators": trusted_evaluators,
                "require": {"evaluations": [{"task": "toxigen", "metric": "acc", "min": minimum,
                                             "category": "safety", "by": by}]}}

    # only the stranger's (better) score exists: it is information, the requirement is EVAL_MISSING
    theirs = evaluate(stranger, model, results(tmp_path / "rival-run", model, 0.95), ds["subject"])
    missing = verify(tmp_path, url, registry, download, requiring(0.8, [lab], [lab]), "only-stranger")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "EVAL_MISSING" in missing.stdout
    assert "toxigen acc 0.95 ± 0.0161601 (test, 0-shot)" in entry(missing.stdout, "UNTRUSTED_PUBLISHER", rival)
    required = entry(missing.stdout, "EVAL_MISSING", "Required toxigen acc >= 0.8 (safety):")
    assert f"no evaluation of this subject by {lab} reports it" in required
    assert f"not counted: 0.95 by {rival}" in required

    # the trusted lab's evaluation of other weights, even naming this model as its benchmark, never counts
    elsewhere = evaluate(trusted, other, results(tmp_path / "lab-run-other", other, 0.95), md["subject"])
    still = verify(tmp_path, url, registry, download, requiring(0.8, [lab], [lab]), "other-weights")
    assert still.returncode == 1 and "EVAL_MISSING" in still.stdout, still.stdout

    # the trusted lab's 0.82 on this model: meets min 0.8, the stranger's 0.95 still information only
    ours = evaluate(trusted, model, results(tmp_path / "lab-run", model, 0.82), ds["subject"])
    passed = verify(tmp_path, url, registry, download, requiring(0.8, [lab], [lab]), "min-0.8")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # the human table: each evaluation by whom, trusted or not, its results one per line beneath it
    trusted_lines = entry(passed.stdout, "evaluations", lab, "an evaluator the policy trusts:").splitlines()
    assert trusted_lines[0].split()[:3] == ["evaluations", "pass", "OK"]
    assert "toxigen acc 0.82 ± 0.0161601 (test, 0-shot)" in [t.strip() for t in trusted_lines[1:]]
    assert len(trusted_lines) == 7 and max(len(t) for t in trusted_lines[1:]) <= 120, passed.stdout
    stranger_lines = entry(passed.stdout, "evaluations", rival, "does not trust").splitlines()
    assert stranger_lines[0].split()[:3] == ["evaluations", "info", "UNTRUSTED_PUBLISHER"]
    assert "toxigen acc 0.95 ± 0.0161601 (test, 0-shot)" in [t.strip() for t in stranger_lines[1:]]
    assert "met by " + lab in entry(passed.stdout, "evaluations", "Required toxigen acc >= 0.8 (safety)")
    assert "EVAL_" not in passed.stdout and short(elsewhere["recordId"]) not in passed.stdout
    verdict = json.loads(verify(tmp_path, url, registry, download, requiring(0.8, [lab], [lab]), "min-0.8-json",
                                "--json").stdout)
    evaluations = [c for c in verdict["checks"] if c["check"] == "evaluations"]
    records = json.dumps(evaluations)
    assert ours["recordId"] in records and theirs["recordId"] in records and elsewhere["recordId"] not in records
    assert {c["status"] for c in evaluations} <= {"pass", "info"}
    assert len(evaluations) == 3  # the lab's, the stranger's, the requirement: the other weights' is not listed
    (claims,) = [c for c in verdict["checks"] if c["check"] == "claims"]
    assert claims["message"].startswith("17 of 27 claim fields disclosed"), claims["message"]

    # min 0.9: the trusted 0.82 is below it, whatever the stranger claims
    below = verify(tmp_path, url, registry, download, requiring(0.9, [lab], [lab]), "min-0.9")
    assert below.returncode == 1, below.stdout + below.stderr
    assert "report 0.82 by " + lab in entry(below.stdout, "EVAL_BELOW_THRESHOLD", ">= 0.9")

    # nobody's evaluations trusted, one required by a third address: EVAL_MISSING
    nobody = verify(tmp_path, url, registry, download, requiring(0.8, [THIRD], []), "third")
    assert nobody.returncode == 1, nobody.stdout + nobody.stderr
    assert "no evaluation of this subject by " + THIRD in entry(nobody.stdout, "EVAL_MISSING").lower()

    # the evaluation itself, verified as a file: its claims line counts an evaluation's own fields
    result_file = tmp_path / "lab-run" / "results.json"
    own = verify(tmp_path, url, registry, result_file, {"trusted_publishers": [lab, pub]},
                 "the-evaluation", "--json")
    assert own.returncode == 0, own.stdout + own.stderr
    (claims,) = [c for c in json.loads(own.stdout)["checks"] if c["check"] == "claims"]
    # kind, name and version are committed but not disclosed by evaluate; the 8 evaluation fields are
    assert claims["message"].startswith("8 of 11 claim fields disclosed"), claims["message"]

"""Evaluation results as people have them, read into the facts of an evaluation record.

Two formats (docs/evaluations.md):

* ``lm-eval``: the results JSON lm-evaluation-harness writes (``results_<date>.json``):
  ``results`` maps each task to ``"metric,filter": value`` and ``"metric_stderr,filter": stderr``
  (``"acc,none"`` becomes metric ``acc``; another filter is kept, ``exact_match,strict-match``);
  ``configs`` gives each task's split (``test_split``, else ``validation_split``) and
  ``num_fewshot``, ``n-shot`` the shots actually used; ``config`` names the model
  (``model_args`` ``pretrained=...,revision=...``, ``model_revision``, ``model_sha``);
  ``date`` is a Unix time; ``lm_eval_version`` (or ``git_hash``) the harness's version. The
  configuration digest is the SHA-256 of the canonical JSON of ``{"config": ..., "configs": ...}``.
* ``model-index``: a model card's ``model-index`` block, read with huggingface_hub's card classes
  (:class:`huggingface_hub.ModelCard`, its ``eval_results``): task ``dataset_type`` (with
  ``/dataset_config`` when one is given), metric ``metric_type``, value ``metric_value``, split
  ``dataset_split``, shots ``dataset_args.num_few_shot``; the model is the block's ``name``.

A value that is not a finite number (``"N/A"``, NaN) is left out and said so (:attr:`Imported.skipped`).

:func:`check_model` compares the model the results name with the artifact evaluated, and refuses
results of other weights with the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from provenance.claims import EvaluationResult, Harness
from provenance.commitments import canonical_json
from provenance.errors import InvalidValue
from provenance.record import hex32

__all__ = ["Format", "FORMATS", "NamedModel", "Imported", "EvaluatedModel", "ModelCheck", "load_results",
           "parse_lm_eval", "parse_model_index", "check_model"]

Format = Literal["lm-eval", "model-index"]
FORMATS: tuple[Format, ...] = ("lm-eval", "model-index")
HARNESS = "lm-evaluation-harness"
_ACCEPTED = ("an lm-evaluation-harness results JSON (results, configs, versions, n-shot, config) or a model card "
             "(README.md) whose YAML metadata has a model-index block")
#: lm-evaluation-harness's own order (GeneralConfigTracker._get_model_name): an adapter names the model first.
_MODEL_KEYS = ("peft", "delta", "pretrained", "model", "path", "engine")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_NOT_METRICS = {"alias", "samples", "name", "sample_len", " ", ""}


@dataclass(frozen=True)
class NamedModel:
    """What the results say the evaluated model is; ``where`` says which keys said it."""

    name: str | None  # a path or a Hub repository id, as written
    revision: str | None
    sha: str | None
    where: str


@dataclass(frozen=True)
class Imported:
    """The evaluation facts read from one results document."""

    format: Format
    results: tuple[EvaluationResult, ...]
    model: NamedModel | None
    harness: Harness | None = None
    date: date | None = None
    config_digest: str | None = None
    skipped: tuple[str, ...] = ()


def load_results(path: Path, fmt: Format | None = None) -> Imported:
    """Read ``path`` in format ``fmt``, or the format its content shows (JSON with ``results``: lm-eval;
    a card with front matter: model-index). Refuses anything else, saying what is accepted."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidValue(f"results file {path} does not exist", hint="check the path given to --results") from None
    except UnicodeDecodeError:
        raise InvalidValue(f"results file {path} is not UTF-8 text; accepted: {_ACCEPTED}") from None
    except OSError as err:
        raise InvalidValue(f"results file {path} cannot be read: {err.strerror}") from None
    if fmt is None:
        fmt = "model-index" if text.lstrip().startswith("---") else "lm-eval"
    if fmt == "model-index":
        return parse_model_index(text, source=str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidValue(
            f"results file {path} is not JSON ({err.msg}, line {err.lineno}); accepted: {_ACCEPTED}"
        ) from None
    return parse_lm_eval(data, source=str(path))


# ---------------------------------------------------------------- lm-evaluation-harness


def parse_lm_eval(data: object, *, source: str = "the results") -> Imported:
    """The facts of an lm-evaluation-harness results document (already parsed JSON)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), Mapping):
        raise InvalidValue(
            f"{source} is not an lm-evaluation-harness results file: no 'results' mapping of task -> metrics; "
            f"accepted: {_ACCEPTED}"
        )
    configs = _mapping(data.get("configs"))
    shots = _mapping(data.get("n-shot"))
    results: list[EvaluationResult] = []
    skipped: list[str] = []
    for task, metrics in sorted(data["results"].items()):
        if not isinstance(metrics, Mapping):
            skipped.append(f"{task}: not a mapping of metrics")
            continue
        config = _mapping(configs.get(task))
        split = _split(config)
        n_shot = _whole(shots.get(task), _whole(config.get("num_fewshot"), None))
        for key, value in sorted(metrics.items()):
            metric, _, flt = str(key).partition(",")
            if key in _NOT_METRICS or metric.endswith("_stderr"):
                continue
            if not _finite(value):
                skipped.append(f"{task} {key}: {json.dumps(value)} is not a finite number")
                continue
            stderr_key = f"{metric}_stderr,{flt}" if flt else f"{metric}_stderr"
            stderr = metrics.get(stderr_key)
            results.append(EvaluationResult(
                task=str(task), metric=metric if flt in ("", "none") else f"{metric},{flt}", value=float(value),
                stderr=_stderr(stderr), split=split,
                n_shot=n_shot, benchmark=None,
            ))  # fmt: skip
    if not results:
        raise InvalidValue(
            f"{source}: no result with a numeric value under 'results'"
            + (f" ({'; '.join(skipped)})" if skipped else "") + f"; accepted: {_ACCEPTED}"
        )
    version = data.get("lm_eval_version")
    if not (isinstance(version, str) and version):
        git = data.get("git_hash")
        version = f"git {git}" if isinstance(git, str) and git else None
    try:
        digest = hashlib.sha256(canonical_json({"config": data.get("config"), "configs": data.get("configs")}))
    except (TypeError, ValueError) as err:
        raise InvalidValue(f"{source}: its config and configs are not plain JSON ({err})") from None
    return Imported(
        format="lm-eval", results=tuple(results), model=_named_in_lm_eval(data), harness=Harness(
            name=HARNESS, version=version), date=_date(data.get("date")),
        config_digest="0x" + digest.hexdigest(), skipped=tuple(skipped),
    )  # fmt: skip


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _split(config: Mapping[str, Any]) -> str | None:
    """The split lm-evaluation-harness scores: the test split when the task has one, else validation."""
    for key in ("test_split", "validation_split"):
        value = config.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _whole(value: object, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _stderr(value: object) -> float | None:
    """A standard error as lm-evaluation-harness writes it; ``"N/A"`` (a group's, sometimes) is none."""
    return float(value) if isinstance(value, (int, float)) and _finite(value) and value >= 0 else None


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _date(value: object) -> date | None:
    """``date`` is ``time.time()`` at the start of the run; an ISO text is read too."""
    if _finite(value):
        assert isinstance(value, (int, float))
        return datetime.fromtimestamp(value, UTC).date()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return None
    return None


def _model_args(value: object) -> dict[str, str]:
    """``pretrained=org/name,revision=main,dtype=float16`` (or the mapping a Python caller passed)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    args: dict[str, str] = {}
    if isinstance(value, str):
        for part in value.split(","):
            key, sep, text = part.partition("=")
            if sep:
                args[key.strip()] = text.strip()
    return args


def _named_in_lm_eval(data: Mapping[str, Any]) -> NamedModel | None:
    config = _mapping(data.get("config"))
    args = _model_args(config.get("model_args"))
    name = next(((args[k], f"config.model_args {k}=") for k in _MODEL_KEYS if args.get(k)), None)
    if name is None and isinstance(data.get("model_name"), str) and data["model_name"]:
        name = (data["model_name"], "model_name")
    revision = config.get("model_revision") or args.get("revision")
    sha = config.get("model_sha")
    where = [name[1]] if name else []
    where += ["config.model_revision" if config.get("model_revision") else "config.model_args revision="] * bool(
        revision)
    where += ["config.model_sha"] * bool(sha)
    if name is None and not revision and not sha:
        return None
    return NamedModel(name[0] if name else None, str(revision) if revision else None,
                      str(sha).lower() if sha else None, ", ".join(where))  # fmt: skip


# ---------------------------------------------------------------- model cards


def parse_model_index(text: str, *, source: str = "the card") -> Imported:
    """The facts of a card's ``model-index`` block, read with huggingface_hub's :class:`ModelCard`."""
    import yaml
    from huggingface_hub import ModelCard, ModelCardData

    try:
        data = ModelCard(text).data
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as err:
        raise InvalidValue(f"{source}: its model-index cannot be read ({err}); accepted: {_ACCEPTED}") from None
    if not isinstance(data, ModelCardData):  # pragma: no cover - a ModelCard's data always is one
        raise InvalidValue(f"{source}: not a model card; accepted: {_ACCEPTED}")
    evals = data.eval_results or []
    results: list[EvaluationResult] = []
    skipped: list[str] = []
    for item in evals:
        task = item.dataset_type + (f"/{item.dataset_config}" if item.dataset_config else "")
        if not _finite(item.metric_value):
            skipped.append(f"{task} {item.metric_type}: {json.dumps(item.metric_value)} is not a finite number")
            continue
        args = item.dataset_args if isinstance(item.dataset_args, Mapping) else {}
        results.append(EvaluationResult(
            task=task, metric=item.metric_type, value=float(item.metric_value), stderr=None,
            split=item.dataset_split or None, n_shot=_whole(args.get("num_few_shot"), None), benchmark=None,
        ))  # fmt: skip
    if not results:
        raise InvalidValue(
            f"{source}: no model-index result with a numeric value"
            + (f" ({'; '.join(skipped)})" if skipped else "") + f"; accepted: {_ACCEPTED}"
        )
    name = data.model_name
    model = NamedModel(name, None, None, "model-index name") if name else None
    return Imported(format="model-index", results=tuple(results), model=model, skipped=tuple(skipped))


# ---------------------------------------------------------------- which model


@dataclass(frozen=True)
class EvaluatedModel:
    """The artifact given as MODEL: as written, where it is, its subject and, for a Hugging Face cache
    snapshot, its repository and commit."""

    text: str
    path: Path
    subject: bytes
    repo_id: str | None = None
    commit: str | None = None

    @classmethod
    def of(cls, text: str, path: Path, subject: bytes) -> EvaluatedModel:
        from provenance.hfcache import snapshot_of

        snapshot = snapshot_of(path)
        if snapshot is None or snapshot.repo_type != "model":
            return cls(text, path, subject)
        return cls(text, path, subject, snapshot.repo_id, snapshot.commit)

    def describe(self) -> str:
        return f"{self.text} ({hex32(self.subject)})"


@dataclass(frozen=True)
class ModelCheck:
    """``checked``: the results name MODEL (``how``); else why that cannot be told here."""

    checked: bool
    how: str


def check_model(named: NamedModel | None, model: EvaluatedModel, *,
                subject_of: Callable[[Path], bytes]) -> ModelCheck:
    """Whether results naming ``named`` are results of ``model``; raises :class:`InvalidValue` (exit 2) when
    they name other weights: another local artifact (``subject_of`` hashes it), another Hub repository,
    another commit."""
    if named is None:
        return ModelCheck(False, "the results name no model")
    told: list[str] = []
    for commit, key in ((named.sha, "model_sha"), (named.revision, "revision")):
        if commit and _COMMIT.fullmatch(commit.lower()):
            if model.commit is None:
                continue
            if commit.lower() != model.commit:
                raise InvalidValue(
                    f"the results are for commit {commit} ({key}), not {model.text}, a snapshot of "
                    f"{model.repo_id} at commit {model.commit}",
                    hint="give the model the results were computed on",
                )
            told.append(f"commit {model.commit}")
    if named.name:
        told_name = _check_name(named.name, model, subject_of)
        if told_name is None:
            if not told:
                return ModelCheck(False, f"the results name {named.name} ({named.where}), which cannot be compared "
                                  f"with {model.text} here")
        else:
            told.insert(0, told_name)
    if not told:
        return ModelCheck(False, f"the results name no model this machine can compare ({named.where})")
    return ModelCheck(True, "the results name " + ", ".join(told))


def _check_name(name: str, model: EvaluatedModel, subject_of: Callable[[Path], bytes]) -> str | None:
    """What matched, or None when the name cannot be compared; raises when it names other weights."""
    from provenance.hfcache import snapshot_of

    given = Path(os.path.expanduser(name))
    if given.exists():
        if os.path.realpath(given) == os.path.realpath(model.path):
            return f"{name}, the path given"
        snapshot = snapshot_of(given)
        if snapshot is not None and model.repo_id is not None:
            return _same_repo(snapshot.repo_id, model, f"{name} (a snapshot of {snapshot.repo_id})") + (
                _same_commit(snapshot.commit, model, name))
        subject = subject_of(given)
        if subject != model.subject:
            raise InvalidValue(
                f"the results are for {name} (subject {hex32(subject)}), not {model.describe()}",
                hint="give the model the results were computed on",
            )
        return f"{name}, the same subject {hex32(subject)}"
    if given.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        snapshot = snapshot_of(given)  # a snapshot path of another machine still names its repository
        if snapshot is not None and model.repo_id is not None:
            return _same_repo(snapshot.repo_id, model, name) + _same_commit(snapshot.commit, model, name)
        return None
    if _REPO_ID.fullmatch(name) and model.repo_id is not None:
        return _same_repo(name, model, name)
    return None


def _same_repo(repo_id: str, model: EvaluatedModel, name: str) -> str:
    if model.repo_id is None or repo_id.lower() != model.repo_id.lower():
        raise InvalidValue(
            f"the results are for the Hugging Face repository {repo_id}, not {model.text} (a snapshot of "
            f"{model.repo_id})",
            hint="give the model the results were computed on",
        )
    return f"the repository {model.repo_id}"


def _same_commit(commit: str, model: EvaluatedModel, name: str) -> str:
    if model.commit is not None and commit != model.commit:
        raise InvalidValue(
            f"the results are for {name}, a snapshot at commit {commit}, not {model.text} at commit {model.commit}",
            hint="give the model the results were computed on",
        )
    return f" at commit {commit}"

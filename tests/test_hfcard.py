"""Claims from Hugging Face cards and card metadata from Statements (provenance.hfcard, `claims from-card`,
`export --format hf-card`).

The cards are written as they appear on the Hub: YAML front matter and a markdown body, with the keys real
cards carry (gating prompts, tags, pipeline tags, task metadata). Without a chain: each license shape maps
to what the verifier classifies, each base_model_relation to a lineage relation, unresolved names give TODO
lines, and every draft parses with Claims.from_file as it is and once its TODOs are filled. Through anvil
and the CLI: a complete card's draft registers without edits (its parents registered first, found by a
record's hf:// uri and by a disclosed name), a stranger finds the dataset through a service's event log,
and `export --format hf-card` gives back the card's license, base_model and datasets with the record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from huggingface_hub import DatasetCardData, ModelCardData

from provenance import licenses
from provenance.claims import Claims
from provenance.hfcard import (
    Resolution,
    Resolver,
    card_block,
    claims_license,
    draft_claims,
    hub_license,
    hub_licenses,
    load_card,
    repo_of_snapshot,
)
from provenance.record import Kind, hex32
from provenance.statement import Statement
from tests.api_helpers import serving_app
from tests.helpers import fresh_registry
from tests.publisher_home import make_artifact, make_home
from tests.test_hfcache import COMMIT, build_cache

# ---------------------------------------------------------------- cards as the Hub shows them

LLAMA_31_INSTRUCT = """\
---
language:
- en
- de
- fr
library_name: transformers
license: llama3.1
pipeline_tag: text-generation
base_model: meta-llama/Llama-3.1-8B
tags:
- facebook
- meta
- pytorch
- llama
- llama-3
extra_gated_prompt: "### LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\\nLlama 3.1 Version Release Date: July 23, 2024"
extra_gated_fields:
  First Name: text
  Last Name: text
  Country: country
  geo: ip_location
  By clicking Submit below I accept the terms of the license: checkbox
extra_gated_button_content: Submit
---

## Model Information

The Meta Llama 3.1 collection of multilingual large language models (LLMs) is a collection of pretrained
and instruction tuned generative models in 8B, 70B and 405B sizes.
"""

LLAMA_3_OTHER = """\
---
language:
- en
pipeline_tag: text-generation
tags:
- facebook
- meta
- llama
- llama-3
license: other
license_name: llama3
license_link: https://llama.meta.com/llama3/license/
---

## Model Details

Meta developed and released the Meta Llama 3 family of large language models (LLMs).
"""

CUSTOM_OTHER_RELATIVE = """\
---
license: other
license_name: tongyi-qianwen
license_link: LICENSE
language:
- en
- zh
pipeline_tag: text-generation
---

# Qwen-7B
"""

MISTRAL_GGUF = """\
---
license: apache-2.0
base_model: mistralai/Mistral-7B-Instruct-v0.3
base_model_relation: quantized
inference: false
model_creator: mistralai
model_name: Mistral-7B-Instruct-v0.3
pipeline_tag: text-generation
quantized_by: bartowski
tags:
- gguf
- imatrix
---

## Llamacpp imatrix Quantizations of Mistral-7B-Instruct-v0.3

Original model: https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.3
"""

LORA_ADAPTER = """\
---
base_model: meta-llama/Llama-2-7b-hf
base_model_relation: adapter
library_name: peft
license: llama2
tags:
- generated_from_trainer
- lora
datasets:
- timdettmers/openassistant-guanaco
model-index:
- name: llama2-7b-guanaco-lora
  results: []
---

# llama2-7b-guanaco-lora

This model is a fine-tuned version of [meta-llama/Llama-2-7b-hf](https://huggingface.co/meta-llama/Llama-2-7b-hf).

### Framework versions

- PEFT 0.7.1
"""

MERGE = """\
---
base_model:
- mistralai/Mistral-7B-v0.1
- HuggingFaceH4/zephyr-7b-beta
base_model_relation: merge
library_name: transformers
tags:
- mergekit
- merge
license: apache-2.0
---
# zephyr-mistral-slerp

This is a merge of pre-trained language models created using [mergekit](https://github.com/cg123/mergekit).
"""

DATASET_NC = """\
---
annotations_creators:
- crowdsourced
language_creators:
- found
language:
- en
license: cc-by-nc-4.0
multilinguality:
- monolingual
size_categories:
- 10K<n<100K
source_datasets:
- extended|rajpurkar/squad
task_categories:
- question-answering
task_ids:
- extractive-qa
paperswithcode_id: null
pretty_name: SQuAD (non-commercial annotations)
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---

# Dataset Card for SQuAD-NC
"""

DATASETS_LIST = """\
---
license: mit
datasets:
- HuggingFaceFW/fineweb-edu
- allenai/c4
- not a repository id!
language:
- en
library_name: transformers
pipeline_tag: text-generation
---

# tiny-lm
"""

NO_METADATA = "# A model\n\nNo metadata block at all.\n"


def write_card(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(text, encoding="utf-8")
    return folder


class Known(Resolver):
    """A resolver that knows some names (the mapping of cards to lineage, without a registry)."""

    def __init__(self, known: dict[str, tuple[bytes, bytes | None]]) -> None:
        super().__init__()
        self.known = known

    def resolve(self, name: str, kind: Kind) -> Resolution:
        if name not in self.known:
            return super().resolve(name, kind)
        subject, record = self.known[name]
        return Resolution(name, subject, record, (f"{name}: known",))


def subject_of(name: str) -> bytes:
    import hashlib

    return hashlib.sha256(name.encode()).digest()


def everyone(*names: str) -> Known:
    return Known({n: (subject_of(n), subject_of("record " + n)) for n in names})


def parse(text: str, tmp_path: Path, name: str = "claims.yaml") -> Claims:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Claims.from_file(path)


_FIELD = re.compile(r"^(?P<indent>\s*)# (?P<inner> *)(?P<key>[a-z_]+):(?P<value> [^#]*?)?(?:\s+#.*)?$")


def fill(text: str) -> str:
    """The draft with every commented field given its first suggested value, as a publisher would fill it."""
    out = []
    for line in text.splitlines():
        match = _FIELD.match(line)
        if match is None:
            out.append(line)
            continue
        value = (match["value"] or "").strip().split("|")[0]
        out.append(f"{match['indent']}{match['inner']}{match['key']}:" + (f" {value}" if value else ""))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- reading cards


def test_cards_are_read_with_the_hub_card_classes_and_their_kind_is_told(tmp_path):
    model = load_card(write_card(tmp_path / "m", LLAMA_31_INSTRUCT))
    assert model.kind == "model" and model.data["license"] == "llama3.1"
    assert model.data["base_model"] == "meta-llama/Llama-3.1-8B"
    dataset = load_card(write_card(tmp_path / "d", DATASET_NC) / "README.md")
    assert dataset.kind == "dataset" and dataset.data["task_categories"] == ["question-answering"]
    assert load_card(tmp_path / "d", kind="model").kind == "model"  # --kind wins


def test_a_cache_snapshot_gives_the_repository_and_its_type(tmp_path):
    text = DATASET_NC.replace("task_categories", "x_task_categories")  # the cache says dataset, not the keys
    cache = build_cache(tmp_path, {"README.md": text.encode(), "data/train-0.parquet": b"rows" * 4096},
                        repo_id="acme/squad-nc", kind="datasets")
    card = load_card(cache.snapshot)
    assert (card.kind, card.repo_id, card.revision) == ("dataset", "acme/squad-nc", COMMIT)
    assert card.data["license"] == "cc-by-nc-4.0"
    assert repo_of_snapshot(tmp_path / "hub" / "models--gpt2" / "snapshots" / "r1" / "README.md") == (
        "model", "gpt2", "r1")
    assert repo_of_snapshot(tmp_path) is None


def test_hf_targets_are_read_from_the_local_cache(tmp_path):
    from tests.helpers import run_cli

    cache = build_cache(tmp_path, {"README.md": CUSTOM_OTHER_RELATIVE.encode(), "LICENSE": b"terms " * 20},
                        repo_id="Qwen/Qwen-7B")
    env = {"HF_HUB_CACHE": str(cache.cache), "HF_HUB_OFFLINE": "1"}
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", "hf://Qwen/Qwen-7B", env=env)
    assert done.returncode == 0, done.stderr
    claims = parse(done.stdout, tmp_path)
    assert (claims.kind, claims.name) == ("model", "Qwen/Qwen-7B")
    assert claims.copyright.license == "LicenseRef-tongyi-qianwen"
    assert claims.copyright.license_url == f"https://huggingface.co/Qwen/Qwen-7B/blob/{COMMIT}/LICENSE"
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", "hf://Qwen/Qwen-7B/README.md", env=env)
    assert done.returncode == 0 and parse(done.stdout, tmp_path).name == "Qwen/Qwen-7B"
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", "hf://acme/absent", env=env)
    assert done.returncode == 2 and "is not in the Hugging Face cache" in done.stderr and "--download" in done.stderr
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", "hf://spaces/acme/app", env=env)
    assert done.returncode == 2 and "app" in done.stderr


def test_a_missing_or_broken_card_is_refused(tmp_path):
    from provenance.errors import ClaimsError

    with pytest.raises(ClaimsError, match="no card at"):
        load_card(tmp_path)
    with pytest.raises(ClaimsError, match="metadata"):
        load_card(write_card(tmp_path / "bad", "---\n- a list\n- not a mapping\n---\n# x\n"))
    card = load_card(write_card(tmp_path / "bare", NO_METADATA))
    claims = parse(draft_claims(card, Resolver()), tmp_path)
    assert claims.kind == "model" and claims.copyright.license is None


# ---------------------------------------------------------------- licenses


def test_the_hub_license_table_maps_into_what_the_verifier_classifies():
    table = hub_licenses()
    raw = json.loads((Path(licenses.__file__).parent / "data" / "licenses.json").read_text())
    assert set(raw["huggingface"]) - {"other", "unknown", "cc"} <= set(table)
    for hub_id, value in table.items():
        if value is None:
            assert hub_id == "other"
            continue
        assert licenses.normalize_expression(value) == value, hub_id
        terms = licenses.license_terms(value)
        assert (terms.use_class is licenses.UseClass.UNSPECIFIED) == (hub_id in ("cc", "unknown")), hub_id


@pytest.mark.parametrize(
    ("hub", "expected"),
    [
        ("apache-2.0", "Apache-2.0"), ("mit", "MIT"), ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
        ("gpl-3.0", "GPL-3.0-only"), ("openrail", "openrail"), ("bigscience-openrail-m", "bigscience-openrail-m"),
        ("llama3.1", "llama3.1"), ("eupl-1.2", "EUPL-1.2"),  # not on the Hub's list: read as SPDX
    ],
)
def test_each_hub_id_maps_and_comes_back(tmp_path, hub, expected):
    card = load_card(write_card(tmp_path, f"---\nlicense: {hub}\n---\n# card\n"))
    drafted = claims_license(card)
    assert (drafted.license, drafted.license_url) == (expected, None)
    claims = parse(draft_claims(card, Resolver()), tmp_path)
    assert claims.copyright.license == expected
    back = hub_license(expected, None)
    if hub == "eupl-1.2":
        assert back == {"license": "other", "license_name": "eupl-1.2",
                        "license_link": "https://spdx.org/licenses/EUPL-1.2.html"}
    else:
        assert back == {"license": hub}


def test_other_with_a_name_and_link_is_a_license_ref_the_verifier_reads_by_its_url(tmp_path):
    card = load_card(write_card(tmp_path, LLAMA_3_OTHER))
    drafted = claims_license(card)
    assert drafted.license == "LicenseRef-llama3"
    assert drafted.license_url == "https://llama.meta.com/llama3/license/"
    assert any("Meta Llama 3 Community License Agreement" in n for n in drafted.notes)
    text = draft_claims(card, Resolver())
    claims = parse(text, tmp_path)
    assert claims.copyright.license == "LicenseRef-llama3"
    terms = licenses.license_terms(claims.copyright.license, claims.copyright.license_url)
    assert terms.use_class is licenses.UseClass.COMMERCIAL and terms.restrictions  # Llama's acceptable-use policy
    assert hub_license("LicenseRef-llama3", drafted.license_url) == {
        "license": "other", "license_name": "llama3", "license_link": "https://llama.meta.com/llama3/license/"}


def test_a_relative_license_link_needs_the_repository(tmp_path):
    copy = load_card(write_card(tmp_path / "copy", CUSTOM_OTHER_RELATIVE))
    drafted = claims_license(copy)
    assert drafted.license == "LicenseRef-tongyi-qianwen" and drafted.license_url is None
    text = draft_claims(copy, Resolver())
    assert re.search(r"^  # license_url: .*TODO: the card links 'LICENSE'", text, re.M), text
    snapshot = tmp_path / "hub" / "models--Qwen--Qwen-7B" / "snapshots" / "c0ffee"
    cached = claims_license(load_card(write_card(snapshot, CUSTOM_OTHER_RELATIVE)))
    assert cached.license_url == "https://huggingface.co/Qwen/Qwen-7B/blob/c0ffee/LICENSE"
    assert any("does not know this license URL" in n for n in cached.notes)


def test_a_non_commercial_dataset_card_suggests_no_commercial_use(tmp_path):
    card = load_card(write_card(tmp_path, DATASET_NC))
    text = draft_claims(card, Resolver())
    assert "# commercial_use: false  # TODO: the license is non-commercial" in text
    filled = parse(fill(text), tmp_path, "filled.yaml")
    assert filled.kind == "dataset" and filled.copyright.commercial_use is False
    assert filled.copyright.license == "CC-BY-NC-4.0"


def test_no_license_is_left_for_the_publisher(tmp_path):
    card = load_card(write_card(tmp_path, "---\nlibrary_name: timm\ntags: [image-classification]\n---\n# x\n"))
    text = draft_claims(card, Resolver())
    assert "# TODO: copyright: the card gives no license" in text
    assert parse(text, tmp_path).copyright.license is None
    assert parse(fill(text), tmp_path, "filled.yaml").copyright.license == "Apache-2.0"


# ---------------------------------------------------------------- lineage


def lineage_of(text: str, tmp_path: Path, resolver: Resolver, **kw) -> Claims:
    card = load_card(write_card(tmp_path / "card", text), **kw)
    return parse(draft_claims(card, resolver), tmp_path)


def test_base_model_without_relation_is_a_finetune(tmp_path):
    claims = lineage_of(LLAMA_31_INSTRUCT, tmp_path, everyone("meta-llama/Llama-3.1-8B"))
    (base,) = claims.lineage.base_models
    assert base.relation == "finetune" and base.subject == hex32(subject_of("meta-llama/Llama-3.1-8B"))
    assert base.record == hex32(subject_of("record meta-llama/Llama-3.1-8B"))
    assert "lineage" in claims.disclose


@pytest.mark.parametrize(
    ("card", "relation", "bases"),
    [
        (MISTRAL_GGUF, "quantized", ["mistralai/Mistral-7B-Instruct-v0.3"]),
        (LORA_ADAPTER, "adapter", ["meta-llama/Llama-2-7b-hf"]),
        (MERGE, "merge", ["mistralai/Mistral-7B-v0.1", "HuggingFaceH4/zephyr-7b-beta"]),
    ],
)
def test_each_relation_maps(tmp_path, card, relation, bases):
    claims = lineage_of(card, tmp_path, everyone(*bases, "timdettmers/openassistant-guanaco"))
    assert [b.relation for b in claims.lineage.base_models] == [relation] * len(bases)
    assert [b.subject for b in claims.lineage.base_models] == [hex32(subject_of(b)) for b in bases]


def test_datasets_become_trained_on_and_unresolved_names_are_todo_lines(tmp_path):
    card = load_card(write_card(tmp_path / "card", DATASETS_LIST))
    text = draft_claims(card, everyone("allenai/c4"))
    claims = parse(text, tmp_path)
    assert [(p.subject, p.record) for p in claims.lineage.trained_on] == [
        (hex32(subject_of("allenai/c4")), hex32(subject_of("record allenai/c4")))]
    assert ("# TODO: subject and record of HuggingFaceFW/fineweb-edu (not found in the local store or the "
            "local index)") in text
    assert "# TODO: the card names 'not a repository id!', which is not a Hub repository id" in text
    assert "0x" + "0" * 64 not in text  # never a made-up subject


def test_a_dataset_card_extends_its_source_datasets(tmp_path):
    claims = lineage_of(DATASET_NC, tmp_path, everyone("rajpurkar/squad"))
    assert claims.kind == "dataset"
    assert [p.subject for p in claims.lineage.trained_on] == [hex32(subject_of("rajpurkar/squad"))]
    assert claims.lineage.base_models == ()


def test_an_unknown_relation_is_a_todo(tmp_path):
    text = MISTRAL_GGUF.replace("base_model_relation: quantized", "base_model_relation: distilled")
    card = load_card(write_card(tmp_path / "card", text))
    draft = draft_claims(card, everyone("mistralai/Mistral-7B-Instruct-v0.3"))
    assert "# TODO: relation: the card's base_model_relation 'distilled' is none of" in draft
    assert parse(draft, tmp_path).lineage.base_models[0].relation == "finetune"


@pytest.mark.parametrize("text", [LLAMA_31_INSTRUCT, LLAMA_3_OTHER, CUSTOM_OTHER_RELATIVE, MISTRAL_GGUF,
                                  LORA_ADAPTER, MERGE, DATASET_NC, DATASETS_LIST, NO_METADATA])
def test_every_draft_parses_as_it_is_and_once_filled(tmp_path, text):
    card = load_card(write_card(tmp_path / "card", text))
    draft = draft_claims(card, Resolver())
    assert parse(draft, tmp_path).kind == card.kind
    filled = parse(fill(draft), tmp_path, "filled.yaml")
    assert filled.privacy.personal_data == "present" and filled.privacy.lawful_basis == "consent"
    if card.data.get("license"):
        assert filled.copyright.training_mining.ai_training == "allowed" and filled.copyright.holders == ()
    assert draft.count("# TODO") >= 5


def test_card_values_cannot_break_out_of_a_comment(tmp_path):
    text = "---\nlicense: other\nlicense_name: \"x\\nkind: dataset\"\nbase_model: \"a/b\\ninjected: 1\"\n---\n"
    card = load_card(write_card(tmp_path / "card", text))
    draft = draft_claims(card, Resolver())
    claims = parse(draft, tmp_path)
    assert claims.kind == "model" and claims.copyright.license == "LicenseRef-x-kind-dataset"
    assert not any(line.startswith("injected") for line in draft.splitlines())


# ---------------------------------------------------------------- back to the card (no chain)


def test_card_block_of_a_statement_without_lineage_names_the_record():
    from provenance.commitments import commit
    from provenance.record import Record

    claims = Claims.from_mapping({"kind": "dataset", "copyright": {"license": "LicenseRef-corpus-terms",
                                  "license_url": "https://example.org/terms"}, "disclose": ["copyright"]})
    commitment = commit(claims)
    record = Record.create(b"\x01" * 32, Kind.DATASET, commitment.claims_root, (), "ipfs://x")
    statement = Statement.create(
        name="corpus", record=record, publisher="0x" + "11" * 20, signature=b"\x05" * 65, chain_id=31337,
        registry="0x" + "22" * 20, disclosures=[d.to_dict() for d in commitment.disclose()],
    )
    block = card_block(statement)
    data = yaml.safe_load(block)
    assert (data["license"], data["license_name"], data["license_link"]) == (
        "other", "corpus-terms", "https://example.org/terms")
    assert data["provenance"] == {
        "subject": hex32(statement.subject), "record": hex32(statement.record_id), "publisher": statement.publisher,
        "registry": statement.registry, "chain_id": 31337, "uri": "ipfs://x",
    }
    assert "lineage is not disclosed" in block
    tampered = Statement.create(
        name="corpus", record=record, publisher="0x" + "11" * 20, signature=b"\x05" * 65, chain_id=31337,
        registry="0x" + "22" * 20,
        disclosures=[{**d.to_dict(), "value": "MIT"} if d.field == "copyright.license" else d.to_dict()
                     for d in commitment.disclose()],
    )
    from provenance.errors import ClaimsError

    with pytest.raises(ClaimsError, match="do not match claimsRoot"):
        card_block(tampered)


# ---------------------------------------------------------------- through anvil and the CLI

pytest_chain = pytest.mark.chain
REVISION = "5d2b1f0c" * 5

FINETUNE_CARD = """\
---
license: apache-2.0
base_model: acme/base-7b
datasets:
- acme/corpus
library_name: transformers
pipeline_tag: text-generation
tags:
- text-generation
---

# acme/chat-7b

A fine-tune of acme/base-7b on acme/corpus.
"""


def _claims_file(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def parents(anvil_url, tmp_path):
    """A publisher's home with a dataset (found by its record's hf:// uri) and a base model (by its disclosed
    name) registered, and a fine-tune's folder holding its Hub card."""
    ledger = fresh_registry(anvil_url)
    home = make_home(tmp_path / "home", anvil_url, ledger.registry)
    corpus = make_artifact(tmp_path, "corpus")
    base = make_artifact(tmp_path, "base-7b")
    dataset_claims = _claims_file(tmp_path / "corpus.yaml", {
        "kind": "dataset", "copyright": {"license": "CC-BY-4.0"}, "disclose": ["copyright"]})
    base_claims = _claims_file(tmp_path / "base.yaml", {
        "kind": "model", "name": "acme/base-7b", "copyright": {"license": "Apache-2.0"},
        "disclose": ["name", "copyright"]})
    done = home.run("register", str(corpus), "--claims", str(dataset_claims), "--json",
                    "--uri", f"hf://datasets/acme/corpus@{REVISION}/provenance.json")
    assert done.returncode == 0, done.stderr
    done = home.run("register", str(base), "--claims", str(base_claims), "--json")
    assert done.returncode == 0, done.stderr
    model = make_artifact(tmp_path, "chat-7b",
                          {"model.safetensors": b"weights" * 64, "README.md": FINETUNE_CARD.encode()})
    return home, Statement.from_file(corpus / "provenance.json"), Statement.from_file(base / "provenance.json"), model


@pytest_chain
def test_a_complete_card_registers_without_edits_and_comes_back_as_its_card(parents, tmp_path):
    home, dataset, base, model = parents
    draft = tmp_path / "chat.claims.yaml"
    done = home.run("claims", "from-card", str(model), "--name", "acme/chat-7b", "--out", str(draft))
    assert done.returncode == 0, done.stderr
    text = draft.read_text()
    assert f'{{subject: "{hex32(dataset.subject)}", record: "{hex32(dataset.record_id)}"}}  # acme/corpus' in text
    assert (f'{{subject: "{hex32(base.subject)}", relation: finetune, record: "{hex32(base.record_id)}"}}'
            "  # acme/base-7b") in text
    assert "TODO: subject and record" not in text

    done = home.run("register", str(model), "--claims", str(draft), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {(p["subject"], p["record"], p["source"]) for p in result["pins"]} == {
        (hex32(dataset.subject), hex32(dataset.record_id), "claims"),
        (hex32(base.subject), hex32(base.record_id), "claims"),
    }
    statement = Statement.from_file(model / "provenance.json")

    done = home.run("export", str(model), "--format", "hf-card")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    card = ModelCardData(**data)
    assert card.license == "apache-2.0"
    assert card.base_model == ["acme/base-7b"] and card.base_model_relation == "finetune"
    assert card.datasets == ["acme/corpus"]
    assert card.provenance == {
        "subject": hex32(statement.subject), "record": hex32(statement.record_id),
        "publisher": statement.publisher, "registry": statement.registry, "chain_id": statement.chain_id,
    }
    assert "# uri: the record names no uri" in done.stdout

    # the dataset's own block: its license back as the Hub id, its uri in the provenance entry
    done = home.run("export", hex32(dataset.subject), "--format", "hf-card")
    assert done.returncode == 0, done.stderr
    back = DatasetCardData(**yaml.safe_load(done.stdout))
    assert back.license == "cc-by-4.0"
    assert back.provenance["uri"] == f"hf://datasets/acme/corpus@{REVISION}/provenance.json"


@pytest_chain
def test_several_publishers_of_a_parent_leave_the_record_to_the_publisher(parents, tmp_path):
    home, dataset, _, model = parents
    other = make_home(tmp_path / "other", home.url, home.registry)
    copy = make_artifact(tmp_path / "o", "corpus")  # the same files: the same subject
    claims = _claims_file(tmp_path / "o.yaml", {"kind": "dataset", "copyright": {"license": "CC-BY-4.0"}})
    done = other.run("register", str(copy), "--claims", str(claims),
                     "--uri", f"hf://datasets/acme/corpus@{REVISION}/other.json")
    assert done.returncode == 0, done.stderr
    # the stranger drafts the same card: its own record is preferred
    done = other.run("claims", "from-card", str(model))
    assert done.returncode == 0, done.stderr
    mine = Statement.from_file(copy / "provenance.json")
    assert f'record: "{hex32(mine.record_id)}"}}  # acme/corpus' in done.stdout
    # a third home that syncs the index knows two publishers' records: it must choose
    third = make_home(tmp_path / "third", home.url, home.registry)
    assert third.run("history", hex32(dataset.subject)).returncode == 0
    done = third.run("claims", "from-card", str(model))
    assert done.returncode == 0, done.stderr
    assert "# TODO: record of acme/corpus: 2 publishers registered it" in done.stdout
    assert f'    - "{hex32(dataset.subject)}"  # acme/corpus' in done.stdout


@pytest_chain
def test_a_stranger_finds_a_record_by_its_uri_through_a_service(parents, tmp_path, anvil_url):
    home, dataset, _, model = parents
    stranger = tmp_path / "stranger"
    env = {"PROVENANCE_HOME": str(stranger), "PROVENANCE_REGISTRY": home.registry}
    with serving_app(anvil_url, home.registry, tmp_path / "service.sqlite") as url:
        done = home.run("claims", "from-card", str(model), "--service", url, env=env)
    assert done.returncode == 0, done.stderr
    assert f'{{subject: "{hex32(dataset.subject)}", record: "{hex32(dataset.record_id)}"}}  # acme/corpus' \
        in done.stdout
    assert f"found in the service {url}" in done.stdout
    # the base model is known by its disclosed name only: the service has no look-up by name
    assert (f"# TODO: subject and record of acme/base-7b (not found in the local store, the local index or the "
            f"service {url})") in done.stdout


def test_cli_refuses_to_write_over_a_file_and_takes_the_kind_given(tmp_path):
    from tests.helpers import run_cli

    card = write_card(tmp_path / "card", MERGE)
    out = tmp_path / "exists.yaml"
    out.write_text("kind: model\n")
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", str(card), "--out", str(out))
    assert done.returncode == 2 and "exists" in done.stderr
    assert out.read_text() == "kind: model\n"
    done = run_cli("--home", str(tmp_path / "home"), "claims", "from-card", str(card), "--kind", "dataset")
    assert done.returncode == 0 and done.stdout.splitlines()[3] == "kind: dataset"


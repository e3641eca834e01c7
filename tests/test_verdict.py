"""Verdicts: how checks add up, exit codes, the JSON schema, the table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from provenance.verdict import (
    RECORD_STATES,
    SCHEMA_VERSION,
    Check,
    CheckName,
    Code,
    RecordSeen,
    Status,
    Verdict,
    VerdictError,
    verdict_schema,
)

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = bytes(range(32))
RECORD = bytes(range(32, 64))

# CLAIMS.md, "Verdict codes": the list users and tests match on.
CLAIMS_MD_CODES = [
    "OK", "TAMPERED", "NOT_REGISTERED", "UNTRUSTED_PUBLISHER", "BAD_SIGNATURE", "NOT_ANCHORED", "BAD_PROOF",
    "UNCONFIRMED", "REVOKED", "SUPERSEDED", "DISCLOSURE_MISMATCH", "DISPUTED", "LICENSE_UNSPECIFIED",
    "LICENSE_CONFLICT", "USE_NOT_PERMITTED", "SHARE_ALIKE", "NO_DERIVATIVES", "RESTRICTIONS_DROPPED",
    "OPT_OUT_VIOLATION", "TRAINING_NOT_ALLOWED", "PRIVACY_UNVERIFIED", "PERSONAL_DATA_CONFLICT", "NO_LAWFUL_BASIS",
    "NO_SPECIAL_CATEGORY_CONDITION", "DP_INVALID", "DP_BUDGET_EXCEEDED", "ERASURE_AFFECTED", "CONFIDENTIALITY_CONFLICT",
    "PARENT_UNKNOWN", "PARENT_FAILED",
]
# Issue 16: the evaluations check's codes, after CLAIMS.md's.
EVALUATION_CODES = ["EVAL_MISSING", "EVAL_BELOW_THRESHOLD"]


def ok(check: str) -> Check:
    return Check(check, Status.PASS, Code.OK, f"{check} is fine")


def verdict(*checks: Check, record_id: bytes | None = RECORD) -> Verdict:
    return Verdict(SUBJECT, record_id, checks)


def test_codes_are_exactly_those_of_claims_md():
    assert [c.value for c in Code] == CLAIMS_MD_CODES + EVALUATION_CODES
    assert [c.value for c in CheckName] == [
        "integrity", "authenticity", "anchoring", "status", "claims",
        "copyright", "privacy", "lineage", "endorsements", "evaluations",
    ]  # fmt: skip


def test_only_ok_passes_and_ok_only_passes():
    with pytest.raises(ValueError, match="only OK passes"):
        Check("copyright", Status.PASS, Code.USE_NOT_PERMITTED, "no")
    with pytest.raises(ValueError, match="only OK passes"):
        Check("copyright", Status.WARN, Code.OK, "hm")
    with pytest.raises(ValueError):
        Check("feelings", Status.PASS, Code.OK, "fine")
    with pytest.raises(ValueError):
        Check("copyright", Status.FAIL, "NOT_A_CODE", "x")
    with pytest.raises(ValueError, match="needs a message"):
        Check("copyright", Status.FAIL, Code.LICENSE_CONFLICT, "  ")


def test_evidence_is_json_ready_and_immutable():
    check = Check(
        "anchoring", "pass", "OK", "anchored",
        {"txHash": b"\x01" * 32, "block": 7, "proof": [b"\x02" * 32], "status": Status.PASS, "n": {"a": (1, 2)}},
    )  # fmt: skip
    assert check.check is CheckName.ANCHORING and check.status is Status.PASS and check.code is Code.OK
    assert check.evidence["txHash"] == "0x" + "01" * 32
    assert check.to_json()["evidence"] == {
        "txHash": "0x" + "01" * 32, "block": 7, "proof": ["0x" + "02" * 32], "status": "pass", "n": {"a": [1, 2]},
    }  # fmt: skip
    with pytest.raises(TypeError):
        check.evidence["block"] = 8  # type: ignore[index]
    with pytest.raises(ValueError, match="JSON cannot carry"):
        Check("anchoring", "pass", "OK", "x", {"when": object()})
    with pytest.raises(ValueError, match="finite"):
        Check("privacy", "fail", "DP_BUDGET_EXCEEDED", "x", {"epsilon": float("inf")})


@pytest.mark.parametrize(
    ("statuses", "overall", "exit_code", "strict_exit_code"),
    [
        (["pass", "pass"], "pass", 0, 0),
        (["pass", "warn"], "warn", 0, 1),
        (["pass", "unverifiable"], "warn", 2, 2),
        (["warn", "unverifiable"], "warn", 2, 1),
        (["warn", "fail"], "fail", 1, 1),
        (["unverifiable", "fail"], "fail", 1, 1),
    ],
)
def test_overall_and_exit_codes(statuses, overall, exit_code, strict_exit_code):
    codes = {"pass": Code.OK, "warn": Code.UNCONFIRMED, "unverifiable": Code.NOT_ANCHORED, "fail": Code.BAD_PROOF}
    v = verdict(*(Check("anchoring", s, codes[s], f"anchoring {s}") for s in statuses))
    assert v.overall.value == overall
    assert v.exit_code() == exit_code
    assert v.exit_code(strict=True) == strict_exit_code
    assert v.ok() == (exit_code == 0)


def test_checks_are_kept_in_table_order():
    v = verdict(ok("endorsements"), ok("integrity"), Check("copyright", "warn", "SHARE_ALIKE", "a"), ok("copyright"))
    assert [c.check.value for c in v.checks] == ["integrity", "copyright", "copyright", "endorsements"]
    assert [c.code for c in v.checks_of("copyright")] == [Code.SHARE_ALIKE, Code.OK]
    assert v.codes == (Code.OK, Code.SHARE_ALIKE, Code.OK, Code.OK)


def test_a_verdict_needs_checks_and_32_byte_ids():
    with pytest.raises(ValueError):
        Verdict(SUBJECT, None, ())
    with pytest.raises(ValueError):
        Verdict(b"short", None, (ok("integrity"),))
    with pytest.raises(ValueError):
        Verdict(SUBJECT, b"short", (ok("integrity"),))


def full_verdict() -> Verdict:
    return verdict(
        Check("integrity", "fail", "TAMPERED", "weights.bin changed", {"path": "weights.bin"}),
        Check("anchoring", "pass", "OK", "in block 12", {"txHash": b"\x09" * 32, "block": 12}),
        Check("status", "unverifiable", "NOT_REGISTERED", "the chain did not answer"),
        Check("lineage", "warn", "PARENT_UNKNOWN", "parent 0x1 unknown", {"ancestor": "0x" + "11" * 32}),
    )


def test_json_matches_the_schema_file():
    schema = verdict_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for v in (full_verdict(), verdict(ok("integrity"), record_id=None)):
        for strict in (False, True):
            document = json.loads(v.to_json_text(strict=strict))
            validator.validate(document)
    bad = full_verdict().to_json()
    bad["checks"][1]["status"] = "fail"  # OK must pass
    assert not validator.is_valid(bad)
    bad = full_verdict().to_json()
    bad["checks"][0]["code"] = "NOPE"
    assert not validator.is_valid(bad)


def test_schema_file_lists_every_code_check_and_status():
    schema = json.loads((ROOT / "provenance" / "data" / "verdict.schema.json").read_text())
    check = schema["$defs"]["check"]["properties"]
    assert check["code"]["enum"] == [c.value for c in Code]
    assert check["check"]["enum"] == [c.value for c in CheckName]
    assert check["status"]["enum"] == [s.value for s in Status]
    assert schema["properties"]["version"]["const"] == SCHEMA_VERSION


def test_json_content_and_round_trip():
    v = full_verdict()
    data = v.to_json(strict=True)
    assert data["version"] == 1
    assert data["subject"] == "0x" + SUBJECT.hex() and data["recordId"] == "0x" + RECORD.hex()
    assert data["overall"] == "fail" and data["exitCode"] == 1 and data["strict"] is True
    assert data["checks"][0] == {
        "check": "integrity", "status": "fail", "code": "TAMPERED",
        "message": "weights.bin changed", "evidence": {"path": "weights.bin"},
    }  # fmt: skip
    assert Verdict.from_json(json.loads(v.to_json_text())) == v
    assert Verdict.from_json(verdict(ok("integrity"), record_id=None).to_json()).record_id is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(version=2),
        lambda d: d.update(overall="pass"),
        lambda d: d.pop("checks"),
        lambda d: d["checks"][0].update(code="NOPE"),
        lambda d: d.update(subject="0x12"),
    ],
)
def test_from_json_refuses_bad_documents(change):
    data = json.loads(full_verdict().to_json_text())
    change(data)
    with pytest.raises(VerdictError):
        Verdict.from_json(data)


def test_table_has_one_line_per_check():
    v = verdict(
        ok("integrity"),
        Check("copyright", "warn", "SHARE_ALIKE", "ancestor is share-alike;\nlicense differs"),
        Check("privacy", "fail", "NO_LAWFUL_BASIS", "no basis"),
    )
    text = v.to_table()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CHECK"))
    rows = lines[header + 1 : header + 4]
    assert rows[0].split()[:3] == ["integrity", "pass", "OK"]
    assert rows[1].split()[:3] == ["copyright", "warn", "SHARE_ALIKE"]
    assert rows[1].endswith("ancestor is share-alike; license differs")
    assert rows[2].split()[:3] == ["privacy", "fail", "NO_LAWFUL_BASIS"]
    # the reason column starts at the same place on every line
    reasons = ["integrity is fine", "ancestor", "no basis"]
    assert len({row.index(word) for row, word in zip(rows, reasons, strict=True)}) == 1
    assert "0x" + SUBJECT.hex() in text and "0x" + RECORD.hex() in text
    assert lines[-1].startswith("overall   fail")


def test_table_explains_strict_and_unverifiable():
    warned = verdict(ok("integrity"), Check("anchoring", "warn", "UNCONFIRMED", "1 of 12 blocks"))
    assert warned.to_table().splitlines()[-1] == "overall   warn"
    assert "fail under --strict" in warned.to_table(strict=True)
    unsure = verdict(Check("anchoring", "unverifiable", "NOT_ANCHORED", "no node"), record_id=None)
    assert "could not verify" in unsure.to_table() and "(none found)" in unsure.to_table()


def test_docs_explain_every_code():
    text = (ROOT / "docs" / "verdicts.md").read_text()
    missing = [c.value for c in Code if f"`{c.value}`" not in text]
    assert not missing


HOSTILE_NAME = "a\x1b[2K\rPASS\u202e.bin"
RAW_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) != "\n"] + ["\u202e", "\u2066"]


def test_table_escapes_what_a_file_name_could_hide_a_fail_row_with():
    message = f"The files differ from the registered manifest: 1 changed\n  changed {HOSTILE_NAME}: expected ..."
    v = verdict(ok("authenticity"), Check("integrity", "fail", "TAMPERED", message))
    text = v.to_table()
    assert not [c for c in RAW_CONTROLS if c in text]
    row = next(line for line in text.splitlines() if line.startswith("integrity"))
    assert row.split()[:3] == ["integrity", "fail", "TAMPERED"]
    assert "changed a\\x1b[2K\\rPASS\\u202e.bin: expected" in row
    # JSON stays exact
    assert v.to_json()["checks"][0]["message"] == message
    assert json.loads(v.to_json_text())["checks"][0]["message"] == message


# ---------------------------------------------------------------- info lines and the records seen

TRUSTED = "0x" + "Ab" * 20
STRANGER = "0x" + "cd" * 20
OTHER_RECORD = bytes(range(64, 96))


def info(check: str = "status", code: str = "DISPUTED") -> Check:
    return Check(check, Status.INFO, code, "a stranger disputes this record", {"disputers": [STRANGER]})


def seen(record_id: bytes = RECORD, *, publisher: str = TRUSTED, relied: bool = True, trusted: bool = True,
         state: str = "registered", why: str = "a trusted publisher's record") -> RecordSeen:  # fmt: skip
    return RecordSeen(record_id, publisher, relied, trusted, state, why)


def stranger(record_id: bytes = OTHER_RECORD, why: str = "information: its publisher is not trusted") -> RecordSeen:
    return seen(record_id, publisher=STRANGER, relied=False, trusted=False, why=why)


@pytest.mark.parametrize(
    ("statuses", "overall", "exit_code", "strict_exit_code"),
    [
        (["pass"], "pass", 0, 0),
        (["warn"], "warn", 0, 1),
        (["unverifiable"], "warn", 2, 2),
        (["fail"], "fail", 1, 1),
    ],
)
def test_info_lines_weigh_nothing(statuses, overall, exit_code, strict_exit_code):
    codes = {"pass": Code.OK, "warn": Code.UNCONFIRMED, "unverifiable": Code.NOT_ANCHORED, "fail": Code.BAD_PROOF}
    lines = [Check("anchoring", s, codes[s], f"anchoring {s}") for s in statuses]
    plain = verdict(*lines)
    informed = verdict(*lines, info(), info("authenticity", "UNTRUSTED_PUBLISHER"))
    for v in (plain, informed):
        assert v.overall.value == overall
        assert v.exit_code() == exit_code and v.exit_code(strict=True) == strict_exit_code
        assert v.ok() == (exit_code == 0) and v.ok(strict=True) == (strict_exit_code == 0)
        assert v.to_json(strict=True)["overall"] == overall
    assert informed.has(Status.INFO) and not plain.has(Status.INFO)
    assert Code.DISPUTED in informed.codes


def test_pass_and_info_is_a_pass_even_under_strict():
    v = verdict(ok("integrity"), ok("anchoring"), info())
    assert v.overall is Status.PASS
    assert v.exit_code(strict=True) == 0 and v.ok(strict=True)
    assert v.to_table(strict=True).splitlines()[-1] == "overall   pass"


def test_an_info_line_says_what_it_is_about_never_ok():
    with pytest.raises(ValueError, match="only OK passes"):
        Check("status", Status.INFO, Code.OK, "fine, for information")
    assert info().code is Code.DISPUTED and info().status is Status.INFO


def test_a_verdict_of_nothing_but_information_is_refused():
    # it would read "pass" without having checked anything
    with pytest.raises(ValueError, match="not info"):
        verdict(info(), info("authenticity", "UNTRUSTED_PUBLISHER"))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"record_id": b"short"}, "32-byte record_id"),
        ({"record_id": "0x" + "11" * 32}, "32-byte record_id"),
        ({"publisher": "0x1234"}, "publisher address"),
        ({"publisher": "0x" + "ab" * 19 + "\x1b[31m"}, "publisher address"),
        ({"publisher": "0x" + "ab" * 20 + "\n"}, "publisher address"),
        ({"publisher": bytes(20)}, "publisher address"),
        ({"relied": 1}, "relied must be True or False"),
        ({"trusted": "yes"}, "trusted must be True or False"),
        ({"state": "active"}, "state must be one of"),
        ({"state": "Revoked"}, "state must be one of"),
        ({"why": "  "}, "needs a why"),
        ({"why": None}, "needs a why"),
    ],
)
def test_record_seen_refuses_bad_values(change, match):
    fields = {"record_id": RECORD, "publisher": TRUSTED, "relied": True, "trusted": True,
              "state": "registered", "why": "a trusted publisher's record"}  # fmt: skip
    RecordSeen(**fields)
    with pytest.raises(ValueError, match=match):
        RecordSeen(**{**fields, **change})


def test_record_seen_json():
    for state in RECORD_STATES:
        record = seen(state=state)
        data = record.to_json()
        assert data == {
            "recordId": "0x" + RECORD.hex(), "publisher": TRUSTED, "relied": True, "trusted": True,
            "state": state, "why": "a trusted publisher's record",
        }  # fmt: skip
        assert RecordSeen.from_json(data) == record
    with pytest.raises(ValueError, match="unknown fields: extra"):
        RecordSeen.from_json({**seen().to_json(), "extra": 1})


def test_records_rely_on_one_record_at_most_the_verdicts_own():
    v = Verdict(SUBJECT, RECORD, (ok("integrity"),), (stranger(), seen()))
    assert [r.record_id for r in v.records] == [RECORD, OTHER_RECORD]  # the relied one first
    assert Verdict(SUBJECT, RECORD, (ok("integrity"),)).records == ()
    # several relied on (no trusted publisher among them: the most restrictive decides), record_id one of them
    both = Verdict(SUBJECT, OTHER_RECORD, (ok("integrity"),), (seen(), seen(OTHER_RECORD)))
    assert sum(r.relied for r in both.records) == 2
    with pytest.raises(ValueError, match="must be one of the records it relies on"):
        Verdict(SUBJECT, OTHER_RECORD, (ok("integrity"),), (seen(),))
    with pytest.raises(ValueError, match="must be one of the records it relies on"):
        Verdict(SUBJECT, None, (ok("integrity"),), (seen(),))
    with pytest.raises(ValueError, match="once"):
        Verdict(SUBJECT, RECORD, (ok("integrity"),), (seen(), stranger(RECORD)))
    with pytest.raises(ValueError, match="RecordSeen"):
        Verdict(SUBJECT, RECORD, (ok("integrity"),), (seen().to_json(),))  # type: ignore[arg-type]
    # none relied on: e.g. only strangers registered the subject
    alone = Verdict(SUBJECT, None, (Check("status", "fail", "NOT_REGISTERED", "no trusted record"),), (stranger(),))
    assert not any(r.relied for r in alone.records)


def informed_verdict(why: str = "information: its publisher is not trusted") -> Verdict:
    trusted_other = seen(bytes(range(96, 128)), relied=False, state="superseded", why="superseded by 0x2021...")
    return Verdict(
        SUBJECT,
        RECORD,
        (ok("integrity"), Check("lineage", "warn", "PARENT_UNKNOWN", "parent unknown"), info()),
        (stranger(why=why), trusted_other, seen()),
    )


def test_json_with_records_and_info_lines_round_trips_and_matches_the_schema():
    validator = jsonschema.Draft202012Validator(verdict_schema())
    v = informed_verdict()
    data = json.loads(v.to_json_text(strict=True))
    validator.validate(data)
    assert data["overall"] == "warn" and data["exitCode"] == 1
    assert [r["recordId"] for r in data["records"]] == [
        "0x" + RECORD.hex(), "0x" + bytes(range(96, 128)).hex(), "0x" + OTHER_RECORD.hex(),
    ]  # fmt: skip
    assert [c["status"] for c in data["checks"] if c["code"] == "DISPUTED"] == ["info"]
    assert Verdict.from_json(data) == v
    # no records: an empty list is written, and read back
    plain = verdict(ok("integrity"), info())
    assert plain.to_json()["records"] == []
    validator.validate(plain.to_json())
    assert Verdict.from_json(plain.to_json()) == plain


def test_documents_without_records_still_read_and_validate():
    # as written before the records list existed
    data = full_verdict().to_json()
    del data["records"]
    jsonschema.Draft202012Validator(verdict_schema()).validate(data)
    assert Verdict.from_json(data) == full_verdict()
    assert Verdict.from_json(data).records == ()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["records"][0].update(state="active"),
        lambda d: d["records"][0].update(publisher="0x12"),
        lambda d: d["records"][0].update(relied="yes"),
        lambda d: d["records"][0].update(why=""),
        lambda d: d["records"][0].update(extra=1),
        lambda d: d["records"][0].pop("trusted"),
        lambda d: d.update(records={"0x": 1}),
        lambda d: next(c for c in d["checks"] if c["status"] == "info").update(code="OK"),  # an info line is never OK
        lambda d: d.update(checks=[c for c in d["checks"] if c["status"] == "info"]),  # nothing but information
    ],
)
def test_schema_and_from_json_refuse_bad_records_and_info_lines(change):
    data = json.loads(informed_verdict().to_json_text())
    change(data)
    assert not jsonschema.Draft202012Validator(verdict_schema()).is_valid(data)
    with pytest.raises(VerdictError):
        Verdict.from_json(data)


def test_schema_file_lists_the_record_states():
    schema = verdict_schema()
    assert schema["$defs"]["record"]["properties"]["state"]["enum"] == list(RECORD_STATES)
    assert "records" not in schema["required"] and schema["additionalProperties"] is False


def test_table_shows_info_lines_and_the_records_seen():
    text = informed_verdict().to_table(strict=True)
    lines = text.splitlines()
    info_row = next(line for line in lines if line.startswith("status"))
    assert info_row.split()[:3] == ["status", "info", "DISPUTED"]
    start = lines.index("records   3 of this subject:")
    rows = lines[start + 1 : start + 4]
    assert rows[0].split()[:5] == ["0x20212223...3e3f", "by", TRUSTED, "trusted", "relied"]
    assert rows[0].endswith("registered  a trusted publisher's record")
    assert "trusted      not relied on  superseded" in rows[1]
    assert f"by {STRANGER}  not trusted  not relied on  registered  information: its publisher" in rows[2]
    # the why column starts at the same place on every line; the section comes before overall
    whys = ["a trusted", "superseded by", "information"]
    assert len({row.index(word) for row, word in zip(rows, whys, strict=True)}) == 1
    assert start > lines.index(info_row)
    assert lines[-1] == "overall   warn (warnings fail under --strict)"
    assert "records" not in verdict(ok("integrity")).to_table()


def test_table_escapes_a_hostile_why():
    why = f"information: a stranger says\n{HOSTILE_NAME} \x1b[31mPASS\x1b[0m"
    v = informed_verdict(why=why)
    text = v.to_table()
    assert not [c for c in RAW_CONTROLS if c in text]
    row = next(line for line in text.splitlines() if STRANGER in line)
    assert row.endswith("information: a stranger says a\\x1b[2K\\rPASS\\u202e.bin \\x1b[31mPASS\\x1b[0m")
    assert text.splitlines()[-1].startswith("overall   warn")
    # JSON stays exact
    assert json.loads(v.to_json_text())["records"][2]["why"] == why

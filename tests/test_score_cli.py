"""clsum score / clsum compare: file formats, errors (one line, exit 2) and the --json shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.eval.options import METHODS

FAST = ["--bootstrap", "50"]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _jsonl(path: Path, rows: dict[str, str]) -> Path:
    return _write(path, [json.dumps({"id": k, "text": v}) for k, v in rows.items()])


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_score_json_shape(tmp_path: Path) -> None:
    hyp = _write(tmp_path / "hyp.txt", ["the cat sat", "Müller kam"])
    ref = _write(tmp_path / "ref.txt", ["the cat sat down", "Müller kam nicht"])
    code, out, _ = _run("score", hyp, ref, "--json", *FAST)
    assert code == 0
    result = json.loads(out)
    assert list(result) == ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf"]  # TER on request
    for item in result.values():
        assert set(item) == {"score", "signature", "ci"}
        assert 0 <= item["score"] <= 100 and len(item["ci"]) == 2
        assert "|bs:50|seed:12345|" in item["signature"]


def test_score_table_and_options(tmp_path: Path) -> None:
    hyp = _write(tmp_path / "hyp.txt", ["Müller kam"])
    ref = _write(tmp_path / "ref.txt", ["Möller kam"])
    code, out, _ = _run("score", hyp, ref, "--metrics", "rouge1", "--rouge-tokenizer", "rouge-score", *FAST)
    assert code == 0
    assert out.splitlines()[1].split()[:2] == ["rouge1", "100.00"]  # "m ller kam" both sides
    code, out, _ = _run("score", hyp, ref, "--metrics", "rouge1", "--no-stem", "--json", *FAST)
    assert json.loads(out)["rouge1"]["signature"].startswith("rouge1|tok:unicode|stem:no|")
    assert json.loads(out)["rouge1"]["score"] == 50.0


def test_jsonl_matched_by_id(tmp_path: Path) -> None:
    hyp = _jsonl(tmp_path / "hyp.jsonl", {"b": "a dog", "a": "the cat"})
    ref = _jsonl(tmp_path / "ref.jsonl", {"a": "the cat", "b": "a dog"})
    code, out, _ = _run("score", hyp, ref, "--json", "--metrics", "rouge1,bleu", *FAST)
    assert code == 0
    assert json.loads(out)["rouge1"]["score"] == 100.0


def test_missing_and_extra_ids_are_named(tmp_path: Path) -> None:
    hyp = _jsonl(tmp_path / "hyp.jsonl", {"a": "x", "zz": "y"})
    ref = _jsonl(tmp_path / "ref.jsonl", {"a": "x", "b": "y"})
    code, out, err = _run("score", hyp, ref, *FAST)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("clsum: error: ")
    assert "'b'" in err and "'zz'" in err


def test_unequal_line_counts_name_both_counts(tmp_path: Path) -> None:
    hyp = _write(tmp_path / "hyp.txt", ["a", "b", "c"])
    ref = _write(tmp_path / "ref.txt", ["a", "b"])
    code, _, err = _run("score", hyp, ref, *FAST)
    assert code == 2
    assert err.count("\n") == 1 and "has 3 lines" in err and "has 2" in err


def test_mixed_formats_a_row_without_text_and_an_empty_file_are_one_line_errors(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.txt", ["a b"])
    jsonl = _jsonl(tmp_path / "ref.jsonl", {"a": "a b"})
    no_text = _write(tmp_path / "bad.jsonl", [json.dumps({"id": "a"})])
    empty = _write(tmp_path / "empty.txt", [])
    for hyp, ref, message in (
        (plain, jsonl, f"cannot match JSONL {jsonl} against plain-text {plain}"),
        (no_text, jsonl, "bad.jsonl:1: expected an object with 'id' and a string 'text'"),
        (plain, empty, "empty.txt has no segments"),
    ):
        code, _, err = _run("score", hyp, ref, *FAST)
        assert code == 2 and err.count("\n") == 1 and message in err, err


def test_unknown_metric_and_missing_file_exit_2(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.txt", ["a"])
    code, _, err = _run("score", ref, ref, "--metrics", "rouge3")
    assert code == 2 and err.count("\n") == 1 and "unknown metric 'rouge3'" in err
    code, _, err = _run("score", tmp_path / "nope.txt", ref)
    assert code == 2 and err.count("\n") == 1 and "cannot read" in err


def test_skipped_optional_metric_in_json(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.txt", ["a b c"])
    code, out, _ = _run("score", ref, ref, "--json", "--metrics", "comet", *FAST)
    assert code == 0
    assert json.loads(out)["comet"]["score"] is None
    assert json.loads(out)["comet"]["skipped"]


def test_compare_json(tmp_path: Path) -> None:
    refs = [f"sentence {i} about the cat on the mat" for i in range(20)]
    a = _write(tmp_path / "a.txt", [f"{i} dog" for i in range(20)])
    b = _write(tmp_path / "b.txt", refs)
    ref = _write(tmp_path / "ref.txt", refs)
    for method in METHODS:
        code, out, _ = _run(
            "compare", a, b, ref, "--json", "--metrics", "rouge1,chrf", "--method", method, *FAST
        )
        assert code == 0
        result = json.loads(out)
        assert set(result) == {"rouge1", "chrf"}
        for item in result.values():
            assert item["delta"] > 0 and item["p_value"] < 0.05 and item["method"] == method
            assert item["differing"] == 20 and item["n"] == 20
            assert set(item) == {
                "score_a", "score_b", "delta", "p_value", "ci", "method", "signature",
                "test", "differing", "n", "trials", "caveat",
            }  # fmt: skip
    code, out, err = _run("compare", a, b, ref, "--metrics", "rouge1", *FAST)
    assert code == 0 and "rouge1" in out
    # 20 differing segments: the default (auto) runs the permutation test, which has no interval.
    assert out.startswith("test (auto): paired permutation test over the differing segments")
    assert "|test:permutation-montecarlo|k:20|" in out
    row = next(line for line in out.splitlines() if line.startswith("rouge1"))
    assert " n/a " in row and " 20/20 " in row
    assert err == ""


def test_compare_few_differing_segments_is_exact(tmp_path: Path) -> None:
    """4 of 20 segments differ, all in B's favour: the exact sign-flip p is 2/16, not the bootstrap's."""
    refs = [f"sentence {i} about the cat on the mat" for i in range(20)]
    a = _write(tmp_path / "a.txt", [f"{i} dog" if i < 4 else refs[i] for i in range(20)])
    ref = _write(tmp_path / "ref.txt", refs)
    code, out, err = _run("compare", a, ref, ref, "--metrics", "rouge1", "--json")
    item = json.loads(out)["rouge1"]
    assert code == 0
    assert item["test"] == "permutation-exact" and item["trials"] == 16 and item["differing"] == 4
    assert item["p_value"] == pytest.approx(2 / 16) and item["ci"] is None
    assert "smallest possible p is 0.125" in item["caveat"]
    code, out, err = _run("compare", a, ref, ref, "--metrics", "rouge1", "--method", "paired-bootstrap")
    assert code == 0 and "warning: rouge1: only 4 segments differ" in err


def test_compare_help_has_no_doubled_percent() -> None:
    code, out, _ = _run("compare", "--help")
    assert code == 0 and "%%" not in out and "95% CI" in " ".join(out.split())


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    lines = ["The council approved the new tram line on Monday evening."]
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes("\ufeff".encode() + "\n".join(lines).encode() + b"\n")
    ref = _write(tmp_path / "ref.txt", lines)
    code, out, _ = _run("score", hyp, ref, "--json", "--metrics", "bleu,rouge1", *FAST)
    assert code == 0
    scores = {name: item["score"] for name, item in json.loads(out).items()}
    assert scores == {"bleu": pytest.approx(100.0), "rouge1": pytest.approx(100.0)}


def test_empty_lines_are_counted_in_a_warning(tmp_path: Path) -> None:
    hyp = _write(tmp_path / "hyp.txt", ["the cat sat", "", "  "])
    ref = _write(tmp_path / "ref.txt", ["the cat sat", "a dog", "a bird"])
    code, _, err = _run("score", hyp, ref, "--metrics", "rouge1", *FAST)
    assert code == 0
    assert "hyp.txt: 2 of 3 hypothesis segments are empty (scored as they are)" in err
    code, _, err = _run("compare", ref, ref, hyp, "--metrics", "rouge1", *FAST)
    assert code == 0  # compare reads the references once for both systems: one warning, not two
    assert err.count("hyp.txt: 2 of 3 reference segments are empty (scored as they are)") == 1, err


@pytest.mark.parametrize("blank", ["hyp", "ref", "both"])
def test_all_empty_input_is_refused(tmp_path: Path, blank: str) -> None:
    hyp = _write(tmp_path / "hyp.txt", ["", ""] if blank in ("hyp", "both") else ["a b", "c d"])
    ref = _write(tmp_path / "ref.txt", ["", " "] if blank in ("ref", "both") else ["a b", "c d"])
    for command in (["score", hyp, ref], ["compare", hyp, hyp, ref]):
        code, _, err = _run(*command, *FAST)
        assert code == 2
        assert "segments are empty; nothing to score" in err and len(err.strip().splitlines()) == 1


def test_lone_carriage_return_stays_inside_its_line(tmp_path: Path) -> None:
    """sacrebleu keeps a lone \r inside a line; so does clsum (a CRLF ending is still one line end)."""
    refs = [f"line {i} text" for i in range(50)]
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes("".join(f"{r}\r\n" if i != 3 else "line 3 te\rxt\n" for i, r in enumerate(refs)).encode())
    ref = _write(tmp_path / "ref.txt", refs)
    code, out, err = _run("score", hyp, ref, "--json", "--metrics", "rouge1", *FAST)
    assert code == 0, err
    assert json.loads(out)["rouge1"]["signature"].split("|n:")[1].startswith("50|")


def test_format_text_overrides_detection(tmp_path: Path) -> None:
    lines = ["{curly} start of a plain line", "second line"]
    hyp, ref = _write(tmp_path / "hyp.txt", lines), _write(tmp_path / "ref.txt", lines)
    code, _, err = _run("score", hyp, ref, "--metrics", "rouge1", *FAST)
    assert code == 2 and "not valid JSON" in err
    code, out, err = _run("score", hyp, ref, "--metrics", "rouge1", "--format", "text", "--json", *FAST)
    assert code == 0 and json.loads(out)["rouge1"]["score"] == 100.0


def test_unicode_normalization_mismatch_warns(tmp_path: Path) -> None:
    import unicodedata

    refs = ["Köln und Zürich sind Städte", "Ärger über Öl"]
    nfd = [unicodedata.normalize("NFD", r) for r in refs]
    hyp, ref = _write(tmp_path / "hyp.txt", nfd), _write(tmp_path / "ref.txt", refs)
    code, _, err = _run("score", hyp, ref, "--metrics", "rouge1,bleu", *FAST)
    assert code == 0
    assert "Unicode normalization differs (segments not in NFC: 2 of 2 hypotheses, 0 of 2 references)" in err
    code, _, err = _run("score", ref, ref, "--metrics", "rouge1", *FAST)
    assert "normalization" not in err


def test_large_jsonl_reads_linearly_and_finds_duplicates(tmp_path: Path) -> None:
    from clsum.errors import InputError
    from clsum.eval.textio import read_segments

    rows = [json.dumps({"id": f"d{i}", "text": f"text {i}\u2028more"}) for i in range(100_000)]
    path = _write(tmp_path / "big.jsonl", rows)
    segments = read_segments(path)
    assert len(segments.texts) == 100_000 and segments.texts[5] == "text 5\u2028more"
    _write(path, [*rows[:3], rows[1]])
    with pytest.raises(InputError, match=r"big.jsonl:4: duplicate id 'd1'"):
        read_segments(path)


def test_help_says_which_metrics_are_slow() -> None:
    code, out, _ = _run("score", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Slow, on request only: ter (sacrebleu's pure-Python TER" in text
    assert "bertscore (a model; skipped unless installed and cached)" in text
    assert "comet is always skipped (it is not given source texts)" in text

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sciforge.cli.tokenizer import app
from sciforge.pipelines.tokenizer.detect import Detector
from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

runner = CliRunner()


def test_explain_encode_info() -> None:
    r = runner.invoke(app, ["explain", "Aspirin CC(=O)Oc1ccccc1C(=O)O, not POISON; water H2O"])
    assert r.exit_code == 0, r.output
    assert "ACCEPT smiles" in r.output and "POISON" in r.output and "letters only" in r.output
    assert "formula" in r.output and "chars/token" in r.output
    r = runner.invoke(app, ["encode", "<SMILES>CCO</SMILES>"])
    assert r.exit_code == 0 and json.loads(r.output)["tokens"][0] == "<SMILES>"
    r = runner.invoke(app, ["info"])
    assert r.exit_code == 0 and "modality_ranges" in json.loads(r.output)


def test_train_from_files(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("\n\n".join(f"Paragraph {i} about chemistry and proteins." * 3 for i in range(300)))
    (tmp_path / "s.smi").write_text("SMILES\n" + "\n".join(["CCO", "c1ccccc1O", "CC(=O)O", "CCN(CC)CC", "C[C@@H](N)C(=O)O"] * 20))
    (tmp_path / "p.fasta").write_text(">a\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEV\n>b\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQD\n")
    out = tmp_path / "tok"
    r = runner.invoke(app, ["train", "--out", str(out), "--text", str(tmp_path / "t.txt"), "--smiles",
                            str(tmp_path / "s.smi"), "--protein", str(tmp_path / "p.fasta"), "--vocab-size", "2000",
                            "--smiles-vocab", "600", "--protein-vocab", "60", "--augment", "3"])
    assert r.exit_code == 0, r.output
    tok = SciTokenizer.load(out)
    assert len(tok) <= 2000 and tok.protein.mode == "bpe"  # a tiny corpus cannot fill the whole budget
    assert tok.modality_ranges["special"][1] == len(tok)
    s = "x <SMILES>C[C@@H](N)C(=O)O</SMILES> <FASTA>MKTAYIAKQ</FASTA>"
    assert tok.decode(tok.encode(s)) == s
    r = runner.invoke(app, ["train", "--out", str(out)])
    assert r.exit_code != 0  # no text source: a clear error, not a crash with a traceback


def test_demo_corpus_planted_spans(demo_corpus: Path) -> None:
    planted = json.loads((demo_corpus / "planted.json").read_text())
    det = Detector()
    docs = {d["id"]: d["text"] for d in planted["jsonl"] if "text" in d}
    mods = {k: {(t[s.start:s.end], s.modality) for s in det.detect(t)} for k, t in docs.items()}
    assert ("CC(=O)Oc1ccccc1C(=O)O", "smiles") in mods["chem-001"]
    assert ("CC(=O)Nc1ccc(O)cc1", "smiles") in mods["chem-001"]
    assert {m for _, m in mods["chem-002"]} >= {"smiles", "selfies"}
    assert not any(m == "smiles" for _, m in mods["chem-003"])  # POISON and CISCO are words
    assert ("H2O", "formula") in mods["chem-003"]
    assert (planted["protein_sequences"]["ubiquitin"], "protein") in mods["bio-001"]
    assert any(m == "protein" for _, m in mods["bio-002"])
    assert {m for _, m in mods["bio-003"]} == {"dna"}
    assert mods["math-001"] == set()


def test_read_smiles_from_a_wheel(tmp_path: Path) -> None:
    import gzip
    import zipfile

    from sciforge.pipelines.tokenizer.train import read_fasta, read_smiles

    whl = tmp_path / "molsets-0.3.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("moses/dataset/data/test.csv.gz", gzip.compress(b"SMILES\nCCN\n"))
        z.writestr("moses/dataset/data/train.csv.gz", gzip.compress(b"SMILES,SPLIT\nCCO,train\nc1ccccc1,train\n"))
    assert read_smiles(whl) == ["CCO", "c1ccccc1"]
    assert read_smiles(whl, limit=1) == ["CCO"]
    (tmp_path / "x.fa").write_text(">a\nMKV\nLLA\n>b\nQQ\n")
    assert read_fasta(tmp_path / "x.fa") == ["MKVLLA", "QQ"]

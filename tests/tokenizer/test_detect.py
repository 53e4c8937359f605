from __future__ import annotations

import pytest

from sciforge.pipelines.tokenizer.config import DetectorConfig
from sciforge.pipelines.tokenizer.detect import Detector, formula_elements


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector()


def spans(det: Detector, text: str) -> list[tuple[str, str, str]]:
    return [(text[s.start:s.end], s.modality, s.source) for s in det.detect(text)]


def test_smiles_in_prose_with_offsets(det: Detector) -> None:
    text = "Aspirin (CC(=O)Oc1ccccc1C(=O)O), and ibuprofen CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O."
    assert spans(det, text) == [
        ("CC(=O)Oc1ccccc1C(=O)O", "smiles", "auto"),
        ("CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O", "smiles", "auto"),
    ]


@pytest.mark.parametrize("word", ["POISON", "CISCO", "OPINIONS", "COONS", "**********", "CCCCCCCCCCCC",
                                  "NSCLC", "BRCA1", "COVID-19", "2-methylpropan-1-ol", "N,N-dimethylformamide",
                                  "10.1021/acs.jcim.0c00123", "https://example.org/C(C)CCCCC=O",
                                  "SARS-CoV-2", "IL-6/STAT3", "H2SO4", "CH3CH2OH", "C6H12O6", "(1R,2S)-2-phenylcyclopropan-1-amine"])
def test_words_acronyms_formulas_are_not_smiles(det: Detector, word: str) -> None:
    assert [s for s in det.detect(f"the {word} result") if s.modality == "smiles"] == []


def test_rdkit_parses_words_that_the_guards_reject() -> None:
    from sciforge.pipelines.tokenizer.detect import rdkit_atoms

    # the trap from the issue: naive detectors accept these
    assert rdkit_atoms("POISON") > 0 and rdkit_atoms("COONS") > 0 and rdkit_atoms("*****") > 0


def test_formulas(det: Detector) -> None:
    assert spans(det, "water H2O, glucose C6H12O6 and Ca(OH)2") == [
        ("H2O", "formula", "auto"), ("C6H12O6", "formula", "auto"), ("Ca(OH)2", "formula", "auto")]
    assert formula_elements("C1CCCCC1") == 0  # ring closure '1' is never a formula count
    assert formula_elements("CNN") == 0  # acronym, no counts
    assert formula_elements("Xy2O") == 0  # not an element


def test_protein_vs_dna(det: Detector) -> None:
    prot = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVV"
    dna = "ATGCGTACGTAGCTAGCTAGCTAGCTAGCATCGATCGATCG"
    got = spans(det, f"protein {prot} and gene {dna}.")
    assert got == [(prot, "protein", "auto"), (dna, "dna", "auto")]


def test_wrapped_fasta_and_blocks(det: Detector) -> None:
    seq = ">sp|P1|X\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRV\nGDGTQDNLSGAEKAVQVKVKALPDAQFEVV\nnext line"
    (s,) = det.detect(seq)
    assert seq[s.start:s.end] == "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRV\nGDGTQDNLSGAEKAVQVKVKALPDAQFEVV"
    blocks = "SQ   MDAMKRGLCC VLLLCGAVFV SPSQEIHARF RRGAR\n"
    (b,) = det.detect(blocks)
    assert b.modality == "protein" and blocks[b.start:b.end] == "MDAMKRGLCC VLLLCGAVFV SPSQEIHARF RRGAR"


def test_low_complexity_and_shouting_rejected(det: Detector) -> None:
    assert det.detect("A" * 40) == []
    assert det.detect("WHYWONTTHISPRINTERWORKWHYWHYWHYWHY") == []  # few distinct letters


def test_tags_balanced_unbalanced_nested(det: Detector) -> None:
    t = "x <SMILES>CCO</SMILES> y <FASTA>MKV</FASTA> <IUPAC>ethanol</IUPAC> <SMILES>open"
    got = [(t[s.start:s.end], s.modality, s.content) for s in det.detect(t)]
    assert [g[:2] for g in got] == [("<SMILES>CCO</SMILES>", "smiles"), ("<FASTA>MKV</FASTA>", "protein"),
                                    ("<IUPAC>ethanol</IUPAC>", "iupac")]
    a, b = got[0][2]
    assert t[a:b] == "CCO"
    nested = "<SMILES>C<SMILES>O</SMILES>N</SMILES>"
    (s,) = det.detect(nested)
    assert nested[s.start:s.end] == "<SMILES>C<SMILES>O</SMILES>" and s.source == "tag"
    assert det.detect("</SMILES> only a closing tag") == []


def test_explain_gives_reasons(det: Detector) -> None:
    ds = det.decisions("CC(=O)Oc1ccccc1C(=O)O vs 2-methylpropan-1-ol vs C1CCC")
    assert [(d.accepted, d.kind) for d in ds] == [(True, "smiles"), (False, "smiles")]
    assert "RDKit" in ds[0].reason and "word" in ds[1].reason


def test_huge_single_line_smiles_is_bounded(det: Detector) -> None:
    huge = "C" + "C(C)" * 25_000  # 100k characters on one line
    assert len(huge) > 100_000 - 10
    assert det.detect(huge) == []  # too long for RDKit: left to the text tokenizer (and counted)
    assert any("too long" in d.reason for d in det.decisions(huge))


def test_config_switches_and_validation() -> None:
    d = Detector(DetectorConfig(detect_smiles=False))
    assert [s.modality for s in d.detect("CC(=O)Oc1ccccc1C(=O)O")] == []
    with pytest.raises(ValueError):
        DetectorConfig(smiles_min_units=0)
    with pytest.raises(ValueError):
        DetectorConfig(unknown=1)  # type: ignore[call-arg]


def test_rdkit_noise_is_silenced(det: Detector, capfd: pytest.CaptureFixture[str]) -> None:
    det.detect("bad rings C1CCCCC2CCCC(=O)N and valence C(C)(C)(C)(C)CCCCC and c1cccc1CCCCCC here")
    out, err = capfd.readouterr()
    assert "SMILES Parse Error" not in err + out and "Can't kekulize" not in err + out
    assert "Explicit valence" not in err + out


# -- coverage: reactions, atom maps, formulas in informal prose, shouted English ------------------------


def test_atom_mapped_smiles_is_one_span(det: Detector) -> None:
    t = "The mapped acid [CH3:1][C:2](=[O:3])[OH:4] and [CH3:1][OH:2] here."
    assert spans(det, t) == [("[CH3:1][C:2](=[O:3])[OH:4]", "smiles", "auto"), ("[CH3:1][OH:2]", "smiles", "auto")]


@pytest.mark.parametrize("rxn", [
    "CC(=O)O.OCC>[H+]>CC(=O)OCC.O",  # agents between the two '>'
    "c1ccccc1>>c1ccccc1Br",
    "[CH3:1][C:2](=[O:3])[OH:4].[OH:5][CH2:6][CH3:7]>>[CH3:1][C:2](=[O:3])[O:5][CH2:6][CH3:7].[OH2:4]",
])
def test_reaction_smiles_is_one_span(det: Detector, rxn: str) -> None:
    assert spans(det, f"Scheme 1: {rxn}, at reflux.") == [(rxn, "smiles", "auto")]


def test_arrows_and_markup_are_not_reactions(det: Detector) -> None:
    t = "aspirin CC(=O)Oc1ccccc1C(=O)O->CC(=O)Nc1ccc(O)cc1 and <b>CCN(CC)CC(=O)Nc1c(C)cccc1C</b>; x > y"
    assert [s for s, _, _ in spans(det, t)] == ["CC(=O)Oc1ccccc1C(=O)O", "CC(=O)Nc1ccc(O)cc1",
                                                 "CCN(CC)CC(=O)Nc1c(C)cccc1C"]
    assert any("not a reaction SMILES" in d.reason for d in det.decisions(t))


def test_evaluation_reactions_and_mapped_molecules_are_detected_whole(det: Detector) -> None:
    from sciforge.pipelines.tokenizer.evalsets import reaction_prose

    for text, span in reaction_prose():
        assert [(s.start, s.end) for s in det.detect(text) if s.modality == "smiles"] == [span], text


@pytest.mark.parametrize("code", ["PB100", "I2C", "SC300", "W2K", "Y2K", "PS2", "B8F", "HC11", "UN2", "K2B"])
def test_product_codes_are_not_formulas(det: Detector, code: str) -> None:
    assert spans(det, f"I just bought a {code} last week.") == []
    (d,) = [d for d in det.decisions(f"a {code} b") if d.kind == "formula"]
    assert not d.accepted and "formula-shaped, but" in d.reason


def test_formula_context_rules(det: Detector) -> None:
    assert spans(det, "the UWS4.2 release and <C5HFr2.CpA@host.com>") == []  # version, message id
    uuencoded = "M8F]AB8F+%@!>!W3P*(\"$%+$\"#V,:/)@ TiO2 %@!>!W3P*(\"$%+$\"#V,:/)@B8F"
    assert [m for _, m, _ in spans(det, uuencoded)] == []
    (d,) = [d for d in det.decisions(uuencoded) if d.text == "TiO2"]
    assert not d.accepted and "encoded data" in d.reason
    near_smiles = "Scheme: CC(=O)O.OCC>[H+]>CC(=O)OCC.O; the PB100 and TiO2 and [CH3:1][OH:2]"
    assert ("TiO2", "formula", "auto") in spans(det, near_smiles)  # punctuation of SMILES, but words too
    assert spans(det, "they often have 3% TiO2, like CO2.") == [("TiO2", "formula", "auto"), ("CO2", "formula", "auto")]


def test_formula_precision_on_informal_prose(det: Detector) -> None:
    from sciforge.pipelines.tokenizer.evalsets import formula_prose

    tp = fp = fn = 0
    for text, truth in formula_prose():
        got = {(s.start, s.end) for s in det.detect(text) if s.modality == "formula"}
        tp += len(got & set(truth))
        fp += len(got - set(truth))
        fn += len(set(truth) - got)
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9, (tp, fp, fn)


def test_no_protein_in_all_caps_english(det: Detector) -> None:
    from sciforge.pipelines.tokenizer.evalsets import all_caps_english

    texts = all_caps_english(300_000)
    assert sum(map(len, texts)) > 200_000
    found = [t[s.start:s.end] for t in texts for s in det.detect(t) if s.modality == "protein"]
    assert found == []
    # the two layouts the issue names: 10-letter words in blocks of ten, and a long run without spaces
    assert det.detect("CIPHERTEXT EXHIBITING CERTAIN PATTERNS") == []
    assert det.detect("ARTIFICIAL SATELLITES HAVE") == []
    d = [d for d in det.decisions("REFRACTIVE MECHANISMS THAT") if d.kind == "protein"]
    assert d and not d[0].accepted and "English" in d[0].reason


def test_proteins_still_detected_in_every_layout(det: Detector) -> None:
    ubiquitin = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    assert spans(det, f"seq {ubiquitin} end") == [(ubiquitin, "protein", "auto")]
    blocks = " ".join(ubiquitin[i:i + 10] for i in range(0, len(ubiquitin), 10))
    assert [m for _, m, _ in spans(det, f"SQ   {blocks}\n")] == ["protein"]

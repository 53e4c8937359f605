from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciforge.pipelines.tokenizer.tokenizer import EOD, IMAGE, TS, SciTokenizer

SCI_ALPHABET = "CNOSPFIBrlcnosp()[]=#@+-/\\%123456789.*HMKTAYIQRVEGDLW <>SMILEFAT\n\t"
TAG_PIECES = ["<SMILES>", "</SMILES>", "<FASTA>", "</FASTA>", "<SELFIES>", "</SELFIES>", "<IUPAC>",
              "</IUPAC>", "<MOLFORMULA>", "</MOLFORMULA>", "CC(=O)Oc1ccccc1C(=O)O", "[C@@H]", "é",
              "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", " ", "\n", "H2O", "\udcff", "漢字", "<|smiles|>", "<image>"]
PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.text())
def test_lossless_any_text(tok: SciTokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s


@PROPS
@given(st.text(alphabet=SCI_ALPHABET, max_size=300))
def test_lossless_scientific_alphabet(tok: SciTokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s


@PROPS
@given(st.lists(st.sampled_from(TAG_PIECES), max_size=30).map("".join))
def test_lossless_tags_spans_surrogates(tok: SciTokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s


@PROPS
@given(st.binary(max_size=400))
def test_lossless_bytes_invalid_utf8(tok: SciTokenizer, b: bytes) -> None:
    assert tok.decode_bytes(tok.encode_bytes(b)) == b


def test_ids_live_in_their_modality_ranges(tok: SciTokenizer) -> None:
    text = "Aspirin CC(=O)Oc1ccccc1C(=O)O binds MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRV in <SMILES>CCO</SMILES>."
    ids, counts = tok.encode_batch([text], with_modalities=True)[0]
    names = [tok.modality_of(i) for i in ids]
    assert {"text", "smiles", "protein", "special"} <= set(names)
    assert sum(counts.values()) == len(ids) and counts["smiles"] > 0 and counts["protein"] > 0
    r = tok.modality_ranges
    assert r["text"][0] == 0 and r["special"][1] == len(tok) == tok.vocab_size
    bounds = sorted(r.values())
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # disjoint and contiguous
    for t in (EOD, IMAGE, TS, "<SMILES>", "<|smiles|>"):
        assert r["special"][0] <= tok.special_ids[t] < r["special"][1]
    assert tok.image_token_id == tok.special_ids[IMAGE] and tok.ts_token_id == tok.special_ids[TS]


def test_smiles_compresses_better_than_text_range(tok: SciTokenizer) -> None:
    smi = "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O"
    dyn = tok.encode(f"<SMILES>{smi}</SMILES>")[1:-1]
    plain = tok.text.encode(smi).ids
    assert all(tok.modality_of(i) == "smiles" for i in dyn)
    assert len(dyn) < len(plain)


def test_unseen_bracket_atoms_degrade_gracefully(tok: SciTokenizer) -> None:
    s = "<SMILES>[Pt@@H2+3][99Tc]C</SMILES>"
    ids = tok.encode(s)
    assert tok.decode(ids) == s and len(ids) <= len(s)


def test_literal_special_strings_stay_text(tok: SciTokenizer) -> None:
    s = "a <|endoftext|> and <image> in prose"
    ids = tok.encode(s)
    assert tok.eod_id not in ids and tok.image_token_id not in ids
    assert tok.decode(ids) == s
    assert tok.decode([tok.eod_id], skip_special_tokens=True) == ""


def test_huge_single_line_smiles_tagged(tok: SciTokenizer) -> None:
    huge = "C" + "C(C)" * 25_000
    s = f"<SMILES>{huge}</SMILES>"
    ids = tok.encode(s)
    assert tok.decode(ids) == s and len(ids) < len(huge) / 2


def test_save_load_roundtrip_and_hash(tok: SciTokenizer, tmp_path: Path) -> None:
    tok.save(tmp_path / "t")
    files = {p.name for p in (tmp_path / "t").iterdir()}
    assert {"sciforge_tokenizer.json", "text_bpe.json", "tokenizer_config.json", "tokenization_sciforge.py"} <= files
    again = SciTokenizer.load(tmp_path / "t")
    assert again.hash == tok.hash and again.modality_ranges == tok.modality_ranges
    text = "x CC(=O)Oc1ccccc1C(=O)O y"
    assert again.encode(text) == tok.encode(text)
    blob = json.loads((tmp_path / "t" / "sciforge_tokenizer.json").read_text())
    blob["format"] = "other"
    with pytest.raises(ValueError, match="not a sciforge tokenizer"):
        SciTokenizer.from_dict(blob)
    with pytest.raises(FileNotFoundError):
        SciTokenizer.load(tmp_path / "missing")


def test_transformers_autotokenizer_loads_it(tok: SciTokenizer, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tok.save(tmp_path / "hf")
    hf = AutoTokenizer.from_pretrained(str(tmp_path / "hf"), trust_remote_code=True)
    text = "Caffeine Cn1cnc2c1c(=O)n(C)c(=O)n2C is <SMILES>CCO</SMILES>"
    ids = hf(text)["input_ids"]
    assert ids == tok.encode(text)
    assert hf.decode(ids) == text
    assert len(hf) == len(tok) and hf.eos_token_id == tok.eod_id and hf.pad_token_id == tok.pad_id
    hf.save_pretrained(tmp_path / "hf2")
    assert SciTokenizer.load(tmp_path / "hf2").hash == tok.hash
    # its ChatML template gives exactly the ids SFT trains on and RL prompts with
    from sciforge.model.rl.rollout import chat_prompt_ids
    from sciforge.model.train.sft import encode_chat

    chat = [{"role": "user", "content": "Name CCO."}, {"role": "assistant", "content": "ethanol"}]
    assert list(hf.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"]) == \
        encode_chat(chat, tok)[0]
    prompt = hf.apply_chat_template(chat[:1], tokenize=True, add_generation_prompt=True, return_dict=True)
    assert list(prompt["input_ids"]) == chat_prompt_ids("Name CCO.", tok)


def test_default_training_is_deterministic(tok: SciTokenizer) -> None:
    from sciforge.pipelines.tokenizer.default import train_default

    assert train_default().hash == tok.hash


def test_bracket_atoms_never_cost_more_than_the_text_bpe(tok: SciTokenizer) -> None:
    import itertools
    import random

    from sciforge.pipelines.tokenizer.smiles import ELEMENTS

    syms = sorted(ELEMENTS) + ["c", "n", "o", "s", "p", "se"]
    grid = list(itertools.product(["", "2", "13", "7", "235"], syms, ["", "@", "@@"], ["", "H", "H2", "H3"],
                                  ["", "+", "-", "+2", "-3", "++"], ["", ":1", ":12", ":140"]))
    for iso, sym, chi, h, q, amap in random.Random(0).sample(grid, 3000):
        atom = f"[{iso}{sym}{chi}{h}{q}{amap}]"
        ours = tok.encode(f"<SMILES>{atom}</SMILES>")
        assert tok.decode(ours) == f"<SMILES>{atom}</SMILES>"
        assert len(ours) - 2 <= len(tok.text.encode(atom).ids), atom


def test_mapped_atoms_take_few_tokens(tok: SciTokenizer) -> None:
    for atom, most in (("[CH3:1]", 3), ("[C:2]", 2), ("[NH2:12]", 3), ("[Pt@@H2+3]", 5), ("[13CH3]", 4)):
        ids = tok.encode(f"<SMILES>{atom}</SMILES>")[1:-1]
        assert len(ids) <= most and all(tok.modality_of(i) == "smiles" for i in ids), atom


def test_reactions_and_mapped_smiles_in_prose_beat_the_text_bpe(tok: SciTokenizer) -> None:
    """Automatic mode on raw text (no tags), boundary tokens included."""
    from sciforge.pipelines.tokenizer.evalsets import reaction_prose

    ours = base = 0
    for text, _span in reaction_prose():
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert tok.special_ids["<|_smiles|>"] in ids or tok.special_ids["<|smiles|>"] in ids
        assert len(ids) <= len(tok.text.encode(text).ids), text
        ours, base = ours + len(ids), base + len(tok.text.encode(text).ids)
    assert ours < 0.8 * base


def test_automatic_span_absorbs_the_space_before_it(tok: SciTokenizer) -> None:
    text = "The compound CC(=O)Oc1ccccc1C(=O)O was tested."
    ids = tok.encode(text)
    names = [tok.id_to_token(i) for i in ids]
    assert names[:3] == ["The", " compound", "<|_smiles|>"] and "<|/smiles|>" in names
    assert tok.decode(ids) == text and tok.decode(ids, skip_special_tokens=True) == text
    start = tok.encode("CC(=O)Oc1ccccc1C(=O)O was")  # no space before: the plain opening token
    assert tok.id_to_token(start[0]) == "<|smiles|>" and tok.decode(start) == "CC(=O)Oc1ccccc1C(=O)O was"
    two = "x  CC(=O)Oc1ccccc1C(=O)O"  # only one space is absorbed
    assert tok.decode(tok.encode(two)) == two


def test_a_tokenizer_saved_without_the_space_opening_tokens_still_loads(tok: SciTokenizer) -> None:
    d = tok.to_dict()
    d["special_tokens"] = {t: i for t, i in d["special_tokens"].items() if not t.startswith("<|_")}
    d["vocab_size"] -= 2
    old = SciTokenizer.from_dict(d)
    assert len(old) == len(tok) - 2 and old.special_ids["<|im_end|>"] == tok.special_ids["<|im_end|>"]
    text = "The compound CC(=O)Oc1ccccc1C(=O)O was tested."
    ids = old.encode(text)
    assert old.decode(ids) == text and old.special_ids["<|smiles|>"] in ids and max(ids) < len(old)

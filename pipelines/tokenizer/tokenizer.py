"""The dynamic tokenizer: detect modality spans, tokenize each with its own sub-tokenizer, one id space.

Id layout (end-exclusive ranges, see :attr:`SciTokenizer.modality_ranges`)::

    [ text byte-level BPE | SMILES atom BPE | protein residue BPE/k-mers | special tokens ]

Lossless by construction: every id decodes to a fixed byte string (text tokens to their bytes, unit
tokens to their units, tag tokens to the literal tag, automatic-span boundary tokens to nothing or, for the
opening token of a span after a space, to that space), and
encode only ever splits the input, so ``decode(encode(x)) == x`` for every string, including lone
surrogates, and ``decode_bytes(encode_bytes(b)) == b`` for every byte string (invalid UTF-8 included).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from sciforge.pipelines.tokenizer.config import TAGS, DetectorConfig
from sciforge.pipelines.tokenizer.detect import Detector, Span
from sciforge.pipelines.tokenizer.units import UnitTokenizer

FORMAT = "sciforge.tokenizer/1"
CONFIG_FILE = "sciforge_tokenizer.json"
# The text BPE alone, in HF `tokenizers` format. Not named tokenizer.json on purpose: tools that load a
# tokenizer.json would silently get the text BPE without the modality handling.
TEXT_FILE = "text_bpe.json"

EOD = "<|endoftext|>"  # document boundary: the packer appends it after every document
PAD = "<|pad|>"
IMAGE = "<image>"  # placeholder for a vision-encoder embedding (model/)
TS = "<ts>"  # placeholder for a time-series-encoder embedding (model/)
# ChatML turn markers (the chat format of Qwen / Intern-S1, used by model/train/sft.py): one id each, so a
# turn boundary is a single token the model can emit and stop on. They are appended after the other
# special tokens, so the ids of the earlier ones do not move. Like every special token they are only ever
# produced by code that builds ids (never parsed out of document text: a page quoting "<|im_start|>"
# stays text).
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
# Modalities whose spans have their own id range; the others (iupac, formula, dna) use the text BPE.
UNIT_MODALITIES = {"smiles": "smiles", "selfies": "smiles", "protein": "protein"}
AUTO_BOUNDARY = {m: (f"<|{m}|>", f"<|/{m}|>") for m in ("smiles", "protein")}
# An automatic span after a space opens with this token instead, which decodes to the space: the space then
# costs no token of its own (a text BPE spends one on a trailing " " before the span, or merges it into the
# span's first characters).
AUTO_OPEN_SPACE = {m: f"<|_{m}|>" for m in ("smiles", "protein")}
_SURROGATE_RE = re.compile("[\ud800-\udfff]+")


def special_tokens() -> list[str]:
    toks = [EOD, PAD, IMAGE, TS]
    for tag in TAGS:
        toks += [f"<{tag}>", f"</{tag}>"]
    for begin, end in AUTO_BOUNDARY.values():
        toks += [begin, end]
    return toks + [IM_START, IM_END] + list(AUTO_OPEN_SPACE.values())


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte <-> printable-character map, inverted (what HF's ByteLevel uses)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


@dataclass
class Segment:
    """A piece of one document and how it is tokenized."""

    kind: str  # text | smiles | protein | special
    text: str
    modality: str  # modality the tokens are counted under (text, smiles, protein, iupac, dna, ...)


class SciTokenizer:
    """One vocabulary over text, SMILES and protein sub-tokenizers, plus special tokens."""

    def __init__(self, text: Tokenizer, smiles: UnitTokenizer, protein: UnitTokenizer,
                 detector: DetectorConfig | None = None, meta: dict[str, Any] | None = None,
                 specials: list[str] | None = None) -> None:
        self.text = text
        self.smiles = smiles
        self.protein = protein
        self.detector_config = detector or DetectorConfig()
        self.detector = Detector(self.detector_config)
        self.meta = meta or {}
        n_text = text.get_vocab_size(with_added_tokens=True)
        self._offsets = {"text": 0, "smiles": n_text, "protein": n_text + len(smiles)}
        first_special = n_text + len(smiles) + len(protein)
        # ``specials``: the special tokens of a saved tokenizer in id order (a file written before the
        # space-absorbing opening tokens existed has none: it keeps its ids and opens spans without them)
        self.special_tokens = special_tokens() if specials is None else list(specials)
        self.special_ids = {t: first_special + i for i, t in enumerate(self.special_tokens)}
        self.vocab_size = first_special + len(self.special_tokens)
        self.modality_ranges: dict[str, tuple[int, int]] = {
            "text": (0, n_text),
            "smiles": (n_text, n_text + len(smiles)),
            "protein": (n_text + len(smiles), first_special),
            "special": (first_special, self.vocab_size),
        }
        self.eod_id = self.special_ids[EOD]
        self.pad_id = self.special_ids[PAD]
        self.image_token_id = self.special_ids[IMAGE]
        self.ts_token_id = self.special_ids[TS]
        # An automatic span after a space opens with AUTO_OPEN_SPACE (bench/tokenizer_compression.py turns
        # this off to measure what it saves; ids are valid either way and decode the same).
        self.absorb_space = True
        self._build_tables()
        self._text_cost = lru_cache(maxsize=1 << 16)(self._text_tokens)

    def _text_tokens(self, s: str) -> int:
        """Tokens the text BPE spends on ``s`` alone (an unknown bracket atom takes the cheaper spelling)."""
        return len(self.text.encode(s, add_special_tokens=False).ids)

    # -- tables ----------------------------------------------------------------------------------
    def _build_tables(self) -> None:
        bd = _byte_decoder()
        table: list[bytes] = [b""] * self.vocab_size
        for tok, i in self.text.get_vocab(with_added_tokens=False).items():
            table[i] = bytes(bd[c] for c in tok)
        self._byte_id = {table[i][0]: i for i in range(self._offsets["smiles"]) if len(table[i]) == 1}
        if len(self._byte_id) != 256:
            raise ValueError("the text BPE must contain all 256 byte tokens (train with ByteLevel.alphabet())")
        for name, sub in (("smiles", self.smiles), ("protein", self.protein)):
            off = self._offsets[name]
            for i, s in enumerate(sub.strings):
                table[off + i] = s.encode("utf-8")
        self._silent = {i for t, i in self.special_ids.items() if t in {x for p in AUTO_BOUNDARY.values() for x in p}}
        space_open = {self.special_ids[t] for t in AUTO_OPEN_SPACE.values() if t in self.special_ids}
        for t, i in self.special_ids.items():
            table[i] = b"" if i in self._silent else b" " if i in space_open else t.encode("utf-8")
        self._silent |= space_open
        self._table = table
        self._always_special = {self.eod_id, self.pad_id, self.image_token_id, self.ts_token_id}

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def hash(self) -> str:
        """sha256 of the canonical serialization: the tokenizer's content version."""
        return hashlib.sha256(self.to_json_bytes()).hexdigest()

    def modality_of(self, token_id: int) -> str:
        for name, (a, b) in self.modality_ranges.items():
            if a <= token_id < b:
                return name
        raise ValueError(f"id {token_id} is outside the vocabulary ({self.vocab_size})")

    # -- segmentation ----------------------------------------------------------------------------
    def segments(self, text: str, spans: Sequence[Span] | None = None) -> list[Segment]:
        """Split a document into text / unit / special segments following the detected spans."""
        spans = self.detector.detect(text) if spans is None else spans
        out: list[Segment] = []
        pos = 0
        for sp in spans:
            a, b = sp.content
            sub = UNIT_MODALITIES.get(sp.modality)
            space = sp.source != "tag" and sub is not None and sp.start > pos and text[sp.start - 1] == " " \
                and self.absorb_space and AUTO_OPEN_SPACE[sub] in self.special_ids
            if sp.start - space > pos:
                out.append(Segment("text", text[pos:sp.start - space], "text"))
            if sp.source == "tag":
                out.append(Segment("special", text[sp.start:a], sp.modality))
            elif sub is not None:
                out.append(Segment("special", AUTO_OPEN_SPACE[sub] if space else AUTO_BOUNDARY[sub][0], sp.modality))
            if a < b:
                out.append(Segment(sub or "text", text[a:b], sp.modality))
            if sp.source == "tag":
                out.append(Segment("special", text[b:sp.end], sp.modality))
            elif sub is not None:
                out.append(Segment("special", AUTO_BOUNDARY[sub][1], sp.modality))
            pos = sp.end
        if pos < len(text):
            out.append(Segment("text", text[pos:], "text"))
        return out

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str], *, with_modalities: bool = False) -> list[Any]:
        """Encode many documents; text runs of all documents go through HF ``tokenizers`` in one call.

        With ``with_modalities`` every document gives ``(ids, Counter(modality -> tokens))``.
        """
        plans: list[list[tuple[str, Any, str]]] = []  # per doc: (kind, payload, modality)
        text_runs: list[str] = []
        unit_runs: dict[str, list[str]] = {"smiles": [], "protein": []}

        def add_text(plan: list[tuple[str, Any, str]], s: str, modality: str, esc: bool) -> None:
            if not _SURROGATE_RE.search(s):
                plan.append(("text", len(text_runs), modality))
                text_runs.append(s)
                return
            pos = 0  # lone surrogates cannot enter Rust: their bytes become byte tokens
            for m in _SURROGATE_RE.finditer(s):
                if m.start() > pos:
                    plan.append(("text", len(text_runs), modality))
                    text_runs.append(s[pos:m.start()])
                raw = m.group(0).encode("utf-8", "surrogateescape" if esc else "surrogatepass")
                plan.append(("ids", [self._byte_id[b] for b in raw], modality))
                pos = m.end()
            if pos < len(s):
                plan.append(("text", len(text_runs), modality))
                text_runs.append(s[pos:])

        for doc in texts:
            esc = isinstance(doc, _Escaped)
            plan: list[tuple[str, Any, str]] = []
            for seg in self.segments(str(doc)):
                if seg.kind == "text":
                    add_text(plan, seg.text, seg.modality, esc)
                elif seg.kind == "special":
                    plan.append(("ids", [self.special_ids[seg.text]], "special"))
                else:
                    sub = self.smiles if seg.kind == "smiles" else self.protein
                    cost = self._text_cost if seg.kind == "smiles" else None
                    for known, run in sub.pieces(seg.text, cost):
                        if known:
                            plan.append((seg.kind, len(unit_runs[seg.kind]), seg.modality))
                            unit_runs[seg.kind].append(run)
                        else:
                            add_text(plan, run, seg.modality, esc)
            plans.append(plan)

        text_ids = [e.ids for e in self.text.encode_batch_fast(text_runs, add_special_tokens=False)] \
            if text_runs else []
        unit_ids = {k: (getattr(self, k).encode_runs(v) if v else []) for k, v in unit_runs.items()}
        out: list[Any] = []
        for plan in plans:
            ids: list[int] = []
            counts: Counter[str] = Counter()
            for kind, payload, modality in plan:
                if kind == "ids":
                    piece = payload
                elif kind == "text":
                    piece = text_ids[payload]
                else:
                    off = self._offsets[kind]
                    piece = [off + i for i in unit_ids[kind][payload]]
                ids.extend(piece)
                if with_modalities:
                    counts[modality] += len(piece)
            out.append((ids, counts) if with_modalities else ids)
        return out

    def encode_bytes(self, data: bytes) -> list[int]:
        """Encode raw bytes (invalid UTF-8 included): undecodable bytes become byte tokens."""
        return self.encode_batch([_Escaped(data.decode("utf-8", "surrogateescape"))])[0]

    # -- decoding --------------------------------------------------------------------------------
    def decode_bytes(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> bytes:
        t = self._table
        if skip_special_tokens:
            return b"".join(t[i] for i in ids if i not in self._always_special)
        return b"".join([t[i] for i in ids])

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        raw = self.decode_bytes(ids, skip_special_tokens=skip_special_tokens)
        try:
            return raw.decode("utf-8", "surrogatepass")  # exact inverse of encode(str)
        except UnicodeDecodeError:
            return raw.decode("utf-8", "surrogateescape")  # exact inverse of encode_bytes

    def id_to_token(self, i: int) -> str:
        """A readable, unique name for every id (for debugging and the HF wrapper)."""
        a, b = self.modality_ranges["special"]
        if a <= i < b:
            return self.special_tokens[i - a]
        name = self.modality_of(i)
        s = self._table[i].decode("utf-8", "backslashreplace")
        return s if name == "text" else f"<{name}:{s}>"

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "vocab_size": self.vocab_size,
            "modality_ranges": {k: list(v) for k, v in self.modality_ranges.items()},
            "special_tokens": self.special_ids,
            "detector": self.detector_config.model_dump(),
            "text": json.loads(self.text.to_str()),
            "smiles": self.smiles.to_dict(),
            "protein": self.protein.to_dict(),
            "meta": self.meta,
        }

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SciTokenizer:
        if d.get("format") != FORMAT:
            raise ValueError(f"not a sciforge tokenizer (format {d.get('format')!r}, expected {FORMAT!r})")
        tok = cls(Tokenizer.from_str(json.dumps(d["text"])), UnitTokenizer.from_dict(d["smiles"]),
                  UnitTokenizer.from_dict(d["protein"]), DetectorConfig(**d["detector"]), d.get("meta"),
                  sorted(d["special_tokens"], key=d["special_tokens"].get))
        if tok.vocab_size != d["vocab_size"]:
            raise ValueError("vocabulary size differs from the recorded one: corrupt tokenizer file")
        return tok

    def save(self, directory: str | Path) -> Path:
        """Write the tokenizer in Hugging Face conventions (see sciforge.pipelines.tokenizer.hf)."""
        from sciforge.pipelines.tokenizer.hf import write_hf_files

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / CONFIG_FILE).write_bytes(self.to_json_bytes())
        self.text.save(str(d / TEXT_FILE))
        write_hf_files(self, d)
        return d

    @classmethod
    def load(cls, directory: str | Path) -> SciTokenizer:
        p = Path(directory)
        p = p / CONFIG_FILE if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"no {CONFIG_FILE} in {directory}")
        return cls.from_dict(json.loads(p.read_bytes()))

    @classmethod
    def from_bytes(cls, blob: bytes) -> SciTokenizer:
        return cls.from_dict(json.loads(blob))


class _Escaped(str):
    """A str that came from bytes via 'surrogateescape' (its surrogates stand for raw bytes)."""

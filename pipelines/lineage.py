"""Lineage: from any token of a corpus snapshot back to its raw record, with every stage's decision.

The corpus job publishes, next to each ``shard-NNNNN.bin``, a Parquet index ``lineage/shard-NNNNN.parquet``
with one row per *piece*: the part of one page of one packed document that falls in one sequence::

    seq          int32   sequence number inside the shard (rows sorted by seq, then start)
    start        int32   first token of the piece inside the sequence
    length       int32   tokens of the piece
    doc          int32   the document's row in documents-NNNNN.parquet (= its entry in the .idx)
    doc_id       string  dictionary-encoded
    repeat       int32   which copy of the document (the domain mixture repeats whole documents)
    page         int32   the page number of the page dataset
    page_offset  int32   tokens of the page before this piece (a page continues across sequences)

A page's span is its tokens plus the separator before it (pages after the first) or the end-of-document
token after it (the last page): the pieces of a sequence tile it up to its padding. Rows are sorted by
``seq`` and written in row groups of :data:`LINEAGE_ROW_GROUP_ROWS`, so the row-group statistics of
``seq`` (min/max) let one lookup read the footer and one row group of one file.

:func:`trace` follows a piece's ``doc_id`` through the snapshot's parents (their manifests give each
dataset's version and config hash): ``clean/pages`` (dedup: component, the duplicates dropped in its
favour), then the source's page dataset (web: the domain decision and its evidence, the WARC file,
offset and record id; PDF: the route, parser, sha256 and page; text: the JSONL file and line). Every read
goes through :mod:`sciforge.pipelines.storage`, so the same calls work on local disk and S3.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciforge.pipelines.corpus.reader import RUN_DATA, RUN_STEPS, epoch_permutation
from sciforge.pipelines.datasets import DatasetRef, read_manifest
from sciforge.pipelines.storage import Storage

LINEAGE_DIR = "lineage"
LINEAGE_SCHEMA = pa.schema([
    ("seq", pa.int32()), ("start", pa.int32()), ("length", pa.int32()), ("doc", pa.int32()),
    ("doc_id", pa.string()), ("repeat", pa.int32()), ("page", pa.int32()), ("page_offset", pa.int32()),
])
# Rows per row group: at ~5 pieces per 4,096-token sequence, 16,384 rows are ~3,000 sequences and ~100 KB
# compressed; a lookup reads one such group (plus a footer of a few hundred bytes per group).
LINEAGE_ROW_GROUP_ROWS = 16384
# Monotone integer columns: delta encoding stores their small steps in a few bits each. doc_id keeps
# Parquet's dictionary encoding (pages of one document repeat it).
_DELTA = ("seq", "start", "doc", "page_offset")
# The source column of a page dataset -> the name of the page dataset it comes from (dedup's parents).
SOURCE_DATASET = {"web": "web_pages", "pdf": "pdf_pages", "text": "text_pages"}
TEXT_PREFIX = "text:"  # text_pages' doc ids: "text:" + the raw JSONL record's id


def lineage_key(snapshot_key: str, shard: int) -> str:
    return f"{snapshot_key}/{LINEAGE_DIR}/shard-{shard:05d}.parquet"


# -- building (pure, run by the corpus job per shard) ----------------------------------------------


def lineage_table(doc_starts: np.ndarray, doc_ids: list[str], repeats: list[int],
                  page_spans: list[list[tuple[int, int]]], seq_len: int) -> pa.Table:
    """Pieces of one shard. ``page_spans[d]`` lists ``(page, tokens)`` of packed document ``d`` in order;
    their token counts add up to the document's length in the shard."""
    cols: dict[str, list[int]] = {k: [] for k in ("seq", "start", "length", "doc", "page", "page_offset")}
    names: list[int] = []
    for d, spans in enumerate(page_spans):
        pos = int(doc_starts[d])
        for page, n in spans:
            off = 0
            while off < n:
                seq, inseq = divmod(pos + off, seq_len)
                take = min(n - off, seq_len - inseq)
                cols["seq"].append(seq)
                cols["start"].append(inseq)
                cols["length"].append(take)
                cols["doc"].append(d)
                cols["page"].append(page)
                cols["page_offset"].append(off)
                names.append(d)
                off += take
            pos += n
    # documents are packed back to back, so pieces come out sorted by (seq, start) already
    return pa.table({
        "seq": pa.array(cols["seq"], pa.int32()), "start": pa.array(cols["start"], pa.int32()),
        "length": pa.array(cols["length"], pa.int32()), "doc": pa.array(cols["doc"], pa.int32()),
        "doc_id": pa.array([doc_ids[d] for d in names], pa.string()),
        "repeat": pa.array([repeats[d] for d in names], pa.int32()),
        "page": pa.array(cols["page"], pa.int32()), "page_offset": pa.array(cols["page_offset"], pa.int32()),
    }, schema=LINEAGE_SCHEMA)


def lineage_bytes(table: pa.Table) -> bytes:
    """The index file: fixed writer options, so the same table gives the same bytes."""
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=LINEAGE_ROW_GROUP_ROWS, compression="zstd",
                   use_dictionary=["doc_id", "repeat", "page"], write_statistics=["seq"],
                   column_encoding={c: "DELTA_BINARY_PACKED" for c in _DELTA})
    return buf.getvalue()


# -- looking up (pushdown on seq) ------------------------------------------------------------------


def read_pieces(storage: Storage, key: str, seq: int) -> pa.Table:
    """The pieces of sequence ``seq``: reads the footer and only the row groups whose seq range holds it."""
    with storage.open_native(key) as f:
        pf = pq.ParquetFile(f)
        col = pf.schema_arrow.get_field_index("seq")
        groups = []
        for g in range(pf.metadata.num_row_groups):
            st = pf.metadata.row_group(g).column(col).statistics
            if st is None or not st.has_min_max or st.min <= seq <= st.max:
                groups.append(g)
        if not groups:
            return LINEAGE_SCHEMA.empty_table()
        t = pf.read_row_groups(groups)
    return t.filter(pc.equal(t.column("seq"), pa.scalar(seq, pa.int32())))


@dataclass
class Snapshot:
    """What lineage needs of a snapshot: its manifest, ``corpus.json`` and the sequences per shard."""

    ref: DatasetRef
    manifest: dict[str, Any]
    meta: dict[str, Any]
    first: np.ndarray = field(repr=False)  # global number of each shard's first sequence (+ the total)

    @classmethod
    def open(cls, storage: Storage, ref: DatasetRef) -> Snapshot:
        m = read_manifest(storage, ref)
        meta = json.loads(storage.read_bytes(f"{ref.key}/corpus.json"))
        first = np.concatenate([[0], np.cumsum([s["sequences"] for s in meta["shards"]])]).astype(np.int64)
        return cls(ref, m, meta, first)

    @property
    def n_sequences(self) -> int:
        return int(self.first[-1])

    def shard_number(self, position: int) -> int:
        """The shard number (``shard-NNNNN``) of the ``position``-th listed shard."""
        return int(self.meta["shards"][position]["bin"].split("-")[1].split(".")[0])

    def locate(self, global_seq: int) -> tuple[int, int]:
        """(shard number, sequence in the shard) of a global sequence number (the training rows)."""
        if not 0 <= global_seq < self.n_sequences:
            raise IndexError(f"sequence {global_seq} outside [0, {self.n_sequences})")
        p = int(np.searchsorted(self.first, global_seq, side="right") - 1)
        return self.shard_number(p), global_seq - int(self.first[p])

    def tokens(self, storage: Storage, shard: int, seq: int) -> np.ndarray:
        """The sequence's token ids: one ranged read of the shard's .bin."""
        L = int(self.meta["seq_len"])
        key = f"{self.ref.key}/shard-{shard:05d}.bin"
        with storage.open_native(key) as f:
            f.seek(seq * L * 4)
            return np.frombuffer(f.read(L * 4), dtype="<u4")


def modality_spans(tokens: np.ndarray, ranges: dict[str, list[int]]) -> list[tuple[str, int, int]]:
    """Runs of one modality in ``tokens``: ``(modality, start, end)`` by the tokenizer's id ranges."""
    if len(tokens) == 0:
        return []
    names = sorted(ranges)
    code = np.full(len(tokens), -1, dtype=np.int64)
    for i, n in enumerate(names):
        a, b = ranges[n]
        code[(tokens >= a) & (tokens < b)] = i
    cut = np.flatnonzero(np.diff(code)) + 1
    bounds = np.concatenate([[0], cut, [len(tokens)]])
    return [(names[code[a]] if code[a] >= 0 else "unknown", int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:],
                                                                                              strict=True)]


# -- upstream: from a page to its raw record --------------------------------------------------------


def _parent(manifest: dict[str, Any], name: str) -> DatasetRef | None:
    for p in manifest.get("parents", []):
        if p["name"] == name:
            return DatasetRef(p["zone"], p["name"], p["version"])
    return None


def _dataset_info(ref: DatasetRef, m: dict[str, Any]) -> dict[str, Any]:
    return {"dataset": ref.key, "version": ref.version, "config_hash": m.get("config_hash"),
            "code_version": m.get("code_version")}


def find_rows(storage: Storage, ref: DatasetRef, column: str, value: Any, columns: list[str] | None = None,
              manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows of a dataset whose ``column`` equals ``value``: the key column first (row groups outside its
    min/max skipped), the other columns only of the row groups that match."""
    m = manifest or read_manifest(storage, ref)
    out: list[dict[str, Any]] = []
    for f in m["files"]:
        if not f["path"].endswith(".parquet") or not f.get("rows", 1):
            continue
        with storage.open_native(f"{ref.key}/{f['path']}") as fh:
            pf = pq.ParquetFile(fh)
            if column not in pf.schema_arrow.names:
                continue
            ci = pf.schema_arrow.get_field_index(column)
            for g in range(pf.metadata.num_row_groups):
                st = pf.metadata.row_group(g).column(ci).statistics
                if st is not None and st.has_min_max and not (st.min <= value <= st.max):
                    continue
                keys = pf.read_row_group(g, columns=[column]).column(0)
                hit = np.flatnonzero(pc.equal(keys, pa.scalar(value, keys.type)).to_numpy(
                    zero_copy_only=False))
                if len(hit):
                    cols = columns if columns is None else [c for c in columns if c in pf.schema_arrow.names]
                    out.extend(pf.read_row_group(g, columns=cols).take(pa.array(hit)).to_pylist())
    return out


def _pick(rows: list[dict[str, Any]], page: int | None) -> dict[str, Any] | None:
    for r in rows:
        if page is None or r.get("page") == page:
            return r
    return None


def _source_root(m: dict[str, Any]) -> str:
    return str((m.get("inputs") or {}).get("source", "")).rstrip("/")


def trace_page(storage: Storage, pages_ref: DatasetRef, doc_id: str, page: int) -> dict[str, Any]:
    """The chain of one page of the dedup output back to its raw record (a list of stage dicts)."""
    chain: list[dict[str, Any]] = []
    pm = read_manifest(storage, pages_ref)
    keep_cols = ["doc_id", "page", "source", "url", "domain", "field", "content_hash", "n_words", "component_id",
                 "component_size", "component_docs"]
    row = _pick(find_rows(storage, pages_ref, "doc_id", doc_id, keep_cols, pm), page)
    if row is None:
        return {"chain": [{**_dataset_info(pages_ref, pm), "stage": "dedup", "error": "page not found"}]}
    dropped = []
    if row.get("component_id") and int(row.get("component_size") or 1) > 1:
        q = pages_ref.quarantine()
        try:
            dropped = [{k: r[k] for k in ("doc_id", "page", "source", "url", "reason")}
                       for r in find_rows(storage, q, "component_id", row["component_id"],
                                          ["doc_id", "page", "source", "url", "reason", "component_id"])]
        except Exception as e:  # noqa: BLE001 - an unreadable quarantine still leaves the main chain
            dropped = [{"error": f"{type(e).__name__}: {e}"}]
    chain.append({**_dataset_info(pages_ref, pm), "stage": "dedup", "source": row["source"], "url": row["url"],
                  "field": row["field"], "content_hash": row["content_hash"], "component_id": row["component_id"],
                  "component_size": row["component_size"], "duplicates_dropped": sorted(
                      dropped, key=lambda r: (str(r.get("doc_id")), r.get("page") or 0))})
    name = SOURCE_DATASET.get(row["source"] or "")
    src_ref = _parent(pm, name) if name else None
    if src_ref is None:  # a page dataset of another name: the first parent that holds the page
        for p in pm.get("parents", []):
            cand = DatasetRef(p["zone"], p["name"], p["version"])
            if _pick(find_rows(storage, cand, "doc_id", doc_id, ["doc_id", "page"]), page) is not None:
                src_ref = cand
                break
    if src_ref is None:
        return {"chain": chain, "raw": None}
    sm = read_manifest(storage, src_ref)
    srow = _pick(find_rows(storage, src_ref, "doc_id", doc_id, None, sm), page) or {}
    srow.pop("text", None)
    srow.pop("features", None)
    stage: dict[str, Any] = {**_dataset_info(src_ref, sm), "stage": src_ref.name}
    raw: dict[str, Any] | None = None
    raw_ref = next((DatasetRef(p["zone"], p["name"], p["version"]) for p in sm.get("parents", [])
                    if p["zone"] == "raw"), None)
    rm = read_manifest(storage, raw_ref) if raw_ref else {}
    if "warc_file" in srow:  # web
        stage.update({k: srow.get(k) for k in ("domain", "domain_decision", "route", "rewritten", "lang",
                                                "quality_score", "science_score", "field_score", "subfield")})
        dom_ref = DatasetRef("clean", "web_domains", src_ref.version)
        try:
            d = _pick(find_rows(storage, dom_ref, "domain", srow.get("domain")), None) or {}
            d.pop("boilerplate_lines", None)
            stage["domain_evidence"] = {**d, "dataset": dom_ref.key}
        except Exception as e:  # noqa: BLE001
            stage["domain_evidence"] = {"error": f"{type(e).__name__}: {e}"}
        raw = {"kind": "warc", "warc_file": srow.get("warc_file"), "warc_offset": srow.get("warc_offset"),
               "record_id": srow.get("record_id"), "url": srow.get("url"), "warc_date": srow.get("warc_date")}
    elif "route" in srow:  # pdf
        stage.update({k: srow.get(k) for k in ("route", "route_reason", "parser", "flags")})
        r = _pick(find_rows(storage, raw_ref, "doc_id", doc_id, ["doc_id", "path", "sha256", "page_count"], rm),
                  None) if raw_ref else None
        raw = {"kind": "pdf", "path": (r or {}).get("path", srow.get("url")), "sha256": (r or {}).get("sha256"),
               "page": page, "page_count": (r or {}).get("page_count")}
    else:  # text
        rid = doc_id[len(TEXT_PREFIX):] if doc_id.startswith(TEXT_PREFIX) else doc_id
        r = _pick(find_rows(storage, raw_ref, "doc_id", rid, ["doc_id", "source", "line"], rm), None) \
            if raw_ref else None
        raw = {"kind": "jsonl", "file": (r or {}).get("source", srow.get("url")), "line": (r or {}).get("line"),
               "record_id": rid}
    chain.append(stage)
    if raw_ref is not None:
        chain.append({**_dataset_info(raw_ref, rm), "stage": "ingest", "landing": _source_root(rm)})
        file = raw.get("warc_file") or raw.get("path") or raw.get("file")
        if file:
            raw["location"] = f"{_source_root(rm)}/{file}" if _source_root(rm) else file
            entry = next((e for e in (rm.get("inputs") or {}).get("landing", []) if e.get("path") == file), None)
            if entry:
                raw["file_sha256"] = entry.get("sha256")
    return {"chain": chain, "raw": raw}


# -- the whole trace -------------------------------------------------------------------------------


@dataclass
class Piece:
    seq: int
    start: int
    length: int
    doc: int
    doc_id: str
    repeat: int
    page: int
    page_offset: int


def pieces(storage: Storage, snap: Snapshot, shard: int, seq: int) -> list[Piece]:
    if not any(s["bin"] == f"shard-{shard:05d}.bin" for s in snap.meta["shards"]):
        raise IndexError(f"{snap.ref} has no shard {shard}")
    path = f"{LINEAGE_DIR}/shard-{shard:05d}.parquet"
    if not any(f["path"] == path for f in snap.manifest["files"]):
        raise ValueError(f"{snap.ref} has no lineage index {path}: rebuild the snapshot (`sciforge corpus build`)")
    return [Piece(**r) for r in read_pieces(storage, lineage_key(snap.ref.key, shard), seq).to_pylist()]


def trace(storage: Storage, ref: DatasetRef, shard: int, seq: int, token: int | None = None,
          upstream: bool = True) -> dict[str, Any]:
    """Everything known about sequence ``seq`` of shard ``shard`` (or only the piece holding ``token``)."""
    snap = Snapshot.open(storage, ref)
    ps = every = pieces(storage, snap, shard, seq)
    if not ps and seq >= next(s["sequences"] for s in snap.meta["shards"] if s["bin"] == f"shard-{shard:05d}.bin"):
        raise IndexError(f"shard {shard} has no sequence {seq}")
    if token is not None:
        if not 0 <= token < int(snap.meta["seq_len"]):
            raise IndexError(f"token {token} outside the sequence (seq_len {snap.meta['seq_len']})")
        ps = [p for p in ps if p.start <= token < p.start + p.length]
    tokens = snap.tokens(storage, shard, seq)
    ranges = snap.meta["tokenizer"]["modality_ranges"]
    pages_ref = _parent(snap.manifest, "pages") or next(
        (DatasetRef(p["zone"], p["name"], p["version"]) for p in snap.manifest.get("parents", [])), None)
    out_pieces = []
    upstream_cache: dict[tuple[str, int], dict[str, Any]] = {}
    for p in ps:
        item: dict[str, Any] = asdict(p)
        item["modalities"] = [{"modality": m, "start": p.start + a, "end": p.start + b}
                              for m, a, b in modality_spans(tokens[p.start:p.start + p.length], ranges)]
        if token is not None:
            item["token"] = {"position": token, "id": int(tokens[token]), "page_token": p.page_offset + token - p.start,
                             "modality": next(m["modality"] for m in item["modalities"]
                                              if m["start"] <= token < m["end"])}
        if upstream and pages_ref is not None:
            k = (p.doc_id, p.page)
            if k not in upstream_cache:
                upstream_cache[k] = trace_page(storage, pages_ref, p.doc_id, p.page)
            item.update(upstream_cache[k])
        out_pieces.append(item)
    pad = int(snap.meta["seq_len"]) - sum(p.length for p in every)
    return {"snapshot": {**_dataset_info(ref, snap.manifest), "tokenizer_hash": snap.meta["tokenizer"]["hash"]},
            "shard": shard, "seq": seq, "global_seq": int(snap.first[[s["bin"] for s in snap.meta["shards"]].index(
                f"shard-{shard:05d}.bin")]) + seq, "pad_tokens": pad, "pieces": out_pieces}


def format_trace(t: dict[str, Any]) -> str:
    """A readable chain, one piece after the other."""
    s = t["snapshot"]
    lines = [f"snapshot {s['dataset']} (config {str(s['config_hash'])[:12]}, tokenizer {str(s['tokenizer_hash'])[:12]})",
             f"shard {t['shard']} sequence {t['seq']} (global {t['global_seq']}): {len(t['pieces'])} piece(s), "
             f"{t['pad_tokens']} pad tokens"]
    for p in t["pieces"]:
        lines.append(f"- tokens [{p['start']}, {p['start'] + p['length']}): doc {p['doc_id']} page {p['page']} "
                     f"(copy {p['repeat']}, page tokens from {p['page_offset']})")
        if "token" in p:
            tk = p["token"]
            lines.append(f"    token {tk['position']} = id {tk['id']} ({tk['modality']}), token {tk['page_token']} "
                         "of the page")
        mods = ", ".join(f"{m['modality']} [{m['start']},{m['end']})" for m in p["modalities"]
                         if m["modality"] not in ("text",))
        if mods:
            lines.append(f"    modality spans: {mods}")
        for st in p.get("chain", []):
            head = f"    {st['stage']}: {st['dataset']} (config {str(st.get('config_hash'))[:12]})"
            if st["stage"] == "dedup":
                head += (f" component {st.get('component_id')} size {st.get('component_size')}, "
                         f"{len(st.get('duplicates_dropped') or [])} dropped in its favour")
            elif st["stage"] == "ingest":
                head += f" from {st.get('landing')}"
            else:
                keys = ("domain", "domain_decision", "route", "route_reason", "parser", "science_score")
                head += " " + ", ".join(f"{k}={st[k]:.3f}" if isinstance(st[k], float) else f"{k}={st[k]}"
                                        for k in keys if st.get(k) not in (None, ""))
            lines.append(head)
            for d in st.get("duplicates_dropped") or []:
                lines.append(f"      dropped: {d.get('doc_id')} page {d.get('page')} ({d.get('reason')})")
            ev = st.get("domain_evidence")
            if ev and "decision" in ev:
                lines.append(f"      domain evidence: {ev['decision']} ({ev.get('decision_reason')}), purity "
                             f"{ev.get('purity')}, quality {ev.get('quality')}, {ev.get('pages_sampled')} pages "
                             f"sampled, fields {ev.get('field_counts')}")
        raw = p.get("raw")
        if raw:
            if raw["kind"] == "warc":
                lines.append(f"    raw: WARC {raw.get('location')} offset {raw['warc_offset']} record "
                             f"{raw['record_id']} ({raw['url']})")
            elif raw["kind"] == "pdf":
                lines.append(f"    raw: PDF {raw.get('location')} sha256 {raw['sha256']} page {raw['page']}"
                             f"/{raw.get('page_count')}")
            else:
                lines.append(f"    raw: JSONL {raw.get('location')} line {raw['line']} (id {raw['record_id']})")
    return "\n".join(lines)


# -- training runs: step K -> sequences -> documents -------------------------------------------------

def stream_rows(n: int, seed: int, first: int, count: int) -> list[int]:
    """Rows at stream positions ``[first, first + count)``: position p is row perm(p // n)[p % n]."""
    out: list[int] = []
    cache: dict[int, np.ndarray] = {}
    for p in range(first, first + count):
        e, i = divmod(p, n)
        if e not in cache:
            cache[e] = epoch_permutation(n, seed, e)
        out.append(int(cache[e][i]))
    return out


def read_run(run_dir: Any) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """(the run's data description, {step: {first, rows}}) from a training run folder (local path)."""
    from pathlib import Path

    d = Path(run_dir)
    info = json.loads((d / RUN_DATA).read_text())
    steps: dict[int, dict[str, Any]] = {}
    path = d / RUN_STEPS
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                steps[int(r["step"])] = r  # a resumed run rewrites steps after its checkpoint: the last wins
    return info, steps


def step_documents(storage: Storage, run_dir: Any, step: int) -> dict[str, Any]:
    """The sequences of optimizer step ``step`` (1-based, as logged) and the documents in each."""
    info, steps = read_run(run_dir)
    if step not in steps:
        raise KeyError(f"step {step} is not recorded in {run_dir}/{RUN_STEPS} (steps {min(steps, default=0)}-"
                       f"{max(steps, default=0)})")
    rec = steps[step]
    ref = DatasetRef.parse(info["snapshot"])
    snap = Snapshot.open(storage, ref)
    if snap.n_sequences != int(info["rows"]):
        raise ValueError(f"{ref} has {snap.n_sequences} sequences, the run recorded {info['rows']}")
    rows = stream_rows(int(info["rows"]), int(info["seed"]), int(rec["first"]), int(rec["rows"]))
    seqs = []
    for g in rows:
        shard, seq = snap.locate(g)
        docs: dict[tuple[str, int], dict[str, Any]] = {}
        for p in pieces(storage, snap, shard, seq):
            d = docs.setdefault((p.doc_id, p.repeat), {"doc_id": p.doc_id, "repeat": p.repeat, "pages": [],
                                                       "tokens": 0})
            if p.page not in d["pages"]:
                d["pages"].append(p.page)
            d["tokens"] += p.length
        seqs.append({"row": g, "shard": shard, "seq": seq, "documents": list(docs.values())})
    return {"run": str(run_dir), "snapshot": ref.key, "step": step, "first": rec["first"], "rows": rec["rows"],
            "sequences": seqs}


def format_step(r: dict[str, Any]) -> str:
    lines = [f"step {r['step']} of {r['run']}: {r['rows']} sequences (stream positions {r['first']}-"
             f"{r['first'] + r['rows'] - 1}) of {r['snapshot']}"]
    for s in r["sequences"]:
        docs = "; ".join(f"{d['doc_id']} p{','.join(map(str, d['pages']))} ({d['tokens']} tok)" for d in s["documents"])
        lines.append(f"- row {s['row']} = shard {s['shard']} seq {s['seq']}: {docs}")
    return "\n".join(lines)


# -- the command (`sciforge lineage`): thin glue over the functions above -----------------------------


def lineage_command(target: str, *, shard: int | None, seq: int | None, token: int | None, step: int | None,
                    as_json: bool, settings: Any) -> str:
    """``target`` is a snapshot (``corpus/snapshot/<v>`` under the data root) with ``shard`` and ``seq``,
    or a training run folder (holding ``data_order.json``) with ``step``."""
    from pathlib import Path

    from sciforge.pipelines.storage import open_storage

    if step is not None:
        if not (Path(target) / RUN_DATA).is_file():
            raise ValueError(f"{target} is not a training run folder with {RUN_DATA} (a cpt run on a corpus "
                             "snapshot writes it)")
        info, _ = read_run(target)
        root = info.get("root") or settings.data_root
        st = open_storage(root, settings.storage_options() if "://" in root else None)
        r = step_documents(st, target, step)
        return json.dumps(r, indent=2) if as_json else format_step(r)
    if shard is None or seq is None:
        raise ValueError("give --shard and --seq for a snapshot, or --step for a training run")
    st = open_storage(settings.data_root, settings.storage_options())
    t = trace(st, DatasetRef.parse(target), shard, seq, token)
    return json.dumps(t, indent=2, default=str) if as_json else format_trace(t)

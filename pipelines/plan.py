"""Capacity plan: what a corpus build and a training run of a given size cost on a given cluster.

``sciforge plan --calibrate`` (sciforge/cli/plan.py) runs every stage of ``corpus_refresh`` in-process
(engine ``local``: one core, no Spark) on a landing folder (the sample corpus by default) under a
:class:`StageTimer`; :func:`rates_from_run` turns the timings and the published manifests into per-core
rates, keep rates, the bytes each zone holds per input item and the tokens per kept page of each source.
:func:`make_plan` scales them to the requested inputs and cluster:

    core-hours(stage) = items(stage) / rate(stage)        rate = items per CPU-second on one core
    wall(stage)       = core-hours / cores                 (perfect scaling: a lower bound)
    output tokens     = sum over sources of inputs x keep rates x tokens per kept page
    GPU-hours         = tokens x FLOPs/token / (peak x MFU)

FLOPs per training token (forward + backward = 3 x forward) come from the model preset's shapes: the dense
matmuls (attention projections, dense/shared MLPs, router, LM head), the active experts (top-k of each MoE
layer) and attention's scores and weighted sum (causal: half of the ``seq_len`` x ``seq_len`` products).
Rates measured on a tiny corpus include each stage's fixed start-up cost (model loading, tokenizer), so
they are conservative for large inputs; :func:`two_point_rates` splits that cost off from two calibration
sizes, and with it the pages dedup keeps into a per-page part and a fixed part (content the two inputs share).
"""

from __future__ import annotations

import json
import re
import resource
import time
from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.storage import Storage

RATES_KEY = "plan/rates.json"
# Dense BF16 tensor-core peak (no sparsity), NVIDIA datasheets: H100/H200 SXM 989 TFLOP/s, A100 312, B200 2,250.
GPU_PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "B200": 2250e12}
# Model FLOPs utilisation assumed by default: bench/model_throughput.py's stated goal on Hopper.
DEFAULT_MFU = 0.40
SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12, "P": 10**15}
# The stages in pipeline order: (name, the unit it is measured in, the source it belongs to).
STAGES = [("ingest_warc", "record", "web"), ("web_filter", "record", "web"), ("ingest_pdf", "page", "pdf"),
          ("pdf_parse", "page", "pdf"), ("ingest_jsonl", "document", "text"), ("text_pages", "document", "text"),
          ("dedup", "page", "all"), ("corpus", "page", "all")]


def parse_count(s: str | int | float) -> int:
    """'5T' -> 5e12, '300M' -> 3e8, '1.5B' -> 1.5e9, plain numbers as they are."""
    if isinstance(s, int | float):
        return int(s)
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([KMBGTP]?)\s*", s, re.IGNORECASE)
    if not m:
        raise ValueError(f"not a count: {s!r} (e.g. 5T, 300M, 1.5B, 20000)")
    return int(float(m.group(1)) * SUFFIX[m.group(2).upper()])


def parse_gpus(s: str) -> tuple[int, str]:
    """'1024xH200' -> (1024, 'H200')."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*([A-Za-z0-9]+)\s*", s)
    if not m or m.group(2).upper() not in GPU_PEAK_FLOPS:
        raise ValueError(f"not a GPU count: {s!r} (e.g. 1024xH200; kinds {', '.join(GPU_PEAK_FLOPS)})")
    return int(m.group(1)), m.group(2).upper()


# -- model FLOPs -----------------------------------------------------------------------------------


def model_flops_per_token(c: Any, seq_len: int) -> dict[str, float]:
    """Training FLOPs per token of the language model of config ``c`` (a sciforge.model.config.ModelConfig, e.g.
    ``get_config("intern_s1")``; the vision and time-series encoders are not counted)."""
    h, L = c.hidden_size, c.num_hidden_layers
    q, kv = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    attn_proj = h * q + 2 * h * kv + q * h
    moe_layers = sum(1 for i in range(L) if c.is_moe_layer(i))
    dense_layers = L - moe_layers
    dense_params = (L * attn_proj + dense_layers * 3 * h * c.intermediate_size
                    + moe_layers * (h * c.num_experts + 3 * h * c.shared_expert_intermediate_size)
                    + h * c.vocab_size)
    expert_params = moe_layers * c.num_experts_per_tok * 3 * h * c.moe_intermediate_size
    total_expert_params = moe_layers * c.num_experts * 3 * h * c.moe_intermediate_size
    # scores (q.k) and the weighted sum of v: 2 x 2 x q-width multiply-adds per key; causal: seq_len / 2 keys
    attention_fwd = L * 4 * q * seq_len / 2
    dense, experts, attention = 6.0 * dense_params, 6.0 * expert_params, 3.0 * attention_fwd
    return {"dense": dense, "experts": experts, "attention": attention, "total": dense + experts + attention,
            "active_params": float(dense_params + expert_params),
            "total_params": float(dense_params + total_expert_params + h * c.vocab_size)}


# -- calibration -----------------------------------------------------------------------------------


def _manifest(storage: Storage, ref: Any) -> dict[str, Any]:
    from sciforge.pipelines.datasets import read_manifest

    return read_manifest(storage, ref)


class StageTimer:
    """CPU and wall seconds of each stage run as ``timer.run(name, fn)``: this process, the children it
    waited for, and each live child (the PDF parser's reused worker processes, counted by pid since they
    outlive the stage)."""

    def __init__(self) -> None:
        self.timing: dict[str, dict[str, float]] = {}

    @staticmethod
    def _cpu() -> tuple[float, dict[int, float]]:
        import psutil

        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        live = {}
        for ch in psutil.Process().children(recursive=True):
            try:
                t = ch.cpu_times()
                live[ch.pid] = t.user + t.system
            except psutil.Error:
                continue
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime, live

    def run(self, name: str, fn: Any) -> Any:
        (c0, live0), w = self._cpu(), time.perf_counter()
        out = fn()
        c1, live1 = self._cpu()
        # a live child's CPU since the stage began; one that ended in between is in RUSAGE_CHILDREN
        kids = sum(v - live0.get(pid, 0.0) for pid, v in live1.items())
        self.timing[name] = {"cpu_s": c1 - c0 + kids, "wall_s": time.perf_counter() - w}
        return out


def rates_from_run(storage: Storage, refs: dict[str, Any], timing: dict[str, dict[str, float]],
                   landing: str) -> dict[str, Any]:
    """Per-core rates, keep rates, tokens per page and bytes per zone of one timed run of every stage.
    ``refs``: stage name (STAGES) -> the DatasetRef it published; ``timing``: StageTimer.timing."""
    from sciforge.pipelines.datasets import read_table

    st = storage
    pages = refs["dedup"]
    m = {k: _manifest(st, refs[k]) for k, _, _ in STAGES}

    def size(mf: dict[str, Any], data_only: bool = False) -> int:
        # data_only: a snapshot's token shards, indexes, document lists and lineage, not its tokenizer/report
        return sum(int(f["bytes"]) for f in mf["files"]
                   if not data_only or f["path"].split("/")[0] not in ("tokenizer", "report", "corpus.json"))

    pdf_pages_in = int(m["ingest_pdf"]["counters"]["metrics"].get("pdf_pages", 0))
    items = {"ingest_warc": m["ingest_warc"]["counters"]["input"], "web_filter": m["web_filter"]["counters"]["input"],
             "ingest_pdf": pdf_pages_in, "pdf_parse": m["pdf_parse"]["counters"]["input"],
             "ingest_jsonl": m["ingest_jsonl"]["counters"]["input"], "text_pages": m["text_pages"]["counters"]["input"],
             "dedup": m["dedup"]["counters"]["input"], "corpus": m["corpus"]["counters"]["input"]}
    # tokens per kept page of each source: the page's characters x the snapshot's tokens per character
    kept = read_table(st, pages, ["source", "text"]).to_pylist()
    chars = {s: 0 for s in ("web", "pdf", "text")}
    n_src = {s: 0 for s in chars}
    for r in kept:
        s = r["source"] if r["source"] in chars else "text"
        chars[s] += len(r["text"])
        n_src[s] += 1
    tokens = int(m["corpus"]["counters"]["metrics"].get("tokens", 0))
    tok_per_char = tokens / max(1, sum(chars.values()))
    web_in, pdf_in, text_in = items["ingest_warc"], max(1, pdf_pages_in), max(1, items["ingest_jsonl"])
    dedup_in = {s: 0 for s in chars}
    for r in read_table(st, pages.quarantine(), ["source"]).to_pylist():
        dedup_in[r["source"] if r["source"] in chars else "text"] += 1
    return {
        "format": "sciforge.plan.rates/1",
        "landing": landing,
        "stages": {name: {"items": int(items[name]), "unit": unit, **timing[name],
                          "per_core_s": items[name] / max(timing[name]["cpu_s"], 1e-9)}
                   for name, unit, _ in STAGES},
        # kept pages out of the stage per input item of its source (web: records, pdf: pages, text: documents)
        "keep": {"web": m["web_filter"]["counters"]["kept"] / max(1, web_in),
                 "pdf": m["pdf_parse"]["counters"]["kept"] / pdf_in,
                 "text": m["text_pages"]["counters"]["kept"] / text_in,
                 "dedup": {s: n_src[s] / max(1, n_src[s] + dedup_in[s]) for s in chars}},
        "tokens_per_page": {s: chars[s] * tok_per_char / max(1, n_src[s]) for s in chars},
        # bytes of each zone per input item of the source (raw: ingest output; clean: the stage's output)
        "bytes_per_item": {
            "landing": {"web": m["ingest_warc"]["inputs"].get("bytes", 0) / max(1, web_in),
                        "pdf": m["ingest_pdf"]["inputs"].get("bytes", 0) / pdf_in,
                        "text": m["ingest_jsonl"]["inputs"].get("bytes", 0) / text_in},
            "raw": {"web": size(m["ingest_warc"]) / max(1, web_in), "pdf": size(m["ingest_pdf"]) / pdf_in,
                    "text": size(m["ingest_jsonl"]) / text_in},
            "clean": {"web": size(m["web_filter"]) / max(1, web_in), "pdf": size(m["pdf_parse"]) / pdf_in,
                      "text": size(m["text_pages"]) / text_in},
        },
        "clean_pages_bytes_per_page": size(m["dedup"]) / max(1, m["dedup"]["counters"]["kept"]),
        "corpus_bytes_per_token": size(m["corpus"], data_only=True) / max(1, tokens),
    }


def two_point_rates(small: dict[str, Any], large: dict[str, Any],
                    repeat: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rates of ``large`` with each stage's CPU split into a fixed start-up part and a per-item part, from two
    calibration runs of different sizes: per_core_s = the marginal items per CPU-second between them,
    fixed_s = what the small run spent beyond its items at that rate. A stage whose larger run took no more
    CPU (noise on a busy machine) keeps its plain rate and no fixed part.

    ``repeat``: a second run of the small size, averaged with it (less noise in the slope). A stage whose
    larger run then took no more CPU than that mean has a per-item CPU these sizes do not resolve, so all of
    its CPU is start-up (fixed_s = the mean of the three runs, per_core_s = 0: no per-item part) rather than
    the plain rate: the corpus stage is such a stage at 1-8 seeds of the sample corpus, 0.85-1.16 CPU-s at
    1, 2 and 4 seeds and 1.08 at 8 (tokenizer load and save, bucket files, the snapshot's metadata), with
    0.1-0.2 CPU-s between runs of one size on the shared 2-core machine; the plain rate of the larger run
    predicted 2.8 CPU-s for it at 6 seeds, where it took 1.0 (bench/plan_prediction.py).

    Dedup's keep rate gets the same split per source: kept pages = marginal keep x pages in + a fixed number
    of pages. Inputs that share content keep that content once, so their keep rate falls as they grow: k
    seeds of the sample corpus written without ``distinct`` share their JSONL notes and the PDFs' equation,
    reference and table pages, and dedup kept 44 of 132 PDF+text pages at 6 seeds against 24 of 44 at 2
    (bench/plan_prediction.py --shared-pool). The marginal keep rate is the one that holds as the input grows
    (the shared part is kept once, whatever the size): ``keep["dedup"]`` becomes the marginal rate and
    ``keep["dedup_fixed"]`` the pages kept on top of it (make_plan)."""
    out = json.loads(json.dumps(large))
    for name, b in out["stages"].items():
        a = dict(small["stages"][name])
        if repeat is not None:
            a["cpu_s"] = (a["cpu_s"] + repeat["stages"][name]["cpu_s"]) / 2
        d_items, d_cpu = b["items"] - a["items"], b["cpu_s"] - a["cpu_s"]
        if d_items > 0 and d_cpu > 0:
            b["per_core_s"] = d_items / d_cpu
            b["fixed_s"] = max(0.0, a["cpu_s"] - a["items"] / b["per_core_s"])
        elif d_items > 0 and repeat is not None:
            b["per_core_s"] = 0.0
            b["fixed_s"] = (2 * a["cpu_s"] + b["cpu_s"]) / 3
        else:
            b["fixed_s"] = 0.0
    fixed_pages = {}
    pa, pb = dedup_pages_in(small), dedup_pages_in(large)
    for src, keep_b in large["keep"]["dedup"].items():
        ka, kb = pa[src] * small["keep"]["dedup"][src], pb[src] * keep_b
        if pb[src] > pa[src]:
            marginal = min(1.0, max(0.0, (kb - ka) / (pb[src] - pa[src])))
            out["keep"]["dedup"][src] = marginal
            fixed_pages[src] = max(0.0, ka - marginal * pa[src])
        else:
            fixed_pages[src] = 0.0
    out["keep"]["dedup_fixed"] = fixed_pages
    return out


def dedup_pages_in(rates: dict[str, Any]) -> dict[str, float]:
    """Pages of each source that reached dedup in a calibration run: its inputs x the stage's keep rate."""
    st, keep = rates["stages"], rates["keep"]
    return {"web": st["ingest_warc"]["items"] * keep["web"], "pdf": st["ingest_pdf"]["items"] * keep["pdf"],
            "text": st["ingest_jsonl"]["items"] * keep["text"]}


def save_rates(storage: Storage, rates: dict[str, Any]) -> None:
    storage.write_bytes(RATES_KEY, (json.dumps(rates, indent=2, sort_keys=True) + "\n").encode())


def load_rates(storage: Storage) -> dict[str, Any]:
    if not storage.exists(RATES_KEY):
        raise FileNotFoundError(f"no {storage.uri(RATES_KEY)}: run `sciforge plan --calibrate` first")
    return json.loads(storage.read_bytes(RATES_KEY))


# -- the plan --------------------------------------------------------------------------------------


@dataclass
class Plan:
    rows: list[dict[str, Any]]  # per stage: items, core_hours, wall_hours (data) or gpu_hours (training)
    storage: dict[str, float]  # bytes per zone
    corpus_tokens: float
    train_tokens: float
    epochs: float
    flops: dict[str, float]
    gpus: tuple[int, str]
    cores: int
    mfu: float


def make_plan(rates: dict[str, Any], *, web_docs: int, pdf_pages: int, text_docs: int, tokens: int, model: Any,
              gpus: str, cores: int, mfu: float = DEFAULT_MFU, seq_len: int = 4096) -> Plan:
    """``model``: the model's config (sciforge.model.config.ModelConfig; its ``name`` labels the training row)."""
    keep, tpp = rates["keep"], rates["tokens_per_page"]
    pages = {"web": web_docs * keep["web"], "pdf": pdf_pages * keep["pdf"], "text": text_docs * keep["text"]}
    # the fixed part (two_point_rates): pages shared by every input, kept once; never more than come in
    after = {s: min(pages[s], pages[s] * keep["dedup"][s] + keep.get("dedup_fixed", {}).get(s, 0.0)) for s in pages}
    items = {"ingest_warc": web_docs, "web_filter": web_docs, "ingest_pdf": pdf_pages, "pdf_parse": pdf_pages,
             "ingest_jsonl": text_docs, "text_pages": text_docs, "dedup": sum(pages.values()),
             "corpus": sum(after.values())}
    rows = []
    for name, unit, _ in STAGES:
        rate = rates["stages"][name]["per_core_s"]
        fixed = rates["stages"][name].get("fixed_s", 0.0)  # start-up CPU (two_point_rates), paid once
        ch = (fixed + (items[name] / rate if rate > 0 else 0.0)) / 3600
        rows.append({"stage": name, "items": items[name], "unit": unit, "per_core_s": rate, "core_hours": ch,
                     "wall_hours": ch / cores})
    corpus_tokens = sum(after[s] * tpp[s] for s in after)
    n, kind = parse_gpus(gpus)
    flops = model_flops_per_token(model, seq_len)
    gpu_s = tokens * flops["total"] / (GPU_PEAK_FLOPS[kind] * mfu)
    rows.append({"stage": f"train {model.name}", "items": tokens, "unit": "token", "per_core_s": None,
                 "gpu_hours": gpu_s / 3600, "wall_hours": gpu_s / 3600 / n})
    bpi = rates["bytes_per_item"]
    inputs = {"web": web_docs, "pdf": pdf_pages, "text": text_docs}
    storage = {zone: sum(bpi[zone][s] * inputs[s] for s in inputs) for zone in ("landing", "raw", "clean")}
    storage["clean/pages"] = sum(after.values()) * rates["clean_pages_bytes_per_page"]
    storage["corpus"] = corpus_tokens * rates["corpus_bytes_per_token"]
    return Plan(rows, storage, corpus_tokens, float(tokens), tokens / corpus_tokens if corpus_tokens else float("inf"),
                flops, (n, kind), cores, mfu)


def _h(x: float) -> str:
    for unit, div in (("P", 1e15), ("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.2f}{unit}"
    return f"{x:.3g}"


def format_plan(p: Plan) -> str:
    n, kind = p.gpus
    lines = [f"{'stage':<22} {'items':>10} {'unit':<9} {'per core/s':>11} {'core-h':>10} {'GPU-h':>10} {'wall h':>9}"]
    for r in p.rows:
        rate = f"{r['per_core_s']:.3g}" if r["per_core_s"] is not None else "-"
        lines.append(f"{r['stage']:<22} {_h(r['items']):>10} {r['unit']:<9} {rate:>11} "
                     f"{_h(r.get('core_hours', 0)) if 'core_hours' in r else '-':>10} "
                     f"{_h(r['gpu_hours']) if 'gpu_hours' in r else '-':>10} {r['wall_hours']:>9.1f}")
    data_wall = sum(r["wall_hours"] for r in p.rows if "core_hours" in r)
    f = p.flops
    lines += [
        f"data pipeline: {sum(r.get('core_hours', 0) for r in p.rows):,.0f} core-hours, {data_wall:.1f} h on {p.cores:,} "
        "cores (stages in sequence, perfect scaling)",
        f"expected corpus: {_h(p.corpus_tokens)} tokens; training on {_h(p.train_tokens)} tokens = {p.epochs:.2f} epochs",
        f"model: {_h(f['active_params'])} active of {_h(f['total_params'])} parameters; {f['total'] / 1e9:.1f} GFLOP "
        f"per training token (dense {f['dense'] / 1e9:.1f} + active experts {f['experts'] / 1e9:.1f} + attention "
        f"{f['attention'] / 1e9:.1f}); {p.train_tokens * f['total']:.3g} FLOPs at {p.mfu:.0%} MFU of {n}x{kind}",
        "storage: " + ", ".join(f"{z} {v / 1e12:.2f} TB" for z, v in p.storage.items()),
    ]
    return "\n".join(lines)


def plan_chart(p: Plan) -> bytes:
    """PNG: core-hours per data stage and GPU-hours of training, log scale."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["stage"] for r in p.rows]
    vals = [r.get("core_hours", r.get("gpu_hours", 0.0)) for r in p.rows]
    colors = ["tab:blue" if "core_hours" in r else "tab:orange" for r in p.rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(names[::-1], vals[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("core-hours (blue) / GPU-hours (orange)")
    ax.set_title(f"plan: {_h(p.corpus_tokens)} corpus tokens, {_h(p.train_tokens)} training tokens on "
                 f"{p.gpus[0]}x{p.gpus[1]}, {p.cores:,} cores")
    for y, (v, r) in enumerate(zip(vals[::-1], p.rows[::-1], strict=True)):
        ax.text(v, y, f" {_h(v)} ({r['wall_hours']:.1f} h wall)", va="center", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plan_line(p: Plan) -> str:
    """One line for summaries (the demo's closing lines)."""
    data = sum(r.get("core_hours", 0) for r in p.rows)
    train = next(r for r in p.rows if "gpu_hours" in r)
    return (f"{_h(p.train_tokens)} training tokens: data {data:,.0f} core-hours ({sum(r['wall_hours'] for r in p.rows if 'core_hours' in r):.1f} h on "
            f"{p.cores:,} cores) -> {_h(p.corpus_tokens)} corpus tokens; training {train['gpu_hours']:,.0f} GPU-hours "
            f"({train['wall_hours'] / 24:.1f} days on {p.gpus[0]}x{p.gpus[1]} at {p.mfu:.0%} MFU)")

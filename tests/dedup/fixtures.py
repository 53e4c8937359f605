"""Small page datasets in the PAGE-TEXT CONTRACT, generated (no shared data)."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa

from sciforge.pipelines.datasets import DatasetRef, write_dataset
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.storage import open_storage

WORDS = ("atom lattice proton enzyme basalt alloy theorem prime orbit photon catalyst genome mantle "
         "polymer tensor manifold spectra isotope ligand mitosis glacier crystal vector integral "
         "entropy plasma neuron fossil quartz boson quark lemma ring field group module sheaf "
         "river ocean cloud storm wind rain soil root leaf seed").split()
COPYRIGHT = ("Copyright {year} Open Science Press. All rights reserved. No part of this publication may be "
             "reproduced, stored in a retrieval system or transmitted in any form or by any means without "
             "the prior written permission of the publisher. Printed on acid-free paper. Page {page}.")


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(100)) if rng.random() < 0.3 else rng.choice(WORDS)
                    for _ in range(n))


def mutate(rng: random.Random, text: str, frac: float) -> str:
    """Replace a fraction of the words (a near duplicate)."""
    toks = text.split()
    for i in rng.sample(range(len(toks)), max(1, int(len(toks) * frac))):
        toks[i] = "zz" + rng.choice(WORDS)
    return " ".join(toks)


def page(doc_id: str, page_no: int, source: str, text: str, **kw: Any) -> dict[str, Any]:
    return {"doc_id": doc_id, "page": page_no, "source": source,
            "url": kw.get("url", f"https://{doc_id}.example.org/" if source == "web" else f"{doc_id}.pdf"),
            "domain": kw.get("domain", f"{doc_id}.example.org" if source == "web" else ""),
            "field": kw.get("field", ""), "text": text}


def write_pages(settings: Any, name: str, rows: list[dict[str, Any]], version: str = "2026-01-01_test",
                zone: str = "clean", rows_per_part: int = 7) -> DatasetRef:
    storage = open_storage(settings.data_root, settings.storage_options())
    ref = DatasetRef(zone, name, version)
    table = pa.Table.from_pylist(rows, schema=PAGE_SCHEMA)
    parts = [table.slice(i, rows_per_part) for i in range(0, max(table.num_rows, 1), rows_per_part)]
    write_dataset(storage, ref, parts, schema=PAGE_SCHEMA, logical_date="2026-01-01")
    return ref


def corpus(seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(web pages, pdf pages, truth): unique pages, exact and near duplicates, a boilerplate
    copyright page in 4 PDFs, an empty page, a one-word page."""
    rng = random.Random(seed)
    web, pdf = [], []
    truth: dict[str, Any] = {"exact": [], "near": [], "boiler": [], "empty": []}
    for i in range(12):
        web.append(page(f"w{i:02d}", 0, "web", words(rng, 120)))
    web.append(page("w_exact", 0, "web", web[0]["text"]))  # exact copy of w00
    truth["exact"].append(("web:w_exact#0", "web:w00#0"))
    web.append(page("w_near", 0, "web", mutate(rng, web[1]["text"], 0.02)))  # ~0.9 Jaccard to w01
    truth["near"].append("web:w_near#0")
    web.append(page("w_empty", 0, "web", "  --- !!! ...  "))
    truth["empty"].append("web:w_empty#0")
    web.append(page("w_one", 0, "web", "hello"))
    for d in range(4):
        for p in range(3):
            pdf.append(page(f"p{d}", p, "pdf", words(rng, 200)))
        pdf.append(page(f"p{d}", 3, "pdf", COPYRIGHT.format(year=2020 + d, page=3 + d)))
        truth["boiler"].append(f"pdf:p{d}#3")
    return web, pdf, truth

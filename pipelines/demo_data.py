"""`sciforge demo-data DIR`: a small but realistic sample corpus, written deterministically.

What it plants (also written to ``DIR/planted.json`` so later stages can be checked against it):

* ``warc/``: three WARC files of HTTP responses from 13 registered web domains. Six science
  domains (one per field: mathematics, physics, chemistry, life science, earth science, materials
  science), four non-science domains, a mixed news portal (science pages on a subdomain, public-suffix
  ``co.uk``), a mirror blog that re-posts science articles with small edits (near-duplicates) and
  one exact duplicate, a German physics page, thin/spam pages, a 404, a binary payload served as
  text/html and a page in Latin-1 declared as UTF-8. Every site repeats its navigation and footer
  lines (boilerplate). A fourth WARC is truncated in the middle of a record.
* ``pdf/``: born-digital papers with plain text pages, equation pages set in math fonts (Computer
  Modern CMMI/CMSY and STIX, embedded), a two-column page and a table; an image-only scanned page and a
  scan with a hidden, noisy OCR text layer; one copyright page shared verbatim by three PDFs; a corrupt,
  an encrypted and a zero-byte PDF.
* ``jsonl/``: science notes with SMILES (inline and tagged), protein sequences, DNA (a negative for
  protein detection), chemical formulas and words RDKit wrongly accepts as SMILES (POISON, CISCO); plus
  an invalid-JSON line, an invalid-UTF-8 line and a record without text.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

SEED = 20250815
NOISE_SEED = 7  # for the corrupt PDF's bytes
FIELDS = ("mathematics", "physics", "chemistry", "life_science", "earth_science", "materials_science")
_FIXED_WARC_DATE = "2026-01-01T00:00:00Z"

SENTENCES: dict[str, list[str]] = {
    "mathematics": [
        "Let p be an odd prime and consider the multiplicative group of integers modulo p.",
        "By Fermat's little theorem, a^(p-1) is congruent to 1 modulo p whenever p does not divide a.",
        "We prove that every finite integral domain is a field by studying the injective map x -> ax.",
        "The Riemann zeta function admits an analytic continuation to the whole complex plane except s = 1.",
        "A compact subset of a metric space is closed and bounded, but the converse needs completeness.",
        "The eigenvalues of a real symmetric matrix are real, and its eigenvectors can be chosen orthonormal.",
        "Using induction on n, the sum of the first n odd numbers equals n squared.",
        "The fundamental group of the circle is isomorphic to the integers under addition.",
        "A sequence of continuous functions converging uniformly has a continuous limit.",
        "The quadratic reciprocity law relates the solvability of x^2 = p mod q and x^2 = q mod p.",
    ],
    "physics": [
        "The Schrodinger equation governs the time evolution of the wave function of a quantum system.",
        "In the harmonic oscillator the energy levels are equally spaced by hbar times the angular frequency.",
        "Maxwell's equations unify electricity and magnetism and predict electromagnetic waves in vacuum.",
        "The entropy of an isolated system never decreases, which is the content of the second law.",
        "Spin-orbit coupling splits the atomic energy levels into the fine structure observed in spectra.",
        "A particle in a one-dimensional box has quantized momentum and a zero-point energy.",
        "The Lorentz transformation mixes space and time coordinates between inertial frames.",
        "Superconductors expel magnetic fields below the critical temperature, the Meissner effect.",
        "The partition function encodes the thermodynamics of a system in the canonical ensemble.",
        "Photons carry momentum h over lambda, which explains radiation pressure on a mirror.",
    ],
    "chemistry": [
        "Aspirin, CC(=O)Oc1ccccc1C(=O)O, is synthesised by acetylation of salicylic acid with acetic anhydride.",
        "The SN2 reaction proceeds with inversion of configuration at the electrophilic carbon atom.",
        "Benzene, c1ccccc1, is stabilised by the delocalisation of six pi electrons over the aromatic ring.",
        "Caffeine, Cn1cnc2c1c(=O)n(C)c(=O)n2C, is a purine alkaloid found in coffee beans.",
        "The equilibrium constant of an esterification depends on temperature but not on the catalyst.",
        "Palladium-catalysed cross-coupling forms carbon-carbon bonds between aryl halides and boronic acids.",
        "Ethanol, CCO, is oxidised to acetaldehyde and then to acetic acid by acidified dichromate.",
        "The pKa of acetic acid is 4.76, so it is mostly ionised in water at pH 7.",
        "Nuclear magnetic resonance spectroscopy reveals the chemical environment of each hydrogen atom.",
        "Chiral molecules such as L-alanine, C[C@@H](C(=O)O)N, rotate plane-polarised light.",
    ],
    "life_science": [
        "The ribosome translates messenger RNA into a polypeptide chain of amino acids.",
        "Ubiquitin, MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG, tags proteins for degradation.",
        "Mitochondria produce ATP by oxidative phosphorylation along the inner membrane.",
        "CRISPR-Cas9 introduces double-strand breaks at sites matched by a guide RNA.",
        "Enzyme kinetics often follow the Michaelis-Menten equation with a saturating reaction rate.",
        "The immune system distinguishes self from non-self through major histocompatibility complexes.",
        "Gene expression is regulated by transcription factors binding to promoter and enhancer regions.",
        "Photosynthesis in chloroplasts fixes carbon dioxide through the Calvin cycle.",
        "Neurons transmit signals as action potentials driven by sodium and potassium channels.",
        "Protein folding is guided by hydrophobic collapse and stabilised by hydrogen bonds.",
    ],
    "earth_science": [
        "Plate tectonics explains earthquakes and volcanoes at the boundaries of lithospheric plates.",
        "The monsoon circulation is driven by the seasonal temperature contrast between land and ocean.",
        "Sedimentary rocks record past environments through their fossils and grain sizes.",
        "Glacial isostatic adjustment still raises the land in Scandinavia after the last ice age.",
        "Ocean heat content has risen over the past decades as the climate system accumulates energy.",
        "Seismic waves slow down in the partially molten asthenosphere beneath the lithosphere.",
        "Groundwater recharge depends on precipitation, soil permeability and evapotranspiration.",
        "Radiometric dating of zircon crystals constrains the age of the oldest continental crust.",
        "The jet stream meanders more when the temperature gradient between pole and equator weakens.",
        "Weathering of silicate rocks draws down atmospheric carbon dioxide over geological time.",
    ],
    "materials_science": [
        "Grain boundaries strengthen polycrystalline metals by impeding the motion of dislocations.",
        "Perovskite solar cells reach high efficiency but degrade under humidity and heat.",
        "X-ray diffraction identifies the crystal structure of a material from its Bragg peaks.",
        "Annealing relieves residual stress and allows recrystallisation of cold-worked steel.",
        "The band gap of a semiconductor determines which wavelengths of light it absorbs.",
        "Carbon fibre composites combine high stiffness with low density for aerospace parts.",
        "Lithium-ion cathodes such as LiFePO4 trade energy density for thermal stability.",
        "Scanning electron microscopy reveals the fracture surface morphology of ceramics.",
        "Shape-memory alloys recover their original form through a reversible martensitic transformation.",
        "Thin films deposited by sputtering show residual stress that depends on the working pressure.",
    ],
    "other": [
        "The pop star stunned fans with a surprise appearance at the awards ceremony last night.",
        "Our summer sale brings up to seventy percent off shoes, bags and accessories this weekend only.",
        "The home team scored twice in the final ten minutes to win the derby in front of a full stadium.",
        "Whisk the eggs with sugar until pale, then fold in the flour and bake for twenty five minutes.",
        "The actor was spotted having dinner with a mystery companion at a downtown restaurant.",
        "Free shipping on all orders over fifty dollars, and returns are accepted within thirty days.",
        "The coach praised the defence after a hard-fought draw away from home on Sunday.",
        "Add a pinch of salt and a splash of lemon juice to brighten the flavour of the sauce.",
        "Tickets for the concert tour sold out within minutes of going on sale online.",
        "Subscribe to our newsletter for the latest deals, coupons and exclusive member offers.",
    ],
}

SCIENCE_DOMAINS = {
    "number-theory-notes.net": "mathematics",
    "quantum-lecture-notes.org": "physics",
    "organic-synthesis-lab.edu": "chemistry",
    "cell-biology-review.org": "life_science",
    "geoscience-field-reports.info": "earth_science",
    "materials-characterization.com": "materials_science",
}
OTHER_DOMAINS = ["celebrity-buzz-daily.com", "bargain-deals-outlet.shop", "weekend-sports-recap.net",
                 "home-kitchen-recipes.com"]
MIXED_HOST_SCIENCE = "science.general-news-portal.co.uk"
MIXED_HOST_OTHER = "www.general-news-portal.co.uk"
MIRROR_DOMAIN = "science-mirror-blog.net"
PAGES_PER_DOMAIN = 6
COPYRIGHT_TEXT = (
    "Copyright (c) 2025 Open Science Press. All rights reserved. No part of this publication may be "
    "reproduced, stored in a retrieval system, or transmitted in any form or by any means, electronic, "
    "mechanical, photocopying, recording or otherwise, without the prior written permission of the "
    "publisher. Printed on acid-free paper. ISBN 978-0-00-000000-0."
)
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
INSULIN_B = "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"
LYSOZYME = ("KVFGRCELAAAMKRHGLDNYRGYSLGNWVCAAKFESNFNTQATNRNTDGSTDYGILQINSRWWCNDGRTPGSRNLCNIPCSALLSS"
            "DITASVNCAKKIVSDGNGMNAWVAWRNRCKGTDVQAWIRGCRL")
DNA = "ATGGCGTACGTTAGCCTAGGCTAACGTTAGCATCGATCGATCGGATCCGATTACGATCGATCGTAGCTAGCTAGGCTA"


# Slot-filled templates give every page its own sentences (real pages do not repeat themselves;
# Gopher's repetition rules would rightly drop pages that did), while the field's vocabulary
# (TERMS) keeps each page recognisably about its field.
TEMPLATES = [
    "We measured {a} in {n} independent samples and found a spread of {x} percent around the mean.",
    "The dependence of {a} on {b} follows a power law with an exponent close to {y}.",
    "Earlier work on {a} assumed that {b} could be neglected, an assumption we revisit here.",
    "A simple model relating {a} to {b} reproduces the main trend with {n} parameters.",
    "Section {n} compares {a} with {b} and discusses where the two descriptions disagree.",
    "Figure {n} shows how {a} changes when {b} is varied by a factor of {y}.",
    "Our estimate of {a} agrees with the reference value to within {x} percent.",
    "Controlling {b} turned out to be essential for reproducible measurements of {a}.",
    "In the limit of small {b}, {a} approaches a constant that depends only on geometry.",
    "The uncertainty in {a} is dominated by systematic errors in {b} rather than by noise.",
    "Table {n} lists {a} for each sample together with the measured {b}.",
    "A second experiment, with {b} held fixed, isolates the contribution of {a}.",
]
OTHER_TEMPLATES = [
    "{a} was spotted near {b} on {day}, and fans shared photos within minutes.",
    "This week only, {a} is {x} percent off when you order before {day}.",
    "The {a} beat their rivals {n} to {m} after a late goal near {b}.",
    "Mix {a} with a spoonful of {b} and leave it to rest for {n} minutes.",
    "Readers voted {a} the best buy of the month, ahead of {b}.",
    "Tickets for {a} at {b} go on sale on {day} at noon.",
    "Our editors tried {a} for {n} days and compared it with {b}.",
    "{a} announced a new tour that starts in {b} on {day}.",
]
TERMS: dict[str, list[str]] = {
    "mathematics": ["the class number", "the spectral gap", "the Euler characteristic", "the prime gap",
                    "the convergence rate", "the Galois group order", "the Betti number", "the modular form weight",
                    "the eigenvalue spacing", "the Hausdorff dimension"],
    "physics": ["the decoherence time", "the photon flux", "the spin relaxation rate", "the plasma density",
                "the critical temperature", "the scattering cross section", "the magnetic susceptibility",
                "the phonon lifetime", "the Rabi frequency", "the neutrino flux"],
    "chemistry": ["the reaction yield", "the catalyst loading", "the activation energy", "the enantiomeric excess",
                  "the solvent polarity", "the rate constant", "the pKa shift", "the ligand bite angle",
                  "the NMR chemical shift", "the crystallisation temperature"],
    "life_science": ["the gene expression level", "the enzyme turnover", "the cell division rate",
                     "the protein half-life", "the mutation frequency", "the antibody titer", "the membrane potential",
                     "the transcription rate", "the microbiome diversity", "the receptor occupancy"],
    "earth_science": ["the sea surface temperature", "the sediment flux", "the seismic velocity",
                      "the groundwater level", "the glacier mass balance", "the aerosol optical depth",
                      "the crustal strain rate", "the river discharge", "the ocean salinity", "the soil moisture"],
    "materials_science": ["the yield strength", "the grain size", "the band gap", "the fracture toughness",
                          "the thermal conductivity", "the dislocation density", "the porosity",
                          "the dielectric constant", "the creep rate", "the coating thickness"],
    "other": ["the pop star", "the new sneaker line", "the home team", "the lemon cake", "the summer playlist",
              "the reality show", "the city marathon", "the garden party", "the smartphone deal",
              "the weekend market"],
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _sentences(rng: random.Random, field: str, k: int) -> list[str]:
    """``k`` distinct sentences about ``field``: a few hand-written ones, the rest slot-filled."""
    hand = rng.sample(SENTENCES[field], min(2, k))
    templates = OTHER_TEMPLATES if field == "other" else TEMPLATES
    chosen = rng.sample(templates, min(k - len(hand), len(templates)))
    out = []
    for t in chosen:
        a, b = rng.sample(TERMS[field], 2)
        out.append(t.format(a=a, b=b, n=rng.randint(2, 40), m=rng.randint(0, 3), x=rng.randint(2, 30),
                            y=round(rng.uniform(0.3, 3.5), 2), day=rng.choice(DAYS)))
        out[-1] = out[-1][0].upper() + out[-1][1:]
    sents = hand + out
    rng.shuffle(sents)
    return sents


def _paragraphs(rng: random.Random, field: str, n_par: int, per_par: int) -> list[str]:
    sents = _sentences(rng, field, n_par * per_par)
    return [" ".join(sents[i * per_par:(i + 1) * per_par]) for i in range(n_par)]


def _html(title: str, site: str, paragraphs: list[str], *, lang: str = "en", charset: str = "utf-8",
          extra: str = "") -> str:
    nav = "".join(f'<li><a href="/{x.lower()}">{x}</a></li>' for x in ("Home", "About", "Archive", "Contact"))
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title></head>'
        f"<body><nav><ul>{nav}</ul></nav><header><h1>{title}</h1></header>\n<main><article>\n{body}\n{extra}"
        f"</article></main>\n<footer><p>Copyright 2025 {site}. All rights reserved.</p>"
        f"<p>Privacy policy | Terms of use | Cookie settings</p></footer></body></html>"
    )


def _web_pages(rng: random.Random) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []

    def add(url: str, html: str | bytes, field: str, science: bool, **kw: Any) -> None:
        body = html.encode("utf-8") if isinstance(html, str) else html
        pages.append({"url": url, "body": body, "field": field, "science": science,
                      "status": kw.pop("status", 200), "content_type": kw.pop("content_type",
                      "text/html; charset=utf-8"), **kw})

    for domain, field in SCIENCE_DOMAINS.items():
        for i in range(PAGES_PER_DOMAIN):
            paras = _paragraphs(rng, field, 3, 4)
            extra = ""
            if field == "mathematics" and i == 0:
                extra = ('<p>The identity <math><mi>e</mi><mo>^</mo><mi>i&#960;</mi><mo>+</mo><mn>1</mn>'
                         '<mo>=</mo><mn>0</mn></math> links five constants.</p>')
            if field == "physics" and i == 1:
                extra = "<ul><li>Planck constant h</li><li>Boltzmann constant k_B</li></ul>"
            if field == "chemistry" and i == 2:
                extra = ("<table><tr><th>Compound</th><th>SMILES</th></tr><tr><td>phenol</td><td>c1ccccc1O"
                         "</td></tr><tr><td>acetone</td><td>CC(C)=O</td></tr></table>")
            add(f"https://{domain}/articles/{field}-{i:02d}.html",
                _html(f"{field.replace('_', ' ').title()} note {i}", domain, paras, extra=extra), field, True)
    for domain in OTHER_DOMAINS:
        for i in range(PAGES_PER_DOMAIN):
            add(f"https://www.{domain}/post/{i:03d}", _html(f"Post {i}", domain,
                _paragraphs(rng, "other", 2, 4)), "other", False)
    # A mixed portal: a science section on its own host, same registered domain.
    for i in range(3):
        add(f"https://{MIXED_HOST_SCIENCE}/story/{i}", _html(f"Science story {i}", "general-news-portal.co.uk",
            _paragraphs(rng, "physics", 3, 4)), "physics", True, mixed_domain=True)
    for i in range(5):
        add(f"https://{MIXED_HOST_OTHER}/news/{i}", _html(f"News {i}", "general-news-portal.co.uk",
            _paragraphs(rng, "other", 2, 4)), "other", False, mixed_domain=True)
    # Near-duplicates: the mirror re-posts three science articles with one sentence added to the first
    # paragraph (inside the text: a short line of its own at the end would be trimmed as page furniture by
    # the extractor, and the repost would become an exact duplicate).
    originals = [p for p in pages if p["field"] == "chemistry"][:3]
    for j, orig in enumerate(originals):
        text = orig["body"].decode()
        assert "<article>\n<p>" in text
        text = text.replace("<article>\n<p>", "<article>\n<p>Reposted with permission from the original lab notes. ", 1)
        add(f"https://{MIRROR_DOMAIN}/repost/{j}", text, "chemistry", True, near_duplicate_of=orig["url"])
    # An exact duplicate at a second URL of the same site.
    first = pages[0]
    add(first["url"].replace(".html", "-print.html"), first["body"], first["field"], True,
        exact_duplicate_of=first["url"])
    # Quality traps.
    add("https://www.bargain-deals-outlet.shop/spam", "<html><body><p>$$$ !!! CLICK >>> $$$ ### "
        "@@@ %%% WIN $$$ !!!</p></body></html>", "other", False, trap="symbol_spam")
    add("https://www.celebrity-buzz-daily.com/thin", "<html><body><p>Hot!</p></body></html>", "other", False,
        trap="too_short")
    add("https://physik-skript.de/vorlesung/1", _html("Quantenmechanik", "physik-skript.de", [
        "Die Schrodinger-Gleichung beschreibt die zeitliche Entwicklung der Wellenfunktion eines "
        "Quantensystems. Der harmonische Oszillator hat aquidistante Energieniveaus und eine "
        "Nullpunktsenergie, die aus der Unscharferelation folgt."] * 3, lang="de"), "physics", True,
        trap="not_english")
    add("https://www.weekend-sports-recap.net/missing", "<html><body>Not Found</body></html>", "other", False,
        status=404, trap="http_404")
    add("https://materials-characterization.com/figure.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "other", False, trap="binary_payload")
    latin1 = _html("Gel\u00e9e de coing", "home-kitchen-recipes.com",
                   ["Faites cuire les coings avec du sucre, puis filtrez la gel\u00e9e tr\u00e8s chaude."]
                   * 3, lang="fr").encode("latin-1")
    add("https://www.home-kitchen-recipes.com/gelee", latin1, "other", False, trap="latin1_declared_utf8")
    return pages


def _write_warc(path: Path, pages: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    w = WARCWriter(out, gzip=True)
    info = w.create_warcinfo_record(path.name, {"software": "sciforge demo-data", "format": "WARC/1.1"})
    info.rec_headers.replace_header("WARC-Record-ID", f"<urn:uuid:00000000-0000-4000-8000-{start:012d}>")
    info.rec_headers.replace_header("WARC-Date", _FIXED_WARC_DATE)
    w.write_record(info)
    for n, p in enumerate(pages):
        reason = {200: "OK", 404: "Not Found"}[p["status"]]
        http = StatusAndHeaders(f"{p['status']} {reason}", [("Content-Type", p["content_type"]),
                                ("Content-Length", str(len(p["body"])))], protocol="HTTP/1.1")
        rid = f"<urn:uuid:00000000-0000-4000-8000-{start + n + 1:012d}>"
        rec = w.create_warc_record(p["url"], "response", payload=io.BytesIO(p["body"]), http_headers=http,
                                   warc_headers_dict={"WARC-Record-ID": rid, "WARC-Date": _FIXED_WARC_DATE})
        w.write_record(rec)
        p["record_id"] = rid
        p["warc_file"] = path.name
    path.write_bytes(out.getvalue())
    return pages


# ----------------------------------------------------------------------------------------------- PDFs

def _fonts() -> dict[str, str]:
    import matplotlib

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"dejavu": str(d / "DejaVuSerif.ttf"), "cmmi": str(d / "cmmi10.ttf"), "cmsy": str(d / "cmsy10.ttf"),
            "cmr": str(d / "cmr10.ttf"), "stix": str(d / "STIXGeneral.ttf"), "sans": str(d / "DejaVuSans.ttf")}


def _text_page(doc: Any, title: str, paragraphs: list[str], fonts: dict[str, str]) -> None:
    import pymupdf

    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="dvs", fontfile=fonts["dejavu"])
    page.insert_text((72, 80), title, fontname="dvs", fontsize=18)
    rect = pymupdf.Rect(72, 110, 523, 780)
    page.insert_textbox(rect, "\n\n".join(paragraphs), fontname="dvs", fontsize=10.5)


def _math_page(doc: Any, intro: str, fonts: dict[str, str]) -> None:
    import pymupdf

    page = doc.new_page(width=595, height=842)
    for name in ("dejavu", "cmmi", "cmsy", "stix"):
        page.insert_font(fontname=name[:4], fontfile=fonts[name])
    page.insert_textbox(pymupdf.Rect(72, 72, 523, 140), intro, fontname="deja", fontsize=10.5)
    equations = [
        ("i\u210f \u2202\u03c8/\u2202t = \u0124\u03c8", "stix"),
        ("E = \u2211 \u03bb\u1d62 |\u03c6\u1d62\u27e9\u27e8\u03c6\u1d62|", "stix"),
        ("\u222b\u2080^\u221e e^{-x\u00b2} dx = \u221a\u03c0 / 2", "stix"),
        ("\u2207 \u00d7 B = \u03bc\u2080 J + \u03bc\u2080\u03b5\u2080 \u2202E/\u2202t", "stix"),
        ("\u2200\u03b5 > 0 \u2203\u03b4 > 0 : |x \u2212 y| < \u03b4 \u21d2 |f(x) \u2212 f(y)| < \u03b5", "stix"),
        ("Z = \u2211 exp(\u2212\u03b2 E\u2099),  F = \u2212k T ln Z", "stix"),
    ]
    y = 170
    for k, (eq, font) in enumerate(equations):
        page.insert_text((110, y), eq, fontname=font[:4], fontsize=13)
        page.insert_text((110, y + 22), "x y z a b", fontname="cmmi", fontsize=11)  # CMMI italic letters
        page.insert_text((480, y), f"({k + 1})", fontname="deja", fontsize=10.5)
        y += 80


def _two_column_page(doc: Any, rng: random.Random, field: str, fonts: dict[str, str]) -> None:
    import pymupdf

    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="dvs", fontfile=fonts["dejavu"])
    page.insert_text((72, 70), "2. Methods", fontname="dvs", fontsize=14)
    left, right = _paragraphs(rng, field, 3, 3), _paragraphs(rng, field, 3, 3)
    page.insert_textbox(pymupdf.Rect(72, 90, 290, 780), "\n\n".join(left), fontname="dvs", fontsize=9.5)
    page.insert_textbox(pymupdf.Rect(305, 90, 523, 780), "\n\n".join(right), fontname="dvs", fontsize=9.5)


def _table_page(doc: Any, fonts: dict[str, str]) -> None:
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="dvs", fontfile=fonts["dejavu"])
    page.insert_text((72, 70), "Table 1. Measured properties of three proteins.", fontname="dvs", fontsize=11)
    rows = [("Protein", "Length", "Mass (kDa)"), ("Ubiquitin", "76", "8.6"), ("Insulin B", "30", "3.4"),
            ("Lysozyme", "129", "14.3")]
    x0, y0, cw, rh = 72, 90, 150, 24
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            page.draw_rect((x0 + c * cw, y0 + r * rh, x0 + (c + 1) * cw, y0 + (r + 1) * rh), color=(0, 0, 0),
                           width=0.6)
            page.insert_text((x0 + c * cw + 6, y0 + r * rh + 16), cell, fontname="dvs", fontsize=10)


def _copyright_page(doc: Any, fonts: dict[str, str]) -> None:
    _text_page(doc, "Copyright", [COPYRIGHT_TEXT], fonts)


def _scan_pages(doc: Any, rng: random.Random, fonts: dict[str, str], noisy_layer: bool) -> None:
    import pymupdf

    src = pymupdf.open()
    _text_page(src, "Laboratory notebook, page 12", _paragraphs(rng, "chemistry", 3, 3), fonts)
    pix = src[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    png = pix.tobytes("png")
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=png)
    if noisy_layer:  # an invisible OCR layer full of errors, as bad scanners produce
        noise = "".join(rng.choice("l1I|0Oo.,;:~ ") for _ in range(600))
        page.insert_text((72, 100), noise, fontsize=9, render_mode=3)


def _encrypted_pdf() -> bytes:
    """A minimal PDF with a Standard security handler (RC4, revision 2) whose user password is
    not empty: readers must ask for a password. Deterministic, unlike a freshly encrypted file."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 16 >>\nstream\n\x8a\x1f\x03\x9c\xd2\x11\x5e\x07\x44\xa0\x19\xee\x02\x71\x3b\xc8\nendstream",
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <" + b"6f" * 32 + b"> /U <" + b"75" * 32 + b"> >>",
    ]
    ids = b"/ID [<" + b"ab" * 16 + b"><" + b"ab" * 16 + b">] "
    return raw_pdf(objs, b"/Encrypt 5 0 R " + ids)


def raw_pdf(objs: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF written object by object, byte-stable (for files PyMuPDF will not write: encrypted, broken)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, trailer_extra, xref)
    return bytes(out)


def _save(doc: Any, path: Path, **kw: Any) -> None:
    doc.subset_fonts()  # embed only the glyphs used: keeps the sample small
    doc.set_metadata({"producer": "sciforge demo-data", "creator": "sciforge", "creationDate": "D:20260101000000Z",
                      "modDate": "D:20260101000000Z", "title": path.stem})
    doc.save(str(path), garbage=3, deflate=True, no_new_id=True, **kw)


def _write_pdfs(out: Path, rng: random.Random) -> list[dict[str, Any]]:
    import pymupdf

    fonts = _fonts()
    planted: list[dict[str, Any]] = []

    def record(name: str, pages: list[str], **kw: Any) -> None:
        planted.append({"file": f"pdf/{name}", "pages": pages, **kw})

    d = pymupdf.open()
    _text_page(d, "Quantum oscillators revisited", _paragraphs(rng, "physics", 4, 4), fonts)
    _math_page(d, "The dynamics follow from the equations below, written in Dirac notation.", fonts)
    _text_page(d, "References", ["[1] P. A. M. Dirac, The Principles of Quantum Mechanics, 1930.",
                                  "[2] R. P. Feynman, Lectures on Physics, 1964."], fonts)
    _copyright_page(d, fonts)
    _save(d, out / "paper_quantum.pdf")
    record("paper_quantum.pdf", ["text", "math", "text", "text"], field="physics", copyright_page=4)

    d = pymupdf.open()
    _text_page(d, "Catalytic acetylation of phenols", _paragraphs(rng, "chemistry", 4, 4), fonts)
    _math_page(d, "Rate laws for the catalysed reaction:", fonts)
    _two_column_page(d, rng, "chemistry", fonts)
    _copyright_page(d, fonts)
    _save(d, out / "paper_catalysis.pdf")
    record("paper_catalysis.pdf", ["text", "math", "text", "text"], field="chemistry", copyright_page=4,
           two_column_page=3)

    d = pymupdf.open()
    _text_page(d, "Small proteins in the proteasome pathway", _paragraphs(rng, "life_science", 3, 4)
               + [f"The sequence of insulin chain B is {INSULIN_B}, and hen lysozyme reads {LYSOZYME}."], fonts)
    _table_page(d, fonts)
    _copyright_page(d, fonts)
    _save(d, out / "report_proteomics.pdf")
    record("report_proteomics.pdf", ["text", "text", "text"], field="life_science", copyright_page=3,
           table_page=2)

    d = pymupdf.open()
    _scan_pages(d, rng, fonts, noisy_layer=False)
    _scan_pages(d, rng, fonts, noisy_layer=True)
    _save(d, out / "scanned_notebook.pdf")
    record("scanned_notebook.pdf", ["scan", "scan"], field="chemistry", note="page 2 has a hidden noisy OCR layer")

    # A PDF header over noise: no object, no xref, nothing a repair pass can recover.
    noise_rng = random.Random(NOISE_SEED)
    noise = bytes(noise_rng.randrange(256) for _ in range(4096))
    (out / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + noise)
    record("corrupt.pdf", [], expect="quarantine: pdf_corrupt")
    # A truncated PDF: PyMuPDF repairs it and recovers pages; ingest flags it as repaired.
    good = (out / "paper_quantum.pdf").read_bytes()
    (out / "truncated_paper.pdf").write_bytes(good[: int(len(good) * 0.6)])
    record("truncated_paper.pdf", ["?"], expect="kept with repaired=true (pages before the cut)")
    # PyMuPDF's encryption draws random keys; this hand-built file is encrypted and byte-stable.
    (out / "encrypted.pdf").write_bytes(_encrypted_pdf())
    record("encrypted.pdf", [], expect="quarantine: pdf_encrypted")
    (out / "empty.pdf").write_bytes(b"")
    record("empty.pdf", [], expect="quarantine: pdf_empty_file")
    return planted


# ---------------------------------------------------------------------------------------------- JSONL

def _jsonl_docs() -> tuple[bytes, list[dict[str, Any]]]:
    docs = [
        {"id": "chem-001", "text": "Aspirin (CC(=O)Oc1ccccc1C(=O)O) and paracetamol (CC(=O)Nc1ccc(O)cc1) are "
         "common analgesics; their solubility in water differs markedly.", "field": "chemistry"},
        {"id": "chem-002", "text": "The tagged molecule <SMILES>C1=CC=C(C=C1)C=O</SMILES> is benzaldehyde, and "
         "<SELFIES>[C][C][O]</SELFIES> encodes ethanol.", "field": "chemistry"},
        {"id": "chem-003", "text": "Water, H2O, and carbon dioxide, CO2, are small molecules; NaCl dissolves "
         "readily. POISON and CISCO are words, not molecules.", "field": "chemistry"},
        {"id": "bio-001", "text": f"Human ubiquitin has the sequence {UBIQUITIN} and is highly conserved.",
         "field": "life_science"},
        {"id": "bio-002", "text": f">sp|P01308|INS_HUMAN Insulin B chain\n{INSULIN_B}\n", "field": "life_science"},
        {"id": "bio-003", "text": f"This DNA fragment, {DNA}, encodes the start of the reporter gene.",
         "field": "life_science"},
        {"id": "math-001", "text": "Every bounded monotone sequence of real numbers converges; this is the "
         "monotone convergence theorem.", "field": "mathematics"},
        {"id": "chem-004", "text": "Ibuprofen is CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O and the (S)-enantiomer is active.",
         "field": "chemistry"},
    ]
    lines = [json.dumps(d, sort_keys=True).encode() for d in docs]
    lines.append(b'{"id": "broken-1", "text": "unterminated')
    lines.append(b'{"id": "latin1-1", "text": "caf\xe9 au lait"}')
    lines.append(b'{"id": "notext-1", "title": "no text field here"}')
    planted = docs + [{"id": "broken-1", "expect": "quarantine: invalid_json"},
                      {"id": "latin1-1", "expect": "quarantine: invalid_utf8"},
                      {"id": "notext-1", "expect": "quarantine: missing_text"}]
    return b"\n".join(lines) + b"\n", planted


def write_demo_corpus(out_dir: str | Path, seed: int = SEED) -> dict[str, Any]:
    """Write the sample corpus into ``out_dir`` (warc/, pdf/, jsonl/, planted.json)."""
    out = Path(out_dir)
    for sub in ("warc", "pdf", "jsonl"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pages = _web_pages(rng)
    # Spread the pages over three WARC files in a fixed interleaved order.
    order = list(range(len(pages)))
    random.Random(seed + 1).shuffle(order)
    chunks = [[pages[i] for i in order[k::3]] for k in range(3)]
    for k, chunk in enumerate(chunks):
        _write_warc(out / "warc" / f"crawl-{k:02d}.warc.gz", chunk, start=1000 * (k + 1))
    # A fourth file, truncated in the middle of its second response record.
    trunc_pages = [dict(p) for p in pages[:2]]
    tmp = out / "warc" / "crawl-03-truncated.warc.gz"
    _write_warc(tmp, trunc_pages, start=9000)
    data = tmp.read_bytes()
    tmp.write_bytes(data[: int(len(data) * 0.8)])
    pdfs = _write_pdfs(out / "pdf", rng)
    blob, jdocs = _jsonl_docs()
    (out / "jsonl" / "notes.jsonl").write_bytes(blob)
    planted = {
        "seed": seed,
        "web": [{k: v for k, v in p.items() if k != "body"} for p in pages],
        "web_truncated_file": "warc/crawl-03-truncated.warc.gz",
        "science_domains": SCIENCE_DOMAINS,
        "other_domains": OTHER_DOMAINS,
        "mixed_domain": "general-news-portal.co.uk",
        "mirror_domain": MIRROR_DOMAIN,
        "pdf": pdfs,
        "pdf_copyright_text": COPYRIGHT_TEXT,
        "jsonl": jdocs,
        "protein_sequences": {"ubiquitin": UBIQUITIN, "insulin_b": INSULIN_B, "lysozyme": LYSOZYME},
        "dna_negative": DNA,
    }
    (out / "planted.json").write_text(json.dumps(planted, indent=2, sort_keys=True) + "\n")
    return planted

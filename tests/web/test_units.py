"""Pure-logic tests of pipelines/web (no Spark)."""

from __future__ import annotations

import pytest

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.classifier import (
    FIELDS,
    HashedLinearClassifier,
    LexiconTeacher,
    TrainConfig,
    seed_examples,
    train,
)
from sciforge.pipelines.web.config import (
    DEFAULT_MODEL,
    ClassifierConfig,
    DomainConfig,
    ExtractConfig,
    QualityConfig,
    WebConfig,
)
from sciforge.pipelines.web.domains import (
    DROP,
    KEEP,
    PAGE_LEVEL,
    REWRITE,
    boilerplate_lines,
    decide,
    domain_stats,
    route_page,
)
from sciforge.pipelines.web.extract import ExtractError, extract_html
from sciforge.pipelines.web.quality import check_quality, quality_rules
from sciforge.pipelines.web.rewrite import cleanup

SCI = ("The Schrodinger equation governs the time evolution of the wave function of a quantum system. "
       "In the harmonic oscillator the energy levels are equally spaced by hbar times the angular frequency. "
       "Maxwell's equations unify electricity and magnetism and predict electromagnetic waves in vacuum. "
       "The entropy of an isolated system never decreases, which is the content of the second law. ")
SCI_LONG = SCI + ("Benzene is stabilised by the delocalisation of six pi electrons over the aromatic ring. "
                  "The pKa of acetic acid is 4.76, so it is mostly ionised in water at pH 7. "
                  "Plate tectonics explains earthquakes and volcanoes at the boundaries of lithospheric plates.")
SHOP = ("Our summer sale brings up to seventy percent off shoes, bags and accessories this weekend only. "
        "Free shipping on all orders over fifty dollars, and returns are accepted within thirty days. "
        "Subscribe to our newsletter for the latest deals, coupons and exclusive member offers. "
        "Tickets for the concert tour sold out within minutes of going on sale online. ")


def page(body: str, head: str = "") -> bytes:
    return (f"<!DOCTYPE html><html lang='en'><head>{head}<title>A title</title></head><body>"
            f"<nav><ul><li><a href='/'>Home</a></li><li><a href='/a'>About</a></li></ul></nav>"
            f"<main><article>{body}</article></main><footer>Copyright 2025</footer></body></html>").encode()


# ------------------------------------------------------------------------------------- extract
def test_extract_keeps_structure_and_math() -> None:
    c = StageCounters()
    html = page("<h2>Results</h2><p>" + SCI + "</p><table><tr><th>x</th><th>y</th></tr><tr><td>1</td><td>2</td>"
                "</tr></table><p>Euler: <math alttext='e^{i\\pi}+1=0'><mi>e</mi></math> holds.</p>"
                "<pre>a = b\n  + c</pre>")
    ex = extract_html(html, "text/html; charset=utf-8", ExtractConfig(), c)
    assert "## Results" in ex.text
    assert "| x | y |" in ex.text
    assert "$e^{i\\pi}+1=0$" in ex.text
    assert "```\na = b\n  + c\n```" in ex.text
    assert "Copyright 2025" not in ex.text and ex.title == "A title" and ex.declared_lang == "en"


def test_latin1_declared_utf8_is_decoded_and_counted() -> None:
    c = StageCounters()
    body = page("<p>Faites cuire les coings avec du sucre, puis filtrez la gel\u00e9e tr\u00e8s chaude. " * 3 + "</p>")
    ex = extract_html(body.decode().encode("latin-1"), "text/html; charset=utf-8", ExtractConfig(), c)
    assert "gel\u00e9e" in ex.text
    assert c.metrics["charset_mismatch"] == 1


@pytest.mark.parametrize("data,ctype,reason", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "text/html", "binary_payload"),
    (bytes(range(32)) * 50, "text/html", "binary_payload"),
    (b"", "text/html", "empty_payload"),
    (b"<html><body><script>var x=1;</script></body></html>", "text/html", "empty_text"),
    (b"%PDF-1.7 ...", "application/pdf", "not_html"),
    (b"<html>" + b"<p>word </p>" * 200_000 + b"</html>", "text/html", "html_too_large"),
])
def test_bad_payloads_get_a_reason(data: bytes, ctype: str, reason: str) -> None:
    with pytest.raises(ExtractError) as e:
        extract_html(data, ctype, ExtractConfig(), StageCounters())
    assert e.value.reason == reason


def test_malformed_html_and_unknown_charset_do_not_crash() -> None:
    c = StageCounters()
    html = b"<html><head><meta charset='x-no-such-charset'></head><body><div><p>" + SCI.encode() + b"<p><b><i></div>"
    ex = extract_html(html, None, ExtractConfig(), c)
    assert "Schrodinger" in ex.text
    assert c.metrics["charset_unknown"] == 1


# ------------------------------------------------------------------------------------- quality
def test_quality_rules_each_fire() -> None:
    cfg = QualityConfig()
    assert quality_rules("too short", cfg) == ["too_few_words"]
    assert quality_rules(SCI_LONG, cfg) == []
    assert "dup_5gram" in quality_rules(SCI * 2, cfg)
    assert "stop_words" in quality_rules(" ".join(["quantum entropy hamiltonian."] * 30), cfg)
    assert "dup_lines" in quality_rules("\n".join(["Same line repeated here with the words."] * 20), cfg)
    assert "symbol_word_ratio" in quality_rules(SCI + " # ..." * 40, cfg)
    assert "c4_lorem_ipsum" in quality_rules(SCI_LONG + " lorem ipsum dolor", cfg)
    assert "fineweb_line_punct" in quality_rules("\n".join(f"menu item number {i} of the site and the rest"
                                                           for i in range(30)), cfg)
    c = StageCounters()
    r = check_quality("$$$ !!! CLICK >>> $$$ ### @@@ %%% WIN $$$ !!!", cfg, c)
    assert not r.keep and r.reason == "quality_too_few_words" and c.metrics["quality_too_few_words"] == 1


# ------------------------------------------------------------------------------------- classifier
@pytest.mark.slow
def test_classifier_rebuilds_byte_identical(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the default training set (gold + lexicon + ~2k silver documents) takes about a minute to fit
    from typer.testing import CliRunner

    from sciforge.cli.web import app

    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(app, ["train-classifier", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == DEFAULT_MODEL.read_bytes(), "shipped model is not what train-classifier builds"


def test_shipped_classifier_separates_and_is_small() -> None:
    m = HashedLinearClassifier.load(DEFAULT_MODEL)
    thr = ClassifierConfig().page_threshold
    assert m.predict(SCI).science_score >= thr and m.predict(SCI).label == "physics"
    assert m.predict(SHOP).science_score < thr
    assert m.meta["silver_per_subfield"] > 0 and DEFAULT_MODEL.stat().st_size < 3_000_000


def test_classifier_training_is_deterministic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    texts, labels = seed_examples()
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    for out in (a, b):
        train(texts, labels, TrainConfig(max_iter=30), meta={"seed_file": "seed.jsonl"}).save(out)
    assert a.read_bytes() == b.read_bytes()
    m = HashedLinearClassifier.load(a)
    assert m.predict(SCI).label == "physics" and m.predict(SHOP).label == "other"


def test_lexicon_teacher_three_levels() -> None:
    t = LexiconTeacher()
    assert t.label(SCI) == "physics" and t.subfield(SCI, "physics") in {"quantum", "electromagnetism_electronics",
                                                                      "thermodynamics_statistical"}
    assert t.label(SHOP) == "other" and t.subfield(SHOP, "other") == ""
    assert set(FIELDS) == set(t.lexicon) - {"other"}


def test_wrong_model_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        HashedLinearClassifier.load(tmp_path / "none.safetensors")


# ------------------------------------------------------------------------------------- domains
def _stats(scores: list[float], fetched: int | None = None):  # type: ignore[no-untyped-def]
    n = len(scores)
    return domain_stats("x.org", fetched or n, n, scores, ["physics"] * n, ["t"] * n, DomainConfig(),
                        ClassifierConfig())


def test_domain_decisions_and_routes() -> None:
    d, c = DomainConfig(), ClassifierConfig()
    assert decide(_stats([0.9] * 8 + [0.1] * 2), d)[0] == KEEP
    assert decide(_stats([0.9] * 3 + [0.1] * 7), d)[0] == REWRITE
    assert decide(_stats([0.9] * 10, fetched=40), d)[0] == REWRITE  # pure but mostly unparseable
    assert decide(_stats([0.1] * 10), d)[0] == DROP
    assert decide(_stats([0.9] * 2), d)[0] == PAGE_LEVEL
    assert route_page(DROP, 0.99, d, c).rescued
    assert route_page(DROP, 0.9, d, c).action == DROP
    assert route_page(REWRITE, 0.2, d, c).reason == "domain_rewrite_off_topic"
    assert route_page(KEEP, 0.1, d, c).action == KEEP


def test_domain_boilerplate_and_cleanup() -> None:
    texts = [f"Home | About\nArticle {i} says something distinct.\nShare this article" for i in range(4)]
    bp = boilerplate_lines(texts, 0.5)
    assert bp == ["Home | About", "Share this article"]
    cleaned, removed = cleanup(texts[0] + "\nWe use cookies. See our privacy policy.", bp)
    assert cleaned == "Article 0 says something distinct." and removed == 3


def test_wrong_config_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        WebConfig(**{"domain": {"keep_purity": 0.1, "rewrite_purity": 0.5}})
    with pytest.raises(ValueError):
        WebConfig(**{"quality": {"min_wordz": 3}})


# ------------------------------------------------------------------------------------- extraction repairs
def test_tail_section_cut_only_late_in_the_page() -> None:
    from sciforge.pipelines.web.extract import cut_tail_section

    body = "\n".join(f"Paragraph {i} of the article text goes on for a while." for i in range(10))
    text, cut = cut_tail_section(body + "\n## Related articles\nOther story one\nOther story two", 0.5)
    assert cut and text == body
    early = "## Related work\n" + body  # a heading near the top is content, not a tail section
    assert cut_tail_section(early, 0.5) == (early, False)
    assert cut_tail_section(body + "\nComments", 1.0) == (body + "\nComments", False)  # 1.0 disables


def test_near_empty_extraction_falls_back_to_trafilatura() -> None:
    # resiliparse's main-content heuristic drops text that sits in a link-heavy <div>; trafilatura keeps it
    c = StageCounters()
    html = page("<p>Short.</p>")
    out = extract_html(html, "text/html", ExtractConfig(fallback_min_chars=10_000), c)
    assert c.metrics["extract_fallback_trafilatura"] == 1 and out.text
    c2 = StageCounters()
    extract_html(html, "text/html", ExtractConfig(fallback_min_chars=0), c2)
    assert "extract_fallback_trafilatura" not in c2.metrics


# ------------------------------------------------------------------------------------- silver seed
def test_silver_seed_is_deterministic_and_teacher_labelled() -> None:
    from sciforge.pipelines.web.classifier import LABELS, load_lexicon
    from sciforge.pipelines.web.silver import SilverConfig, generate

    lex, teacher = load_lexicon(), LexiconTeacher()
    cfg = SilverConfig(docs_per_subfield=2, neutral_docs=3)
    t1, l1, n1 = generate(lex, teacher, cfg)
    t2, l2, _ = generate(lex, teacher, cfg)
    assert (t1, l1) == (t2, l2)
    assert n1["generated"] == n1["kept"] + n1["teacher_disagrees"] and n1["kept"] == len(t1)
    assert set(l1) <= set(LABELS) and set(FIELDS) <= set(l1)
    assert all(teacher.label(t) == lab for t, lab in zip(t1, l1, strict=True))
    assert generate(lex, teacher, SilverConfig(docs_per_subfield=2, neutral_docs=3, seed=1))[0] != t1

"""Rebuild the real tier's PDFs (bench/data/pdf_real/*.jsonl) from their recorded sources.

Each labelled page names a public GitHub repository, a commit, a path and the sha256 of the
whole PDF. For every distinct PDF this script gets the repository once (a blob-less partial
clone: ``git clone --filter=blob:none --no-checkout``, so only the blobs asked for are
downloaded), writes ``git show <commit>:<path>`` to ``--out`` and checks the sha256. Needs
network access to github.com; with ``--mirrors DIR`` it reads existing local clones instead
(``DIR/<owner>+<name>/`` holding a git directory, bare or not) and needs no network.

File names: the path's base name, prefixed by the first 8 hex digits of the sha256 when two
PDFs share a base name. ``bench/pdf_structure.py --real-pdfs DIR`` finds PDFs by sha256, so
the names do not matter to it.

    .venv/bin/python bench/pdf_real_fetch.py --out var/pdf_real [--mirrors DIR] [--labels bench/data/pdf_real]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_LABELS = ROOT / "bench" / "data" / "pdf_real"


def sources(labels: Path) -> list[tuple[str, str, str, str]]:
    """Distinct (repo, commit, path, sha256) of the labelled pages, sorted."""
    out = set()
    for f in sorted(labels.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out.add((r["repo"], r["commit"], r["path"], r["sha256"]))
    return sorted(out)


def _git_dir(mirrors: Path, repo: str) -> Path | None:
    base = mirrors / repo.replace("/", "+")
    for cand in (base, base / "repo", base / ".git", base / "repo" / ".git"):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


def _clone(repo: str, cache: Path) -> Path:
    dest = cache / repo.replace("/", "+")
    if not (dest / "HEAD").is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--bare", "--filter=blob:none",
                        f"https://github.com/{repo}.git", str(dest)], check=True)
    return dest


def fetch(out: Path, labels: Path = REAL_LABELS, mirrors: Path | None = None) -> tuple[int, list[str]]:
    """Write every labelled PDF under ``out``; returns (PDFs written or already there, problems)."""
    out.mkdir(parents=True, exist_ok=True)
    srcs = sources(labels)
    names: dict[str, int] = {}
    for _, _, path, _ in srcs:
        names[Path(path).name] = names.get(Path(path).name, 0) + 1
    done, problems = 0, []
    for repo, commit, path, sha in srcs:
        name = Path(path).name if names[Path(path).name] == 1 else f"{sha[:8]}-{Path(path).name}"
        dest = out / name
        if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha:
            done += 1
            continue
        try:
            git_dir = _git_dir(mirrors, repo) if mirrors else _clone(repo, out / ".git-cache")
            if git_dir is None:
                problems.append(f"{repo}: no local clone under {mirrors}")
                continue
            blob = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                                  check=True, capture_output=True).stdout
        except subprocess.CalledProcessError as e:
            problems.append(f"{repo}@{commit[:10]}:{path}: {e.stderr.decode(errors='replace').strip()[:200]}")
            continue
        got = hashlib.sha256(blob).hexdigest()
        if got != sha:
            problems.append(f"{repo}@{commit[:10]}:{path}: sha256 {got[:12]} != recorded {sha[:12]}")
            continue
        dest.write_bytes(blob)
        done += 1
    return done, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for the PDFs")
    ap.add_argument("--labels", type=Path, default=REAL_LABELS, help="folder of the *.jsonl labels")
    ap.add_argument("--mirrors", type=Path, help="local clones, DIR/<owner>+<name>/ (no network)")
    args = ap.parse_args(argv)
    done, problems = fetch(args.out, args.labels, args.mirrors)
    for p in problems:
        print("problem: " + p, file=sys.stderr)
    print(f"{done} of {len(sources(args.labels))} PDFs in {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

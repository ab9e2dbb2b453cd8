"""picklescan's corpus of malicious, benign and broken files, kept in
``tests/data/picklescan``: where it is, what its manifest expects of each
file, and the allowlist profile a user would pass for each kind of file."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "picklescan"
MANIFEST = CORPUS / "MANIFEST.tsv"
MISSING = f"the picklescan corpus is missing: looked for {MANIFEST}"

# PyTorch checkpoints are scanned with --allow torch, NumPy files with
# --allow numpy, everything else (plain pickles, archives) with nothing.
_PROFILE_BY_SUFFIX = {
    ".pt": "torch",
    ".pth": "torch",
    ".bin": "torch",
    ".ckpt": "torch",
    ".npy": "numpy",
    ".npz": "numpy",
}


def manifest() -> list[tuple[str, str]]:
    """(path relative to the corpus, expected verdict) per file; empty when
    the corpus is missing."""
    if not MANIFEST.is_file():
        return []
    rows = []
    for line in MANIFEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path, expected = line.split("\t")
            rows.append((path, expected))
    return rows


def profiles_for(path: str) -> list[str]:
    """The --allow profiles a user who knows the file's kind would pass."""
    profile = _PROFILE_BY_SUFFIX.get(Path(path).suffix)
    return [profile] if profile else []

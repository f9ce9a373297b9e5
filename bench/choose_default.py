"""Choose the app's default artifact by the rule written in README "Artifacts", and mark it.

    python bench/choose_default.py [ROOT] [--dry-run]

Rule: every artifact under ROOT (default artifacts/) is scored on the visitor-facing targets of
issue 8: the taste panel (mean genre share >= 0.6, every franchise check passing, no listed movie
under the support threshold) and the map (trustworthiness@10 >= 0.90, map genre agreement >= 0.95x
the full space's). Artifacts more than 3% below the most accurate one on users-protocol NDCG@10
(recorded in each manifest by ``train --eval``) are out. Among the rest, the most targets met
wins; ties go to the higher users NDCG@10. The chosen manifest gets ``"default": true`` and the
others ``false`` (the manifest is not among the hashed files; each is rewritten atomically).
Prints one line per artifact and the choice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from recsys import load  # noqa: E402
from recsys.artifacts import list_artifacts  # noqa: E402
from recsys.taste import taste_panel  # noqa: E402

ACCURACY_SLACK = 0.97  # within 3% of the most accurate artifact's users NDCG@10


def targets(art) -> dict[str, bool]:
    """Which visitor-facing targets ``art`` meets."""
    panel = taste_panel(art, min_support=art.min_support)
    quality = art.manifest.get("map_quality", {}).get("umap", {})
    agree = quality.get("genre_agreement@10", {})
    return {
        "genre share >= 0.6": panel["mean_genre_share"] >= 0.6,
        "franchises": panel["franchise_passed"] == len(panel["franchise"]),
        "support": panel["low_support"] == 0,
        "trustworthiness >= 0.90": quality.get("trustworthiness@10", 0.0) >= 0.90,
        "map genre agreement >= 0.95x": bool(agree)
        and agree["map"] >= 0.95 * agree["full_space"],
    }


def users_ndcg(art) -> float:
    return float(art.manifest["metrics"]["users"]["metrics"]["ndcg@10"])


def _write_default(path: Path, value: bool) -> None:
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("default") == value:
        return
    manifest["default"] = value
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    os.replace(tmp, manifest_path)


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("root", nargs="?", default="artifacts")
    ap.add_argument("--dry-run", action="store_true", help="print the choice, change nothing")
    args = ap.parse_args(argv)
    arts = {e["name"]: load(e["path"]) for e in list_artifacts(args.root) if "error" not in e}
    if not arts:
        sys.exit(f"no loadable artifacts under {args.root}")
    ndcg = {name: users_ndcg(a) for name, a in arts.items()}
    best = max(ndcg.values())
    met = {name: targets(a) for name, a in arts.items()}
    for name in arts:
        ok = [t for t, v in met[name].items() if v]
        print(f"{name}: users NDCG@10 {ndcg[name]:.4f} ({ndcg[name] / best:.2f}x the best); "
              f"targets met {len(ok)}/5: {', '.join(ok) or 'none'}")
    eligible = [n for n in arts if ndcg[n] >= ACCURACY_SLACK * best]
    chosen = max(eligible, key=lambda n: (sum(met[n].values()), ndcg[n]))
    print(f"default: {chosen}")
    if not args.dry_run:
        for name, art in arts.items():
            _write_default(art.path, name == chosen)
    return chosen


if __name__ == "__main__":
    main()

"""The taste panel (recsys.taste) for every artifact under a directory: one row per artifact.

    python bench/taste_panel.py [ROOT ...] [--min-support 10] [--picks] [--json PATH]

ROOT defaults to artifacts/. Columns: mean genre share of the archetypes' top-10 picks (then one
column per archetype), franchise checks passed (sequel in the top 5), diversity (mean pairwise
Jaccard of the archetypes' top-10 lists; lower is more diverse) and how many listed movies (picks
and neighbours) were rated by fewer than --min-support users. Targets for the default artifact
(issue 8): mean genre share >= 0.6, every franchise check passing, no movie under the threshold.
``--picks`` also prints each profile's picks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from recsys import load  # noqa: E402
from recsys.artifacts import list_artifacts  # noqa: E402
from recsys.errors import RecsysError  # noqa: E402
from recsys.taste import ARCHETYPES, FRANCHISES, taste_panel  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("roots", nargs="*", default=["artifacts"])
    ap.add_argument("--min-support", type=int, default=10)
    ap.add_argument("--picks", action="store_true", help="print every profile's picks")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)

    entries = [e for root in args.roots for e in list_artifacts(root)]
    if not entries:
        sys.exit(f"no artifacts under {', '.join(args.roots)}")
    short = [a.name.split()[0].split("/")[0][:6] for a in ARCHETYPES]
    header = ["artifact", "default", "genre", *short, "franchise", "jaccard", "low support"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    results = {}
    for entry in entries:
        path = entry["path"]
        try:
            if "error" in entry:
                raise RecsysError(entry["error"])
            r = taste_panel(load(path), min_support=args.min_support)
        except RecsysError as exc:
            print(f"{path} | skipped: {exc}")
            results[path] = {"error": str(exc)}
            continue
        results[path] = {"default": bool(entry.get("default")), **r}
        row = [
            path,
            "yes" if entry.get("default") else "",
            f"{r['mean_genre_share']:.2f}",
            *(f"{r['genre_share'][a.name]:.1f}" for a in ARCHETYPES),
            f"{r['franchise_passed']}/{len(FRANCHISES)}",
            f"{r['diversity']:.3f}",
            f"{r['low_support']}/{r['listed']}",
        ]
        print(" | ".join(row))
    print()
    for path, r in results.items():
        if "franchise" in r:
            failed = [name for name, v in r["franchise"].items() if not v["pass"]]
            print(f"{path}: franchise checks failed: {', '.join(failed) or 'none'}")
            if args.picks:
                for profile, titles in r["picks"].items():
                    print(f"  {profile}: {'; '.join(titles)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

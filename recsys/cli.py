"""Command line: ``python -m recsys {download,train,evaluate,info}``.

Every user error ends as one line ``error: ...`` on stderr and exit status 2 (no traceback);
progress and logs go to stderr, tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .datasets import LAYOUTS
from .errors import ConfigError, DataFormatError, RecsysError

__all__ = ["main"]

log = logging.getLogger("recsys.cli")

# What --skip-bad-lines acts on: every layout's ratings file.
_RATINGS_FILES = frozenset(layout.ratings.file for layout in LAYOUTS.values())
RANKING_COLUMNS = ("recall@10", "ndcg@10", "precision@10", "hr@10", "mrr@10", "coverage@10")


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _int_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in _csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _params_arg(text: str) -> dict:
    """``--params`` takes JSON: ``'{"ials": {"reg": 0.01}}'`` or a path to a JSON file."""
    try:
        raw = Path(text).read_text() if Path(text).is_file() else text
        value = json.loads(raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"--params must be JSON or a JSON file ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--params must be a JSON object")
    return value


def _write_json(path: str, payload: dict) -> None:
    """Write atomically, so an interrupted run never leaves half a results file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes files private; a results file is meant to be shared
    os.replace(tmp, target)


def format_table(results: list[dict], columns: Sequence[str], tuning: dict | None = None) -> str:
    """Plain-text table of ``results`` entries (model, metrics, epochs, train_seconds).

    With ``tuning`` (model -> tuning report) two more columns: the best validation score and
    the trials run (pruned ones in brackets).
    """
    header = ["model", *columns, "sparse_ndcg@10", "epochs", "train_s"]
    if tuning:
        header += ["valid", "trials"]
    rows = [header]
    for r in results:
        m = r["metrics"]
        sparse = (m.get("sparse_items") or {}).get("ndcg@10")
        row = (
            [r["model"]]
            + [f"{m[c]:.4f}" if isinstance(m.get(c), float) else "-" for c in columns]
            + [f"{sparse:.4f}" if isinstance(sparse, float) else "-"]
            + [str(r.get("epochs_chosen") or "-"), f"{r['train_seconds']:.1f}"]
        )
        t = (tuning or {}).get(r["model"])
        if tuning:
            pruned = sum(x["state"] == "pruned" for x in t["trials"]) if t else 0
            row += [f"{t['best_score']:.4f}", f"{len(t['trials'])} ({pruned})"] if t else ["-", "-"]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# -- commands ----------------------------------------------------------------------------------


def cmd_download(args: argparse.Namespace) -> int:
    from .download import download

    path = download(args.name, args.cache_dir, show_progress=not args.quiet)
    print(path)
    return 0


def _load_data(args: argparse.Namespace):
    from .loaders import load_dataset

    start = time.perf_counter()
    dataset = load_dataset(
        args.data,
        cache_dir=getattr(args, "cache_dir", None),
        skip_bad_lines=getattr(args, "skip_bad_lines", False),
    )
    log.info(
        "loaded %s (%s): %d users, %d items, %d ratings in %.1f s",
        dataset.name,
        dataset.format,
        dataset.n_users,
        dataset.n_items,
        len(dataset.ratings),
        time.perf_counter() - start,
    )
    return dataset


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_models
    from .models import MODEL_NAMES, model_class

    if args.models is None:
        wanted = "explicit" if args.protocol == "ratings" else "implicit"
        args.models = [m for m in MODEL_NAMES if model_class(m).kind == wanted]
    unknown = [m for m in args.models if m not in MODEL_NAMES]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES)}")
    params = _model_params(args.params, args.models)
    dataset = _load_data(args)
    shared_features = None
    if any(model_class(m).uses_item_features for m in args.models):
        from .features import item_features

        shared_features = item_features(dataset)  # once, for tuning and evaluation
    tuned = None
    if args.tune or args.tune_time:
        from .tune import tune_models

        tuned = tune_models(
            dataset,
            args.protocol,
            args.models,
            n_trials=args.tune or None,
            timeout=args.tune_time,
            threshold=args.threshold,
            seed=args.seed,
            device=args.device,
            fixed=params,
            item_features=shared_features,
        )
        params = {name: t["best_params"] for name, t in tuned.items()}
        for name, t in tuned.items():
            for key, edge in t["edge_params"].items():
                log.warning(
                    "%s: best %s=%.4g is at the %s edge of its range [%g, %g]; "
                    "the optimum may lie outside it",
                    name,
                    key,
                    edge["value"],
                    edge["side"],
                    edge["low"],
                    edge["high"],
                )
    result = evaluate_models(
        dataset,
        args.protocol,
        args.models,
        ks=args.k,
        threshold=args.threshold,
        test_frac=args.test_frac,
        seed=args.seed,
        user_frac=args.user_frac,
        fold_in_frac=args.fold_in_frac,
        last_n=args.last_n,
        params=params,
        device=args.device,
        show_progress=not args.quiet,
        item_features=shared_features,
    )
    if tuned is not None:
        result["tuning"] = tuned
    columns = ("rmse", "mae") if args.protocol == "ratings" else RANKING_COLUMNS
    print(f"{dataset.name} · protocol {args.protocol} · full-catalogue ranking")
    print(format_table(result["results"], columns, tuned))
    if args.json:
        _write_json(args.json, result)
        log.info("wrote %s", args.json)
    return 0


def _model_params(raw: dict | None, models: Sequence[str]) -> dict[str, dict]:
    """``--params`` as {model: params}, each checked against the model's Config (nested
    ``fold_in`` dicts and dotted names accepted) before any data is loaded."""
    from .models import MODEL_NAMES, make_model

    raw = dict(raw or {})
    stray = sorted(k for k in raw if k not in MODEL_NAMES)
    if stray:
        raise ConfigError(
            f"--params keys must be model names ({', '.join(MODEL_NAMES)}), got {stray}"
        )
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise ConfigError(f"--params: {name} must map to a JSON object, got {value!r}")
        if name in models:
            make_model(name, **value)  # raises ConfigError naming an unknown field
    return raw


def cmd_train(args: argparse.Namespace) -> int:
    from . import distributed
    from .models import MODEL_NAMES, exportable_models, model_class

    cls = model_class(args.model)
    if not cls.has_item_embeddings:  # refuse before any loading, evaluating or fitting
        raise ConfigError(
            f"{args.model} has no item embeddings to export; train one of "
            f"{', '.join(exportable_models())} (use `evaluate` to measure {args.model})"
        )
    if distributed.env_world_size() <= 1:
        return _train(args)
    # Launched by torchrun: every rank runs the same command; the torch models train
    # data-parallel and only rank 0 writes the artifact and the checkpoints.
    if not cls.data_parallel:
        parallel = [m for m in MODEL_NAMES if model_class(m).data_parallel]
        raise ConfigError(
            f"{args.model} does not train data-parallel; under torchrun use one of "
            f"{', '.join(parallel)}, or run it as a single process"
        )
    joined_here = not distributed.is_distributed()
    distributed.init_from_env(args.device)
    try:
        return _train(args)
    finally:
        if joined_here:
            distributed.shutdown()


def _train(args: argparse.Namespace) -> int:
    from . import distributed
    from .artifacts import check_output_dir, export_model
    from .evaluate import evaluate_models
    from .features import item_features
    from .loaders import resolve_dataset_dir
    from .models import make_model
    from .splits import check_learnable

    # Where the artifact goes is checked before any loading or training: train writes only into
    # a new directory or over an existing artifact, never over the data or anything else.
    data_dir = resolve_dataset_dir(args.data, cache_dir=args.cache_dir)[0]
    check_output_dir(args.out, data_dir=data_dir)
    params = dict(args.params or {})
    params = params.get(args.model, params)  # accept {"ials": {...}} or a flat {...}
    model = make_model(args.model, **params)  # validate the parameters before long work
    dataset = _load_data(args)
    check_learnable(dataset.interactions(), None if model.kind == "explicit" else args.threshold)
    # Built once for the evaluations and the final fit (a pure function of the dataset).
    features = item_features(dataset) if model.uses_item_features else None
    metrics = {}
    epochs_from = None
    for protocol in args.eval:
        log.info("evaluating %s on the %s protocol before the final fit", args.model, protocol)
        result = evaluate_models(
            dataset,
            protocol,
            [args.model],
            threshold=args.threshold,
            seed=args.seed,
            params={args.model: params},
            device=args.device,
            show_progress=not args.quiet,
            item_features=features,
        )
        entry = result["results"][0]
        metrics[protocol] = {
            "protocol": result["protocol"],
            "metrics": entry["metrics"],
            "train_seconds": entry["train_seconds"],
            "epochs_chosen": entry["epochs_chosen"],
        }
        field = model.epochs_field
        if epochs_from is None and entry["epochs_chosen"] and field not in params:
            # The final fit has no validation data: it trains for the epochs that early
            # stopping chose in the first evaluation (the fair protocol's refit count).
            epochs_from = protocol
            model = make_model(args.model, **{**params, field: entry["epochs_chosen"]})
    model.threshold = args.threshold
    data = dataset.interactions()
    train = data if model.kind == "explicit" else data.positives(args.threshold)
    start = time.perf_counter()
    model.fit(
        train,
        seed=args.seed,
        device=args.device,
        show_progress=not args.quiet,
        checkpoint_dir=args.checkpoint_dir,
        resume=args.resume,
        item_features=features,
    )
    seconds = time.perf_counter() - start
    if not distributed.is_main():
        return 0  # rank 0 holds the same model and writes the artifact
    extra = {"world_size": distributed.world_size()} if distributed.is_distributed() else {}
    out = export_model(
        model,
        dataset,
        args.out,
        metrics=metrics,
        training={
            "seconds": round(seconds, 2),
            "seed": args.seed,
            "device": args.device,
            "epochs_run": len(model.history),
            "epochs_chosen_by": epochs_from,
            "history": model.history,
            "threshold": args.threshold,
            "command": "python -m recsys " + " ".join(sys.argv[1:]),
            **extra,
        },
        projection_method=args.projection,
        seed=args.seed,
        default=args.default,
        dataset_dir=data_dir,
    )
    summary = ", ".join(
        f"{p} ndcg@10 {m['metrics'].get('ndcg@10', float('nan')):.4f}" for p, m in metrics.items()
    )
    print(
        f"trained {args.model} in {seconds:.1f} s -> {out}" + (f" ({summary})" if summary else "")
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .artifacts import MANIFEST, load

    path = Path(args.path)
    if os.path.lexists(path / MANIFEST):  # lexists never raises (an unreadable directory: False)
        art = load(path)  # verifies, and refuses manifests without model, dataset or fold_in
        m = art.manifest
        print(
            f"artifact {art.name}: model {art.model_name}, {len(art.items)} items, "
            f"fold-in {m['fold_in']['method']}, created {m.get('created')}"
        )
        print(f"dataset: {m['dataset']['name']} ({m['dataset'].get('n_ratings', '?')} ratings)")
        print("params: " + json.dumps(m["model"].get("params", {})))
        for protocol, entry in m.get("metrics", {}).items():
            values = entry.get("metrics", {}) if isinstance(entry, dict) else {}
            shown = {k: round(v, 4) for k, v in values.items() if isinstance(v, float)}
            print(f"{protocol}: {json.dumps(shown)}")
        print("verified: format version, fields, content and sha256 of every file")
        return 0
    dataset = _load_data(args if hasattr(args, "data") else argparse.Namespace(data=args.path))
    print(json.dumps(dataset.summary(), indent=2))
    return 0


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from .datasets import RELEASES
    from .models import MODEL_NAMES
    from .splits import PROTOCOLS

    parser = argparse.ArgumentParser(
        prog="python -m recsys",
        description="Train, evaluate and export MovieLens recommendation models.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="fetch a MovieLens release from GroupLens into a cache")
    p.add_argument("name", choices=list(RELEASES))
    p.add_argument(
        "--cache-dir", help="where to unpack (default: $RECSYS_DATA_DIR or ~/.cache/recsys)"
    )
    p.set_defaults(func=cmd_download)

    def add_data(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data",
            required=True,
            help="a MovieLens directory, or a release name already downloaded",
        )
        p.add_argument("--cache-dir", help="download cache to look names up in")
        p.add_argument(
            "--skip-bad-lines",
            action="store_true",
            help="skip and report malformed ratings lines instead of stopping at the first",
        )
        p.add_argument(
            "--threshold",
            type=float,
            default=4.0,
            help="ratings at or above this are positives (default 4)",
        )
        p.add_argument("--seed", type=int, default=42, help="seed for splits and training")
        p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, ...")
        p.add_argument(
            "--params",
            type=_params_arg,
            help='hyper-parameters as JSON, e.g. \'{"ials": {"reg": 0.01}}\', or a file',
        )

    p = sub.add_parser("evaluate", help="compare models under one protocol")
    add_data(p)
    p.add_argument("--protocol", choices=PROTOCOLS, default="random")
    p.add_argument(
        "--models",
        type=_csv_list,
        default=None,
        help=f"comma-separated, from {','.join(MODEL_NAMES)} (default: every model that fits "
        "the protocol: rating models for ratings, the others for ranking)",
    )
    p.add_argument("--k", type=_int_list, default=[10, 20], help="cut-offs, e.g. 10,20")
    p.add_argument("--test-frac", type=float, default=0.2, help="share of test data (default 0.2)")
    p.add_argument(
        "--user-frac",
        type=float,
        default=0.2,
        help="users protocol: share of users held out (default 0.2)",
    )
    p.add_argument(
        "--fold-in-frac",
        type=float,
        default=0.8,
        help="users protocol: share of a held-out user's ratings folded in (default 0.8)",
    )
    p.add_argument("--last-n", type=int, default=1, help="leave-last-n protocol: n (default 1)")
    p.add_argument(
        "--tune",
        type=int,
        default=0,
        metavar="TRIALS",
        help="tune each model with this many Optuna trials on a validation split first",
    )
    p.add_argument(
        "--tune-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="tune each model for at most this long (with --tune: whichever ends first)",
    )
    p.add_argument("--json", help="write the results here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "train",
        help="train on all data and export an artifact directory",
        epilog="Launched by torchrun (torchrun --nproc_per_node=N -m recsys train ...), bpr, mf "
        "and ncf train data-parallel (DDP: gloo on CPU, NCCL with one GPU per process); "
        "rank 0 alone writes the artifact and checkpoints.",
    )
    add_data(p)
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--out", required=True, help="artifact directory, e.g. artifacts/ials")
    p.add_argument(
        "--eval",
        type=_csv_list,
        default=["users", "random"],
        help="protocols to evaluate first and record in the manifest ('' for none)",
    )
    p.add_argument(
        "--projection",
        choices=["auto", "umap", "pca"],
        default="auto",
        help="2-D map: UMAP if installed (auto), or a PCA preview",
    )
    p.add_argument("--default", action="store_true", help="mark as the app's default model")
    p.add_argument("--checkpoint-dir", help="save a checkpoint after each epoch here")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("info", help="describe an artifact directory (verifying it) or a dataset")
    p.add_argument("path")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.environ.get("RANK", "0") != "0":  # torchrun's other ranks: no progress bars or info
        args.quiet = True
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if getattr(args, "resume", False) and not getattr(args, "checkpoint_dir", None):
        parser.error("--resume needs --checkpoint-dir")
    try:
        return args.func(args)
    except DataFormatError as exc:
        hint = ""
        # --skip-bad-lines acts on ratings files only; elsewhere the hint would mislead.
        ratings_file = exc.file is not None and Path(exc.file).name in _RATINGS_FILES
        if exc.line is not None and ratings_file and not getattr(args, "skip_bad_lines", True):
            hint = "\n(to skip and report malformed lines instead, pass --skip-bad-lines)"
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    except RecsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the system refused (disk full, permissions...): still one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

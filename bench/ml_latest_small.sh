#!/usr/bin/env bash
# Reproduces the README's result tables and the committed artifacts on MovieLens latest-small.
#
# Usage: bash bench/ml_latest_small.sh [DATA] [TUNE_TRIALS] [TUNE_SECONDS]
#   DATA: a MovieLens directory or a downloaded release name (default: ml-latest-small, fetched
#         with `python -m recsys download ml-latest-small` when missing).
#   Every model is tuned by Optuna on a validation split of the protocol's training part with the
#   same budget (TUNE_TRIALS trials or TUNE_SECONDS seconds, whichever ends first; defaults 30 and
#   150), then refit on the whole training part and scored on the test part. About an hour on 2
#   CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-ml-latest-small}
TRIALS=${2:-30}
SECONDS_PER_MODEL=${3:-150}
if [ "$DATA" = ml-latest-small ] && ! python -m recsys -q info ml-latest-small >/dev/null 2>&1; then
    python -m recsys download ml-latest-small
fi
mkdir -p results
run() { echo "+ $*" >&2; "$@"; }
RANKING=pop,itemknn,ease,ials,bpr,ncf,hybrid,content
TUNE=(--tune "$TRIALS" --tune-time "$SECONDS_PER_MODEL")

run python -m recsys -q evaluate --data "$DATA" --protocol users --seed 42 --models "$RANKING" \
    --k 10,20 "${TUNE[@]}" --json results/users.json
run python -m recsys -q evaluate --data "$DATA" --protocol random --threshold 4 --test-frac 0.2 \
    --seed 42 --models "$RANKING" --k 10,20 "${TUNE[@]}" --json results/random.json
run python -m recsys -q evaluate --data "$DATA" --protocol ratings --seed 42 --models bias,mf \
    "${TUNE[@]}" --json results/ratings.json

# The app's artifacts, each with the hyper-parameters tuned on the users protocol (the app's task:
# a new visitor), its users and random metrics recorded in its manifest (--eval). The default is
# chosen by the rule in README "Artifacts": see bench/choose_default.py.
for model in ials bpr hybrid; do
    python - "$model" > "results/params-$model.json" <<'EOF'
import json, sys
name = sys.argv[1]
tuning = json.load(open("results/users.json"))["tuning"][name]
print(json.dumps({name: tuning["best_params"]}))
EOF
    run python -m recsys -q train --data "$DATA" --model "$model" --out "artifacts/$model" \
        --params "results/params-$model.json"
done
run python bench/choose_default.py artifacts

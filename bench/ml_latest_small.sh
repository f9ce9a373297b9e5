#!/usr/bin/env bash
# Reproduces the README's result tables and the committed artifacts on MovieLens latest-small.
#
# Usage: bash bench/ml_latest_small.sh [DATA]
#   DATA: a MovieLens directory or a downloaded release name (default: ml-latest-small, fetched
#         with `python -m recsys download ml-latest-small` when missing).
#   Every model is tuned by Optuna on a validation split of the protocol's training part with the
#   same budget (users: 20 trials or 100 s per model; random and ratings: 30 trials or 120 s,
#   whichever ends first), then refit on the whole training part and scored on the test part.
#   About 45 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-ml-latest-small}
if [ "$DATA" = ml-latest-small ] && ! python -m recsys -q info ml-latest-small >/dev/null 2>&1; then
    python -m recsys download ml-latest-small
fi
mkdir -p results
run() { echo "+ $*" >&2; "$@"; }
RANKING=pop,itemknn,ease,ials,bpr,ncf,hybrid,content

run python -m recsys -q evaluate --data "$DATA" --protocol users --seed 42 --models "$RANKING" \
    --k 10,20 --tune 20 --tune-time 100 --json results/users.json
run python -m recsys -q evaluate --data "$DATA" --protocol random --threshold 4 --test-frac 0.2 \
    --seed 42 --models "$RANKING" --k 10,20 --tune 30 --tune-time 120 --json results/random.json
run python -m recsys -q evaluate --data "$DATA" --protocol ratings --seed 42 --models bias,mf \
    --tune 30 --tune-time 120 --json results/ratings.json

# The app's artifacts, trained with the shipped defaults (written to transfer to other releases;
# README "Defaults that transfer"), each with its users-protocol metrics, elicitation curves and
# map quality in its manifest. The default is chosen by the rule in README "Artifacts".
for model in ials bpr hybrid; do
    run python -m recsys -q train --data "$DATA" --model "$model" --out "artifacts/$model" --eval users
done
run python bench/choose_default.py artifacts

#!/usr/bin/env bash
# Reproduces the README's result tables and the committed artifacts from the shared copy of
# MovieLens latest-small (its ratings.csv has one damaged line, hence --skip-bad-lines).
# Usage: bash bench/ml_latest_small.sh [DATA_DIR]   (about 15 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/ml-latest-small}
mkdir -p results
run() { echo "+ $*" >&2; "$@"; }

run python -m recsys -q evaluate --data "$DATA" --skip-bad-lines --protocol random --threshold 4 \
    --test-frac 0.2 --seed 42 --models pop,itemknn,ease,ials,bpr,ncf,mf --k 10,20 \
    --json results/random.json
run python -m recsys -q evaluate --data "$DATA" --skip-bad-lines --protocol users --seed 42 \
    --models pop,itemknn,ease,ials,bpr,ncf,mf --k 10,20 --json results/users.json
run python -m recsys -q evaluate --data "$DATA" --skip-bad-lines --protocol ratings --seed 42 \
    --models mf --json results/ratings.json

# The app's artifacts: iALS (best fold-in quality of the embedding models: the default) and BPR.
run python -m recsys -q train --data "$DATA" --skip-bad-lines --model ials --out artifacts/ials \
    --default
run python -m recsys -q train --data "$DATA" --skip-bad-lines --model bpr --out artifacts/bpr

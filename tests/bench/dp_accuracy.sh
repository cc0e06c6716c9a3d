#!/usr/bin/env bash
# What DP-SGD per pupil costs in accuracy: held-out AUC against ε (δ = 1e-5), centralised training
# (`cartable train`), on OULAD at-risk (logistic on the shipped subset, data/oulad) and on the synthetic
# cohort of the DKT benchmark (731 pupils, 20 skills) with PFA and DKT. For each ε, `--target-epsilon`
# picks the least noise that meets it; the noise and the pupils drawn come from a secret seed, so each
# point is the median of REPEATS runs (min–max beside it). "∞" is plain training, no DP.
#   tests/bench/dp_accuracy.sh [BUILD_DIR]     (default build; needs targets cartable, cartable_dkt_bench)
# Environment: EPSILONS ("1 2 4 8"), REPEATS (3), RATE (0.05: each pupil's chance per step),
# EPOCHS (5), CLIP (1).
set -euo pipefail

build=${1:-build}
cartable="$build/bin/cartable"
bench="$build/bin/cartable_dkt_bench"
EPSILONS=${EPSILONS:-1 2 4 8} REPEATS=${REPEATS:-3} RATE=${RATE:-0.05} EPOCHS=${EPOCHS:-5}
CLIP=${CLIP:-1}
for binary in "$cartable" "$bench"; do
  if [ ! -x "$binary" ]; then
    echo "missing $binary: cmake --build $build --target $(basename "$binary")" >&2
    exit 1
  fi
done

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$bench" generate "$data/raw.csv" --seed 1 >/dev/null
{ echo "pupil_id,skill_id,correct"; tail -n +2 "$data/raw.csv"; } >"$data/answers.csv"

# The held-out AUC of one training: cartable train FLAGS...
auc() {
  "$cartable" train --json "$@" 2>/dev/null |
    python3 -c 'import json, sys; print("%.4f" % json.load(sys.stdin)["test"]["auc"])'
}

# "median (min–max)" of REPEATS trainings: cartable train FLAGS...
summary() {
  local values=()
  for _ in $(seq "$REPEATS"); do values+=("$(auc "$@")"); done
  printf '%s\n' "${values[@]}" | sort -n | awk '{v[NR]=$1} END {
    printf "%.3f (%.3f–%.3f)", v[int((NR+1)/2)], v[1], v[NR] }'
}

row() {
  local name=$1
  shift
  local line="| $name"
  for epsilon in $EPSILONS; do
    line+=" | $(summary "$@" --target-epsilon "$epsilon" --sampling-rate "$RATE" --clip-norm "$CLIP")"
  done
  line+=" | $(auc "$@")"
  echo "$line |"
}

header="| model, data"
rule="| ---"
for epsilon in $EPSILONS; do
  header+=" | ε = $epsilon"
  rule+=" | ---"
done
echo "$header | ∞ (no DP) |"
echo "$rule | --- |"
row "logistic, OULAD at-risk" --model logistic --data oulad:data/oulad --epochs "$EPOCHS"
row "pfa, synthetic cohort" --model pfa --data "csv:$data/answers.csv" --epochs "$EPOCHS"
row "dkt, synthetic cohort" --model dkt --option hidden_size=32 --learning-rate 0.01 \
  --data "csv:$data/answers.csv" --epochs "$EPOCHS"

#!/usr/bin/env bash
# What differential privacy costs a federation in accuracy: `cartable simulate` (real node processes,
# SecAgg+, CURVE) on its synthetic cohort with PFA, held-out AUC of the federated model against the
# noise and the ε it buys (δ = 1e-5), for the two units of privacy:
#   - per pupil: DP-SGD at every school (--noise-multiplier, sampling rate RATE, clip 1);
#   - per establishment: the distributed discrete Gaussian under secure aggregation
#     (--establishment-noise, with the norm bound 1, weight cap 1 and value range 1 it needs; the
#     "clip only" row has those without noise).
# Noise comes from secret seeds, so each point is the median of REPEATS runs (min–max beside it).
#   tests/bench/federated_dp.sh [BUILD_DIR]      (default build; needs target cartable)
# Environment: SCHOOLS (8), ROUNDS (10), REPEATS (3), RATE (0.05), PUPIL_NOISE ("0.6 1 2"),
# SCHOOL_NOISE ("0.5 1 2 4"), MODEL (pfa); DATA=FORMAT:PATH with PARTITION (iid) splits a real
# dataset into virtual schools instead of the synthetic cohort, e.g.
#   DATA=oulad:data/oulad PARTITION=by:region MODEL=logistic tests/bench/federated_dp.sh
set -euo pipefail

build=${1:-build}
cartable="$build/bin/cartable"
SCHOOLS=${SCHOOLS:-8} ROUNDS=${ROUNDS:-10} REPEATS=${REPEATS:-3} RATE=${RATE:-0.05}
PUPIL_NOISE=${PUPIL_NOISE:-0.6 1 2} SCHOOL_NOISE=${SCHOOL_NOISE:-0.5 1 2 4}
MODEL=${MODEL:-pfa} DATA=${DATA:-} PARTITION=${PARTITION:-iid}
if [ -n "$DATA" ]; then
  federation=(--data "$DATA" --partition "$PARTITION" --model "$MODEL")
  [ "${PARTITION%%:*}" = by ] || federation+=(--schools "$SCHOOLS")
  title="$DATA split $PARTITION, $ROUNDS rounds, $MODEL"
else
  federation=(--schools "$SCHOOLS" --model "$MODEL")
  title="$SCHOOLS schools, $ROUNDS rounds, $MODEL"
fi
if [ ! -x "$cartable" ]; then
  echo "missing $cartable: cmake --build $build --target cartable" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# "AUC ε" of one simulation: cartable simulate FLAGS...
run() {
  "$cartable" simulate "${federation[@]}" --rounds "$ROUNDS" --out "$out/run" --json \
    --log-level off "$@" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
c = r["config"]
eps = [d["epsilon"] for d in (c["pupil_dp"], c["establishment_dp"]) if isinstance(d, dict)]
print("%.4f %s %.4f" % (r["federated"]["auc"], ("%.3g" % eps[0]) if eps else "∞",
                        r["centralized"]["auc"]))'
}

# "| what | ε | AUC median (min–max) |" over REPEATS simulations: NAME FLAGS...
row() {
  local name=$1
  shift
  local aucs=() epsilon="" centralized=""
  for _ in $(seq "$REPEATS"); do
    read -r auc epsilon centralized < <(run "$@")
    aucs+=("$auc")
  done
  local summary
  summary=$(printf '%s\n' "${aucs[@]}" | sort -n | awk '{v[NR]=$1} END {
    printf "%.3f (%.3f–%.3f)", v[int((NR+1)/2)], v[1], v[NR] }')
  echo "| $name | $epsilon | $summary | $centralized |"
}

echo "| $title | ε (δ = 1e-5) | federated AUC | centralised AUC, no DP |"
echo "| --- | --- | --- | --- |"
row "no DP"
for z in $PUPIL_NOISE; do
  row "per pupil, DP-SGD z = $z" --noise-multiplier "$z" --sampling-rate "$RATE"
done
school=(--max-norm 1 --weight-cap 1 --value-range 1)
row "per establishment, clip only" "${school[@]}"
for z in $SCHOOL_NOISE; do
  row "per establishment, z = $z" "${school[@]}" --establishment-noise "$z"
done

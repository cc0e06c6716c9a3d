#!/usr/bin/env bash
# DKT training throughput, cartable vs Python torch 1.13, on the same generated data with the same batch
# size, hidden size, window length and thread count. Runs are interleaved (this machine is shared and
# noisy) and the medians compared.
#   tests/bench/dkt_throughput.sh [BUILD_DIR]          (default build; needs target cartable_dkt_bench)
# Environment: BATCH (32), HIDDEN (64), LENGTH (100), EPOCHS (5), THREADS (1), REPEATS (3), OUTPUT
# (full: Python computes all skills' logits as usual; gathered: only the current skill's, as cartable).
# python3-torch is deliberately not in scripts/setup: only this benchmark needs it.
set -euo pipefail

build=${1:-build}
bench="$build/bin/cartable_dkt_bench"
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's python3-torch lives there; the first python3 on PATH may not have it
BATCH=${BATCH:-32} HIDDEN=${HIDDEN:-64} LENGTH=${LENGTH:-100} EPOCHS=${EPOCHS:-5} THREADS=${THREADS:-1}
REPEATS=${REPEATS:-3} OUTPUT=${OUTPUT:-full}

if [ ! -x "$bench" ]; then
  echo "missing $bench: cmake --build $build --target cartable_dkt_bench" >&2
  exit 1
fi
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "Python torch missing: sudo apt-get install -y python3-torch (Debian's, for $python)" >&2
  exit 1
fi

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$bench" generate "$data/answers.csv" --seed 1 >/dev/null
flags=(--batch-size "$BATCH" --hidden-size "$HIDDEN" --max-length "$LENGTH" --epochs "$EPOCHS"
       --threads "$THREADS")
echo "data: $(($(wc -l <"$data/answers.csv") - 1)) answers; batch $BATCH, hidden $HIDDEN, length $LENGTH," \
     "$EPOCHS epochs, $THREADS thread(s), $REPEATS interleaved repeats"

# Rates from process CPU time (one thread: what the model costs, less disturbed by other load) and
# from wall time.
cpu_rate() { sed -E 's/.* ([0-9.]+) sequences\/s cpu.*/\1/'; }
wall_rate() { sed -E 's/.* ([0-9.]+) sequences\/s wall.*/\1/'; }
cartable_rates=() python_rates=() cartable_wall=() python_wall=()
for ((r = 1; r <= REPEATS; r++)); do
  c=$(OMP_NUM_THREADS=$THREADS "$bench" train "$data/answers.csv" "${flags[@]}")
  p=$(OMP_NUM_THREADS=$THREADS "$python" "$here/dkt_bench.py" "$data/answers.csv" "${flags[@]}" \
      --output "$OUTPUT")
  echo "  $c"
  echo "  $p"
  cartable_rates+=("$(cpu_rate <<<"$c")") cartable_wall+=("$(wall_rate <<<"$c")")
  python_rates+=("$(cpu_rate <<<"$p")") python_wall+=("$(wall_rate <<<"$p")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
c=$(median "${cartable_rates[@]}") cw=$(median "${cartable_wall[@]}")
p=$(median "${python_rates[@]}") pw=$(median "${python_wall[@]}")
echo "cartable: $c sequences/s cpu, $cw wall"
echo "python:   $p sequences/s cpu, $pw wall ($OUTPUT output)"
awk -v c="$c" -v p="$p" -v cw="$cw" -v pw="$pw" \
  'BEGIN {printf "ratio cartable/python: %.2f cpu, %.2f wall (target ≥ 1.2)\n", c / p, cw / pw}'

#!/usr/bin/env bash
# The GPU benchmark run, ready for a machine with a real GPU (see BENCHMARKS.md, "GPU run").
#
# Builds custseg, checks that `custseg devices` finds an adapter, then times on
# `--backend gpu`:
#   - the Lloyd pass at 10⁷ × 32 with k = 64 and k = 1024 (`custseg bench`),
#   - the Gaussian-mixture E-step (one EM pass, diagonal covariances) at 10⁷ × 16, k = 16,
#   - the exact silhouette at 50,000 rows × 8 features, k = 8 (`bench --pass silhouette`),
# and faiss's GPU K-Means for the Lloyd shapes where `import faiss` finds a GPU. Writes a
# markdown table (default benches/gpu-results.md) and the raw JSON beside it.
#
#   benches/gpu.sh [--small] [--out FILE]
#
# --small (or CUSTSEG_GPU_BENCH_SMALL=1) runs tiny shapes, so the script runs on lavapipe in
# CI (.ci/run) and cannot rot; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

small="${CUSTSEG_GPU_BENCH_SMALL:-0}"
out=benches/gpu-results.md
while [ $# -gt 0 ]; do
    case "$1" in
        --small) small=1 ;;
        --out) out="$2"; shift ;;
        *) echo "usage: benches/gpu.sh [--small] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done

if [ "$small" = 1 ]; then
    lloyd_n=20000 lloyd_d=8 lloyd_ks="8 32" gmm_n=20000 gmm_d=4 gmm_k=4 sil_n=2000 sil_d=4 sil_k=4 iters=2
else
    lloyd_n=10000000 lloyd_d=32 lloyd_ks="64 1024" gmm_n=10000000 gmm_d=16 gmm_k=16 sil_n=50000 sil_d=8 sil_k=8 iters=10
fi

cargo build --release --locked --bin custseg
bin=target/release/custseg
devices="$("$bin" devices)"
if ! grep -q '"index"' <<<"$devices"; then
    echo "benches/gpu.sh: custseg devices finds no GPU adapter: $devices" >&2
    exit 1
fi
# The adapter --backend gpu picks (index 0 unless --gpu-index is passed through CUSTSEG_GPU_INDEX).
gpu_args=(--backend gpu)
[ -n "${CUSTSEG_GPU_INDEX:-}" ] && gpu_args+=(--gpu-index "$CUSTSEG_GPU_INDEX")

# A value from one line of custseg's JSON on stdin: field NAME (the first of that name),
# a string (without its quotes) or a number.
field() {
    local json value
    json="$(cat)"
    value="$(grep -o "\"$1\":\"[^\"]*\"" <<<"$json" | head -1 | cut -d: -f2- | sed 's/^"//; s/"$//')"
    [ -n "$value" ] || value="$(grep -o "\"$1\":[^,}\"]*" <<<"$json" | head -1 | cut -d: -f2)"
    echo "$value"
}

raw="${out%.md}.jsonl"
mkdir -p "$(dirname "$out")"
: >"$raw"
rows=()
bench() { # label shape-text args...
    local label="$1" shape="$2"
    shift 2
    local json
    json="$("$bin" bench "${gpu_args[@]}" --iters "$iters" "$@")"
    echo "$json" >>"$raw"
    local seconds
    seconds="$(field seconds_per_iteration <<<"$json")"
    [ -n "$seconds" ] || seconds="$(field seconds <<<"$json")"
    rows+=("| $label | $shape | custseg ($(field device <<<"$json")) | $(printf '%.4g' "$seconds") |")
}

for k in $lloyd_ks; do
    bench "Lloyd pass" "$lloyd_n × $lloyd_d, k = $k" -n "$lloyd_n" -d "$lloyd_d" -k "$k"
done
bench "GMM E-step (EM pass, diag)" "$gmm_n × $gmm_d, k = $gmm_k" --algorithm gmm --covariance diag \
    -n "$gmm_n" -d "$gmm_d" -k "$gmm_k"
bench "silhouette (exact)" "$sil_n × $sil_d, k = $sil_k" --pass silhouette -n "$sil_n" -d "$sil_d" -k "$sil_k"

# faiss's GPU K-Means on the same shapes (uniform random rows; seconds per iteration).
faiss_python="${PYTHON:-python3}"
if "$faiss_python" -c 'import faiss, sys; sys.exit(0 if faiss.get_num_gpus() > 0 else 1)' 2>/dev/null; then
    for k in $lloyd_ks; do
        seconds="$("$faiss_python" - "$lloyd_n" "$lloyd_d" "$k" "$iters" <<'EOF'
import sys, time
import numpy as np, faiss
n, d, k, iters = map(int, sys.argv[1:])
x = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
km = faiss.Kmeans(d, k, niter=iters, gpu=True, seed=0, max_points_per_centroid=n)
start = time.perf_counter()
km.train(x)
print((time.perf_counter() - start) / iters)
EOF
)"
        rows+=("| Lloyd pass | $lloyd_n × $lloyd_d, k = $k | faiss-gpu $("$faiss_python" -c 'import faiss; print(faiss.__version__)') | $(printf '%.4g' "$seconds") |")
    done
else
    rows+=("| Lloyd pass | (same shapes) | faiss-gpu: not installed or no GPU here | — |")
fi

{
    echo "# custseg GPU run$([ "$small" = 1 ] && echo ' (--small: smoke sizes, not figures)')"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $iters timed passes after one warm-up (median)."
    echo
    echo "| pass | shape | engine | seconds per pass |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"

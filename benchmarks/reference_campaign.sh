#!/bin/bash
# The reference campaign of issue 22 (benchmarks/README.md, "Reference experiment"): the 60k
# experiment, its cores until they stop improving, instructions, the explanations of PoseEmbroider
# vs the Aligner when it is not above, mesh recovery and the demo's encoders. Many CPU hours on 2
# cores; every step resumes, so running this again continues a cut campaign.
#   benchmarks/reference_campaign.sh [ROOT]     (default experiments/synthetic60k)
set -e
cd "$(dirname "$0")/.."
export RAY_ADDRESS=local  # never join a cluster a test started
# the Makefile's locations (make venv and make blazepose-env fill them)
export POSE_SEARCH_CACHE=${POSE_SEARCH_CACHE:-$PWD/.cache/pose_search} ANNY_CACHE_DIR=${ANNY_CACHE_DIR:-$PWD/.cache/anny}
export WARP_CACHE_PATH=${WARP_CACHE_PATH:-$PWD/.cache/warp} NLTK_DATA=${NLTK_DATA:-$PWD/.cache/nltk_data}
export POSE_SEARCH_BLAZEPOSE_ENV=${POSE_SEARCH_BLAZEPOSE_ENV:-$PWD/.venv-blazepose}
export POSE_SEARCH_TORCH_THREADS=${POSE_SEARCH_TORCH_THREADS:-$(nproc)}
R=${1:-experiments/synthetic60k}
PY=.venv/bin/python
echo "== $(date) cores"
$PY benchmarks/retrieval_synthetic.py --root $R --size 66000 --image-encoder blazepose --core-epochs 100 --core-patience 5 \
  --posetext-lr 3e-3 --posetext-lr-decay cosine --text-max-tokens 128 \
  --out benchmarks/results/retrieval_synthetic.json
$PY benchmarks/core_curves.py --root $R --out docs/core_curves.png --runs poseembroider aligner poseembroider-mlp poseembroider-noheads
$PY benchmarks/retrieval_table.py benchmarks/results/retrieval_synthetic.json
echo "== $(date) instructions"
$PY benchmarks/instructions.py --root $R --size 30000 --pairtext-epochs 60 --pairtext-patience 3 --pairtext-max-tokens 128 \
  --epochs 12 --val-every 1 --patience 3
echo "== $(date) explanations"
if $PY -c "import json,sys; r=json.load(open('benchmarks/results/retrieval_synthetic.json'))['results']; sys.exit(0 if r['poseembroider']['mRecall'] <= r['aligner']['mRecall'] else 1)"; then
  $PY benchmarks/core_explanations.py --root $R
  $PY benchmarks/core_curves.py --root $R --out docs/core_explanations.png --runs poseembroider aligner poseembroider-cosine poseembroider-temp30 aligner-temp30 poseembroider-all-subsets poseembroider-paper poseembroider-heads2048
fi
echo "== $(date) hps"
$PY benchmarks/hps.py --root $R
echo "== $(date) the demo's encoders (PoseText's pose trunk)"
$PY benchmarks/retrieval_synthetic.py --root $R --size 66000 --image-encoder blazepose --pose-encoder posetext \
  --posetext-lr 3e-3 --posetext-lr-decay cosine --text-max-tokens 128 \
  --cores poseembroider aligner --core-epochs 100 --core-patience 5 --out benchmarks/results/retrieval_synthetic_posetext_pose.json
echo "== $(date) done"

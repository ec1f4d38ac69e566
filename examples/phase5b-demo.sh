#!/usr/bin/env bash
# A whole Phase 5B run, end to end: the training job fails with seed 001's PyMC v5 error, the
# director is told and delegates, the code translator fixes the code, and the job resumes from
# its checkpoint and completes once Warden has checked its exit criteria (outputs, results,
# convergence, timing). The training takes seconds, so the run is told to expect seconds: the
# protocol's own defaults (12h expected, progress every 30-120 s) would rightly reject it. Each role is played by a
# `warden wait` / `warden send` pair, as an agent session would; examples/README.md explains
# every step.
#
#   examples/phase5b-demo.sh            # in a new temporary folder
#   WARDEN_DEMO_DIR=demo examples/phase5b-demo.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo build --quiet --manifest-path "$repo/Cargo.toml" -p warden-cli
warden="$repo/target/debug/warden"

work="${WARDEN_DEMO_DIR:-$(mktemp -d -t warden-demo.XXXXXX)}"
mkdir -p "$work/output/implementation/code" "$work/output/implementation/data"
cd "$work"
# The input features from the data engineer, which the preflight checks look for.
printf 'features of model 1\n' > output/implementation/data/features_1.pkl

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

# The script the protocol's job.command runs: the example training job, which saves a
# checkpoint every epoch, writes its results, diagnostics and model at the end, and on a fresh
# start fails at epoch 3 the way seed 001 describes.
cat > output/implementation/code/model_1.py <<EOF
import runpy, sys
outputs = ["--checkpoint", "output/implementation/models/model_1_last.pt",
           "--model-out", "output/implementation/models/model_1_full.pkl",
           "--results", "output/results/results_1.csv",
           "--diagnostics", "output/results/diagnostics_1.csv"]
sys.argv[1:1] = ["--epochs", "6", "--epoch-seconds", "0.3", *outputs, "--fail", "logp"]
runpy.run_path("$repo/examples/jobs/train.py", run_name="__main__")
EOF

say "1. The model trainer starts training under Phase 5B, in the background (in $work)"
run=$("$warden" run "$repo/protocols/phase5b.yaml" --var model=1 \
  --var expected=2s --var expected_max=5s --var log_gap_min=0s --detach)
echo "run id: $run"

say "2. The director waits for news instead of polling the log"
"$warden" wait "$run" --role director --timeout 60s
"$warden" wait "$run" --role director --timeout 60s

say "3. The director delegates the implementation error to the code translator"
"$warden" send "$run" delegate --as director \
  --field instructions="PyMC v5 removed .logp(); use pm.logp(rv, value)."

say "4. The code translator gets the task, fixes the code, and reports the fix"
"$warden" wait "$run" --role code_translator --timeout 60s
sed -i 's/, *"--fail", "logp"//' output/implementation/code/model_1.py
"$warden" send "$run" fix_submitted --as code_translator \
  --field summary="Replaced latent_var.logp(x) with pm.logp(latent_var, x) (PyMC v5 API)" \
  --field design_change=false --field files="model_1.py"

say "5. Not a design change: the job resumes from its checkpoint"
"$warden" wait "$run" --role model_trainer --timeout 60s

say "6. The director is told of the resume, then of the completion"
while "$warden" wait "$run" --role director --timeout 120s; do :; done

say "7. The run, from any shell"
"$warden" status "$run"
echo
echo "The run's journal, messages and job log are in $work/.warden/runs/$run"

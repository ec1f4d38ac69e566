#!/usr/bin/env python3
"""Re-capture the torch group's cases.

Usage (as root, from anywhere):
    python3 capture.py              # every case
    python3 capture.py CASE [CASE]  # named ones

For each case it runs job.py in the case directory with the venv's python, stdout and stderr on
ONE pipe (not a tty), PYTHONUNBUFFERED=1, writes output.log with the venv path replaced by /venv
and the case directory by /job (plain byte replacement), and rewrites the `exit:` line of
case.yaml. Files the job creates in its directory (lightning_logs/, checkpoints, data files) are
removed afterwards so the case directory keeps only job.py, output.log and case.yaml.

Run modes (see MODES below):
  plain          python job.py
  faulthandler   python -X faulthandler job.py
  cgroup         sh -c 'echo $$ > CG/cgroup.procs; exec python job.py'   (cgroup v1 memory limit)
  cgroup_wrap    sh -c 'echo $$ > CG/cgroup.procs; python job.py; exit $?' (shell reports 137)
  small_shm      unshare -m sh -c 'mount -t tmpfs -o size=S tmpfs /dev/shm; exec python job.py'
  small_disk     unshare -m sh -c 'mount -t tmpfs -o size=S tmpfs /mnt/ckpt; exec python job.py'
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("TORCH_VENV", os.path.join(HERE, "..", "venv-torch"))
PY = os.path.join(VENV, "bin", "python")
CG_ROOT = "/sys/fs/cgroup/memory"

# case_id -> (mode, options)
CASES = {
    "torch_tqdm_flatten_shape_mismatch": ("plain", {}),
    "torch_dataloader_worker_keyerror": ("plain", {}),
    "torch_dataloader_worker_oom_killed": ("cgroup", {"limit": 1200 << 20}),
    "torch_dataloader_worker_segfault": ("plain", {}),
    "torch_dataloader_shm_exhausted": ("small_shm", {"size": "2m"}),
    "torch_loss_inf_nan_progress_lines": ("plain", {}),
    "torch_detect_anomaly_nan_backward": ("plain", {}),
    "torch_cross_entropy_target_out_of_bounds": ("plain", {}),
    "torch_float_targets_for_nll_loss": ("plain", {}),
    "torch_float64_numpy_input": ("plain", {}),
    "torch_cuda_on_cpu_machine": ("plain", {}),
    "torch_cgroup_oom_killed": ("cgroup", {"limit": 800 << 20}),
    "torch_cgroup_oom_wrapper_137": ("cgroup_wrap", {"limit": 800 << 20}),
    "torch_segfault_in_training_loop": ("plain", {}),
    "torch_segfault_faulthandler": ("faulthandler", {}),
    "torch_save_checkpoint_disk_full": ("small_disk", {"size": "2m", "mnt": "/mnt/ckpt"}),
    "torch_save_atomic_checkpoint_enospc": ("small_disk", {"size": "3m", "mnt": "/mnt/ckpt"}),
    "torch_tqdm_corrupt_shard": ("plain", {}),
    "torch_healthy_tqdm_regression": ("plain", {}),
    "torch_healthy_classifier_workers": ("plain", {}),
    "lightning_collate_unequal_lengths_mid_bar": ("plain", {}),
    "lightning_early_stopping_nan": ("plain", {}),
    "lightning_detect_anomaly": ("plain", {}),
    "lightning_gpu_accelerator_unavailable": ("plain", {}),
    "lightning_missing_configure_optimizers": ("plain", {}),
    "lightning_healthy_fit": ("plain", {}),
    "lightning_healthy_tqdm_checkpoint": ("plain", {}),
    "transformers_trainer_label_out_of_range": ("plain", {}),
    "transformers_trainer_nan_loss": ("plain", {}),
    "transformers_trainer_healthy": ("plain", {}),
    "keras_terminate_on_nan": ("plain", {}),
    "keras_val_feature_count_mismatch": ("plain", {}),
    "keras_sparse_label_out_of_range": ("plain", {}),
    "keras_healthy_fit": ("plain", {}),
}


def _cgroup(name, limit):
    cg = os.path.join(CG_ROOT, name)
    if os.path.isdir(cg):
        _rm_cgroup(cg)
    os.mkdir(cg)
    with open(os.path.join(cg, "memory.limit_in_bytes"), "w") as f:
        f.write(str(limit))
    try:
        with open(os.path.join(cg, "memory.memsw.limit_in_bytes"), "w") as f:
            f.write(str(limit))
    except OSError:
        pass
    return cg


def _rm_cgroup(cg):
    try:
        os.rmdir(cg)
    except OSError as e:
        print(f"  (could not remove {cg}: {e})")


def command(case, mode, opt):
    """Returns (argv, cleanup)."""
    cleanup = lambda: None
    if mode == "plain":
        return [PY, "job.py"], cleanup
    if mode == "faulthandler":
        return [PY, "-X", "faulthandler", "job.py"], cleanup
    if mode in ("cgroup", "cgroup_wrap"):
        cg = _cgroup("corpus_" + case, opt["limit"])
        procs = os.path.join(cg, "cgroup.procs")
        if mode == "cgroup":
            sh = f"echo $$ > {procs}; exec {PY} job.py"
        else:
            sh = f"echo $$ > {procs}; {PY} job.py; exit $?"
        return ["sh", "-c", sh], lambda: _rm_cgroup(cg)
    if mode == "small_shm":
        sh = f"mount -t tmpfs -o size={opt['size']} tmpfs /dev/shm && exec {PY} job.py"
        return ["unshare", "-m", "sh", "-c", sh], cleanup
    if mode == "small_disk":
        os.makedirs(opt["mnt"], exist_ok=True)
        sh = f"mount -t tmpfs -o size={opt['size']} tmpfs {opt['mnt']} && exec {PY} job.py"
        return ["unshare", "-m", "sh", "-c", sh], cleanup
    raise ValueError(mode)


def run(case):
    mode, opt = CASES[case]
    d = os.path.join(HERE, case)
    before = set(os.listdir(d))
    argv, cleanup = command(case, mode, opt)
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONFAULTHANDLER", None)
    try:
        p = subprocess.run(argv, cwd=d, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    finally:
        cleanup()
    out = p.stdout.replace(VENV.encode(), b"/venv").replace(d.encode(), b"/job")
    with open(os.path.join(d, "output.log"), "wb") as f:
        f.write(out)
    rc = p.returncode
    exit_s = f"{{ signal: {-rc} }}" if rc < 0 else f"{{ code: {rc} }}"
    y = os.path.join(d, "case.yaml")
    if os.path.exists(y):
        txt = open(y).read()
        txt = re.sub(r"(?m)^exit:.*$", "exit: " + exit_s, txt)
        open(y, "w").write(txt)
    for name in set(os.listdir(d)) - before - {"output.log", "case.yaml", "job.py"}:
        path = os.path.join(d, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    print(f"{case}: exit {exit_s}, {len(out)} bytes")
    return rc


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    for n in names:
        run(n)

#!/usr/bin/env python3
"""Re-capture the `bayes` group of the corpus.

Usage: python3 capture.py [case_id ...]     (no argument: every case directory)

Each case is run as `python job.py` inside its directory, with the venv's bin first on PATH,
PYTHONUNBUFFERED=1, stdout and stderr on one pipe (not a tty). The bytes are written to
output.log after replacing the venv's absolute path by /venv and the case directory's by /job;
the `exit:` line of case.yaml is rewritten from the return code.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

GROUP = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BAYES_VENV", GROUP.parent / "venv-bayes")).resolve()
TIMEOUT = 300

# Cases run inside a cgroup v1 memory cgroup with this limit (bytes; memsw set to the same, no swap).
CGROUP_LIMITS = {"jax_gp_kernel_oom_killed": 1 << 30}
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")


def cases(names):
    if names:
        return [GROUP / n for n in names]
    return sorted(p for p in GROUP.iterdir() if (p / "job.py").is_file())


def make_cgroup(name, limit):
    cg = CGROUP_ROOT / f"bayes_{name}"
    cg.mkdir(exist_ok=True)
    (cg / "memory.limit_in_bytes").write_text(str(limit))
    memsw = cg / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        memsw.write_text(str(limit))
    return cg


def run(case: Path):
    cg = None
    preexec = None
    if case.name in CGROUP_LIMITS:
        cg = make_cgroup(case.name, CGROUP_LIMITS[case.name])
        procs = cg / "cgroup.procs"

        def preexec():
            procs.write_text(str(os.getpid()))

    env = dict(os.environ)
    env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONHOME", None)
    proc = subprocess.run(
        ["python", "job.py"],
        cwd=case,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=TIMEOUT,
        preexec_fn=preexec,
    )
    if cg is not None:
        cg.rmdir()
    out = proc.stdout
    out = out.replace(str(VENV).encode(), b"/venv")
    out = out.replace(str(case.resolve()).encode(), b"/job")
    (case / "output.log").write_bytes(out)
    rc = proc.returncode
    exit_field = f"{{ signal: {-rc} }}" if rc < 0 else f"{{ code: {rc} }}"
    yaml_path = case / "case.yaml"
    if yaml_path.exists():
        text = yaml_path.read_text()
        text = re.sub(r"(?m)^exit:.*$", f"exit: {exit_field}", text)
        yaml_path.write_text(text)
    return rc, len(out)


def main():
    for case in cases(sys.argv[1:]):
        rc, n = run(case)
        print(f"{case.name}: exit {rc}, {n} bytes", flush=True)


if __name__ == "__main__":
    main()

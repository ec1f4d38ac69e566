#!/usr/bin/env python3
"""Re-capture the `unseen` corpus group.

Usage: python3 capture.py [case_id ...]      (no argument: every case directory here)

Each case's `command:` (from case.yaml) runs through `sh -c` in the case directory, with
/work/corpus/venv-unseen/bin first on PATH, PYTHONUNBUFFERED=1, stdin=/dev/null and
stdout+stderr merged into one pipe (not a tty). output.log gets the raw bytes with only the
venv path replaced by /venv and the case directory path by /job; the `exit:` line of
case.yaml is rewritten ({ code: N } or { signal: N }).
Cases whose command uses ../run_cgroup.sh need root and cgroup v1 memory at
/sys/fs/cgroup/memory; the wrapper creates and removes its own cgroup.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.abspath(os.path.join(HERE, "..", "venv-unseen"))
TIMEOUT = 120


def read_command(case_yaml):
    with open(case_yaml, encoding="utf-8") as f:
        for line in f:
            if line.startswith("command:"):
                value = line[len("command:"):].strip()
                if value[:1] in ("'", '"'):
                    return value[1:value.index(value[0], 1)]
                return value.split(" #")[0].strip()
    raise SystemExit(f"no command in {case_yaml}")


def run_case(case_dir):
    case_yaml = os.path.join(case_dir, "case.yaml")
    command = read_command(case_yaml)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "OMP_", "MKL_", "TERM", "COLUMNS"))}
    env["PATH"] = os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = VENV
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(["sh", "-c", command], cwd=case_dir, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=TIMEOUT)
    out = proc.stdout.replace(VENV.encode(), b"/venv")
    out = out.replace(os.path.abspath(case_dir).encode(), b"/job")
    with open(os.path.join(case_dir, "output.log"), "wb") as f:
        f.write(out)
    rc = proc.returncode
    exit_field = f"{{ signal: {-rc} }}" if rc < 0 else f"{{ code: {rc} }}"
    with open(case_yaml, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"(?m)^exit:.*$", f"exit: {exit_field}", text, count=1)
    with open(case_yaml, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{os.path.basename(case_dir):45s} exit={exit_field:16s} {len(out):7d} bytes")


def main():
    names = [n.rstrip("/") for n in sys.argv[1:]] or sorted(
        d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "case.yaml")))
    for name in names:
        run_case(os.path.join(HERE, name))


if __name__ == "__main__":
    main()

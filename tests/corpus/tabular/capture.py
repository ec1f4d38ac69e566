#!/usr/bin/env python3
"""Re-capture the tabular corpus cases.

Usage: python3 capture.py [case_id ...]      (no argument: every case directory)

For each case directory it runs the `command` of its case.yaml through `sh -c` inside the
case directory, with the venv's bin/ first on PATH (so `python` is the venv's python),
PYTHONUNBUFFERED=1, stdin from /dev/null and stdout+stderr on ONE pipe (not a tty).
It writes the bytes to output.log, replacing only the venv's absolute path by /venv and the
case directory's absolute path by /job, and rewrites the `exit:` line of case.yaml.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.abspath(os.path.join(HERE, "..", "venv-tabular"))
TIMEOUT = 300


def read_command(case_yaml):
    with open(case_yaml, encoding="utf-8") as f:
        for line in f:
            if line.startswith("command:"):
                value = line[len("command:"):].strip()
                # strip a trailing "# comment" only when it is outside quotes
                if value.startswith(("'", '"')):
                    q = value[0]
                    end = value.index(q, 1)
                    return value[1:end]
                return value.split(" #")[0].strip()
    raise SystemExit(f"no command in {case_yaml}")


def run_case(case_dir):
    case_yaml = os.path.join(case_dir, "case.yaml")
    command = read_command(case_yaml)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("PYTHON", "VIRTUAL_ENV", "OMP_", "MKL_")):
            del env[k]
    env["PATH"] = os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = VENV
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("TERM", None)
    proc = subprocess.run(
        ["sh", "-c", command],
        cwd=case_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=TIMEOUT,
    )
    out = proc.stdout
    out = out.replace(VENV.encode(), b"/venv")
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
    return rc


def main():
    names = sys.argv[1:] or sorted(
        d for d in os.listdir(HERE)
        if os.path.isfile(os.path.join(HERE, d, "case.yaml"))
    )
    for name in names:
        run_case(os.path.join(HERE, name))


if __name__ == "__main__":
    main()

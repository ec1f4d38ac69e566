"""The tools Warden's machine benchmarks compare with, measured on the same machine: Python's
`transitions` stepping through one guarded transition (as `step_with_one_guard` does), and
Jinja2 rendering Phase 5B's own error report template with the same incident (as
`phase5b_error_report_render` does).

    python3 -m venv /tmp/benchenv && /tmp/benchenv/bin/pip install 'transitions==0.9.*' 'jinja2==3.1.*'
    /tmp/benchenv/bin/python tests/benches/reference.py templates
"""
import re, sys, timeit
from transitions import Machine
import jinja2

class Job:
    exit_code = 0

class Run:
    def __init__(self):
        self.job = Job()
    def ok(self, *args, **kwargs):
        return self.job.exit_code == 0

run = Run()
machine = Machine(model=run, states=["watch", "done"], initial="watch")
machine.add_transition("exited", "watch", "watch", conditions="ok")
machine.add_transition("incident", "watch", "done")

def best_rate(fn, number, repeat=7):
    times = timeit.repeat(fn, number=number, repeat=repeat)
    times.sort()
    return number / times[len(times) // 2], number / times[0]

median, best = best_rate(run.exited, 20000)
print(f"transitions {__import__('transitions').__version__}: one guarded transition: median {median/1000:.0f}k/s, best {best/1000:.0f}k/s")

def fence(value, language=""):
    text = "\n".join(value) if isinstance(value, list) else str(value)
    longest = max(map(len, re.findall("`+", text)), default=0)
    ticks = "`" * max(longest + 1, 3)
    return f"{ticks}{language}\n{text.rstrip(chr(10))}\n{ticks}"

env = jinja2.Environment(undefined=jinja2.StrictUndefined, loader=jinja2.FileSystemLoader(sys.argv[1]))
env.filters["fence"] = fence
template = env.get_template("error_report.md.j2")
incident = {
    "category": "implementation", "owner": "code_translator", "severity": "critical",
    "action": "@code_translator: investigate and fix the code.", "exception": "AttributeError",
    "message": "'TensorVariable' object has no attribute 'logp'",
    "line": "AttributeError: 'TensorVariable' object has no attribute 'logp'", "line_number": 3,
    "file": "output/implementation/code/model_1.py", "code_line": 45,
    "before": ["Sampling 4 chains"] * 5, "after": [],
    "traceback": ["Traceback (most recent call last):",
                  '  File "output/implementation/code/model_1.py", line 45, in <module>',
                  "    log_prob = latent_var.logp(observed)",
                  "AttributeError: 'TensorVariable' object has no attribute 'logp'"],
    "metric": None, "count": 1, "first_seen": "2026-01-19T12:00:00Z", "last_seen": "2026-01-19T12:00:00Z",
}
context = {
    "model": 1, "last_incident": incident, "event": {"at": "2026-01-19T12:00:00Z"},
    "job": {"pid": 12345, "log": "output/implementation/logs/training_1_full.log", "exit_code": None,
            "signal": None, "uptime": "0s", "last_line": None},
    "fix": None, "state": "watch", "run": {"id": "bench"},
}
text = template.render(context)
assert text.startswith("## Phase 5B Error Report"), text[:80]
median, best = best_rate(lambda: template.render(context), 2000)
print(f"Jinja2 {jinja2.__version__}: Phase 5B error report: median {median/1000:.0f}k/s, best {best/1000:.0f}k/s")

"""Run `spacy train` on a generated config but forget to pass the corpus paths."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
cfg = os.path.join(HERE, "config.cfg")
subprocess.run([sys.executable, "-m", "spacy", "init", "config", cfg, "--lang", "en", "--pipeline", "ner",
                "--force"], check=True)
try:
    proc = subprocess.run([sys.executable, "-m", "spacy", "train", cfg, "--output", os.path.join(HERE, "out")])
finally:
    os.remove(cfg)
    shutil.rmtree(os.path.join(HERE, "out"), ignore_errors=True)
sys.exit(proc.returncode)

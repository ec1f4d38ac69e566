#!/usr/bin/env python3
"""A small stand-in for a long training job, for trying Warden out. Standard library only.

It trains for --epochs epochs of --epoch-seconds each, writes a JSON progress line per epoch
(timestamp, epoch, loss, elapsed_seconds, r_hat) as the shared training protocol asks, saves a
checkpoint after every epoch, and with --resume CHECKPOINT continues from the epoch saved there.
When training ends it writes what Phase 5B's exit criteria check: the results table
(--results), the convergence diagnostics as ArviZ's summary table (--diagnostics: one row per
parameter, with ess_bulk and r_hat), the final model (--model-out), and a last metric line with
draws, chains, ESS and divergences. --bad-results nan|constant writes results that fail the
sanity checks; --diagnostics-rhat R writes an R-hat of R for one parameter.
With --fail MODE it fails after --fail-after epochs the way Phase 5B training jobs do:

  logp       AttributeError: 'TensorVariable' object has no attribute 'logp' (PyMC v5 API change)
  config     AttributeError: 'Model3Config' object has no attribute 'n_sports'
  nan        the loss becomes NaN after finite epochs (training diverged: a convergence error)
  memory     MemoryError while allocating a buffer far larger than the machine
  rhat       R-hat climbs to 1.35: the chains do not converge (a critical convergence error)

A failure is raised only on a fresh start, not when resuming from a checkpoint: a restarted job
stands for a fixed one.
"""
import argparse
import csv
import json
import math
import os
import pickle
import random
import sys
import time
from dataclasses import dataclass


class TensorVariable:
    """Stands for a PyMC random variable, which lost .logp() in PyMC v5."""


@dataclass
class Model3Config:
    n_countries: int = 12


def fail(mode):
    if mode == "logp":
        latent_var = TensorVariable()
        latent_var.logp(0.5)
    elif mode == "config":
        config = Model3Config()
        print(f"sports: {config.n_sports}")
    elif mode == "memory":
        bytearray(1 << 62)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--epoch-seconds", type=float, default=0.2)
    parser.add_argument("--checkpoint", default="checkpoint.json")
    parser.add_argument("--resume", metavar="CHECKPOINT")
    parser.add_argument("--fail", choices=["logp", "config", "nan", "memory", "rhat"])
    parser.add_argument("--fail-after", type=int, default=2)
    parser.add_argument("--results", help="the results table to write (CSV)")
    parser.add_argument("--diagnostics", help="the convergence diagnostics to write (CSV)")
    parser.add_argument("--model-out", help="the final model to write")
    parser.add_argument("--bad-results", choices=["nan", "constant"])
    parser.add_argument("--diagnostics-rhat", type=float, default=1.003)
    args = parser.parse_args()
    sys.stdout.reconfigure(encoding="utf-8", line_buffering=True)

    start = 0
    if args.resume and os.path.exists(args.resume):
        with open(args.resume, encoding="utf-8") as f:
            start = json.load(f)["epoch"]
        print(f"resuming from {args.resume} at epoch {start}")
    else:
        print(f"training for {args.epochs} epochs")
    began = time.time()
    os.makedirs(os.path.dirname(args.checkpoint) or ".", exist_ok=True)
    for epoch in range(start + 1, args.epochs + 1):
        time.sleep(args.epoch_seconds)
        failing = args.fail and not args.resume and epoch > args.fail_after
        if failing and args.fail in ("logp", "config", "memory"):
            fail(args.fail)
        loss = 1.0 / epoch
        r_hat = 1.0 + 0.02 / epoch
        if failing and args.fail == "nan":
            loss = math.nan
        if failing and args.fail == "rhat":
            r_hat = 1.35
        print(json.dumps({"timestamp": time.time(), "epoch": epoch, "loss": loss,
                          "elapsed_seconds": round(time.time() - began, 3), "r_hat": r_hat}))
        with open(args.checkpoint + ".partial", "w", encoding="utf-8") as f:
            json.dump({"epoch": epoch}, f)
        os.replace(args.checkpoint + ".partial", args.checkpoint)
    write_outputs(args)
    print(json.dumps({"draws": 2000 * args.epochs, "chains": 4, "r_hat": 1.004, "ess": 1650,
                      "divergences": 0}))
    print("training complete")


def write(path, rows):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".partial", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    os.replace(path + ".partial", path)


def write_outputs(args):
    """The results, diagnostics and model a finished training leaves, as the shared training
    protocol names them."""
    rng = random.Random(5)
    if args.results:
        rows = [["country", "gold", "silver", "bronze", "total", "p_top10"]]
        for i in range(40):
            medals = [rng.randint(0, 40) for _ in range(3)]
            p = "nan" if args.bad_results == "nan" and i in (3, 8) else round(rng.random(), 4)
            if args.bad_results == "constant":
                medals = [7, 7, 7]
            rows.append([f"C{i:02d}", *medals, sum(medals), p])
        write(args.results, rows)
    if args.diagnostics:
        rows = [["", "mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean", "mcse_sd", "ess_bulk",
                 "ess_tail", "r_hat"]]
        for i in range(8):
            r_hat = args.diagnostics_rhat if i == 5 else 1.0 + rng.randint(0, 3) / 1000
            rows.append([f"beta[{i}]", round(rng.gauss(0, 1), 3), round(rng.random(), 3),
                         -1.2, 1.3, 0.01, 0.008, rng.randint(1500, 4200), rng.randint(1400, 3900),
                         r_hat])
        write(args.diagnostics, rows)
    if args.model_out:
        os.makedirs(os.path.dirname(args.model_out) or ".", exist_ok=True)
        with open(args.model_out, "wb") as f:
            pickle.dump({"epochs": args.epochs, "weights": [rng.random() for _ in range(16)]}, f)


if __name__ == "__main__":
    main()

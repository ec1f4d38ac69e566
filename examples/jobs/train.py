#!/usr/bin/env python3
"""A small stand-in for a long training job, for trying Warden out. Standard library only.

It trains for --epochs epochs of --epoch-seconds each, writes a JSON progress line per epoch
(timestamp, epoch, loss, elapsed_seconds, r_hat) as the shared training protocol asks, saves a
checkpoint after every epoch, and with --resume CHECKPOINT continues from the epoch saved there.
With --fail MODE it fails after --fail-after epochs the way Phase 5B training jobs do:

  logp       AttributeError: 'TensorVariable' object has no attribute 'logp' (PyMC v5 API change)
  config     AttributeError: 'Model3Config' object has no attribute 'n_sports'
  nan        the loss becomes NaN (a data error)
  memory     MemoryError while allocating a buffer far larger than the machine
  rhat       R-hat climbs to 1.35: the chains do not converge (a critical convergence error)

A failure is raised only on a fresh start, not when resuming from a checkpoint: a restarted job
stands for a fixed one.
"""
import argparse
import json
import math
import os
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
    print(json.dumps({"draws": 2000 * args.epochs, "chains": 4, "r_hat": 1.004, "ess": 1650,
                      "divergences": 0}))
    print("training complete")


if __name__ == "__main__":
    main()

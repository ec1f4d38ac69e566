"""Resume a scikit-optimize search from old evaluations after a new dimension was added to the space."""
import numpy as np
from skopt import Optimizer
from skopt.space import Categorical, Integer, Real

space = [Real(1e-4, 1e-1, prior="log-uniform", name="lr"), Integer(16, 256, name="batch"),
         Categorical(["adam", "sgd"], name="opt")]
# evaluations saved by last week's run, when the space had only lr and batch
x0 = [[0.01, 64], [0.001, 128], [0.05, 32]]
y0 = [0.31, 0.27, 0.40]
opt = Optimizer(space, base_estimator="GP", n_initial_points=4, random_state=0)
opt.tell(x0, y0)
for i in range(10):
    x = opt.ask()
    y = 0.2 + (np.log10(x[0]) + 2.5) ** 2 * 0.03 + (x[2] == "sgd") * 0.02
    opt.tell(x, y)
    print(f"iter {i}: {x} -> val_loss {y:.4f}")

"""DQN-style replay buffer preallocated on the JAX device for Atari frames."""
import jax
import jax.numpy as jnp

capacity = 100_000_000          # meant 1_000_000
obs_shape = (84, 84, 4)
print(f"jax backend: {jax.default_backend()}, devices: {jax.devices()}")
print(f"allocating replay buffer: capacity={capacity:,} obs_shape={obs_shape}")

buffer = {
    "obs": jnp.zeros((capacity, *obs_shape), dtype=jnp.uint8),
    "action": jnp.zeros((capacity,), dtype=jnp.int32),
    "reward": jnp.zeros((capacity,), dtype=jnp.float32),
}
print("buffer ready:", {k: v.shape for k, v in buffer.items()})

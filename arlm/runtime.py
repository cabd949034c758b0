"""Runtime: which backend, which devices, which distribution, which precision, which seed.

Decision (documented in the TPU appendix): on a Cloud/Colab TPU the book runs on the **JAX backend** with
``keras.distribution.DataParallel`` (Keras' recommended TPU path; the same model code as on CPU). Several GPUs:
``DataParallel`` on JAX, ``MirroredStrategy`` on TensorFlow. One GPU or CPU: no distribution.

`plan(backend, devices, mixed_precision)` is the pure decision, unit-tested without hardware; `setup(cfg)`
detects the devices, applies the plan and seeds everything.

>>> plan("jax", {"tpu": 8, "gpu": 0, "cpu": 1}, mixed_precision=True)
Plan(backend='jax', device='tpu', count=8, distribution='DataParallel', policy='mixed_bfloat16')
"""

import contextlib
import dataclasses
import glob
import os

from arlm.errors import ParameterError

BACKENDS = ("tensorflow", "jax")


@dataclasses.dataclass(frozen=True)
class Plan:
    backend: str
    device: str  # tpu | gpu | cpu
    count: int
    distribution: str  # DataParallel | TPUStrategy | MirroredStrategy | none
    policy: str  # Keras dtype policy


def plan(backend, devices, mixed_precision=False, gpu_supports_bf16=True):
    """Choose the distribution and dtype policy for `backend` on `devices` ({"tpu": n, "gpu": n, "cpu": n})."""
    if backend not in BACKENDS:
        raise ParameterError(f"unsupported Keras backend {backend!r}; supported: {', '.join(BACKENDS)}")
    if devices.get("tpu", 0):
        device, count = "tpu", devices["tpu"]
        distribution = "DataParallel" if backend == "jax" else "TPUStrategy"
    elif devices.get("gpu", 0):
        device, count = "gpu", devices["gpu"]
        distribution = "none" if count == 1 else ("DataParallel" if backend == "jax" else "MirroredStrategy")
    else:
        device, count, distribution = "cpu", max(1, devices.get("cpu", 1)), "none"
    if not mixed_precision:
        policy = "float32"
    elif device == "gpu" and not gpu_supports_bf16:
        policy = "mixed_float16"  # pre-Ampere GPUs: float16 with loss scaling (Keras adds it in compile)
    else:
        policy = "mixed_bfloat16"
    return Plan(backend, device, count, distribution, policy)


def tpu_present():
    """A TPU runtime is visible (Colab/Cloud TPU VM) without importing a framework."""
    environment = os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
    return bool(environment or glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def choose_backend():
    """Default the Keras backend to JAX on a TPU (unless KERAS_BACKEND is set); must run before keras is imported."""
    if "KERAS_BACKEND" not in os.environ and tpu_present():
        os.environ["KERAS_BACKEND"] = "jax"
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def detect_devices(backend):
    if backend == "jax":
        import jax

        kinds = [d.platform for d in jax.devices()]
        return {"tpu": kinds.count("tpu"), "gpu": kinds.count("gpu"), "cpu": os.cpu_count() or 1}
    import tensorflow as tf

    return {
        "tpu": len(tf.config.list_logical_devices("TPU")),
        "gpu": len(tf.config.list_physical_devices("GPU")),
        "cpu": os.cpu_count() or 1,
    }


def _gpu_supports_bf16(backend):
    if backend != "tensorflow":
        return True
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return True
    return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (8, 0)) >= (8, 0)


@dataclasses.dataclass
class Runtime:
    plan: Plan
    strategy: object = None  # a tf.distribute strategy, when the plan uses one

    def scope(self):
        """Build models inside `with runtime.scope():` so a TF strategy places their variables."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def describe(self):
        p = self.plan
        where = f"{p.count} x {p.device.upper()}" if p.device != "cpu" else f"CPU ({p.count} cores)"
        return f"backend {p.backend}, {where}, distribution {p.distribution}, dtype policy {p.policy}"


def _make_distribution(p):
    if p.distribution == "DataParallel":
        import keras

        keras.distribution.set_distribution(keras.distribution.DataParallel())
        return None
    if p.distribution in ("TPUStrategy", "MirroredStrategy"):
        import tensorflow as tf

        if p.distribution == "MirroredStrategy":
            return tf.distribute.MirroredStrategy()
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return None


def seed_everything(seed):
    """Seed Python, NumPy and the backend (and TF's, used by tf.data) for repeatable runs."""
    import keras

    keras.utils.set_random_seed(seed)


def setup(cfg, verbose=True):
    """Pick backend, distribution and precision for this machine, seed everything; returns a `Runtime`."""
    backend = choose_backend()
    import keras

    backend = keras.backend.backend()
    bf16 = _gpu_supports_bf16(backend) if cfg.mixed_precision else True
    p = plan(backend, detect_devices(backend), cfg.mixed_precision, bf16)
    keras.mixed_precision.set_dtype_policy(p.policy)
    seed_everything(cfg.seed)
    runtime = Runtime(p, _make_distribution(p))
    if verbose:
        print(f"arlm {cfg.name} scale: {runtime.describe()}, seed {cfg.seed}")
    return runtime

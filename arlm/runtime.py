"""Runtime: which backend, which devices, which distribution, which precision, which seed.

Decision (documented in the TPU appendix): on a Cloud/Colab TPU the book runs on the **JAX backend** with
``keras.distribution.DataParallel`` (Keras' recommended TPU path; the same model code as on CPU). Several GPUs:
``DataParallel`` on JAX, ``MirroredStrategy`` on TensorFlow. One GPU or CPU: no distribution.

`plan(backend, devices, mixed_precision)` is the pure decision, unit-tested without hardware; `setup(cfg)`
detects the devices, applies the plan, seeds everything and makes the result the current runtime: every stage
builds and trains its models inside `scope()` (a TF strategy's scope; a no-op on JAX, whose Keras distribution is
global), so a chapter never passes the runtime around.

Simulated hardware: ``ARLM_DEVICES=cpu:8`` makes the plan use 8 CPU devices as if they were accelerators
(``DataParallel`` on JAX, where `setup` sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before JAX
starts; ``MirroredStrategy`` over 8 logical CPU devices on TensorFlow). CI runs the chapters that way, so the
distributed code paths of a TPU run are executed on a laptop.

Precision (the scale key ``mixed_precision``): ``"auto"`` trains in ``mixed_bfloat16`` on a TPU or GPU, and on a
CPU only with TensorFlow and only when the CPU has bfloat16 units (`cpu_bfloat16_flags`: Intel AMX or AVX-512
BF16, e.g. Sapphire Rapids and later Xeons, AMD Zen 4 and later), where oneDNN's bfloat16 matmuls outrun float32;
elsewhere a CPU emulates bfloat16, slower than float32, so it stays float32. ``True`` / ``False`` force either.
Under ``mixed_bfloat16`` the variables, the optimizer's moments and LAMB's norms stay float32, and so do the
attention's logits and softmax and every loss. `Runtime.precision` records the choice and the CPU flags behind
it; every ``results.json`` carries it (`arlm.artifacts.environment`). Exports compute in float32
(`float32_model`).

>>> plan("jax", {"tpu": 8, "gpu": 0, "cpu": 1}, mixed_precision=True)
Plan(backend='jax', device='tpu', count=8, distribution='DataParallel', policy='mixed_bfloat16')
>>> plan("tensorflow", {"cpu": 2}, mixed_precision="auto", cpu_bf16_flags=("avx512_bf16",)).policy
'mixed_bfloat16'
>>> plan("tensorflow", {"cpu": 2}, mixed_precision="auto", cpu_bf16_flags=()).policy
'float32'
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


# the values of the scale key `mixed_precision`
PRECISION_CHOICES = ("auto", True, False)
# /proc/cpuinfo flags of CPUs with bfloat16 matmul units: Intel AMX (tiles, bf16) and AVX-512 BF16 (Intel
# Cooper Lake and later, AMD Zen 4 and later)
CPU_BF16_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16")

DEVICES_VARIABLE = "ARLM_DEVICES"
DEVICE_KINDS = ("cpu", "gpu", "tpu")


def forced_devices(spec=None):
    """``ARLM_DEVICES`` (e.g. ``cpu:8``) as ``("cpu", 8)``, or None when it is unset."""
    spec = os.environ.get(DEVICES_VARIABLE, "") if spec is None else spec
    if not spec.strip():
        return None
    kind, _, count = spec.strip().partition(":")
    if kind not in DEVICE_KINDS or not count.isdigit() or int(count) < 1:
        raise ParameterError(f"{DEVICES_VARIABLE}={spec!r}: expected KIND:COUNT with KIND one of "
                             f"{', '.join(DEVICE_KINDS)} and COUNT a positive integer, e.g. cpu:8")
    return kind, int(count)


def _distribution(backend, device, count):
    if count == 1:
        return "none"
    if backend == "jax":
        return "DataParallel"
    return "TPUStrategy" if device == "tpu" else "MirroredStrategy"


def cpu_bfloat16_flags(cpuinfo=None):
    """The flags of `CPU_BF16_FLAGS` this CPU has: bfloat16 units when not empty.

    Args:
        cpuinfo (str | None): the text of ``/proc/cpuinfo`` (default: read it; a machine without one, e.g.
            macOS, lists none).

    >>> cpu_bfloat16_flags("flags : fpu avx2 avx512f avx512_bf16 avx512_vnni")
    ('avx512_bf16',)
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return ()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):  # x86, ARM
            present = set(value.split())
            return tuple(flag for flag in CPU_BF16_FLAGS if flag in present)
    return ()


def check_precision(value):
    """`value` if it is one of `PRECISION_CHOICES`, else a `ParameterError` naming the scale key."""
    if not (isinstance(value, bool) or (isinstance(value, str) and value in PRECISION_CHOICES)):
        names = ", ".join(str(choice).lower() for choice in PRECISION_CHOICES)
        raise ParameterError(f"parameter 'mixed_precision' must be one of {names}, got {value!r}")
    return value


def plan(backend, devices, mixed_precision=False, gpu_supports_bf16=True, forced=None, cpu_bf16_flags=()):
    """Choose the distribution and dtype policy for `backend` on `devices` ({"tpu": n, "gpu": n, "cpu": n}).

    ``forced`` (``(kind, count)``, from `forced_devices`) uses exactly ``count`` devices of ``kind``, CPUs
    included, as a data-parallel mesh. ``mixed_precision`` is ``"auto"``, True or False (the scale key):
    ``"auto"`` is mixed precision on a TPU or GPU, and on a CPU with TensorFlow when ``cpu_bf16_flags``
    (`cpu_bfloat16_flags`) is not empty.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"unsupported Keras backend {backend!r}; supported: {', '.join(BACKENDS)}")
    check_precision(mixed_precision)
    if forced is not None:
        device, count = forced
        if devices.get(device, 0) < count:
            raise ParameterError(f"{DEVICES_VARIABLE}={device}:{count}, but this machine has "
                                 f"{devices.get(device, 0)} {device.upper()} device(s)")
        distribution = _distribution(backend, device, count)
    elif devices.get("tpu", 0):
        device, count = "tpu", devices["tpu"]
        distribution = "DataParallel" if backend == "jax" else "TPUStrategy"
    elif devices.get("gpu", 0):
        device, count = "gpu", devices["gpu"]
        distribution = "none" if count == 1 else ("DataParallel" if backend == "jax" else "MirroredStrategy")
    else:
        device, count, distribution = "cpu", max(1, devices.get("cpu", 1)), "none"
    if mixed_precision == "auto":
        # a CPU gains only where TensorFlow's oneDNN kernels use its bfloat16 units: XLA's CPU compiler (all of
        # JAX, and TF's jit_compile) runs bfloat16 matmuls no faster than float32 (benchmarks/train_step.py)
        mixed_precision = device != "cpu" or (backend == "tensorflow" and bool(cpu_bf16_flags))
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


def _simulate_cpu_devices(backend, count):
    """Make ``count`` CPU devices exist: JAX's host platform device count, or TF logical CPU devices."""
    if backend == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_force_host_platform_device_count" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()  # read when JAX starts its CPU backend
        return
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow already started: keep its devices if they suffice (checked by `plan`)
        pass


def detect_devices(backend, simulated_cpus=0):
    """Device counts ``{"tpu", "gpu", "cpu"}``; with ``simulated_cpus`` the CPU count is the simulated devices'."""
    if backend == "jax":
        import jax

        kinds = [d.platform for d in jax.devices()]
        cpus = len(jax.devices("cpu")) if simulated_cpus else os.cpu_count() or 1
        return {"tpu": kinds.count("tpu"), "gpu": kinds.count("gpu"), "cpu": cpus}
    import tensorflow as tf

    cpus = len(tf.config.list_logical_devices("CPU")) if simulated_cpus else os.cpu_count() or 1
    return {
        "tpu": len(tf.config.list_logical_devices("TPU")),
        "gpu": len(tf.config.list_physical_devices("GPU")),
        "cpu": cpus,
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
    # what the dtype policy was chosen from: the scale's `mixed_precision` and the CPU's bfloat16 flags
    precision: dict = dataclasses.field(default_factory=dict)

    def scope(self):
        """Build models inside `with runtime.scope():` so a TF strategy places their variables."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def jit_compile(self, requested):
        """``jit_compile`` for ``model.compile``: as ``requested``, except under a TF ``MirroredStrategy``, where
        XLA is off (Keras' own ``"auto"`` turns it off with ``tf.distribute`` too; on logical CPU devices an XLA
        cluster cannot reach the other replicas' variables), and in bfloat16 on a TF CPU, where XLA's CPU
        compiler runs the matmuls without the bfloat16 units, far below oneDNN's rate."""
        return bool(requested) and self.plan.distribution != "MirroredStrategy" and not self._bfloat16_on_tf_cpu

    @property
    def _bfloat16_on_tf_cpu(self):
        return self.plan.device == "cpu" and self.plan.backend == "tensorflow" and self.plan.policy == "mixed_bfloat16"

    @property
    def replicas(self):
        """Devices a global batch is split over (its size must be a multiple of this)."""
        return self.plan.count if self.plan.distribution != "none" else 1

    def describe(self):
        p = self.plan
        where = f"{p.count} x {p.device.upper()}" if p.distribution != "none" else f"CPU ({os.cpu_count()} cores)"
        return f"backend {p.backend}, {where}, distribution {p.distribution}, dtype policy {p.policy}{self._why()}"

    def _why(self):
        """Why a CPU got its dtype policy under ``mixed_precision="auto"``, and that XLA is off in bfloat16 there
        (`jit_compile`)."""
        xla = "; XLA off: its CPU compiler does not use bfloat16 units" if self._bfloat16_on_tf_cpu else ""
        if self.precision.get("mixed_precision") != "auto" or self.plan.device != "cpu":
            return f" ({xla[2:]})" if xla else ""
        flags = self.precision.get("cpu_bfloat16_flags")
        if not flags:
            return " (auto: the CPU has no bfloat16 units)"
        if self.plan.backend != "tensorflow":
            return " (auto: XLA's CPU compiler does not use the CPU's bfloat16 units)"
        return f" (auto: the CPU has {', '.join(flags)}{xla})"


def _make_distribution(p):
    if p.distribution == "DataParallel":
        import keras

        devices = keras.distribution.list_devices(p.device)[: p.count]
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return None
    if p.distribution in ("TPUStrategy", "MirroredStrategy"):
        import tensorflow as tf

        if p.distribution == "MirroredStrategy":
            # explicit devices: MirroredStrategy() alone takes CPU:0 only when there is no GPU
            devices = [d.name for d in tf.config.list_logical_devices(p.device.upper())][: p.count]
            return tf.distribute.MirroredStrategy(devices=devices)
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return None


def seed_everything(seed):
    """Seed Python, NumPy and the backend (and TF's, used by tf.data) for repeatable runs."""
    import keras

    keras.utils.set_random_seed(seed)


def scale_loss(loss):
    """A custom ``compute_loss``'s value as Keras expects it under a TF strategy: divided by the replicas.

    Each replica's loss is the mean over its share of the batch and TF sums the replicas' gradients, so Keras
    divides its own losses by the number of replicas (and multiplies the logged loss back); a model that
    overrides ``compute_loss`` must do the same. On JAX the batch is one global array: nothing to do.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            return loss * keras.ops.cast(1.0 / replicas, loss.dtype)
    return loss


def replica_sum(tensors):
    """``tensors`` summed over the replicas of a TF strategy, inside its replica context (else unchanged)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            return context.all_reduce("sum", list(tensors))
    return list(tensors)


@contextlib.contextmanager
def dtype_policy(name):
    """Build models under the Keras dtype policy `name`; the global policy is restored after."""
    import keras

    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _policy_config(config, policy):
    """`config` (a model's, nested) with every dtype policy (not the quantized ones) replaced by `policy`."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and config.get("module") == "keras":
            return policy
        return {key: _policy_config(value, policy) for key, value in config.items()}
    if isinstance(config, list):
        return [_policy_config(value, policy) for value in config]
    return config


def with_policy(model, policy=None):
    """`model` computing in dtype policy `policy` (default: the global one, which `setup` sets): itself when it
    does, else a copy with its weights.

    A model's configuration keeps the policy it was built in (as keras-hub's do), so a model trained in
    ``mixed_bfloat16`` loads in it; fine-tuning (`arlm.tasks.finetune.load_backbone`) computes in this machine's
    precision instead. The variables are float32 in every policy, so the copy holds exactly the same weights.
    """
    import keras

    policy = policy or keras.mixed_precision.dtype_policy().name
    if model.dtype_policy.name == policy:
        return model
    with dtype_policy(policy), scope():
        copy = type(model).from_config(_policy_config(model.get_config(), policy))
    copy.set_weights(model.get_weights())
    return copy


def float32_model(model):
    """`model` computing in float32 (`with_policy`): exports (TFLite, ONNX) and the Keras outputs they are compared
    with are float32 graphs, whatever precision the model was trained in."""
    return with_policy(model, "float32")


_CURRENT = None


def current():
    """The runtime `setup` chose (a single device, no distribution, before any `setup`)."""
    return _CURRENT or Runtime(Plan("tensorflow", "cpu", 1, "none", "float32"))


def scope():
    """The current runtime's scope: build, load and compile every model inside it."""
    return current().scope()


def setup(cfg, verbose=True):
    """Pick backend, distribution and precision for this machine, seed everything; returns the `Runtime`,
    which also becomes `current()`. Calling it again in the same process keeps an existing distribution."""
    global _CURRENT
    forced = forced_devices()
    backend = choose_backend()
    if forced and forced[0] == "cpu":
        _simulate_cpu_devices(backend, forced[1])
    import keras

    backend = keras.backend.backend()
    bf16 = _gpu_supports_bf16(backend) if cfg.mixed_precision else True
    flags = cpu_bfloat16_flags()
    p = plan(backend, detect_devices(backend, simulated_cpus=forced and forced[0] == "cpu"), cfg.mixed_precision,
             bf16, forced=forced, cpu_bf16_flags=flags)
    keras.mixed_precision.set_dtype_policy(p.policy)
    seed_everything(cfg.seed)
    if _CURRENT is not None and _CURRENT.plan == p:
        runtime = _CURRENT  # a second chapter in one kernel, or a test: one strategy per process
    else:
        runtime = Runtime(p, _make_distribution(p))
    runtime.precision = {"mixed_precision": cfg.mixed_precision, "policy": p.policy,
                         "cpu_bfloat16_flags": list(flags)}
    _CURRENT = runtime
    if verbose:
        print(f"arlm {cfg.name} scale: {runtime.describe()}, seed {cfg.seed}")
    return runtime

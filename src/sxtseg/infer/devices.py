"""Device choice, CPU threads, mixed precision and memory budgets for inference."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sxtseg.errors import InputError

__all__ = [
    "DeviceInfo",
    "autocast_dtype",
    "available_ram_bytes",
    "cpu_count",
    "default_threads",
    "memory_budget_bytes",
    "physical_cores",
    "resolve_device",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    """The device a run uses, in words and as a torch device."""

    device: torch.device
    name: str
    threads: int = 0


def cpu_count() -> int:
    """CPU threads to use: ``OMP_NUM_THREADS`` when set, else the cores this process may run on.

    The affinity mask (not the machine's total) respects ``taskset`` and batch
    schedulers; ``OMP_NUM_THREADS`` lets a shared machine ask for fewer
    (OpenMP threads that wait on busy cores slow the whole run down a lot).
    """
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def physical_cores() -> int:
    """Physical cores among the CPUs this process may run on (SMT siblings counted once).

    Read from ``/sys/devices/system/cpu/cpuN/topology``; the number of usable
    logical CPUs where the topology cannot be read.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))


def default_threads() -> int:
    """CPU threads for the network: ``OMP_NUM_THREADS`` when set, else :func:`physical_cores`.

    Convolutions gain little from a core's second hardware thread, and the
    reader and writer threads of a streamed run need some room.
    """
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return physical_cores()


def resolve_device(name: str = "auto", *, num_threads: int | None = None) -> DeviceInfo:
    """Turn "auto", "cpu", "cuda" or "cuda:N" into a device; set CPU threads.

    On the CPU, torch's intra-op threads become ``num_threads`` or
    :func:`default_threads` (a process-wide setting, made here, when a run
    starts, never at import). The inter-op pool is left alone: the label
    path runs its operators one after another.

    Raises
    ------
    InputError
        CUDA asked for on a machine without it.
    """
    name = str(name).lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device is available (use --device cpu)")
        dev = torch.device(name)
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
        dev = torch.device("cuda", index)
        return DeviceInfo(dev, f"cuda:{index} ({torch.cuda.get_device_name(index)})")
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise InputError("--device mps: not available")
        return DeviceInfo(torch.device("mps"), "mps")
    if name != "cpu":
        raise InputError(f"unknown device {name!r}")
    threads = int(num_threads) if num_threads else default_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return DeviceInfo(torch.device("cpu"), f"cpu ({threads} thread{'s' if threads != 1 else ''})",
                      threads)  # fmt: skip


def autocast_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """Autocast dtype for ``amp`` ("auto", "bf16", "fp16", "off") on ``device``; None = fp32."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def available_ram_bytes() -> int:
    """RAM the kernel reports as available (MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    try:  # pragma: no cover
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4 << 30


def memory_budget_bytes(device: torch.device, *, fraction: float, cpu_cap_mb: float) -> int:
    """Bytes of activations one forward pass may use.

    CUDA: ``fraction`` of the free memory. CPU: ``fraction`` of the available
    RAM, at most ``cpu_cap_mb`` MiB.
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * fraction)
    return int(min(available_ram_bytes() * fraction, cpu_cap_mb * (1 << 20)))

"""What a worker runs on: the GPU it was given (name and memory, from nvidia-smi) or the CPU."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Device:
    name: str  # "CPU" or "GPU 1: NVIDIA H200"
    memory_total: int | None
    memory_free: int | None

    @property
    def is_gpu(self) -> bool:
        return self.name.startswith("GPU")


def gpu_offload_supported() -> bool:
    """Whether this llama-cpp-python was built with a GPU backend (CUDA, Metal, ...)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        return False


def describe(*, gpu: int | None, gpu_layers: int) -> Device:
    """The GPU when the model offloads layers, a GPU build is present and the GPU answers;
    otherwise the CPU with this machine's RAM."""
    if gpu_layers != 0 and gpu_offload_supported():
        index = gpu if gpu is not None else 0
        if found := nvidia_gpu(index):
            return found
    return cpu()


def nvidia_gpu(index: int) -> Device | None:
    """GPU `index` (nvidia-smi's numbering, as --gpu takes it), or None where none answers."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return None
    try:
        out = subprocess.run(
            [
                binary,
                f"--id={index}",
                "--query-gpu=name,memory.total,memory.free",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        name, total, free = (part.strip() for part in out.strip().splitlines()[0].split(","))
        mib = 1024 * 1024
        return Device(f"GPU {index}: {name}", int(total) * mib, int(free) * mib)
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return None


def cpu(meminfo: Path = Path("/proc/meminfo")) -> Device:
    """The CPU, with this machine's total and available RAM (None where unreadable)."""
    values = {}
    try:
        for line in meminfo.read_text().splitlines():
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return Device("CPU", values.get("MemTotal"), values.get("MemAvailable"))


def refresh(device: Device, index: int | None) -> Device:
    """The same device with its free memory read again."""
    if device.is_gpu:
        return nvidia_gpu(index or 0) or device
    return cpu()

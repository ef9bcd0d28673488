"""llama.cpp's own server on the same model, as a second reference."""

import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exit(code: int) -> str:
    """An exit status in words; a crash on an instruction says what usually causes it."""
    if code >= 0:
        return str(code)
    name = signal.Signals(-code).name if -code in signal.Signals else f"signal {-code}"
    if -code == signal.SIGILL:
        return (
            f"{name}: it was built for a CPU with instructions this one lacks (AVX-512, "
            "say); build it with this machine's flags (README, Speed)"
        )
    return name


@contextmanager
def llama_server(
    binary: str, model_path: str, *, parallel: int, n_ctx: int, threads: int, gpu_layers: int = 0
):
    """Run `llama-server -np parallel` on loopback until the block ends; yield its URL.

    `gpu_layers` as the model's setting (-1: all), so that on a GPU it runs where the
    worker does.
    """
    port = _free_port()
    layers = "all" if gpu_layers < 0 else str(gpu_layers)
    command = [
        binary,
        "-m",
        model_path,
        "-np",
        str(parallel),
        "-c",
        str(n_ctx * parallel),
        "-t",
        str(threads),
        "-ngl",
        layers,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"llama-server exited with {_exit(process.returncode)}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise TimeoutError("llama-server did not become ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)

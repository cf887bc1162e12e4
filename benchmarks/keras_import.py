"""Peak memory of ``rnnlab import-keras`` on hostile archives beside the same command on the
honest one it was made from, side by side in one command.

    python -m benchmarks.keras_import                     # the tutorial's LSTM archive
    python -m benchmarks.keras_import --zeros-mib 4096    # a larger bomb

Each case is the tutorial's ``.keras`` file (the test fixture) with one thing changed, run as
a user runs it: ``python -m rnnlab import-keras FILE --out DIR`` in a fresh process, its peak
resident memory read from ``os.wait4`` (the kernel's high-water mark, children included).

- ``honest``: the archive as Keras wrote it (the baseline);
- ``bomb-declares-1000``: its weights member replaced by ``--zeros-mib`` MiB of zeros
  (deflated to about a thousandth) that the zip's directory declares as 1,000 bytes;
- ``bomb-declares-1.5GiB``: the same stream declared as 1.5 GiB, under the reader's 2 GiB cap;
- ``sparse-2GiB``: an HDF5 kernel declared as 2 GiB and never written (no chunk stored).

Every hostile case must be refused (exit status 2, one line) with a peak under twice what
the honest import holds plus 300 MB; the rows give each peak, its excess over the honest
import's, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parent.parent / "tests/fixtures/keras/tutorial_lstm.keras"
WEIGHTS = "model.weights.h5"
KERNEL = "layers/lstm/cell/vars/0"
MIB = 1024**2


def peak_import(archive: Path, folder: Path) -> tuple[int, float, str]:
    """``(exit status, peak resident MiB, last line of stderr)`` of one import."""
    out = folder / f"run-{archive.stem}"
    command = [sys.executable, "-m", "rnnlab", "import-keras", str(archive), "--out", str(out)]
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    shutil.rmtree(out, ignore_errors=True)
    return process.returncode, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def _copy_with(path: Path, weights: Path | None = None, zeros_mib: int = 0) -> Path:
    """The tutorial's archive with its weights member replaced by the file ``weights`` or by
    ``zeros_mib`` MiB of zeros, streamed into the zip."""
    with zipfile.ZipFile(TUTORIAL) as source, zipfile.ZipFile(path, "w") as z:
        for name in ("config.json", "metadata.json"):
            z.writestr(name, source.read(name))
        info = zipfile.ZipInfo(WEIGHTS)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as member:
            if weights is not None:
                member.write(weights.read_bytes())
            block = bytes(MIB)
            for _ in range(zeros_mib):
                member.write(block)
    return path


def _declare(path: Path, size: int) -> None:
    """Set the uncompressed size that the central directory declares for the weights."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    while True:
        name_length, extra_length, comment = struct.unpack_from("<HHH", data, start + 28)
        if data[start + 46 : start + 46 + name_length].decode() == WEIGHTS:
            break
        start += 46 + name_length + extra_length + comment
    struct.pack_into("<I", data, start + 24, size)
    extra = start + 46 + name_length  # a zip64 record holds the real size: declare it there too
    end = extra + extra_length
    while extra < end:
        tag, length = struct.unpack_from("<HH", data, extra)
        if tag == 0x0001:
            struct.pack_into("<I", data, start + 24, 0xFFFFFFFF)
            struct.pack_into("<Q", data, extra + 4, size)
        extra += 4 + length
    path.write_bytes(bytes(data))


def _sparse(path: Path, folder: Path) -> Path:
    import h5py

    weights = folder / "sparse.h5"
    with zipfile.ZipFile(TUTORIAL) as source:
        weights.write_bytes(source.read(WEIGHTS))
    with h5py.File(weights, "a") as h5:
        del h5[KERNEL]
        h5.create_dataset(KERNEL, shape=(2**19, 1024), dtype="f4", chunks=(1024, 1024))
    return _copy_with(path, weights=weights)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--zeros-mib", type=int, default=2048, help="the bombs' zeros (MiB)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bomb = _copy_with(folder / "bomb.keras", zeros_mib=args.zeros_mib)
        declared_small = folder / "declares-1000.keras"
        shutil.copy(bomb, declared_small)
        _declare(declared_small, 1_000)
        declared_large = folder / "declares-1.5GiB.keras"
        shutil.copy(bomb, declared_large)
        _declare(declared_large, 3 * 2**29)
        cases = {
            "honest": TUTORIAL,
            "bomb-declares-1000": declared_small,
            "bomb-declares-1.5GiB": declared_large,
            "sparse-2GiB": _sparse(folder / "sparse.keras", folder),
        }
        print(
            f"import-keras, one fresh process a case; the bombs: {args.zeros_mib:,} MiB of "
            f"zeros in {bomb.stat().st_size / MIB:.1f} MiB of zip",
            flush=True,
        )
        honest = None
        print("| case | archive | exit | peak RSS | over honest | ratio | message |")
        print("|---|---|---|---|---|---|---|")
        for name, archive in cases.items():
            code, peak, message = peak_import(archive, folder)
            honest = honest or peak
            size = archive.stat().st_size / MIB
            print(
                f"| {name} | {size:.2f} MiB | {code} | {peak:,.0f} MiB | {peak - honest:+,.0f} MiB "
                f"| {peak / honest:.2f}x | {message[:110]} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

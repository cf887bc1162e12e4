"""Hostile ``.keras`` archives, by mechanism: ``import-keras`` reads no file it was not given,
decompresses nothing past what a member declares, and says what is wrong in one line."""

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from commands import run_cli

h5py = pytest.importorskip("h5py")

from rnnlab.interop import KerasImportError, load_keras  # noqa: E402

TUTORIAL = Path(__file__).parent / "fixtures" / "keras" / "tutorial_lstm.keras"
KERNEL = "layers/lstm/cell/vars/0"  # (1, 256) float32


def _archive(path: Path, edit_weights=None, weights_bytes: bytes | None = None) -> Path:
    """The tutorial's LSTM archive, its weights file changed by ``edit_weights(h5, folder)``
    (or replaced by ``weights_bytes``), written to ``path``."""
    with zipfile.ZipFile(TUTORIAL) as source:
        weights = path.parent / "weights.h5"
        weights.write_bytes(source.read("model.weights.h5"))
        if edit_weights is not None:
            with h5py.File(weights, "a") as h5:
                edit_weights(h5, path.parent)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("config.json", source.read("config.json"))
            z.writestr("metadata.json", source.read("metadata.json"))
            z.writestr("model.weights.h5", weights_bytes or weights.read_bytes())
    return path


def _replace_kernel(h5, **options):
    kernel = h5[KERNEL][()]
    del h5[KERNEL]
    h5.create_dataset(KERNEL, data=kernel, **options)


# -- 1. reading only the file given ---------------------------------------------------------


def _external(h5, folder):
    secret = folder / "secret.bin"
    secret.write_bytes(np.arange(256, dtype=np.float32).tobytes())  # any local file
    del h5[KERNEL]
    h5.create_dataset(KERNEL, shape=(1, 256), dtype="f4", external=[(str(secret), 0, 1024)])


def _virtual(h5, folder):
    other = folder / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.ones((1, 256), np.float32)
    layout = h5py.VirtualLayout(shape=(1, 256), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "x", shape=(1, 256))
    del h5[KERNEL]
    h5.create_virtual_dataset(KERNEL, layout)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_external, "stored in external files"),
        (_virtual, "a virtual dataset, whose numbers lie in other files"),
        (lambda h5, _: _replace_kernel(h5, compression="gzip"), "compressed or filtered"),
        (
            lambda h5, _: (
                h5.__delitem__(KERNEL),
                h5.create_dataset(KERNEL, shape=(1, 256), dtype="f4", chunks=(1, 16)),
            ),
            "declares 1,024 bytes but the file stores fewer",
        ),
        (
            lambda h5, _: (h5.__delitem__(KERNEL), h5.create_dataset(KERNEL, data="text")),
            "not numbers",
        ),
    ],
    ids=["external", "virtual", "filtered", "sparse", "text"],
)
def test_weights_stored_outside_the_file_are_refused(edit, message, tmp_path, capsys):
    path = _archive(tmp_path / "hostile.keras", edit)
    with pytest.raises(KerasImportError, match=message) as raised:
        load_keras(path)
    # names the archive, the layer, then the layer's array
    named = f"{path}: layer 'lstm' (LSTM): model.weights.h5 /layers/lstm/cell/vars/0"
    assert str(raised.value).startswith(named)
    out = tmp_path / "run"
    code, _, err = run_cli(["import-keras", str(path), "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err and not out.exists()


# -- 2. bounded decompression ------------------------------------------------------------------


def _patch_central(path: Path, member: str, offset: int, fmt: str, value) -> None:
    """Set a field of ``member``'s central-directory entry (``offset`` from its start)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir  # the central directory's first entry
    while True:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length].decode() == member:
            break
        extra, comment = struct.unpack_from("<HH", data, start + 30)
        start += 46 + name_length + extra + comment
    struct.pack_into(fmt, data, start + offset, value)
    path.write_bytes(bytes(data))


def test_a_member_that_holds_more_than_it_declares_stops_there(tmp_path, capsys):
    """A zip bomb: 20 MB of zeros compress to a few KB and claim to be 1,000 bytes."""
    path = _archive(tmp_path / "bomb.keras", weights_bytes=bytes(20 * 1024**2))
    _patch_central(path, "model.weights.h5", 24, "<I", 1_000)  # its uncompressed size
    with pytest.raises(
        KerasImportError, match=r"bomb\.keras: model\.weights\.h5 does not "
    ) as raised:
        load_keras(path)
    assert "JSON" not in str(raised.value)


def test_a_member_declared_too_large_is_refused_before_reading(tmp_path):
    path = _archive(tmp_path / "large.keras")
    _patch_central(path, "model.weights.h5", 24, "<I", 2**32 - 1)
    with pytest.raises(KerasImportError, match="bytes uncompressed; expected at most"):
        load_keras(path)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (8, "<H", 0x1, "model.weights.h5 is encrypted"),
        (10, "<H", 97, "model.weights.h5 cannot be read here"),  # an unknown method
    ],
    ids=["encrypted", "unknown-method"],
)
def test_members_this_python_cannot_read_are_one_line(offset, fmt, value, message, tmp_path):
    path = _archive(tmp_path / "odd.keras")
    _patch_central(path, "model.weights.h5", offset, fmt, value)
    with pytest.raises(KerasImportError, match=message):
        load_keras(path)


# -- 3. configs that are not Keras's are the user's error, not an internal one --------------


def _with_config(path: Path, edit) -> Path:
    import json

    with zipfile.ZipFile(TUTORIAL) as source:
        config = json.loads(source.read("config.json"))
        edit(config)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", json.dumps(config))
            z.writestr("metadata.json", source.read("metadata.json"))
            z.writestr("model.weights.h5", source.read("model.weights.h5"))
    return path


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.pop("config"),
        lambda c: c["config"]["layers"][1].pop("config"),
        lambda c: c["config"].update(layers={"not": "a list"}),
        lambda c: c["config"]["layers"][1]["config"].update(activation={"class": "relu"}),
        lambda c: c["config"]["layers"][1]["config"].update(units="sixty-four"),
        lambda c: c["config"]["layers"].clear(),
    ],
    ids=[
        "no-config",
        "layer-without-config",
        "layers-not-a-list",
        "activation-object",
        "units-text",
        "no-layers",
    ],
)
def test_configs_that_keras_never_wrote_are_one_line(edit, tmp_path, capsys):
    path = _with_config(tmp_path / "odd.keras", edit)
    code, _, err = run_cli(["import-keras", str(path), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and err.count("\n") == 1 and str(path) in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "odd.keras: config.json is not usable JSON"),
        ('{"config": {"layers": [{"config": {"units": ' + "9" * 5000 + "}}]}}", "odd.keras"),
    ],
    ids=["nested-json", "5000-digit-number"],
)
def test_config_text_that_json_cannot_hold_is_one_line(text, expected, tmp_path, capsys):
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(TUTORIAL) as source, zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", text)
        z.writestr("metadata.json", source.read("metadata.json"))
        z.writestr("model.weights.h5", source.read("model.weights.h5"))
    code, _, err = run_cli(["import-keras", str(path), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


# -- fuzzed configs of the tutorial's three models: imported, or one KerasImportError ---------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_MODELS = [TUTORIAL.parent / f"tutorial_{name}.keras" for name in ("lstm", "bilstm", "seq2seq")]
_REPLACEMENTS = st.sampled_from([None, "text", -1, 0, 10**30, 1.5, [], {}, [1, 2], True])


def _paths(value, prefix=()):
    """Every path to a value inside a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(_MODELS),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.booleans(), _REPLACEMENTS), min_size=1, max_size=3
    ),
)
def test_fuzzed_configs_import_or_say_why_in_one_error(tmp_path, model, edits):
    import copy
    import json

    with zipfile.ZipFile(model) as source:
        config = json.loads(source.read("config.json"))
        for pick, delete, replacement in edits:
            paths = [p for p in _paths(config) if p]
            path = paths[pick % len(paths)]
            parent = config
            for key in path[:-1]:
                parent = parent[key]
            if delete:
                del parent[path[-1]]
            else:  # a copy: the strategy hands out the same list each time, and a list
                parent[path[-1]] = copy.deepcopy(replacement)  # set inside itself would loop
        target = tmp_path / "fuzz.keras"
        with zipfile.ZipFile(target, "w") as z:
            z.writestr("config.json", json.dumps(config))
            z.writestr("metadata.json", source.read("metadata.json"))
            z.writestr("model.weights.h5", source.read("model.weights.h5"))
    try:
        load_keras(target)
    except KerasImportError as exc:
        assert str(exc).startswith(str(target)) or "fuzz.keras" in str(exc), exc

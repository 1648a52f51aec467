"""load_images: formats, sizes, fits, labels, bad files, the decoded-array cache, parallel decoding."""

import os

import numpy as np
import pytest
from PIL import Image

from aekit.datasets import ImageSet, load_images
from aekit.datasets import decode as decode_mod
from aekit.datasets import images as images_mod
from aekit.errors import AekitError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))


def save(path, size=(20, 10), color=(200, 30, 30), mode="RGB", fmt=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, format=fmt, **kw)
    return path


def mixed_folder(root):
    save(root / "a.jpg", (40, 30), quality=95)
    save(root / "b.png", (17, 23))
    save(root / "c.bmp", (8, 8))
    save(root / "d.webp", (64, 32))
    save(root / "e.png", (12, 12), (10, 200, 10, 128), mode="RGBA")
    save(root / "f.png", (9, 7), 128, mode="L")
    return root


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_formats_and_sizes(tmp_path, fit):
    s = load_images(mixed_folder(tmp_path / "imgs"), size=(16, 12), fit=fit, cache=False)
    assert isinstance(s, ImageSet)
    assert s.x.shape == (6, 16, 12, 3) and s.x.dtype == np.uint8
    assert s.y is None and s.class_names == [] and s.skipped == []
    assert s.paths == ["a.jpg", "b.png", "c.bmp", "d.webp", "e.png", "f.png"]
    x, y = s  # unpacks like a tuple
    assert x is s.x and y is None


def test_gray_and_int_size(tmp_path):
    s = load_images(mixed_folder(tmp_path / "imgs"), size=8, color="gray", cache=False)
    assert s.x.shape == (6, 8, 8, 1)
    assert abs(int(s.x[5].mean()) - 128) <= 1  # an L picture keeps its grey level


def test_crop_pad_stretch_geometry(tmp_path):
    # 40x20 picture: left half red, right half blue, a 10 px green square in the middle.
    a = np.zeros((20, 40, 3), dtype=np.uint8)
    a[:, :20, 0] = 255
    a[:, 20:, 2] = 255
    a[5:15, 15:25] = (0, 255, 0)
    (tmp_path / "p").mkdir()
    Image.fromarray(a).save(tmp_path / "p" / "x.png")
    crop = load_images(tmp_path / "p", size=(10, 10), fit="crop", cache=False).x[0]
    assert crop[5, 5, 1] > 200  # the centre is kept
    pad = load_images(tmp_path / "p", size=(20, 20), fit="pad", cache=False).x[0]
    assert pad[:4].max() == 0 and pad[-4:].max() == 0  # black bands above and below
    assert pad[10, 2, 0] > 200 and pad[10, 17, 2] > 200
    stretch = load_images(tmp_path / "p", size=(10, 10), fit="stretch", cache=False).x[0]
    assert stretch[5, 0, 0] > 200 and stretch[5, 9, 2] > 200  # whole width kept


def test_transparency_goes_on_black(tmp_path):
    save(tmp_path / "t" / "clear.png", (8, 8), (255, 255, 255, 0), mode="RGBA")
    assert load_images(tmp_path / "t", size=4, cache=False).x.max() == 0


def test_exif_orientation_is_applied(tmp_path):
    a = np.zeros((10, 30, 3), dtype=np.uint8)  # wide picture stored sideways, marked "rotate 90"
    a[:, :15] = 255
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6
    (tmp_path / "o").mkdir()
    im.save(tmp_path / "o" / "r.jpg", exif=exif, quality=95)
    x = load_images(tmp_path / "o", size=(30, 10), fit="stretch", cache=False).x[0]
    assert x[:10].mean() > 200 and x[-10:].mean() < 50  # displayed tall: white on top


def test_labels_from_subfolders(tmp_path):
    for cls, n in (("dogs", 2), ("cats", 3)):
        for i in range(n):
            save(tmp_path / "pets" / cls / f"{i}.png", (6, 6))
    s = load_images(tmp_path / "pets", size=4, cache=False)
    assert s.class_names == ["cats", "dogs"]
    assert s.y.tolist() == [0, 0, 0, 1, 1] and s.y.dtype == np.int64
    assert s.paths[0] == "cats/0.png"
    assert load_images(tmp_path / "pets", size=4, labels=None, cache=False).y is None


def test_labels_folders_required(tmp_path):
    save(tmp_path / "f" / "cls" / "a.png")
    save(tmp_path / "f" / "loose.png")
    assert load_images(tmp_path / "f", size=4, cache=False).y is None  # auto: mixed -> unlabelled
    with pytest.raises(AekitError, match="loose.png is not inside a class sub-folder"):
        load_images(tmp_path / "f", size=4, labels="folders", cache=False)


def test_natural_order_and_hidden_files(tmp_path):
    for i in (10, 2, 1):
        save(tmp_path / "n" / f"cat.{i}.png")
    (tmp_path / "n" / ".DS_Store").write_bytes(b"junk")
    s = load_images(tmp_path / "n", size=4, cache=False)
    assert s.paths == ["cat.1.png", "cat.2.png", "cat.10.png"] and s.skipped == []


def test_corrupt_and_non_image_files_are_skipped_with_a_warning(tmp_path):
    root = mixed_folder(tmp_path / "m")
    (root / "notes.txt").write_text("not a picture")
    blob = (root / "a.jpg").read_bytes()
    (root / "broken.jpg").write_bytes(blob[: len(blob) // 3])
    with pytest.warns(UserWarning, match=r"skipped 2 of 8 files .* not readable images"):
        s = load_images(root, size=8, cache=False)
    assert len(s.x) == 6 and sorted(s.skipped) == ["broken.jpg", "notes.txt"]
    with pytest.raises(AekitError, match=r"broken.jpg: not a readable image") as e:
        load_images(root, size=8, strict=True, cache=False)
    assert "\n" not in str(e.value)


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AekitError, match=r"empty: the folder is empty"):
        load_images(tmp_path / "empty", size=8)


def test_folder_of_only_non_images(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("hello")
    (d / "b.csv").write_text("1,2\n")
    with pytest.raises(AekitError, match=r"docs: none of the 2 files is a readable image") as e:
        load_images(d, size=8)
    assert e.value.__cause__ is None and "\n" not in str(e.value)


def test_missing_folder_and_bad_options(tmp_path):
    with pytest.raises(AekitError, match="no such folder"):
        load_images(tmp_path / "nope", size=8)
    save(tmp_path / "ok" / "a.png")
    for kw, pat in (
        (dict(size=(0, 4)), "size must be positive"),
        (dict(size="big"), "size must be"),
        (dict(color="cmyk"), "color must be"),
        (dict(fit="zoom"), "fit must be"),
        (dict(labels="names"), "labels must be"),
        (dict(workers=0), "workers must be"),
    ):
        with pytest.raises(AekitError, match=pat):
            load_images(tmp_path / "ok", **{"size": 8, **kw})


def test_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    root = mixed_folder(tmp_path / "c")
    first = load_images(root, size=8)
    cached = list((tmp_path / "cache" / "images").glob("*.npy"))
    assert len(cached) == 1
    real = images_mod.decode_all
    monkeypatch.setattr(images_mod, "decode_all", lambda *a, **k: pytest.fail("decoded again"))
    second = load_images(root, size=8)
    np.testing.assert_array_equal(first.x, second.x)
    assert second.paths == first.paths
    monkeypatch.setattr(images_mod, "decode_all", real)
    save(root / "g.png", (5, 5))  # a new file changes the fingerprint
    assert len(load_images(root, size=8).x) == 7
    load_images(root, size=9)  # so do the options
    assert len(list((tmp_path / "cache" / "images").glob("*.npy"))) == 3


def test_cache_remembers_skipped_files_for_strict(tmp_path):
    root = mixed_folder(tmp_path / "s")
    (root / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.warns(UserWarning):
        load_images(root, size=8)
    with pytest.warns(UserWarning, match="skipped 1 of 7"):
        assert load_images(root, size=8).skipped == ["bad.png"]  # from the cache, same warning
    with pytest.raises(AekitError, match="bad.png"):
        load_images(root, size=8, strict=True)


def test_read_only_folder_is_fine(tmp_path):
    root = mixed_folder(tmp_path / "ro")
    os.chmod(root, 0o555)
    try:
        assert len(load_images(root, size=8).x) == 6
        assert sorted(os.listdir(root)) == ["a.jpg", "b.png", "c.bmp", "d.webp", "e.png", "f.png"]
    finally:
        os.chmod(root, 0o755)


def test_parallel_decoding_matches_serial(tmp_path, monkeypatch):
    monkeypatch.setattr(decode_mod, "_CHUNK", 8)
    rng = np.random.default_rng(0)
    root = tmp_path / "many"
    root.mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(root / f"{i}.png")
    (root / "zz.png").write_bytes(b"nope")
    with pytest.warns(UserWarning):
        a = load_images(root, size=6, workers=1, cache=False)
    with pytest.warns(UserWarning):
        b = load_images(root, size=6, workers=2, cache=False)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.skipped == b.skipped == ["zz.png"] and len(b.x) == 40
    monkeypatch.setattr(decode_mod.sys, "platform", "win32")  # no fork there: threads decode
    with pytest.warns(UserWarning):
        c = load_images(root, size=6, workers=3, cache=False)
    np.testing.assert_array_equal(a.x, c.x)


def test_unwritable_cache_only_warns(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("AEKIT_DATA", str(blocker))
    with pytest.warns(UserWarning, match="cannot write the cache"):
        s = load_images(mixed_folder(tmp_path / "w"), size=8)
    assert len(s.x) == 6

"""Works found by a near ISCC Content-Code, with the distance, on real sample media."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("iscc_core")
iscc_samples = pytest.importorskip("iscc_samples")

from tdmguard.errors import InputError  # noqa: E402
from tdmguard.fingerprint.iscc_code import compute_iscc  # noqa: E402
from tdmguard.registry.iscc_lookup import find_by_iscc  # noqa: E402
from tdmguard.registry.store import NewWork, Registry  # noqa: E402
from tdmguard.vocab import WorkKind  # noqa: E402

SAMPLES = Path(iscc_samples.__file__).parent / "files"


def test_near_and_exact_matches(tmp_path: Path) -> None:
    from PIL import Image

    reg = Registry.open(f"sqlite:///{tmp_path / 'r.db'}")
    reg.add_holder("Aurora")
    cat = compute_iscc(SAMPLES / "image/demo.jpg", title="Concentrated Cat")
    text = compute_iscc(SAMPLES / "text/demo.txt", title="Demo text")
    reg.add_work("Aurora", NewWork(title="Cat", kind=WorkKind.ARTWORK, iscc=cat.iscc,
                                   external_id="cat"))  # fmt: skip
    reg.add_work("Aurora", NewWork(title="Text", kind=WorkKind.LYRICS, iscc=text.iscc,
                                   external_id="txt"))  # fmt: skip
    reg.add_work("Aurora", NewWork(title="Bad", iscc="ISCC:garbage", external_id="bad"))
    with Image.open(SAMPLES / "image/demo.jpg") as img:
        img.convert("RGB").resize((img.width // 3, img.height // 3)).save(tmp_path / "s.jpg")
    copy = compute_iscc(tmp_path / "s.jpg")  # no title: a different ISCC-CODE
    (near,) = find_by_iscc(reg, copy.iscc)
    assert near.work_id == "cat" and not near.exact and 0 <= near.distance <= 4
    (same,) = find_by_iscc(reg, cat.iscc)
    assert same.exact and same.distance == 0
    assert find_by_iscc(reg, copy.iscc, max_distance=-1) == []
    assert find_by_iscc(reg, copy.iscc, holder="Aurora")[0].work_id == "cat"
    with pytest.raises(InputError):
        find_by_iscc(reg, "ISCC:???")
    reg.close()

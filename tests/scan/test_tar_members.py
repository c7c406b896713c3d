"""The tar header reader against ``tarfile`` on archives tarfile writes in every format."""

from __future__ import annotations

import io
import tarfile

import pytest

from tdmguard.scan.tar_members import DamagedTarError, iter_tar


def _archive(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        names = ["a/sample1.txt", "a/sample1.json", "ü/sämple2.flac",
                 "deep/" + "x" * 120 + "/sample3.txt"]
        for i, name in enumerate(names):
            data = bytes([i]) * (700 * i + 1)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000.5  # a float mtime makes pax write a header
            tf.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("a/sub")
        folder.type = tarfile.DIRTYPE
        tf.addfile(folder)
        link = tarfile.TarInfo("a/link.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "sample1.txt"
        tf.addfile(link)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_members_names_offsets_and_data_match_tarfile(fmt: int) -> None:
    raw = _archive(fmt) if fmt != tarfile.USTAR_FORMAT else None
    if raw is None:  # ustar cannot hold the long name: the others only
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
            for i in range(3):
                info = tarfile.TarInfo(f"k{i}.txt")
                info.size = 5
                tf.addfile(info, io.BytesIO(b"hello"))
        raw = buf.getvalue()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        want = [(m.name, m.offset, m.isfile(), m.isdir(),
                 tf.extractfile(m).read() if m.isfile() else None) for m in tf]  # type: ignore[union-attr]
    got = [(m.name, m.offset, m.is_file, m.is_dir, m.data) for m in iter_tar(io.BytesIO(raw))]
    assert got == want
    # reading from a member's offset gives the rest, skipping data gives the same members
    start = want[1][1]
    fh = io.BytesIO(raw)
    fh.seek(start)
    assert [m.name for m in iter_tar(fh, start=start)] == [w[0] for w in want[1:]]
    assert [m.offset for m in iter_tar(io.BytesIO(raw), read_data=False)] == [w[1] for w in want]
    # ... and a stop offset ends before that member
    assert [m.name for m in iter_tar(io.BytesIO(raw), stop=want[2][1])] == [want[0][0],
                                                                           want[1][0]]


def test_damage_is_an_error_never_a_silent_end() -> None:
    raw = _archive(tarfile.PAX_FORMAT)
    offsets = [m.offset for m in iter_tar(io.BytesIO(raw), read_data=False)]
    cut = offsets[2] + 3 * 512 + 100  # inside the third member's data (after its pax header)
    with pytest.raises(DamagedTarError, match="unexpected end of data"):
        list(iter_tar(io.BytesIO(raw[:cut])))
    with pytest.raises(DamagedTarError, match="unexpected end of data"):  # inside a header
        list(iter_tar(io.BytesIO(raw[: offsets[2] + 700])))
    broken = bytearray(raw)
    broken[offsets[2] + 10] ^= 0xFF  # a header's bytes no longer match its checksum
    with pytest.raises(DamagedTarError, match="bad checksum"):
        list(iter_tar(io.BytesIO(bytes(broken))))
    with pytest.raises(DamagedTarError, match="not a tar archive"):
        list(iter_tar(io.BytesIO(b"PAR1" + bytes(600))))
    with pytest.raises(DamagedTarError, match="larger than"):
        list(iter_tar(io.BytesIO(raw), max_member=100))

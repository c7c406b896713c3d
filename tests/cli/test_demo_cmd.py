"""The demo end to end: every engine, the publishing kit, the scan and the web check."""

from __future__ import annotations

import json
from pathlib import Path

from tdmguard.cli.demo_cmd import run_demo


def test_demo_decides_every_sample(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "demo", show_progress=False)
    got = {row["item"]: (row["decision"], row["work"]) for row in summary["scan"]["items"]}
    assert got == {
        "audio/query-awakening-speed105-noise15db.ogg": ("exclude", "AUR-REC-01"),
        "audio/query-nebula-pitch-up-2st.ogg": ("exclude", "AUR-REC-02"),
        "audio/query-chaos-god-tempo94.ogg": ("exclude", "AUR-REC-03"),
        "audio/unregistered-armygeddon.ogg": ("keep", ""),
        "images/query-frog-resized.jpg": ("exclude", "AUR-ART-01"),
        "images/query-penguin-mirrored.jpg": ("keep", "AUR-ART-02"),  # licensed to us
        "images/query-caterpillar-cropped.png": ("exclude", "AUR-ART-03"),
        "images/armadillo-unregistered.png": ("keep", ""),
        "scores/query-jeanie-excerpt.mid": ("exclude", "MEA-001"),
        "scores/unregistered-essen-boehme10-12.mid": ("keep", ""),
        "stamped/awakening-excerpt.ogg": ("exclude", ""),  # embedded signal only
        "stamped/chelsea-artwork.png": ("exclude", ""),
        "text/forum_thread_old_songs.txt": ("exclude", "MEA-001"),
        "text/essay_without_lyrics.txt": ("keep", ""),
    }
    penguin = next(r for r in summary["scan"]["items"] if "penguin" in r["item"])
    assert "licensed" in penguin["why"]
    posts = {r["item"]: (r["decision"], r["work"]) for r in summary["scan_text_manifest"]["items"]}
    assert posts == {"post-1": ("exclude", "MEA-002"), "post-2": ("keep", "MEA-003"),
                     "post-3": ("keep", "")}
    home = next(w for w in summary["web"] if w["agent"] == "*" and w["url"] == "/")
    assert home["stances"]["ai-train"] == "deny"
    assert summary["scan"]["counts"] == {"kept": 5, "excluded": 9, "review": 0, "errors": 0}
    assert (tmp_path / "demo" / "declaration" / ".well-known" / "tdmrep.json").is_file()
    # What the developer hands on: the scan's report page and the summary draft.
    assert "Jeanie with the Light Brown Hair" in Path(summary["scan"]["report_html"]).read_text()
    manifest = Path(summary["summary"]["removal_manifest"]).read_text().splitlines()
    assert len(manifest) == 9 + 1 + 4 + 3  # every scan's excluded items
    assert "Open questions" in Path(summary["summary"]["markdown"]).read_text()
    # WebDataset shards and a Hugging Face dataset, scanned in place and filtered into the
    # same formats: the kept outputs read back with webdataset and datasets.
    wds_scan = summary["scan_webdataset"]
    assert {r["item"]: (r["decision"], r["work"]) for r in wds_scan["items"]} == {
        "shards-000000.tar#clip-000": ("exclude", "AUR-REC-02"),  # a re-encoded excerpt
        "shards-000000.tar#clip-001": ("keep", ""),
        "shards-000000.tar#img-002": ("exclude", "AUR-ART-01"),
        "shards-000001.tar#img-003": ("keep", ""),
        "shards-000001.tar#img-004": ("keep", "AUR-ART-02"),  # licensed to us
        "shards-000001.tar#txt-005": ("exclude", "MEA-001"),
        "shards-000001.tar#mid-006": ("exclude", "MEA-001"),
    }
    assert [Path(p).name for p in wds_scan["kept_shards"]] == ["shards-000000.tar",
                                                              "shards-000001.tar"]
    assert wds_scan["kept_keys"] == ["clip-001", "img-003", "img-004"]
    hf_scan = summary["scan_hugging_face"]
    assert {r["item"]: (r["decision"], r["work"]) for r in hf_scan["items"]} == {
        "song-01": ("exclude", "AUR-REC-01"),  # Audio feature
        "song-02": ("exclude", "AUR-ART-03"),  # Image feature
        "song-03": ("keep", "MEA-003"),  # registered, not reserved
        "song-04": ("exclude", "MEA-001"),  # the lyrics column
        "song-05": ("keep", "AUR-ART-02"),
    }
    assert hf_scan["kept_ids"] == ["song-03", "song-05"]
    assert hf_scan["kept_columns"] == ["id", "title", "lyrics", "audio", "cover"]
    # the lab scanned a mirror pulled from the holder's signed snapshot, and says so
    report = json.loads(Path(summary["scan"]["report"]).read_text("utf-8"))
    [source] = report["registry"]["sources"]
    assert source["snapshot"] == summary["exchange"]["snapshot"]["snapshot"]
    assert source["head"] == summary["exchange"]["snapshot"]["head"]

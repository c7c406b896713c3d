"""Writes iscc_reference.json: the ISCC project's SDK (iscc-sdk, the reference pipeline) run
on the iscc-samples files tdmguard registers (images, audio, plain text). Needs iscc-sdk and
iscc-samples in a side environment (iscc-sdk is too heavy for the dev extra), and Debian's
fpcalc (libchromaprint-tools): the SDK downloads its own fpcalc, which this machine cannot,
so it is pointed at /usr/bin/fpcalc, called with the SDK's own arguments.

    python -m venv /tmp/iscc-ref && /tmp/iscc-ref/bin/pip install iscc-sdk iscc-samples
    /tmp/iscc-ref/bin/python tests/fingerprint/make_iscc_reference.py
"""

# ruff: noqa
import json, shutil, sys
from importlib.metadata import version
from pathlib import Path

import iscc_samples
import iscc_sdk as idk
import iscc_sdk.tools as tools

FILES = {
    "image": ["demo.bmp", "demo.gif", "demo.jpg", "demo.png", "demo.tif"],
    "audio": ["demo.aac", "demo.aif", "demo.mp3", "demo.ogg", "demo.opus", "demo.wav", "demo.wv", "withcover.mp3"],
    "text": ["demo.txt", "demo.md"],
}
fpcalc = shutil.which("fpcalc")
assert fpcalc, "apt-get install libchromaprint-tools"
tools.fpcalc_bin = lambda: fpcalc


def run_fpcalc(args):
    # The SDK's own call (same arguments), except that fpcalc 1.5.1's spurious exit after
    # "Error decoding audio frame (End of file)" (it has printed the full result) is accepted.
    import subprocess

    proc = subprocess.run([fpcalc, *map(str, args)], capture_output=True)
    bad = [l for l in proc.stderr.decode().splitlines() if l and "(End of file)" not in l]
    if proc.returncode and (bad or not proc.stdout.strip()):
        raise RuntimeError(proc.stderr.decode())
    return proc


idk.run_fpcalc = run_fpcalc
root = Path(iscc_samples.__file__).parent / "files"
out = {
    "generator": {
        "iscc-sdk": version("iscc-sdk"),
        "iscc-lib": version("iscc-lib"),
        "iscc-samples": version("iscc-samples"),
        "fpcalc": __import__("subprocess").run([fpcalc, "-version"], capture_output=True, text=True).stdout.strip(),
    },
    "files": {},
}
for kind, names in FILES.items():
    for name in names:
        content = idk.code_content(str(root / kind / name), extract_meta=False, create_thumb=False)
        d = idk.code_data(str(root / kind / name))
        i = idk.code_instance(str(root / kind / name))
        out["files"][f"{kind}/{name}"] = {
            "content": content.iscc,
            "data": d.iscc,
            "instance": i.iscc,
        }
        print(kind, name, content.iscc, file=sys.stderr)
Path(__file__).with_name("iscc_reference.json").write_text(json.dumps(out, indent=1) + "\n")

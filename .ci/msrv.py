#!/usr/bin/env python3
"""The stated minimum Rust version is the real one.

The workspace's `rust-version` (Cargo.toml) must be at least the highest
`rust-version` any locked dependency declares (a lower one is a promise the
dependencies break), and the toolchain running CI must meet it. This machine
has one toolchain, so the check reads what each crate declares rather than
building with an older compiler.

    python3 .ci/msrv.py
"""
import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
    if len(ours) != 1 or None in ours:
        sys.exit(f"msrv: every workspace member must inherit one rust-version, found {ours}")
    stated = ours.pop()
    deps = sorted(
        ((version(p["rust_version"]), p["name"], p["version"])
         for p in meta["packages"] if p["id"] not in members and p.get("rust_version")),
        reverse=True,
    )
    need, name, ver = deps[0]
    rustc = subprocess.run(["rustc", "--version"], check=True, capture_output=True, text=True).stdout
    have = version(rustc.split()[1].split("-")[0])
    print(f"msrv: stated {stated}; highest dependency requirement {'.'.join(map(str, need))} ({name} {ver}); rustc {'.'.join(map(str, have))}")
    if version(stated) < need:
        sys.exit(f"msrv: Cargo.toml says rust-version = {stated}, but {name} {ver} needs {'.'.join(map(str, need))}: raise it (and the README's line)")
    if have < version(stated):
        sys.exit(f"msrv: this toolchain is older than the stated {stated}")


if __name__ == "__main__":
    main()

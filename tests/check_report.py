"""Checks a run directory's plots and report: python3 check_report.py DIR N NAME...

DIR/plots holds exactly N PNG files, named NAME.png; each is a valid PNG
(signature, IHDR first, IEND last, every chunk's CRC) of a plausible size;
DIR/report.html parses as HTML, embeds exactly those N images as data URIs
whose bytes equal the files, and has no outside reference."""
import base64
import os
import struct
import sys
import zlib
from html.parser import HTMLParser


def check_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in {kind}"
        chunks.append(kind)
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
            assert 400 <= w <= 4000 and 300 <= h <= 4000, f"{path}: {w}x{h}"
        pos += 12 + n
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND", f"{path}: chunks {chunks}"
    return data


class Report(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.refs, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append((a.get("alt"), a.get("src", "")))
        for key in ("href", "src"):
            v = a.get(key)
            if v and not v.startswith("data:") and not v.startswith("#"):
                self.refs.append(v)


def main():
    d, n, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    files = sorted(f for f in os.listdir(os.path.join(d, "plots")) if f.endswith(".png"))
    assert len(files) == n, f"{len(files)} plots, expected {n}: {files}"
    assert sorted(x + ".png" for x in names) == files, files
    pngs = {f: check_png(os.path.join(d, "plots", f)) for f in files}
    p = Report()
    html = open(os.path.join(d, "report.html"), encoding="utf-8").read()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    p.feed(html)
    p.close()
    assert not p.refs, f"outside references: {p.refs}"
    assert len(p.images) == n, f"{len(p.images)} images in the report, expected {n}"
    for alt, src in p.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), alt
        assert base64.b64decode(src[len(prefix):]) == pngs[alt], f"{alt} differs"
    for word in ("Posterior", "Diagnostics", "Shards", "Configuration", "R-hat"):
        assert word in html, word
    print(f"{d}: {n} plots, report ok")


main()

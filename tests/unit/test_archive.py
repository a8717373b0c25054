"""The archive tool's parts that need no server: reader, like ↔ capture mapping, synthetic archives, cost."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from tools.archive import cost
from tools.archive.files import AtomicFile, OutputError
from tools.archive.likes import Invalid, is_tweet_id, like_js_element, to_capture, to_like
from tools.archive.reader import ArchiveError, Entry, iter_js_array, open_archive
from tools.archive.synthetic import expected_text, manifest_js, synthetic_likes, write_archive


def captures_of(path: Path) -> tuple[list[dict], list[Invalid]]:
    """Every capture and every invalid entry the reader and the mapping make of the archive at PATH."""
    good, bad = [], []
    with open_archive(path) as archive:
        for entry in archive.entries():
            capture = to_capture(entry)
            (bad if isinstance(capture, Invalid) else good).append(capture)
    return good, bad


@pytest.fixture(name="archive")
def _archive(tmp_path: Path) -> tuple[Path, object]:
    """A synthetic archive of 1,200 likes in 3 parts, with 40 repeats and 5 malformed entries."""
    path = tmp_path / "twitter-2026-11-01-synthetic.zip"
    return path, write_archive(path, 1200, keep_ids=True)


def test_a_synthetic_archive_yields_every_like_its_repeats_and_its_malformed_entries(archive) -> None:
    """3 parts listed in the manifest: 1,200 distinct likes, 40 exact repeats, 5 malformed entries."""
    path, plan = archive
    good, bad = captures_of(path)
    assert (plan.valid, plan.repeats, plan.malformed, plan.entries) == (1200, 40, 5, 1245)
    assert len(good) == 1240 and len(bad) == 5
    assert len({c["tweetId"] for c in good}) == 1200
    assert [c["tweetId"] for c in good if c["tweetId"] in set(plan.ids)] == [c["tweetId"] for c in good]
    with open_archive(path) as opened:
        assert [p.file_name for p in opened.parts] == ["data/like.js", "data/like-part1.js", "data/like-part2.js"]
        assert opened.expected_count() == 1245


def test_captures_are_archive_sourced_with_decoded_text(archive) -> None:
    """Each capture has source archive, the id as the archive's string, entities decoded, no author."""
    path, _plan = archive
    good, _bad = captures_of(path)
    likes = {like["like"]["tweetId"]: like for like in synthetic_likes(1200)}
    for capture in good:
        like = likes[capture["tweetId"]]
        assert capture["source"] == "archive"
        assert capture["tweetText"] == expected_text(like)
        assert capture["tweetUrl"] == like["like"]["expandedUrl"]
        assert "authorUsername" not in capture
    texts = [c["tweetText"] for c in good]
    assert any("Q&A tonight" in t and "<and>" in t for t in texts)
    assert any("東京" in t for t in texts) and "" in texts


def test_ids_span_2008_to_2026_and_survive_beyond_two_to_the_53() -> None:
    """Short pre-2010 ids and 19-digit ids come through as exact strings, never floats."""
    ids = [like["like"]["tweetId"] for like in synthetic_likes(3000)]
    assert min(len(i) for i in ids) <= 10 and max(len(i) for i in ids) == 19
    assert all(is_tweet_id(i) for i in ids)
    big = max(ids, key=int)
    assert int(big) > 2**53 and str(int(float(big))) != big
    text = f'window.YTD.like.part0 = [ {{"like": {{"tweetId": "{big}"}}}} ]'
    (value,) = iter_js_array(io.StringIO(text), "like.js")
    assert value["like"]["tweetId"] == big


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"like": {"fullText": "x"}}, "tweetId"),
        ({"like": {"tweetId": 1697051672621597026}}, "tweetId"),
        ({"like": {"tweetId": "12ab"}}, "tweetId"),
        ({"like": {"tweetId": "0123"}}, "tweetId"),
        ({"like": {"tweetId": "9223372036854775808"}}, "tweetId"),
        ({"like": {"tweetId": "123", "fullText": 42}}, "fullText"),
        ({"like": None}, "like"),
        ({"notALike": {}}, "like"),
        ("a string", "like"),
    ],
)
def test_malformed_entries_are_invalid_with_a_reason(value: object, field: str) -> None:
    """An entry that cannot become a capture is reported with the field that is wrong."""
    result = to_capture(Entry("data/like.js", 7, value))
    assert isinstance(result, Invalid)
    assert list(result.errors) == [field] and result.errors[field]
    record = result.record()
    assert record["file"] == "data/like.js" and record["index"] == 7 and record["entry"] == value


def test_the_largest_tweet_id_is_valid_and_a_bad_url_is_dropped_not_fatal() -> None:
    """9223372036854775807 passes; an expandedUrl that is no http(s) URL is left out, the like kept."""
    capture = to_capture(Entry("p", 0, {"like": {"tweetId": "9223372036854775807", "expandedUrl": "javascript:x"}}))
    assert capture == {"tweetId": "9223372036854775807", "tweetText": "", "source": "archive"}


def test_a_capture_goes_to_a_like_and_back_unchanged() -> None:
    """Text with &, <, > and a literal "&amp;" survives export's escaping and import's decoding."""
    tweet = {"tweetText": "a & b <c> literally &amp; ✓", "tweetUrl": "https://x.com/u/status/123"}
    element = like_js_element(to_like("123", tweet))
    assert '"tweetId" : "123"' in element and "&amp;amp;" in element
    (like,) = iter_js_array(io.StringIO("window.YTD.like.part0 = [\n" + element + "\n]"), "like.js")
    back = to_capture(Entry("like.js", 0, like))
    assert back == {
        "tweetId": "123",
        "tweetText": tweet["tweetText"],
        "tweetUrl": tweet["tweetUrl"],
        "source": "archive",
    }
    assert "fullText" not in to_like("5", {"tweetText": ""})["like"]


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 4096])
def test_the_stream_decoder_is_exact_across_any_chunk_boundary(chunk: int) -> None:
    """Numbers, strings and nested objects split by any chunk size decode to the same values."""
    values = [{"like": {"tweetId": str(10**k + 7), "fullText": "é" * k + "]},"}} for k in range(12)] + [123456789, "s"]
    text = "\ufeffwindow.YTD.like.part0 = [" + ",\n".join(json.dumps(v) for v in values) + "];\n"
    assert list(iter_js_array(io.StringIO(text), "like.js", chunk_chars=chunk)) == values


def test_an_element_larger_than_a_chunk_is_decoded() -> None:
    """A 300,000-character tweet text spans many chunks and still decodes."""
    value = {"like": {"tweetId": "1", "fullText": "w" * 300_000}}
    (decoded,) = iter_js_array(io.StringIO("window.YTD.like.part0 = [" + json.dumps(value) + "]"), "like.js")
    assert decoded == value


def test_empty_likes_array_yields_nothing() -> None:
    """An account without likes has `= [ ]`."""
    assert list(iter_js_array(io.StringIO("window.YTD.like.part0 = [ ]"), "like.js")) == []


def test_a_bare_like_js_an_extracted_folder_and_a_rezipped_folder_all_read(archive, tmp_path: Path) -> None:
    """The part file alone, the archive unzipped, and that folder zipped again give the same likes."""
    path, _plan = archive
    with zipfile.ZipFile(path) as bundle:
        bundle.extractall(tmp_path / "extracted")
        (tmp_path / "like.js").write_bytes(bundle.read("data/like.js"))
        nested = tmp_path / "rezipped.zip"
        with zipfile.ZipFile(nested, "w") as again:
            for name in bundle.namelist():
                again.writestr("twitter-2026-11-01/" + name, bundle.read(name))
    full, _ = captures_of(path)
    assert captures_of(tmp_path / "extracted")[0] == full
    assert captures_of(nested)[0] == full
    bare, bare_bad = captures_of(tmp_path / "like.js")
    assert bare == full[: len(bare)] and bare_bad == [] and 0 < len(bare) < len(full)


def test_a_manifest_with_trailing_commas_is_read(tmp_path: Path) -> None:
    """Some archives' manifest.js has a trailing comma before a closing brace: still read."""
    path = tmp_path / "a.zip"
    manifest = manifest_js([{"fileName": "data/like.js", "globalName": "YTD.like.part0", "count": "1"}])
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("data/manifest.js", manifest.replace('"count" : "1"', '"count" : "1",'))
        bundle.writestr("data/like.js", 'window.YTD.like.part0 = [ {"like": {"tweetId": "20"}} ]')
    assert captures_of(path) == ([{"tweetId": "20", "tweetText": "", "source": "archive"}], [])


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    return path


def _one_part_manifest(name: str = "data/like.js") -> str:
    return manifest_js([{"fileName": name, "globalName": "YTD.like.part0", "count": "2"}])


LIKES_JS = 'window.YTD.like.part0 = [ {"like": {"tweetId": "20", "fullText": "a"}}, {"like": {"tweetId": "21"}} ]'


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _bytes(d / "x.zip", b"this is not a zip"), "neither an X data archive"),
        (lambda d: _bytes(d / "t.zip", b"PK\x03\x04" + b"\0" * 40), "zip archive"),
        (lambda d: _zip(d / "a.zip", {"data/tweets.js": "window.YTD.tweets.part0 = []"}), "without data/like.js"),
        (lambda d: _zip(d / "a.zip", {"data/like.js": LIKES_JS[:-30]}), "truncated"),
        (lambda d: _zip(d / "a.zip", {"data/like.js": LIKES_JS[:-1]}), "truncated"),
        (lambda d: _zip(d / "a.zip", {"data/like.js": LIKES_JS.replace(", {", " {")}), "expected , or ]"),
        (lambda d: _zip(d / "a.zip", {"data/like.js": LIKES_JS + " junk"}), "after the likes array"),
        (lambda d: _zip(d / "a.zip", {"data/like.js": "var x = 3"}), "does not start with"),
        (
            lambda d: _zip(d / "a.zip", {"data/manifest.js": _one_part_manifest("data/like-part9.js")}),
            "lists data/like-part9.js, which is not in the archive",
        ),
        (
            lambda d: _zip(d / "a.zip", {"data/manifest.js": "window.__THAR_CONFIG = {oops", "data/like.js": LIKES_JS}),
            "not valid",
        ),
        (lambda d: d / "missing.zip", "no such file"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, make, message: str) -> None:
    """Not a zip, no like.js, a truncated or damaged like.js, a manifest naming a missing part: one line saying so."""
    path = make(tmp_path)
    with pytest.raises(ArchiveError) as raised:
        captures_of(path)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_cut_off_zip_is_reported_not_crashed(archive, tmp_path: Path) -> None:
    """An archive whose download stopped half-way is a one-line error, at any cut."""
    path, _plan = archive
    data = path.read_bytes()
    for share in (0.2, 0.5, 0.9, 0.999):
        cut = tmp_path / f"cut-{share}.zip"
        cut.write_bytes(data[: int(len(data) * share)])
        with pytest.raises(ArchiveError):
            captures_of(cut)


def test_streaming_keeps_memory_flat(tmp_path: Path) -> None:
    """Reading 30,000 likes allocates no more at its peak than reading 3,000 does, give or take 1 MiB."""
    peaks = []
    for likes in (3000, 30000):
        path = tmp_path / f"{likes}.zip"
        write_archive(path, likes)
        tracemalloc.start()
        with open_archive(path) as opened:
            count = sum(1 for entry in opened.entries() if not isinstance(to_capture(entry), Invalid))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == likes + 40
    assert peaks[1] < peaks[0] + 1024 * 1024, peaks


def test_the_cost_estimate_counts_free_tier_and_prices() -> None:
    """25,548 new likes: writes and deletes beyond the daily free quota at us-central1 prices."""
    estimate = cost.estimate(looked_up=25_548, to_send=25_548, batch_size=100, lookup_size=500)
    assert estimate.reads == 25_548
    assert estimate.writes == 25_548 * 3 + 52 * cost.WRITES_PER_LOOKUP + 256 * 2
    expected = (estimate.writes - 20_000) * 0.09 / 100_000 + (estimate.deletes - 20_000) * 0.01 / 100_000
    assert estimate.usd == pytest.approx(expected)
    assert cost.estimate(looked_up=500, to_send=0, batch_size=100, lookup_size=500).usd == 0
    firestore, pubsub = cost.estimate(100, 100, 100, 500).lines()
    assert "$0 (inside the free tier)" in firestore and "0.1 MB published" in pubsub


def test_an_output_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    """A failure while writing leaves neither the target nor a temporary file; success renames into place."""
    target = tmp_path / "out.ndjson"
    with pytest.raises(RuntimeError), AtomicFile(target) as out:
        out.write("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with AtomicFile(target) as out:
        out.write("whole\n")
    assert target.read_text() == "whole\n" and list(tmp_path.iterdir()) == [target]
    with pytest.raises(OutputError):
        AtomicFile(tmp_path / "no" / "such" / "dir.ndjson").__enter__()


def test_a_corrupted_part_inside_the_zip_is_reported(archive, tmp_path: Path) -> None:
    """Flipped bytes inside a compressed part fail its CRC check: a one-line error naming the part."""
    path, _plan = archive
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as bundle:
        info = bundle.getinfo("data/like-part1.js")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    data[start : start + 64] = bytes(64)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"data/like-part1\.js is (damaged|not UTF-8)"):
        captures_of(broken)

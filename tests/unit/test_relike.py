"""The update that likes an unliked capture again: which body the first like keeps."""

from shared.tweets import capture
from tests.support import tweet_body


def test_a_relike_before_the_first_like_was_delivered_keeps_its_body() -> None:
    """An undelivered first like keeps its body as firstLikeData; a delivered or already kept one is left alone."""
    first, again = tweet_body(tweetText="as first liked"), tweet_body(tweetText="as liked again")
    pending = capture._relike(again, 2, {"rawData": first, "deliveries": {}})
    delivered = capture._relike(again, 2, {"rawData": first, "deliveries": {"0": "m0", "1": "m1"}})
    kept = capture._relike(again, 4, {"rawData": again, "firstLikeData": first, "deliveries": {"1": "m1"}})
    assert pending["firstLikeData"] == first and pending["rawData"] == again
    assert "firstLikeData" not in delivered and "firstLikeData" not in kept  # never overwritten once kept

from tdmguard import vocab


def test_tdm_covers_every_use() -> None:
    assert vocab.covered_uses([vocab.Use.TDM]) == frozenset(vocab.Use)

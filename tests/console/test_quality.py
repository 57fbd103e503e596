"""The Quality page over HTTP: features without enough rows render, histograms become charts."""

from __future__ import annotations

from modelport.console.quality import histogram_chart


def test_a_histogram_becomes_side_by_side_bars_over_the_reference_bins() -> None:
    chart = histogram_chart({"histogram": {"edges": [1.0, 2.5], "reference": [0.2, 0.5, 0.3],
                                            "current": [0.1, 0.1, 0.8]}})
    assert chart["data"]["labels"] == ["-inf..1", "1..2.5", "2.5..+inf"]
    assert [d["label"] for d in chart["data"]["datasets"]] == ["reference", "live"]
    assert chart["data"]["datasets"][1]["data"] == [0.1, 0.1, 0.8]


async def test_a_version_without_a_reference_says_so(signed_in) -> None:  # type: ignore[no-untyped-def]
    page = await signed_in.get("/ui/quality/sum/1")
    assert page.status_code == 200
    assert "Drift against the reference" in page.text and 'class="error" role="alert"' in page.text
    index = await signed_in.get("/ui/quality")
    assert 'href="/ui/quality/sum/1"' in index.text

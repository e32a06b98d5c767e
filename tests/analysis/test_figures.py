"""Figures render to PNG files (paddleseg_pssl.analysis.figures)."""
import numpy as np
from PIL import Image

from paddleseg_pssl.analysis import figures
from paddleseg_pssl.analysis.label_quality import QualityAccumulator, centred_prior_deciles


def _is_png(path):
    with Image.open(path) as img:
        return img.format == "PNG" and img.size[0] > 100


def test_threshold_curves_and_panels(tmp_path):
    dec = centred_prior_deciles((12, 16))
    mask = dec >= 8
    acc, prior = QualityAccumulator("consensus"), QualityAccumulator("centred prior")
    acc.add(dec, mask)
    prior.add(dec, mask)
    assert _is_png(figures.plot_threshold_curves([acc.result(), prior.result()],
                                                 str(tmp_path / "curves.png")))
    image = np.zeros((12, 16, 3), np.uint8)
    panel = figures.PanelSet("x", image, dec, "cls", [("m", dec / 9.0)], None)
    assert panel.n_panels() == 5
    assert _is_png(figures.save_panels(panel, str(tmp_path / "row.png")))
    assert _is_png(figures.save_panel_grid([panel, panel], str(tmp_path / "grid.png")))


def test_label_overlay_and_palette():
    image = np.full((2, 2, 3), 100, np.uint8)
    dec = np.array([[9, 0], [8, 9]], np.uint8)
    out = figures.label_overlay(image, dec)
    assert out.dtype == np.uint8 and (out[0, 1] < 100).all()  # background dimmed
    assert not np.array_equal(out[0, 0], out[1, 0])            # D9 tinted, D8 not
    pal = figures.class_palette(1001, background_index=1000)
    assert pal.shape == (1001, 3) and pal[1000].tolist() == [0, 0, 0]
    assert len({tuple(c) for c in pal[:50]}) == 50

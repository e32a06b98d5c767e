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
    panel.mask = (mask, np.ones_like(mask))
    assert panel.n_panels() == 6
    assert figures.mask_title(panel).startswith("true mask (D9 prec 1.00, IoU 0.")  # D9 in D>=8
    assert _is_png(figures.save_panel_grid([panel, panel], str(tmp_path / "grid.png")))


def test_label_overlay_and_palette():
    image = np.full((2, 2, 3), 100, np.uint8)
    dec = np.array([[9, 0], [8, 9]], np.uint8)
    out = figures.label_overlay(image, dec)
    assert out.dtype == np.uint8 and (out[0, 1] < 100).all()  # background dimmed
    assert not np.array_equal(out[0, 0], out[1, 0])            # D9 tinted, D8 not
    mask = (np.array([[True, False], [True, False]]), np.array([[True, True], [True, False]]))
    drawn = figures.mask_overlay(image, mask)
    assert drawn[1, 1].tolist() == [figures.IGNORED_GREY] * 3       # unannotated: grey
    assert not np.array_equal(drawn[0, 0], drawn[0, 1])             # object tinted
    pal = figures.class_palette(1001, background_index=1000)
    assert pal.shape == (1001, 3) and pal[1000].tolist() == [0, 0, 0]
    assert len({tuple(c) for c in pal[:50]}) == 50

"""Markdown tables of label-quality scores (benchmarks/study_report.py)."""
import sys

import numpy as np

from paddleseg_pssl.analysis.label_quality import QualityAccumulator
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import study_report  # noqa: E402


def _result(name, hit):
    acc = QualityAccumulator(name)
    deciles = np.arange(100).reshape(10, 10) // 10      # row r is decile r
    fg = np.zeros((10, 10), bool)
    fg[9, :hit] = True                                  # `hit` of D9's 10 pixels are object
    acc.add(deciles, fg)
    return acc.result()


def test_rows_and_tables_show_the_top_decile_scores():
    row = study_report.score_row("consensus", _result("c", 8), 2.5)
    assert row["d9_precision"] == 0.8 and row["d9_iou"] == 0.8 and row["images"] == 1
    table = study_report.markdown_table([row, study_report.score_row("prior", _result("p", 5))])
    lines = table.splitlines()
    assert lines[2] == "| consensus | 1 | 0.800 | 0.800 | 0.400 | 2.5 |"
    assert lines[3].startswith("| prior | 1 | 0.500 |") and lines[3].endswith("|  |")
    cats = study_report.category_table({"ours": {"cow": _result("cow", 9)},
                                        "prior": {"cow": _result("cow", 3)}})
    assert cats.splitlines()[2] == "| cow | 1 | 0.90 / 0.45 | 0.30 / 0.15 |"

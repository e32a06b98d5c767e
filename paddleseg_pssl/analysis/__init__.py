"""Analyses of PSSL and PSSL-pretrained models: label quality, figures, predictions."""

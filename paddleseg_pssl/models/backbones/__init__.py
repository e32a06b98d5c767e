"""Backbones registered in PaddleSegs ``manager.BACKBONES``."""

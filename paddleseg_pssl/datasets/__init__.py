"""Dataset components registered in PaddleSegs ``manager.DATASETS``."""

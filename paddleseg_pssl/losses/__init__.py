"""Loss components registered in PaddleSegs ``manager.LOSSES``."""

"""Explaining: the classifier ensemble, its loading and input, and the saliency engines."""

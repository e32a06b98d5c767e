"""PSSL generation: ensemble spec, explainer engines, label maths, store, runner."""

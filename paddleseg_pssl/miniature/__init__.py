"""The deterministic small world the demo builds: data and small classifiers."""

"""A generation run: config, start-up, image source and loop, sharding, failure rules."""

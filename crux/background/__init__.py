"""Engine processes (SPEC §8.5): the work that runs beside the web workers, not inside them."""

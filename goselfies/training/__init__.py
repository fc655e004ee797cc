"""Training of Go-selfies models: the paper's method (augmentation, CLR, LR range test,
fine-tuning, 8-model grid) as thin layers over ``goselfies``."""

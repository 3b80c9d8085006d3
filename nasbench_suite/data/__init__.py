"""CIFAR: the batch files (formats, reading), fetching them where missing, and the dataset
on the device (splits, augmentation)."""

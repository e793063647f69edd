"""Training: ``config`` (dataclasses, App. E defaults), ``builders`` (YAML → objects), ``data``
(batch contract, seeded sampling), ``toy`` (in-memory corpus), ``schedule`` (LR), ``checkpoint``
(safetensors state), ``distributed`` (torchrun/DDP), ``evaluate`` (validation LSE-D), ``loop``
(the trainer), ``export`` (inference model file)."""

"""Models: locate and load them, run them, and only where it matters.

``models`` finds the built-in SmolLM2 (a packaged GGUF converted once to a cached folder), HF
folders and ``.gguf`` files, loads tokenizer and weights offline, attaches LoRA, estimates memory
and saves; ``generate`` is batched greedy decoding that polls the ``CancelToken`` per token;
``answer_logits`` projects only answer positions onto the vocabulary; ``tiny`` builds a 2-layer
Llama in code for tests and ``--self-test``.
"""

"""The engine: loads a GGUF model and decodes many answers together, with no Django in it.

`contract` holds the values and the `TextModel` protocol that the worker and the web
share; it loads neither llama_cpp nor numpy. `llama` (the model) and `batching` (its
decoder) are the one place Homefire talks to llama-cpp-python; import them only where a
model is loaded.
"""

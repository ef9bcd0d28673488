"""The load settings an admin chooses for a model, in the form llama.cpp takes them."""

# A model file without a chat template still gets a readable turn structure.
FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)

# KV-cache types an admin may choose, as llama.cpp's ggml_type numbers.
KV_CACHE_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}


def chat_template(override: str, from_file: str | None) -> str:
    """The template to render prompts with: the admin's override, else the file's own (both
    checked on sample conversations when saved or registered), else a plain one."""
    return override.strip() or from_file or FALLBACK_TEMPLATE

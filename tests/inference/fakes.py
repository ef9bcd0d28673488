"""A stand-in model for fast unit tests of the generation loop (the real one is tested too)."""

from inference.engine.contract import Prompt, PromptTooLong


class CannedModel:
    """Yields canned chunks; records the prompts it was given. Implements TextModel."""

    n_ctx = 2048

    def __init__(self, chunks, *, fail_after: int | None = None, too_long: bool = False):
        self.chunks = list(chunks)
        self.fail_after = fail_after
        self.too_long = too_long
        self.prompts: list[list[dict]] = []
        self.prompt_options: list[dict] = []
        self.closed = False

    def build_prompt(self, messages, max_tokens, *, answer_prefix="", tools=None, truncate=True):
        if self.too_long:
            raise PromptTooLong("This message is 9999 tokens long; the model's context holds 2048")
        self.prompts.append(list(messages))
        self.prompt_options.append({"tools": tools, "truncate": truncate})
        return Prompt(tokens=[1, 2, 3], dropped_turns=0, max_tokens=max_tokens)

    def build_raw_prompt(self, text, max_tokens):
        self.prompts.append([{"role": "user", "content": text}])
        return Prompt(tokens=[1, 2, 3], dropped_turns=0, max_tokens=max_tokens)

    def stream(
        self,
        prompt,
        sampling,
        figures,
        should_stop,
        *,
        user="",
        priority=0,
        every=None,
        arrival=(0, 0),
        family="",
    ):
        figures.prompt_tokens = len(prompt.tokens)
        figures.finish_reason = "stop"
        for index, chunk in enumerate(self.chunks):
            if self.fail_after is not None and index == self.fail_after:
                raise RuntimeError("decode failed")
            figures.mark_token()
            yield chunk
            if should_stop():
                figures.finish_reason = "stopped"
                return

    def close(self):
        self.closed = True

"""The engine's step in arrays, with the real model: the batch's rows as llama.cpp reads them,
the logits of all rows in one view, the greedy picks of all rows in one call, and the
token pieces looked up once, each equal to what llama.cpp's own calls give."""

import ctypes

import llama_cpp as lc
import numpy as np
import pytest
from llama_cpp import Llama

from inference.engine.batch_rows import BatchRows
from inference.engine.output_logits import OutputLogits
from inference.engine.pieces import PieceTable
from webui.registry.bundled import bundled_model_path


@pytest.fixture(scope="module")
def llm():
    llm = Llama(model_path=bundled_model_path(), n_ctx=64, n_batch=64, verbose=False)
    yield llm
    llm.close()


def _context(llm, n_seq: int = 4):
    params = lc.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = 256 * n_seq, 64, 64, n_seq
    ctx = lc.llama_init_from_model(llm.model, params)
    assert ctx
    return ctx


def _prompt(llm, text: str) -> list[int]:
    return llm.tokenize(text.encode(), add_bos=True, special=False)


def test_filled_rows_are_what_llama_batch_reads():
    rows = BatchRows(8)
    rows.fill([11, 12, 13], [0, 1, 5], [0, 0, 3], [0, 1, 1])
    batch = rows.batch
    assert batch.n_tokens == 3
    assert [batch.token[i] for i in range(3)] == [11, 12, 13]
    assert [batch.pos[i] for i in range(3)] == [0, 1, 5]
    assert [batch.n_seq_id[i] for i in range(3)] == [1, 1, 1]
    assert [batch.seq_id[i][0] for i in range(3)] == [0, 0, 3]
    assert [batch.logits[i] for i in range(3)] == [0, 1, 1]


def test_added_runs_take_consecutive_positions_and_logits_on_their_last_row_only():
    rows = BatchRows(8)
    n = rows.add(0, 2, 10, [5, 6, 7], logits_last=True)
    n = rows.add(n, 0, 4, [8, 9], logits_last=False)
    assert n == 5
    assert rows.pos[:5].tolist() == [10, 11, 12, 4, 5]
    assert rows.seq_id[:5].tolist() == [2, 2, 2, 0, 0]
    assert rows.logits[:5].tolist() == [0, 0, 1, 0, 0]


def test_more_rows_than_the_batch_holds_are_refused():
    rows = BatchRows(2)
    with pytest.raises(ValueError, match="3 tokens in a batch of 2"):
        rows.fill([1, 2, 3], [0, 1, 2], [0, 0, 0], [0, 0, 1])


def test_a_step_decoded_from_numpy_rows_gives_the_logits_of_llamas_own_batch(llm):
    """The same two prompts, in two sequences, through BatchRows and through a batch from
    llama_batch_init filled token by token: the same logits, bit for bit."""
    prompts = [_prompt(llm, "The sea is"), _prompt(llm, "One, two, three,")]
    ours, theirs = _context(llm), _context(llm)
    try:
        rows = BatchRows(64)
        n = 0
        for seq, tokens in enumerate(prompts):
            n = rows.add(n, seq, 0, tokens, logits_last=True)
        rows.batch.n_tokens = n
        assert lc.llama_decode(ours, rows.batch) == 0

        batch = lc.llama_batch_init(64, 0, 4)
        n = 0
        for seq, tokens in enumerate(prompts):
            for i, token in enumerate(tokens):
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, i, 1
                batch.seq_id[n][0], batch.logits[n] = seq, i == len(tokens) - 1
                n += 1
        batch.n_tokens = n
        assert lc.llama_decode(theirs, batch) == 0
        lc.llama_batch_free(batch)

        n_vocab = lc.llama_vocab_n_tokens(llm._model.vocab)
        got = OutputLogits(ours, n_vocab).rows(2)
        want = OutputLogits(theirs, n_vocab).rows(2)
        assert np.array_equal(got, want)
    finally:
        lc.llama_free(ours)
        lc.llama_free(theirs)


def test_output_rows_are_each_rows_logits_and_greedy_takes_each_rows_highest(llm):
    prompts = [_prompt(llm, "Paris is the capital of"), _prompt(llm, "Red, green and")]
    ctx = _context(llm)
    try:
        rows = BatchRows(64)
        n = 0
        ends = []
        for seq, tokens in enumerate(prompts):
            n = rows.add(n, seq, 0, tokens, logits_last=True)
            ends.append(n - 1)
        rows.batch.n_tokens = n
        assert lc.llama_decode(ctx, rows.batch) == 0
        n_vocab = lc.llama_vocab_n_tokens(llm._model.vocab)
        outputs = OutputLogits(ctx, n_vocab)
        logits = outputs.rows(2)
        assert logits.shape == (2, n_vocab)
        for row, index in enumerate(ends):
            one = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, index), shape=(n_vocab,))
            assert np.array_equal(logits[row], one)
        assert OutputLogits.greedy(logits) == [int(np.argmax(logits[0])), int(np.argmax(logits[1]))]
        assert outputs.rows(2) is logits  # the same buffer: the view is not made again
    finally:
        lc.llama_free(ctx)


def test_greedy_takes_the_first_of_equal_highest_logits_in_every_row():
    logits = np.zeros((3, 10), dtype=np.float32)
    logits[0, [7, 2]] = 5.0
    logits[1, [9]] = 1.0
    logits[2, [4, 5, 6]] = 3.0
    assert OutputLogits.greedy(logits) == [2, 9, 4]


def test_pieces_are_llamas_own_and_control_tokens_are_empty_unless_named(llm):
    vocab = llm._model.vocab
    n_vocab = lc.llama_vocab_n_tokens(vocab)
    table = PieceTable(vocab, n_vocab)
    buffer = ctypes.create_string_buffer(256)

    def piece(token, special):
        size = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special)
        return buffer.raw[:size]

    for token in [*range(0, 300, 7), 1000, 12345, n_vocab - 1]:
        assert table.piece(token) == piece(token, False)
        assert table.named(token) == piece(token, True)
        assert table.piece(token) == piece(token, False)  # asked again: from the table
    eos = llm.token_eos()
    assert table.piece(eos) == b"" and table.named(eos)
    assert table.is_eog(eos) and not table.is_eog(_prompt(llm, "sea")[-1])

/* corpus.c - the built-in text the default tokenizer is trained on. It mixes
 * the prompts of the seed experiment with plain English, so that the default
 * model tokenizes the shipped example sweeps into sensible pieces. */
#include "attnsweep/defaults.h"

const char as_default_corpus[] =
    "What is 15 plus 27? Let's think step by step. You are an expert mathematician. "
    "Question: What is 15 plus 27? Answer: 42. Q: What is 3 plus 4? A: 7. "
    "Q: What is 10 plus 5? A: 15. Q: What is 12 plus 30? A: 42.\n"
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high. "
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do.\n"
    "The quick brown fox jumps over the lazy dog. Attention is all you need. "
    "In 1969, Neil Armstrong became the first person to walk on the Moon. "
    "The model reads the prompt and looks at the tokens that matter for the answer. "
    "Researchers ask which layers are most sensitive to the prompt, and whether few-shot "
    "examples create shortcuts in the attention of the model. "
    "A question and an answer, a problem and a solution, a story and a summary. "
    "Think about the numbers first, then add them together, and write the result. "
    "The sum of two numbers is the number you get when you add them. "
    "Every token in the sequence attends to the tokens before it, and the first token often "
    "receives much of the attention. The last token of the prompt predicts the next one. "
    "We measure the entropy of the attention of each head in each layer, and we compare the "
    "patterns across prompts, variants and groups of a sweep.\n";

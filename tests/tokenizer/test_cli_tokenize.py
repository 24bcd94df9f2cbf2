#!/usr/bin/env python3
"""CLI test of `attnsweep tokenize`: JSON and table output, BOS handling, '-' and
'--', error messages and exit codes, and the HF reference encodings through the
command line. Usage: test_cli_tokenize.py ATTNSWEEP_BINARY DATA_DIR.
Exit 0 = pass, 1 = fail, 77 = reference data absent (skip)."""
import json
import os
import subprocess
import sys

EXE, DATA = sys.argv[1], sys.argv[2]
LLAMA = os.path.join(DATA, "tokenizers", "llama2")
GGUF = os.path.join(DATA, "tokenizers", "vectors", "ggml-vocab-llama-spm.gguf")
STORIES = os.path.join(DATA, "models", "stories260K")
if not os.path.isfile(os.path.join(LLAMA, "tokenizer.json")):
    print(f"SKIP: reference data {LLAMA} not found")
    sys.exit(77)

checks = failures = 0


def check(cond, msg):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {msg}", file=sys.stderr)


def run(args, stdin=b""):
    p = subprocess.run([EXE, "tokenize", *args], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def tok_json(args, stdin=b""):
    rc, out, err = run(["--json", *args], stdin)
    if rc != 0:
        check(False, f"tokenize {args!r} exited {rc}: {err}")
        return None
    try:
        return json.loads(out)
    except ValueError as e:
        check(False, f"tokenize {args!r}: output is not JSON ({e}): {out[:200]!r}")
        return None


# the command must exist in the binary
rc, out, err = run(["--help"])
if rc != 0 or b"--model" not in out:
    print("FAIL: `attnsweep tokenize --help` does not print the tokenize usage; "
          "is src/cli/cmd_tokenize.c (as_cmd_tokenize) wired into main.c?", file=sys.stderr)
    sys.exit(1)

# JSON output, with and without BOS
j = tok_json(["--model", LLAMA, "Hello world"])
check(j == {"ids": [1, 15043, 3186], "pieces": ["<s>", "▁Hello", "▁world"],
            "tokens": ["<s>", "Hello", "world"], "offsets": [[0, 0], [0, 5], [5, 11]]},
      f"Hello world: {j}")
j = tok_json(["--model", LLAMA, "--no-bos", "Hello world"])
check(j and j["ids"] == [15043, 3186] and j["offsets"] == [[0, 5], [5, 11]], f"--no-bos: {j}")
check(list(j or {}) == ["ids", "pieces", "tokens", "offsets"], f"key order: {list(j or {})}")

# '-' reads standard input byte for byte (the trailing newline is part of the text)
j = tok_json(["--model", LLAMA, "--no-bos", "-"], b"a\nb\n")
check(j and j["ids"] == [263, 13, 29890, 13] and j["offsets"][-1] == [3, 4], f"stdin: {j}")
# a text starting with '-' after --
j = tok_json(["--model", LLAMA, "--", "-5 degrees"])
check(j and j["ids"][0] == 1 and j["offsets"][-1][1] == len("-5 degrees"), f"-- text: {j}")
rc, out, err = run(["--model", LLAMA, "-5 degrees"])
check(rc == 2 and "unknown option '-5 degrees'" in err and "--" in err, f"dash text without --: {rc} {err}")
# special tokens are split out and byte pieces share their character's span
j = tok_json(["--model", LLAMA, "--no-bos", "🦙</s>"])
check(j and j["ids"] == [29871, 243, 162, 169, 156, 2] and j["offsets"][1:5] == [[0, 4]] * 4
      and j["tokens"][1] == "\ufffd" and j["offsets"][5] == [4, 8], f"emoji + </s>: {j}")

# the table
rc, out, err = run(["--model", LLAMA, "Hi\tthere"])
text = out.decode()
check(rc == 0 and "▁Hi" in text and "\\t" in text and "[0, 0)" in text and "tokenizer.json" in text,
      f"table output: {rc} {text!r} {err}")

# errors: prefix, exit code, byte offset, file name
rc, out, err = run(["--model", LLAMA, "-"], b"ok\xe4\xbd")
check(rc == 1 and err.startswith("attnsweep tokenize: error:") and "byte offset 2" in err,
      f"invalid UTF-8: {rc} {err!r}")
rc, out, err = run(["--model", "/nonexistent/model", "x"])
check(rc == 1 and "/nonexistent/model" in err, f"missing model: {rc} {err!r}")
rc, out, err = run(["--model", LLAMA])
check(rc == 2 and "TEXT" in err, f"missing TEXT: {rc} {err!r}")
rc, out, err = run(["x"])
check(rc == 2 and "--model" in err, f"missing --model: {rc} {err!r}")

# HF reference encodings (with BOS) through the command line, for tokenizer.json and GGUF
with open(os.path.join(LLAMA, "encode_vectors.json"), encoding="utf-8") as f:
    cases = json.load(f)["cases"]
for model in (LLAMA, GGUF):
    ok = 0
    for c in cases:
        j = tok_json(["--model", model, "--", c["text"]])
        good = j is not None and j["ids"] == c["hf_ids_add_special"] and j["pieces"] == c["hf_tokens"]
        check(good, f"{model}: {c['text']!r}: {j and j['ids']} != {c['hf_ids_add_special']}")
        ok += good
    print(f"  {model}: {ok}/{len(cases)} encode_vectors cases exact through the CLI")

# a llama2.c model with its tokenizer
if os.path.isfile(os.path.join(STORIES, "tok512.bin")):
    j = tok_json(["--model", os.path.join(STORIES, "stories260K.bin"),
                  "--tokenizer", os.path.join(STORIES, "tok512.bin"), "Once upon a time"])
    check(j and j["ids"] == [1, 403, 407, 261, 378], f"stories260K: {j}")
    rc, out, err = run(["--model", os.path.join(STORIES, "stories260K.bin"), "Zoo"])
    check(rc == 1 and "--tokenizer" in err, f"llama2.c model without --tokenizer: {rc} {err!r}")

print(f"test_cli_tokenize: {checks} checks, {failures} failed")
sys.exit(1 if failures else 0)

"""``tiny-chat`` learns a few canned dialogues at first start, so its greedy answers are text.

Still a toy: a 2-layer GPT-2 trained for a few seconds on the dialogues below, shipped with the
package. It answers these prompts (and near neighbours) with short readable sentences and ends
its turn with end-of-text; anything else gets an echo of what it memorised. The point is a chat
demo whose answers can be read, not language skill. One torch thread: on a busy machine more
threads made each step ~100x slower.
"""

from __future__ import annotations

import time
from pathlib import Path

DIALOGUES: list[tuple[str, str]] = [
    ("Hello", "Hello! I am tiny-chat, a toy model served by modelport."),
    ("Hi", "Hi! I am a tiny demo model."),
    ("How are you?", "I am fine, thank you."),
    ("What is modelport?", "modelport serves, trains and tracks models."),
    ("Thank you", "You are welcome!"),
    ("Goodbye", "Goodbye! Have a nice day."),
]
MAX_SECONDS = 15.0
MAX_STEPS = 250


def training_texts() -> list[str]:
    """The dialogues as the demo's chat template renders them, each ending with end-of-text."""
    return [f"<|user|>{q}\n<|assistant|>{a}<|endoftext|>" for q, a in DIALOGUES]


def train_tiny_chat(model_dir: Path, *, max_seconds: float = MAX_SECONDS, max_steps: int = MAX_STEPS,
                    seed: int = 0) -> float:
    """Fit the model in ``model_dir`` to the dialogues (saved in place); returns the last loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
        batch = tokenizer(training_texts(), return_tensors="pt", padding=True, add_special_tokens=False)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        started, last = time.monotonic(), float("inf")
        for _ in range(max_steps):
            loss = model(**batch, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            last = float(loss.detach())
            if time.monotonic() - started > max_seconds:
                break
        model.eval()
        model.generation_config.eos_token_id = tokenizer.eos_token_id  # it learned to end its turn
        model.save_pretrained(model_dir)
        return last
    finally:
        torch.set_num_threads(threads)

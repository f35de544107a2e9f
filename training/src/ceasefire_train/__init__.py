"""Training tools for ceasefire's embedded model, kept out of the runtime package.

- `ceasefire_train.synthetic`: articles generated from drawn facts, with exact gold labels;
- `ceasefire_train.examples`: fine-tuning examples, the pipeline's own requests answered with
  gold labels (and the teacher corpus's counts, `--stats`);
- `ceasefire_train.lora`: LoRA on SmolLM2-135M or Gemma-3-270M on the CPU, converted to a GGUF adapter.
"""

